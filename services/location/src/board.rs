//! The arrival board: every tracked vehicle's coming stop times, indexed by
//! stop and kept current as its reports arrive, so that an arrivals query
//! reads the first few entries of one stop instead of predicting every
//! vehicle under the tracker's lock (issue #8: that took 15.7 ms a query
//! with 2,000 live vehicles).
//!
//! A vehicle's entries are recomputed when it reports and, for vehicles
//! that fall silent, by [`Live::refresh_board`](crate::live::Live) once a
//! second, so a vehicle that turns stale moves from predicted to flagged
//! timetable rows within about a second of the stale threshold.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use kagoshima_proto::v1::ArrivalStatus;
use kagoshima_tracker::{Network, Tracker, VehicleStatus, network::day_start};

use kagoshima_network::read::Names;

/// How far ahead a live vehicle's predictions go (its next trips included).
pub const PREDICTION_HORIZON_S: f64 = 3.0 * 3600.0;
/// Timetable rows for trips no vehicle has taken: from a minute ago to this far ahead.
pub const TIMETABLE_AHEAD_S: f64 = 2.0 * 3600.0;
/// A vehicle's entries are recomputed at least this often while it is tracked.
pub const RECOMPUTE_AFTER_S: f64 = 5.0;
/// How long a row without a prediction (its vehicle stale or off route) stays
/// after its scheduled time, saying it has no live data, before it goes.
pub const UNSERVED_GRACE_S: f64 = 180.0;

/// Whether a row is shown at `now`. The one rule for truthful rows: a
/// prediction is shown until it is replaced; a row from the timetable alone
/// is never shown once its time has passed (a trip with no vehicle is not
/// "due"), except a known vehicle's for [`UNSERVED_GRACE_S`], marked as
/// having no live data.
pub fn shown(entry: &Entry, now: f64) -> bool {
    match (entry.predicted, entry.status) {
        (Some(_), _) => true,
        (None, ArrivalStatus::ScheduledOnly) => entry.t >= now,
        (None, _) => entry.t >= now - UNSERVED_GRACE_S,
    }
}

/// One coming stop time at a stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub trip: u32,
    /// Index of the stop in its trip.
    pub j: u16,
    pub date: NaiveDate,
    /// The predicted time; `None` for a timetable row of a stale or
    /// off-route vehicle.
    pub predicted: Option<f64>,
    /// The likely window of a prediction: seconds before and after it
    /// (whole tens, so that small changes do not move the row).
    pub window: (u16, u16),
    pub stops_away: i32,
    /// For live rows `OnTheWay` may still become `Approaching` at read time.
    pub status: ArrivalStatus,
    /// The time the row is ordered by (unix seconds).
    pub t: f64,
}

impl Entry {
    /// A row from the timetable alone: a trip no vehicle covers
    /// (`ScheduledOnly`), or one whose vehicle is stale or off its route.
    pub fn timetable(trip: u32, j: u16, date: NaiveDate, status: ArrivalStatus, t: f64) -> Entry {
        Entry {
            trip,
            j,
            date,
            predicted: None,
            window: (0, 0),
            stops_away: -1,
            status,
            t,
        }
    }
}

/// The service day running at `now` (unix seconds).
fn service_day_at(now: f64) -> NaiveDate {
    kagoshima_domain::calendar::transit_service_day(
        chrono::DateTime::from_timestamp(now as i64, 0).unwrap_or_default(),
    )
}

/// What one vehicle contributes: its rows by stop and the trips it covers
/// (so that the timetable does not list them a second time).
#[derive(Debug, Default)]
pub struct Plan {
    pub rows: Vec<(u32, Entry)>,
    pub covered: Vec<(u32, NaiveDate)>,
    /// Whether the rows are predictions of a fresh, on-route vehicle.
    pub live: bool,
    /// Unix seconds of the vehicle's newest report.
    pub last_t: f64,
}

/// The plan of vehicle `id` at `now`: what `Live::arrivals` used to work
/// out for every vehicle on every query.
pub fn plan(tracker: &Tracker, id: &str, now: f64) -> Plan {
    let Some(v) = tracker.vehicle(id, now) else {
        return Plan::default();
    };
    let (Some(trip), Some(date)) = (v.trip, v.service_date) else {
        return Plan::default();
    };
    let net = tracker.network();
    let mut plan = Plan {
        covered: vec![(trip, date)],
        live: !v.stale && v.status != VehicleStatus::OffRoute,
        last_t: v.recorded_at,
        ..Plan::default()
    };
    if !plan.live {
        // Timetable only, flagged, for stops still ahead of it.
        let tr = &net.trips[trip as usize];
        let status = if v.stale {
            ArrivalStatus::Stale
        } else {
            ArrivalStatus::Detour
        };
        let from = v.stop_index.unwrap_or(0);
        for (j, st) in tr.stops.iter().enumerate().skip(from) {
            if j + 1 < tr.stops.len() {
                let t = day_start(date) + f64::from(st.arr);
                plan.rows
                    .push((st.stop, Entry::timetable(trip, j as u16, date, status, t)));
            }
        }
        return plan;
    }
    for p in tracker.predict(id, now, PREDICTION_HORIZON_S) {
        if !plan.covered.contains(&(p.trip, p.service_date)) {
            plan.covered.push((p.trip, p.service_date));
        }
        let tr = &net.trips[p.trip as usize];
        if p.stop_index + 1 == tr.stops.len() {
            continue;
        }
        let status = if p.at_stop && p.trips_ahead == 0 && p.stop_index > 0 {
            ArrivalStatus::AtStop
        } else if p.trips_ahead > 0 || p.stop_index == 0 {
            ArrivalStatus::NotStarted
        } else {
            ArrivalStatus::OnTheWay
        };
        // Whole seconds: finer is noise, and rows that did not move by a
        // second need no update on the board.
        let t = if p.stop_index == 0 {
            p.departure
        } else {
            p.arrival
        }
        .round();
        plan.rows.push((
            tr.stops[p.stop_index].stop,
            Entry {
                trip: p.trip,
                j: p.stop_index as u16,
                date: p.service_date,
                predicted: Some(t),
                window: (tens(p.early_s), tens(p.late_s)),
                stops_away: p.stops_away as i32,
                status,
                t,
            },
        ));
    }
    plan
}

/// Seconds rounded to whole tens, at most 18 hours.
fn tens(s: f64) -> u16 {
    ((s / 10.0).round() * 10.0).clamp(0.0, 64_800.0) as u16
}

/// Order of entries at a stop, packed for fast comparison: time (whole
/// seconds) in the high 64 bits, then vehicle slot (24 bits), trip (24
/// bits) and index in the trip (16 bits). The date is left out: a vehicle
/// cannot run one trip twice within a horizon of a few hours.
type Key = u128;

fn key(e: &Entry, slot: u32) -> Key {
    (u128::from(e.t.max(0.0) as u64) << 64)
        | (u128::from(slot & 0xFF_FFFF) << 40)
        | (u128::from(e.trip & 0xFF_FFFF) << 16)
        | u128::from(e.j)
}

fn slot_of(key: Key) -> u32 {
    ((key >> 40) & 0xFF_FFFF) as u32
}

/// One placed row: its stop, its key there and what it holds.
type PlacedRow = (u32, Key, Entry);

/// Where a vehicle's entries are, to take them out again.
#[derive(Debug)]
struct Placed {
    slot: u32,
    rows: Vec<PlacedRow>,
    covered: Vec<(u32, NaiveDate)>,
    live: bool,
    last_t: f64,
    computed_at: f64,
}

/// A row of an arrivals answer, before names are looked up.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: Entry,
    /// The vehicle, or `None` for a timetable row no vehicle has taken.
    pub vehicle: Option<Arc<str>>,
}

/// The board of the active network.
#[derive(Debug, Default)]
pub struct Board {
    net: Option<Arc<Network>>,
    names: Arc<Names>,
    by_stop: Vec<BTreeMap<Key, Entry>>,
    /// Each stop's scheduled departures (GTFS seconds, trip, index), by time.
    timetable: Vec<Vec<(i32, u32, u16)>>,
    vehicles: HashMap<Arc<str>, Placed, foldhash::fast::RandomState>,
    slots: Vec<Arc<str>>,
    free: Vec<u32>,
    /// Trips some vehicle covers; looked up for every timetable row of an
    /// answer, hence the fast hasher.
    covered: HashMap<(u32, NaiveDate), u32, foldhash::fast::RandomState>,
    /// Which services run on the days around now, kept by
    /// [`Board::prepare_days`] so that answers read them without a lock.
    services: HashMap<NaiveDate, Arc<Vec<bool>>>,
}

impl Board {
    /// An empty board for `net` (a new feed: vehicles are placed again as they report).
    pub fn new(net: Arc<Network>, names: Arc<Names>) -> Board {
        let mut timetable = vec![Vec::new(); net.stops.len()];
        for (stop, trips) in net.stop_trips.iter().enumerate() {
            let list: &mut Vec<(i32, u32, u16)> = &mut timetable[stop];
            for &(trip, j) in trips {
                let tr = &net.trips[trip as usize];
                if usize::from(j) + 1 < tr.stops.len() {
                    list.push((tr.stops[usize::from(j)].dep, trip, j));
                }
            }
            list.sort_unstable();
        }
        Board {
            by_stop: vec![BTreeMap::new(); net.stops.len()],
            timetable,
            net: Some(net),
            names,
            ..Board::default()
        }
    }

    pub fn network(&self) -> Option<&Arc<Network>> {
        self.net.as_ref()
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Vehicles with entries on the board.
    pub fn vehicle_count(&self) -> usize {
        self.vehicles.len()
    }

    /// Replaces vehicle `id`'s entries with `plan` (computed at `now`).
    ///
    /// Between two reports most of a vehicle's rows stay in the same second
    /// (the later trips of its block hardly move): those are updated where
    /// they are, and only the rows that moved are taken out and put back.
    pub fn place(&mut self, id: &str, mut plan: Plan, now: f64) {
        plan.rows
            .retain(|(stop, _)| (*stop as usize) < self.by_stop.len());
        if plan.rows.is_empty() && plan.covered.is_empty() {
            if let Some(slot) = self.take_out(id) {
                self.free.push(slot);
            }
            return;
        }
        let (name, slot, old) = match self.vehicles.remove_entry(id) {
            Some((name, old)) => (name, old.slot, Some(old)),
            None => {
                let (name, slot) = self.new_slot(id);
                (name, slot, None)
            }
        };
        let old_rows = old.as_ref().map_or(&[][..], |p| &p.rows[..]);
        let same_visit = |a: &PlacedRow, stop: u32, e: &Entry| {
            a.0 == stop && a.2.trip == e.trip && a.2.j == e.j && a.2.date == e.date
        };
        // Rows of stops passed since drop off the front: line the lists up.
        let offset = plan.rows.first().map_or(0, |(stop, e)| {
            old_rows
                .iter()
                .take(64)
                .position(|r| same_visit(r, *stop, e))
                .unwrap_or(0)
        });
        let mut kept = vec![false; old_rows.len()];
        let mut rows = Vec::with_capacity(plan.rows.len());
        let mut moved = Vec::new();
        for (i, (stop, e)) in plan.rows.into_iter().enumerate() {
            let k = key(&e, slot);
            rows.push((stop, k, e));
            match old_rows.get(i + offset) {
                Some(o) if o.1 == k && same_visit(o, stop, &e) => {
                    kept[i + offset] = true;
                    if o.2 != e
                        && let Some(entry) = self.by_stop[stop as usize].get_mut(&k)
                    {
                        *entry = e;
                    }
                }
                _ => moved.push((stop, k, e)),
            }
        }
        for (o, kept) in old_rows.iter().zip(kept) {
            if !kept {
                self.by_stop[o.0 as usize].remove(&o.1);
            }
        }
        for (stop, k, e) in moved {
            self.by_stop[stop as usize].insert(k, e);
        }
        let old_covered = old.as_ref().map_or(&[][..], |p| &p.covered[..]);
        if old_covered != plan.covered.as_slice() {
            self.uncover(old_covered);
            for c in &plan.covered {
                *self.covered.entry(*c).or_default() += 1;
            }
        }
        self.vehicles.insert(
            name,
            Placed {
                slot,
                rows,
                covered: plan.covered,
                live: plan.live,
                last_t: plan.last_t,
                computed_at: now,
            },
        );
    }

    fn new_slot(&mut self, id: &str) -> (Arc<str>, u32) {
        let name: Arc<str> = Arc::from(id);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = name.clone();
                s
            }
            None => {
                self.slots.push(name.clone());
                (self.slots.len() - 1) as u32
            }
        };
        (name, slot)
    }

    fn uncover(&mut self, covered: &[(u32, NaiveDate)]) {
        for c in covered {
            if let Some(n) = self.covered.get_mut(c) {
                *n -= 1;
                if *n == 0 {
                    self.covered.remove(c);
                }
            }
        }
    }

    /// Removes vehicle `id`'s entries; returns the slot it had.
    fn take_out(&mut self, id: &str) -> Option<u32> {
        let placed = self.vehicles.remove(id)?;
        for (stop, key, _) in &placed.rows {
            self.by_stop[*stop as usize].remove(key);
        }
        self.uncover(&placed.covered);
        Some(placed.slot)
    }

    /// Seconds since the least recently computed live vehicle's predictions
    /// (0 with none): grows when the board refresher falls behind.
    pub fn oldest_prediction_age(&self, now: f64) -> f64 {
        self.vehicles
            .values()
            .filter(|p| p.live)
            .map(|p| now - p.computed_at)
            .fold(0.0, f64::max)
    }

    /// Vehicles whose entries are due: computed more than
    /// [`RECOMPUTE_AFTER_S`] ago, or live then and silent too long now.
    pub fn due(&self, now: f64, stale_after_s: f64) -> Vec<Arc<str>> {
        self.vehicles
            .iter()
            .filter(|(_, p)| {
                now - p.computed_at >= RECOMPUTE_AFTER_S
                    || (p.live && now - p.last_t > stale_after_s)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The first `limit` rows at `stop` (of `route`, if given) at `now`:
    /// vehicles' rows, then the timetable for trips no vehicle covers.
    pub fn rows(&self, stop: u32, route: Option<u32>, now: f64, limit: usize) -> Vec<Row> {
        let Some(net) = &self.net else {
            return Vec::new();
        };
        let of_route = |trip: u32| route.is_none_or(|r| net.trips[trip as usize].route == r);
        let mut rows: Vec<Row> = self.by_stop[stop as usize]
            .iter()
            .filter(|(_, e)| of_route(e.trip) && shown(e, now))
            .take(limit)
            .map(|(key, e)| {
                let mut entry = *e;
                if entry.status == ArrivalStatus::OnTheWay
                    && entry.stops_away == 0
                    && entry.t - now <= 120.0
                {
                    entry.status = ArrivalStatus::Approaching;
                }
                Row {
                    entry,
                    vehicle: Some(self.slots[slot_of(*key) as usize].clone()),
                }
            })
            .collect();
        let today = service_day_at(now);
        // Yesterday's trips past midnight (GTFS times past 24:00), today's,
        // and tomorrow's before the service day's 03:00 start (feeds that
        // write a night trip as 00:30 of the next day).
        for date in [
            today - chrono::Duration::days(1),
            today,
            today + chrono::Duration::days(1),
        ] {
            let services = self.services_on(net, date);
            let ds = day_start(date);
            let list = &self.timetable[stop as usize];
            let lo = (now - ds).ceil();
            let hi = now + TIMETABLE_AHEAD_S - ds;
            let first = list.partition_point(|&(dep, _, _)| f64::from(dep) < lo);
            for &(dep, trip, j) in &list[first..] {
                if f64::from(dep) > hi {
                    break;
                }
                let tr = &net.trips[trip as usize];
                if !services.get(tr.service as usize).copied().unwrap_or(false)
                    || self.covered.contains_key(&(trip, date))
                    || !of_route(trip)
                {
                    continue;
                }
                let t = ds + f64::from(dep);
                rows.push(Row {
                    entry: Entry::timetable(trip, j, date, ArrivalStatus::ScheduledOnly, t),
                    vehicle: None,
                });
            }
        }
        rows.sort_by(|a, b| a.entry.t.total_cmp(&b.entry.t));
        rows.truncate(limit);
        rows
    }

    /// The first `limit` rows where a rider at `stop` boards: at a station,
    /// every platform's rows merged by time.
    pub fn rows_for_rider(
        &self,
        stop: u32,
        route: Option<u32>,
        now: f64,
        limit: usize,
    ) -> Vec<Row> {
        let Some(net) = &self.net else {
            return Vec::new();
        };
        let points = net.calling_points(stop);
        if let [only] = points[..] {
            return self.rows(only, route, now, limit);
        }
        let mut rows: Vec<Row> = points
            .into_iter()
            .flat_map(|p| self.rows(p, route, now, limit))
            .collect();
        rows.sort_by(|a, b| a.entry.t.total_cmp(&b.entry.t));
        rows.truncate(limit);
        rows
    }

    fn services_on(&self, net: &Network, date: NaiveDate) -> Arc<Vec<bool>> {
        match self.services.get(&date) {
            Some(s) => s.clone(),
            None => Arc::new(net.services_on(date)),
        }
    }

    /// Works out which services run from the day before `now`'s service
    /// day to the day after, once; forgets older days.
    pub fn prepare_days(&mut self, now: f64) {
        let Some(net) = self.net.clone() else {
            return;
        };
        let today = service_day_at(now);
        let days = [
            today - chrono::Duration::days(1),
            today,
            today + chrono::Duration::days(1),
        ];
        self.services.retain(|d, _| days.contains(d));
        for d in days {
            self.services
                .entry(d)
                .or_insert_with(|| Arc::new(net.services_on(d)));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! The board against the answer worked out the slow way (every
    //! vehicle's plan at the stop plus the timetable), as vehicles move on,
    //! fall silent and are forgotten.
    use super::*;
    use kagoshima_tracker::{Report, TrackerConfig};

    /// The sample feed's network.
    pub(crate) fn network() -> Arc<Network> {
        let feed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../simulators/feed/kagoshima");
        let input = kagoshima_network::read::snapshot::from_feed(&feed).expect("sample feed");
        Arc::new(Network::build(input).expect("network"))
    }

    /// Where trip `trip` is `lag` seconds behind its timetable at `t`.
    fn report(net: &Network, id: &str, trip: u32, t: f64, ds: f64, lag: f64) -> Report {
        let tr = &net.trips[trip as usize];
        let s = t - lag - ds;
        let at = |k: usize| {
            let st = &net.stops[tr.stops[k].stop as usize];
            (st.lat, st.lon)
        };
        let mut pos = at(tr.stops.len() - 1);
        for k in 0..tr.stops.len() - 1 {
            let (a, b) = (tr.stops[k], tr.stops[k + 1]);
            if s <= f64::from(a.dep) {
                pos = at(k);
                break;
            }
            if s < f64::from(b.arr) {
                let u = (s - f64::from(a.dep)) / f64::from((b.arr - a.dep).max(1));
                let (p, q) = (at(k), at(k + 1));
                pos = (p.0 + (q.0 - p.0) * u, p.1 + (q.1 - p.1) * u);
                break;
            }
        }
        Report {
            vehicle_id: id.into(),
            recorded_at: t,
            received_at: t,
            lat: pos.0,
            lon: pos.1,
            bearing: None,
            speed: Some(6.0),
            trip_id: Some(tr.id.clone()),
            route_id: None,
        }
    }

    /// The rows at `stop`, the slow way.
    fn reference(
        tracker: &Tracker,
        ids: &[String],
        stop: u32,
        route: Option<u32>,
        now: f64,
    ) -> Vec<Row> {
        let net = tracker.network();
        let of_route = |trip: u32| route.is_none_or(|r| net.trips[trip as usize].route == r);
        let mut rows = Vec::new();
        let mut covered = std::collections::HashSet::new();
        for id in ids {
            let p = plan(tracker, id, now);
            covered.extend(p.covered.iter().copied());
            for (s, mut e) in p.rows {
                if s == stop && of_route(e.trip) && shown(&e, now) {
                    if e.status == ArrivalStatus::OnTheWay
                        && e.stops_away == 0
                        && e.t - now <= 120.0
                    {
                        e.status = ArrivalStatus::Approaching;
                    }
                    rows.push(Row {
                        entry: e,
                        vehicle: Some(Arc::from(id.as_str())),
                    });
                }
            }
        }
        let today = kagoshima_domain::calendar::transit_service_day(
            chrono::DateTime::from_timestamp(now as i64, 0).expect("time"),
        );
        for date in [
            today - chrono::Duration::days(1),
            today,
            today + chrono::Duration::days(1),
        ] {
            let on = net.services_on(date);
            for &(trip, j) in &net.stop_trips[stop as usize] {
                let tr = &net.trips[trip as usize];
                let t = day_start(date) + f64::from(tr.stops[usize::from(j)].dep);
                if on[tr.service as usize]
                    && usize::from(j) + 1 < tr.stops.len()
                    && !covered.contains(&(trip, date))
                    && of_route(trip)
                    && t >= now
                    && t <= now + TIMETABLE_AHEAD_S
                {
                    rows.push(Row {
                        entry: Entry::timetable(trip, j, date, ArrivalStatus::ScheduledOnly, t),
                        vehicle: None,
                    });
                }
            }
        }
        rows
    }

    fn canonical(mut rows: Vec<Row>) -> Vec<String> {
        rows.sort_by(|a, b| {
            a.entry
                .t
                .total_cmp(&b.entry.t)
                .then_with(|| a.vehicle.cmp(&b.vehicle))
                .then_with(|| a.entry.trip.cmp(&b.entry.trip))
        });
        rows.iter().map(|r| format!("{r:?}")).collect()
    }

    /// Compares every stop's rows with the reference after placing every
    /// vehicle again at `now`: a vehicle's rows are its predictions as of
    /// its last placement, and the learned model has moved on since.
    fn assert_same(board: &mut Board, tracker: &Tracker, ids: &[String], now: f64) {
        for id in ids {
            board.place(id, plan(tracker, id, now), now);
        }
        let net = tracker.network();
        let tram = net.route("tram-1");
        let mut checked = 0;
        for stop in 0..net.stops.len() as u32 {
            for route in [None, tram] {
                let got = canonical(board.rows(stop, route, now, usize::MAX));
                let want = canonical(reference(tracker, ids, stop, route, now));
                checked += want.len();
                let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).collect();
                let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).collect();
                assert!(
                    extra.is_empty() && missing.is_empty() && got == want,
                    "stop {} route {route:?}: on the board only {extra:#?}, \
                     in the reference only {missing:#?}",
                    net.stops[stop as usize].id
                );
            }
        }
        assert!(checked > 100, "too little to compare: {checked} rows");
    }

    #[test]
    fn the_board_answers_what_every_vehicle_predicted_would() {
        let net = network();
        let date = NaiveDate::from_ymd_opt(2025, 6, 10).expect("date"); // a Tuesday
        let ds = day_start(date);
        let mut now = ds + 8.0 * 3600.0;
        let on = net.services_on(date);
        let running: Vec<u32> = (0..net.trips.len() as u32)
            .filter(|&t| {
                let tr = &net.trips[t as usize];
                on[tr.service as usize]
                    && f64::from(tr.start()) < now - ds
                    && now - ds < f64::from(tr.end())
            })
            .collect();
        assert!(running.len() >= 10, "{} trips running", running.len());
        let fleet: Vec<(String, u32, f64)> = (0..3 * running.len())
            .map(|i| {
                let lag = (i / running.len()) as f64 * 90.0;
                (format!("v{i:03}"), running[i % running.len()], lag)
            })
            .collect();
        let ids: Vec<String> = fleet.iter().map(|f| f.0.clone()).collect();
        let mut tracker = Tracker::new(net.clone(), TrackerConfig::default());
        let mut board = Board::new(net.clone(), Arc::default());

        // Vehicles report every 20 s for 5 minutes; the board follows.
        for step in 0..15 {
            now += 20.0;
            for (k, (id, trip, lag)) in fleet.iter().enumerate() {
                // A few vehicles fall silent after the first minute.
                if k % 7 == 0 && step > 3 {
                    continue;
                }
                tracker.ingest(&report(&net, id, *trip, now, ds, *lag));
                board.place(id, plan(&tracker, id, now), now);
            }
        }
        // What the refresh does: vehicles that are due are computed again.
        let due = board.due(now, tracker.config().stale_after_s);
        assert!(!due.is_empty(), "the silent vehicles are due");
        for id in &due {
            board.place(id, plan(&tracker, id, now), now);
        }
        let stale = board.rows(0, None, now, usize::MAX);
        assert_same(&mut board, &tracker, &ids, now);
        assert!(
            (0..net.stops.len() as u32)
                .flat_map(|s| board.rows(s, None, now, usize::MAX))
                .any(|r| r.entry.status == ArrivalStatus::Stale),
            "silent vehicles are listed as stale: {stale:?}"
        );
        assert!(
            (0..net.stops.len() as u32)
                .flat_map(|s| board.rows(s, None, now, usize::MAX))
                .any(|r| r.entry.status == ArrivalStatus::Approaching),
            "some vehicle approaches a stop"
        );

        // Forgotten vehicles leave nothing behind, and their trips come back
        // as timetable rows.
        now += tracker.config().drop_after_s - 200.0;
        for (id, trip, lag) in fleet.iter().skip(1).step_by(2) {
            tracker.ingest(&report(&net, id, *trip, now, ds, *lag));
            board.place(id, plan(&tracker, id, now), now);
        }
        assert!(tracker.sweep(now) > 0);
        for id in board.due(now, tracker.config().stale_after_s) {
            board.place(&id, plan(&tracker, &id, now), now);
        }
        assert_same(&mut board, &tracker, &ids, now);
        let forgotten: Vec<&String> = ids
            .iter()
            .filter(|id| tracker.vehicle(id, now).is_none())
            .collect();
        assert!(!forgotten.is_empty());
        assert!(
            forgotten
                .iter()
                .all(|id| !board.vehicles.contains_key(id.as_str())),
            "forgotten vehicles left entries"
        );
        assert!(board.vehicle_count() <= ids.len() - forgotten.len());
    }

    #[test]
    fn a_row_without_a_prediction_is_never_shown_past_its_time() {
        let date = NaiveDate::from_ymd_opt(2025, 6, 10).expect("date");
        let now = 1_000_000.0;
        let row = |status, t| Entry::timetable(0, 1, date, status, t);
        // A trip no vehicle covers goes at its scheduled time.
        assert!(shown(&row(ArrivalStatus::ScheduledOnly, now + 30.0), now));
        assert!(!shown(&row(ArrivalStatus::ScheduledOnly, now - 1.0), now));
        // A known vehicle without live data stays a grace period, then goes.
        assert!(shown(&row(ArrivalStatus::Stale, now - 60.0), now));
        assert!(!shown(
            &row(ArrivalStatus::Stale, now - UNSERVED_GRACE_S - 1.0),
            now
        ));
        assert!(!shown(
            &row(ArrivalStatus::Detour, now - UNSERVED_GRACE_S - 1.0),
            now
        ));
        // A prediction is shown until it is replaced.
        let mut live = row(ArrivalStatus::Approaching, now - 20.0);
        live.predicted = Some(now - 20.0);
        assert!(shown(&live, now));
    }

    #[test]
    fn the_limit_keeps_the_soonest_rows() {
        let net = network();
        let board = Board::new(net.clone(), Arc::default());
        let date = NaiveDate::from_ymd_opt(2025, 6, 10).expect("date");
        let now = day_start(date) + 8.0 * 3600.0;
        let stop = net.stop("tram_tenmonkan_dori").expect("天文館通");
        let all = board.rows(stop, None, now, usize::MAX);
        assert!(all.len() > 10, "{} timetable rows", all.len());
        let first = board.rows(stop, None, now, 10);
        assert_eq!(
            canonical(first),
            canonical(all.into_iter().take(10).collect())
        );
    }

    #[test]
    fn a_trip_written_at_00_30_of_the_next_day_is_on_the_board_after_midnight() {
        use kagoshima_tracker::network::{
            CalendarInput, NetworkInput, RouteInput, StopInput, StopTimeInput, TripInput,
        };
        let stop = |id: &str, lon: f64| StopInput {
            stop_id: id.into(),
            name: id.into(),
            lat: 31.59,
            lon,
            parent_station: None,
            platform_code: None,
            feed: 0,
        };
        let mut input = NetworkInput {
            stops: vec![stop("a", 130.55), stop("b", 130.56)],
            ..NetworkInput::default()
        };
        input.routes.push(RouteInput {
            route_id: "night".into(),
            agency_id: None,
            short_name: "N".into(),
            mode: "bus".into(),
        });
        input.trips.push(TripInput {
            trip_id: "n-0030".into(),
            run: None,
            route_id: "night".into(),
            wheelchair_accessible: 0,
            service_id: "all".into(),
            headsign: "b".into(),
            direction_id: None,
            block_id: None,
            shape_id: None,
        });
        for (seq, id, t) in [(1, "a", 1800), (2, "b", 2400)] {
            input.stop_times.push(StopTimeInput {
                trip_id: "n-0030".into(),
                stop_sequence: seq,
                stop_id: id.into(),
                arrival_s: Some(t),
                departure_s: Some(t),
            });
        }
        input.calendars.push(CalendarInput {
            service_id: "all".into(),
            days: [true; 7],
            start: NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2027, 12, 31).expect("date"),
        });
        let net = Arc::new(Network::build(input).expect("network"));
        let mut board = Board::new(net.clone(), Arc::default());
        // 00:10 JST on 11 June belongs to the service day of 10 June; the
        // trip runs at 00:30 of the service day of 11 June.
        let june_11 = NaiveDate::from_ymd_opt(2025, 6, 11).expect("date");
        let now = day_start(june_11) + 600.0;
        board.prepare_days(now);
        let rows = board.rows(net.stop("a").expect("a"), None, now, 10);
        let dates: Vec<NaiveDate> = rows.iter().map(|r| r.entry.date).collect();
        assert_eq!(dates, [june_11], "the 00:30 trip of the next service day");
        assert_eq!(rows[0].entry.t, day_start(june_11) + 1800.0);
    }
}
