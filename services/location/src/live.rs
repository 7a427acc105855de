//! The live part of the location service: the tracker behind a lock, fed
//! by the MQTT consumer (or directly), answering arrivals and vehicles, and
//! the background tasks (stop-visit writer, feed reload, sweeping).
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kagoshima_domain::calendar::transit_service_day;
use kagoshima_proto::Timestamp;
use kagoshima_proto::v1::{
    Arrival, ArrivalStatus, GetArrivalsResponse, ListVehiclesResponse, LocalizedName, TransitMode,
    Vehicle, VehicleStatus as PbStatus,
};
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_tracker::{
    Network, Prediction, Report, StopVisit, Tracker, TrackerConfig, VehicleStatus,
    network::day_start,
};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::LiveConfig;
use crate::network_load::{self, Names};
use crate::static_info::{DEFAULT_LIMIT, InfoError, MAX_LIMIT, mode_of, parse_lang};

/// Unix seconds now.
pub fn now() -> f64 {
    Utc::now().timestamp_millis() as f64 / 1000.0
}

pub fn ts(t: f64) -> Option<Timestamp> {
    let secs = t.floor();
    Some(Timestamp {
        seconds: secs as i64,
        nanos: ((t - secs) * 1e9) as i32,
    })
}

pub(crate) struct State {
    pub tracker: Option<Tracker>,
    pub names: Names,
    pub feed_version: i64,
}

struct Inner {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    visits: mpsc::Sender<StopVisit>,
    config: LiveConfig,
}

/// The live state, cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Live {
    /// An empty live state; returns the receiver of stop visits to store.
    pub fn new(config: LiveConfig) -> (Live, mpsc::Receiver<StopVisit>) {
        let (tx, rx) = mpsc::channel(100_000);
        let (changed, _) = watch::channel(0);
        (
            Live {
                inner: Arc::new(Inner {
                    state: Mutex::new(State {
                        tracker: None,
                        names: Names::default(),
                        feed_version: 0,
                    }),
                    changed,
                    visits: tx,
                    config,
                }),
            },
            rx,
        )
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn config(&self) -> &LiveConfig {
        &self.inner.config
    }

    /// A receiver that sees a new value on every change of live state.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Loads the active feed (if it changed) and, the first time, the
    /// stop-visit history to learn from. Returns whether a feed is loaded.
    pub async fn refresh_network(&self, pool: &PgPool) -> Result<bool, sqlx::Error> {
        let active = kagoshima_network::service_day::active_version(pool).await?;
        let current = self.lock().feed_version;
        let Some(active) = active else {
            return Ok(false);
        };
        if active == current {
            return Ok(true);
        }
        let Some((fv, input, names)) = network_load::from_db(pool).await? else {
            return Ok(false);
        };
        let net = match Network::build(input) {
            Ok(n) => Arc::new(n),
            Err(e) => {
                error!(feed_version = fv, error = %e, "cannot build the live network");
                return Ok(false);
            }
        };
        let first = current == 0;
        let history = if first {
            load_history(pool, self.inner.config.history_days).await?
        } else {
            Vec::new()
        };
        {
            let mut s = self.lock();
            match s.tracker.as_mut() {
                Some(t) => t.set_network(net),
                None => {
                    let mut t = Tracker::new(net, TrackerConfig::default());
                    t.learn_history(&history);
                    s.tracker = Some(t);
                }
            }
            s.names = names;
            s.feed_version = fv;
        }
        info!(
            feed_version = fv,
            history = history.len(),
            "live network loaded"
        );
        self.inner.changed.send_modify(|g| *g += 1);
        Ok(true)
    }

    /// Takes one position report (from MQTT, or directly in tests and tools).
    pub fn ingest(&self, report: &Report) {
        let visits = {
            let mut s = self.lock();
            match s.tracker.as_mut() {
                Some(t) => t.ingest(report),
                None => return,
            }
        };
        for v in visits {
            if self.inner.visits.try_send(v).is_err() {
                warn!("stop-visit queue full; a visit was not stored");
            }
        }
        self.inner.changed.send_modify(|g| *g += 1);
    }

    /// Forgets vehicles silent for too long.
    pub fn sweep(&self, now: f64) {
        let dropped = self.lock().tracker.as_mut().map_or(0, |t| t.sweep(now));
        if dropped > 0 {
            info!(dropped, "silent vehicles dropped");
            self.inner.changed.send_modify(|g| *g += 1);
        }
    }

    /// Arrivals at a stop at `now`, soonest first.
    pub fn arrivals(
        &self,
        stop_id: &str,
        lang: &str,
        limit: u32,
        route_id: &str,
        now: f64,
    ) -> Result<GetArrivalsResponse, InfoError> {
        let lang = parse_lang(lang)?;
        let limit = match limit {
            0 => DEFAULT_LIMIT,
            l if l > MAX_LIMIT => {
                return Err(InfoError::InvalidArgument(format!(
                    "limit {l} is too large: at most {MAX_LIMIT}"
                )));
            }
            l => l,
        } as usize;
        if stop_id.trim().is_empty() {
            return Err(InfoError::InvalidArgument("stop_id is required".into()));
        }
        let s = self.lock();
        let tracker = s.tracker.as_ref().ok_or(InfoError::NoFeed)?;
        let net = tracker.network();
        let stop = net.stop(stop_id).ok_or_else(|| {
            InfoError::NotFound(format!("no stop {stop_id:?} in the active feed"))
        })?;
        let route = match route_id.trim() {
            "" => None,
            r => Some(net.route(r).ok_or_else(|| {
                InfoError::NotFound(format!("no route {r:?} in the active feed"))
            })?),
        };
        let mut rows: Vec<(f64, Arrival)> = Vec::new();
        let mut covered: HashSet<(u32, chrono::NaiveDate)> = HashSet::new();
        for v in tracker.vehicles(now) {
            let (Some(trip), Some(date)) = (v.trip, v.service_date) else {
                continue;
            };
            covered.insert((trip, date));
            let live = !v.stale && v.status != VehicleStatus::OffRoute;
            if !live {
                // Timetable only, flagged, for stops still ahead of it.
                let tr = &net.trips[trip as usize];
                let from = v.stop_index.unwrap_or(0);
                for (j, st) in tr.stops.iter().enumerate().skip(from) {
                    if st.stop == stop
                        && j + 1 < tr.stops.len()
                        && route.is_none_or(|r| r == tr.route)
                    {
                        let sched = day_start(date) + f64::from(st.arr);
                        let status = if v.stale {
                            ArrivalStatus::Stale
                        } else {
                            ArrivalStatus::Detour
                        };
                        rows.push((
                            sched,
                            self.arrival(
                                &s,
                                tracker,
                                trip,
                                j,
                                date,
                                None,
                                Some(&v.vehicle_id),
                                -1,
                                status,
                                now,
                                lang,
                            ),
                        ));
                    }
                }
                continue;
            }
            for p in tracker.predict(&v.vehicle_id, now, 3.0 * 3600.0) {
                covered.insert((p.trip, p.service_date));
                let tr = &net.trips[p.trip as usize];
                if tr.stops[p.stop_index].stop != stop
                    || p.stop_index + 1 == tr.stops.len()
                    || route.is_some_and(|r| r != tr.route)
                {
                    continue;
                }
                let status = if p.at_stop && p.trips_ahead == 0 && p.stop_index > 0 {
                    ArrivalStatus::AtStop
                } else if p.trips_ahead > 0 || p.stop_index == 0 {
                    ArrivalStatus::NotStarted
                } else if p.stops_away == 0 && p.arrival - now <= 120.0 {
                    ArrivalStatus::Approaching
                } else {
                    ArrivalStatus::OnTheWay
                };
                let t = if p.stop_index == 0 {
                    p.departure
                } else {
                    p.arrival
                };
                rows.push((
                    t,
                    self.arrival(
                        &s,
                        tracker,
                        p.trip,
                        p.stop_index,
                        p.service_date,
                        Some(&p),
                        Some(&v.vehicle_id),
                        p.stops_away as i32,
                        status,
                        now,
                        lang,
                    ),
                ));
            }
        }
        // Trips no vehicle has taken yet: the timetable.
        let today =
            transit_service_day(DateTime::from_timestamp(now as i64, 0).unwrap_or_default());
        for date in [today - chrono::Duration::days(1), today] {
            let services = net.services_on(date);
            let ds = day_start(date);
            for &(trip, j) in &net.stop_trips[stop as usize] {
                let tr = &net.trips[trip as usize];
                let j = usize::from(j);
                if !services.get(tr.service as usize).copied().unwrap_or(false)
                    || j + 1 == tr.stops.len()
                    || covered.contains(&(trip, date))
                    || route.is_some_and(|r| r != tr.route)
                {
                    continue;
                }
                let t = ds + f64::from(tr.stops[j].dep);
                if t < now - 60.0 || t > now + 2.0 * 3600.0 {
                    continue;
                }
                rows.push((
                    t,
                    self.arrival(
                        &s,
                        tracker,
                        trip,
                        j,
                        date,
                        None,
                        None,
                        -1,
                        ArrivalStatus::ScheduledOnly,
                        now,
                        lang,
                    ),
                ));
            }
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.truncate(limit);
        let (l, text) = s
            .names
            .get("stop", stop_id, lang, &net.stops[stop as usize].name);
        Ok(GetArrivalsResponse {
            stop_id: stop_id.to_owned(),
            stop_name: Some(LocalizedName { lang: l, text }),
            generated_at: ts(now),
            arrivals: rows.into_iter().map(|r| r.1).collect(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn arrival(
        &self,
        s: &State,
        tracker: &Tracker,
        trip: u32,
        j: usize,
        date: chrono::NaiveDate,
        p: Option<&Prediction>,
        vehicle: Option<&str>,
        stops_away: i32,
        status: ArrivalStatus,
        now: f64,
        lang: &str,
    ) -> Arrival {
        let net = tracker.network();
        let tr = &net.trips[trip as usize];
        let route = &net.routes[tr.route as usize];
        let st = tr.stops[j];
        let first = j == 0;
        let sched = day_start(date) + f64::from(if first { st.dep } else { st.arr });
        let predicted = p.map(|p| if first { p.departure } else { p.arrival });
        let shown = predicted.unwrap_or(sched);
        let (rl, rt) = s
            .names
            .get("route_short", &route.id, lang, &route.short_name);
        let (hl, ht) = s.names.get("headsign", &tr.headsign, lang, &tr.headsign);
        Arrival {
            trip_id: tr.id.clone(),
            route_id: route.id.clone(),
            route_short_name: Some(LocalizedName { lang: rl, text: rt }),
            headsign: Some(LocalizedName { lang: hl, text: ht }),
            mode: mode_of(&route.mode).into(),
            stop_sequence: st.seq,
            scheduled_time: ts(sched),
            predicted_time: predicted.and_then(ts),
            delay_seconds: predicted.map_or(0, |p| (p - sched).round() as i32),
            vehicle_id: vehicle.unwrap_or_default().to_owned(),
            stops_away,
            status: status.into(),
            minutes: ((shown - now).max(0.0) / 60.0).floor() as i32,
        }
    }

    /// Live vehicles, optionally of one route.
    pub fn vehicles(
        &self,
        route_id: &str,
        lang: &str,
        now: f64,
    ) -> Result<ListVehiclesResponse, InfoError> {
        let lang = parse_lang(lang)?;
        let s = self.lock();
        let tracker = s.tracker.as_ref().ok_or(InfoError::NoFeed)?;
        let net = tracker.network();
        let route = match route_id.trim() {
            "" => None,
            r => Some(net.route(r).ok_or_else(|| {
                InfoError::NotFound(format!("no route {r:?} in the active feed"))
            })?),
        };
        let mut vehicles = Vec::new();
        for v in tracker.vehicles(now) {
            let trip = v.trip.map(|t| &net.trips[t as usize]);
            if route.is_some() && trip.map(|t| t.route) != route {
                continue;
            }
            let mut out = Vehicle {
                vehicle_id: v.vehicle_id.clone(),
                lat: v.lat,
                lon: v.lon,
                bearing: v.bearing.map(|b| b as f32),
                recorded_at: ts(v.recorded_at),
                stale: v.stale,
                status: match v.status {
                    VehicleStatus::InTransitTo => PbStatus::InTransitTo,
                    VehicleStatus::StoppedAt => PbStatus::StoppedAt,
                    VehicleStatus::Layover => PbStatus::Layover,
                    VehicleStatus::OffRoute => PbStatus::OffRoute,
                    VehicleStatus::Unassigned => PbStatus::Unassigned,
                }
                .into(),
                delay_seconds: v.delay_s.map_or(0, |d| d.round() as i32),
                mode: TransitMode::Unspecified.into(),
                ..Vehicle::default()
            };
            if let Some(tr) = trip {
                let r = &net.routes[tr.route as usize];
                out.route_id = r.id.clone();
                out.trip_id = tr.id.clone();
                out.mode = mode_of(&r.mode).into();
                let (hl, ht) = s.names.get("headsign", &tr.headsign, lang, &tr.headsign);
                out.headsign = Some(LocalizedName { lang: hl, text: ht });
                if let Some(j) = v.stop_index {
                    let st = &net.stops[tr.stops[j].stop as usize];
                    out.stop_id = st.id.clone();
                    let (sl, stx) = s.names.get("stop", &st.id, lang, &st.name);
                    out.stop_name = Some(LocalizedName {
                        lang: sl,
                        text: stx,
                    });
                }
            }
            vehicles.push(out);
        }
        Ok(ListVehiclesResponse {
            generated_at: ts(now),
            vehicles,
        })
    }
}

/// Stop visits of the last `days` days, in trip and stop order.
pub async fn load_history(pool: &PgPool, days: u32) -> Result<Vec<StopVisit>, sqlx::Error> {
    type Row = (
        chrono::NaiveDate,
        String,
        i32,
        String,
        Option<String>,
        Option<i16>,
        String,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT service_date, trip_id, stop_sequence, stop_id, route_id, direction_id, vehicle_id,
                scheduled_arrival, scheduled_departure, actual_arrival, actual_departure, method
           FROM stop_visits
          WHERE service_date >= (now() AT TIME ZONE 'Asia/Tokyo')::date - $1::int
          ORDER BY service_date, trip_id, stop_sequence",
    )
    .bind(i32::try_from(days).unwrap_or(28))
    .fetch_all(pool)
    .await?;
    let secs = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    Ok(rows
        .into_iter()
        .map(|r| StopVisit {
            service_date: r.0,
            trip_id: r.1,
            stop_sequence: u32::try_from(r.2).unwrap_or(0),
            stop_id: r.3,
            route_id: r.4.unwrap_or_default(),
            direction_id: r.5.and_then(|d| u8::try_from(d).ok()),
            vehicle_id: r.6,
            scheduled_arrival: r.7.map_or(0.0, secs),
            scheduled_departure: r.8.map_or(0.0, secs),
            arrival: secs(r.9),
            departure: r.10.map(secs),
            observed: r.11 == "observed",
        })
        .collect())
}

/// Upserts stop visits in one statement (UNNEST arrays).
pub async fn store_visits(pool: &PgPool, visits: &[StopVisit]) -> Result<(), sqlx::Error> {
    // One row per key (a statement may not update a row twice).
    let mut latest: HashMap<(chrono::NaiveDate, &str, u32), &StopVisit> = HashMap::new();
    for v in visits {
        latest.insert((v.service_date, v.trip_id.as_str(), v.stop_sequence), v);
    }
    let rows: Vec<&StopVisit> = latest.into_values().collect();
    let at = |t: f64| DateTime::<Utc>::from_timestamp_millis((t * 1000.0).round() as i64);
    sqlx::query(
        "INSERT INTO stop_visits (service_date, trip_id, stop_sequence, stop_id, route_id, direction_id,
                                  vehicle_id, scheduled_arrival, scheduled_departure, actual_arrival,
                                  actual_departure, method, updated_at)
         SELECT u.*, now() FROM UNNEST($1::date[], $2::text[], $3::int[], $4::text[], $5::text[],
                                       $6::smallint[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                                       $10::timestamptz[], $11::timestamptz[], $12::text[]) AS u
         ON CONFLICT (service_date, trip_id, stop_sequence) DO UPDATE SET
             stop_id = EXCLUDED.stop_id, route_id = EXCLUDED.route_id,
             direction_id = EXCLUDED.direction_id, vehicle_id = EXCLUDED.vehicle_id,
             scheduled_arrival = EXCLUDED.scheduled_arrival,
             scheduled_departure = EXCLUDED.scheduled_departure,
             actual_arrival = EXCLUDED.actual_arrival,
             actual_departure = coalesce(EXCLUDED.actual_departure, stop_visits.actual_departure),
             method = EXCLUDED.method, updated_at = now()",
    )
    .bind(rows.iter().map(|v| v.service_date).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.trip_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.stop_sequence as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.stop_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.route_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.direction_id.map(i16::from)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.scheduled_arrival)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.scheduled_departure)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.arrival)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.departure.and_then(at)).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|v| if v.observed { "observed" } else { "interpolated" })
            .collect::<Vec<_>>(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores stop visits in batches until shutdown (then flushes what it holds).
pub async fn visit_writer(pool: PgPool, mut rx: mpsc::Receiver<StopVisit>, shutdown: Shutdown) {
    let mut batch: Vec<StopVisit> = Vec::new();
    loop {
        let got = tokio::select! {
            v = rx.recv() => v,
            () = shutdown.cancelled() => None,
        };
        match got {
            Some(v) => {
                batch.push(v);
                let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
                while batch.len() < 2_000 {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(v)) => batch.push(v),
                        _ => break,
                    }
                }
            }
            None => {
                while let Ok(v) = rx.try_recv() {
                    batch.push(v);
                }
            }
        }
        if !batch.is_empty() {
            let mut wait = Duration::from_millis(200);
            for _ in 0..5 {
                match store_visits(&pool, &batch).await {
                    Ok(()) => {
                        batch.clear();
                        break;
                    }
                    Err(e) => {
                        warn!(error = %e, visits = batch.len(), "storing stop visits failed; retrying");
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                }
            }
            if !batch.is_empty() {
                error!(visits = batch.len(), "stop visits dropped after retries");
                batch.clear();
            }
        }
        if shutdown.is_cancelled() {
            return;
        }
    }
}

/// Reloads the network when the active feed changes, and sweeps silent vehicles.
pub async fn maintenance(live: Live, pool: PgPool, shutdown: Shutdown) {
    let every = Duration::from_secs(live.config().feed_check_s.max(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = live.refresh_network(&pool).await {
            warn!(error = %e, "checking the active feed failed");
        }
        live.sweep(now());
    }
}
