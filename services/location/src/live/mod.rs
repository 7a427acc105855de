//! The live part of the location service: the tracker behind a lock, fed
//! by the MQTT consumer (or directly), answering arrivals and vehicles, and
//! the background tasks (stop-visit writer, feed reload, sweeping).
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use kagoshima_network::read::{Names, snapshot};
use kagoshima_proto::Timestamp;
use kagoshima_proto::v1::{
    Arrival, GetArrivalsResponse, ListVehiclesResponse, LocalizedName, Occupancy, TransitMode,
    Vehicle, VehicleStatus as PbStatus,
};
use kagoshima_runtime::shutdown::Shutdown;

use crate::crowding::Crowding;
use kagoshima_tracker::{
    Network, Report, StopVisit, Tracker, TrackerConfig, VehicleStatus, network::day_start,
};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::alerts::Alerts;
use crate::board::{self, Board, Row};
use crate::config::LiveConfig;
use crate::crowding::{Loads, Usual};
use crate::metrics::LocationMetrics;
use crate::static_info::{InfoError, mode_of, parse_lang, parse_limit};

mod answers;
mod tasks;

pub use tasks::{board_refresher, census_reporter, maintenance, visit_writer};

/// A count of the live state for the metrics (see [`Live::census`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    /// Vehicles by (route mode, state): on_trip, unassigned, off_route,
    /// silent_on_trip (no report for `stale_after_s` before its trip's last
    /// stop) and stale (silent elsewhere, e.g. back at the depot).
    pub vehicles: BTreeMap<(String, &'static str), u32>,
    /// Seconds since the newest report of any vehicle (None with no vehicle).
    pub newest_report_age_s: Option<f64>,
    pub oldest_prediction_age_s: f64,
    pub last_service_date: Option<NaiveDate>,
}

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
    pub names: Arc<Names>,
    pub feed_version: i64,
}

/// Two locks, always taken in this order: `state` (the tracker, written by
/// every report) and then `board` (what arrivals queries read, without
/// ever waiting for the tracker).
struct Inner {
    state: Mutex<State>,
    board: RwLock<Board>,
    changed: watch::Sender<u64>,
    visits: mpsc::Sender<StopVisit>,
    loads: Loads,
    usual: Usual,
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
                        names: Arc::default(),
                        feed_version: 0,
                    }),
                    board: RwLock::default(),
                    changed,
                    visits: tx,
                    loads: Loads::default(),
                    usual: Usual::default(),
                    config,
                }),
            },
            rx,
        )
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn board(&self) -> RwLockReadGuard<'_, Board> {
        self.inner.board.read().unwrap_or_else(|e| e.into_inner())
    }

    fn board_mut(&self) -> RwLockWriteGuard<'_, Board> {
        self.inner.board.write().unwrap_or_else(|e| e.into_inner())
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
        // The newest active version: it changes whenever any feed is imported.
        let active = kagoshima_network::service_day::active_versions(pool)
            .await?
            .into_iter()
            .max();
        let current = self.lock().feed_version;
        let Some(active) = active else {
            return Ok(false);
        };
        if active == current {
            return Ok(true);
        }
        let Some(snapshot::ActiveNetwork {
            version: fv,
            input,
            names,
        }) = snapshot::active(pool).await?
        else {
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
            kagoshima_storage::stop_visits::recent(pool, self.inner.config.history_days).await?
        } else {
            Vec::new()
        };
        {
            let names = Arc::new(names);
            let mut s = self.lock();
            let mut board = Board::new(net.clone(), names.clone());
            board.prepare_days(now());
            *self.board_mut() = board;
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
            let Some(t) = s.tracker.as_mut() else {
                return;
            };
            let visits = t.ingest(report);
            let at = now();
            let plan = board::plan(t, &report.vehicle_id, at);
            self.board_mut().place(&report.vehicle_id, plan, at);
            visits
        };
        for v in visits {
            if self.inner.visits.try_send(v).is_err() {
                warn!("stop-visit queue full; a visit was not stored");
            }
        }
        self.inner.changed.send_modify(|g| *g += 1);
    }

    /// One stop's passenger counts of a vehicle. Without the counter's
    /// trip, the trip the tracker gave the vehicle.
    pub fn count_passengers(
        &self,
        vehicle_id: &str,
        trip_id: &str,
        boardings: u32,
        alightings: u32,
        at: f64,
    ) {
        let trip = if trip_id.is_empty() {
            let s = self.lock();
            let Some(t) = s.tracker.as_ref() else {
                return;
            };
            match t.vehicle(vehicle_id, at).and_then(|v| v.trip) {
                Some(trip) => t.network().trips[trip as usize].id.clone(),
                None => return,
            }
        } else {
            trip_id.to_owned()
        };
        self.inner
            .loads
            .count(vehicle_id, &trip, boardings, alightings, at);
        self.inner.changed.send_modify(|g| *g += 1);
    }

    /// How full `vehicle_id` is on `trip_id` (of `mode`) at `now`, with
    /// the coarse share of its capacity.
    /// How full `trip_id` usually is leaving `stop_id` (see [`Usual`]).
    pub fn usual_occupancy(
        &self,
        trip_id: &str,
        stop_id: &str,
        mode: &str,
    ) -> Option<(Occupancy, u32)> {
        let load = self.inner.usual.load(trip_id, stop_id)?;
        Some(self.inner.config.capacity.occupancy(mode, load))
    }

    /// Relearns the usual loads from the passenger counts.
    pub async fn refresh_usual(&self, pool: &PgPool) {
        match self.inner.usual.refresh(pool).await {
            Ok(n) => info!(
                trip_stops = n,
                "usual loads learned from the passenger counts"
            ),
            Err(e) => warn!(error = %e, "could not learn the usual loads"),
        }
    }

    pub fn occupancy(
        &self,
        vehicle_id: &str,
        trip_id: &str,
        mode: &str,
        now: f64,
    ) -> Option<(Occupancy, u32)> {
        let on_board = self.inner.loads.on_board(vehicle_id, trip_id, now)?;
        Some(self.inner.config.capacity.occupancy(mode, on_board))
    }

    /// Forgets vehicles silent for too long.
    pub fn sweep(&self, now: f64) {
        self.inner.loads.sweep(now);
        let dropped = self.lock().tracker.as_mut().map_or(0, |t| t.sweep(now));
        if dropped > 0 {
            info!(dropped, "silent vehicles dropped");
            self.inner.changed.send_modify(|g| *g += 1);
        }
    }

    /// Recomputes the board entries of vehicles that are due (not heard
    /// for a while, turned stale, or gone from the tracker), a few at a
    /// time so that reports are not held up. Returns how many.
    pub fn refresh_board(&self, now: f64) -> usize {
        let stale_after = match self.lock().tracker.as_ref() {
            Some(t) => t.config().stale_after_s,
            None => return 0,
        };
        self.board_mut().prepare_days(now);
        let due = self.board().due(now, stale_after);
        for chunk in due.chunks(64) {
            let s = self.lock();
            let Some(t) = s.tracker.as_ref() else {
                return 0;
            };
            let plans: Vec<_> = chunk.iter().map(|id| board::plan(t, id, now)).collect();
            let mut b = self.board_mut();
            for (id, plan) in chunk.iter().zip(plans) {
                b.place(id, plan, now);
            }
        }
        if !due.is_empty() {
            self.inner.changed.send_modify(|g| *g += 1);
        }
        due.len()
    }

    /// What an operator watches: vehicles by mode and state, the age of the
    /// newest report and of the oldest live prediction, and the active feed's
    /// last service date. None before a feed is loaded.
    pub fn census(&self, now: f64) -> Option<Census> {
        let s = self.lock();
        let tracker = s.tracker.as_ref()?;
        let net = tracker.network();
        let mut census = Census {
            vehicles: BTreeMap::new(),
            newest_report_age_s: None,
            oldest_prediction_age_s: 0.0,
            last_service_date: net.last_service_date(),
        };
        for v in tracker.vehicles(now) {
            let mode = v
                .trip
                .map(|t| {
                    net.routes[net.trips[t as usize].route as usize]
                        .mode
                        .as_str()
                })
                .unwrap_or("unknown");
            // Silent before its trip's last stop: lost, not gone to the depot.
            let mid_trip = matches!(
                v.status,
                VehicleStatus::InTransitTo | VehicleStatus::StoppedAt
            ) && v
                .trip
                .zip(v.stop_index)
                .is_some_and(|(t, j)| j + 1 < net.trips[t as usize].stops.len());
            let state = match (v.stale, v.status) {
                (true, _) if mid_trip => "silent_on_trip",
                (true, _) => "stale",
                (false, VehicleStatus::OffRoute) => "off_route",
                (false, VehicleStatus::Unassigned) => "unassigned",
                (false, _) => "on_trip",
            };
            *census.vehicles.entry((mode.to_owned(), state)).or_insert(0) += 1;
            let age = (now - v.recorded_at).max(0.0);
            census.newest_report_age_s =
                Some(census.newest_report_age_s.map_or(age, |a: f64| a.min(age)));
        }
        drop(s);
        census.oldest_prediction_age_s = self.board().oldest_prediction_age(now);
        Some(census)
    }
}
