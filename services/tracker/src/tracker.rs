//! The per-vehicle state machine: map matching along the assigned trip's
//! shape (windowed, monotone, outliers rejected), trip assignment (the
//! driver's log-in, else inferred from schedule and path), layovers, detours,
//! staleness, stop visits interpolated between reports, and learning.
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use kagoshima_domain::calendar::{DayType, day_type, transit_service_day};

use crate::geo::Xy;
use crate::model::TravelModel;
use crate::network::{Network, day_start};

/// Thresholds of the state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// A report farther than this from the trip's shape is off the shape.
    pub max_off_shape_m: f64,
    /// Consecutive reports off the shape before the vehicle counts as off route.
    pub off_route_reports: u32,
    /// A stop is reached within this distance along the shape.
    pub dwell_radius_m: f64,
    /// A vehicle with no report for this long is stale (no predictions).
    pub stale_after_s: f64,
    /// ... and is forgotten after this long.
    pub drop_after_s: f64,
    /// Backward moves up to this are GPS noise.
    pub backward_tolerance_m: f64,
    /// A forward jump this much beyond the move the reported speed explains
    /// needs a second report to confirm it.
    pub jump_tolerance_m: f64,
    /// Least time at a terminal between trips.
    pub min_layover_s: f64,
    /// Reports older than this (against the receive time) are ignored.
    pub max_report_age_s: f64,
    /// Inference accepts a trip whose score is below this (≈ minutes off schedule).
    pub max_assign_score: f64,
    /// A stop visit is learned from only when the reports around it are this close.
    pub learn_max_gap_s: f64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_off_shape_m: 60.0,
            off_route_reports: 3,
            dwell_radius_m: 25.0,
            stale_after_s: 90.0,
            drop_after_s: 900.0,
            backward_tolerance_m: 30.0,
            jump_tolerance_m: 80.0,
            min_layover_s: 60.0,
            max_report_age_s: 1800.0,
            max_assign_score: 25.0,
            learn_max_gap_s: 35.0,
        }
    }
}

/// One position report. Times are unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub vehicle_id: String,
    /// The device's timestamp (its clock may be off).
    pub recorded_at: f64,
    /// When the service received it.
    pub received_at: f64,
    pub lat: f64,
    pub lon: f64,
    pub bearing: Option<f64>,
    /// Metres per second.
    pub speed: Option<f64>,
    /// The driver's logged-in trip, if any.
    pub trip_id: Option<String>,
    pub route_id: Option<String>,
}

pub use kagoshima_domain::stop_visit::StopVisit;

/// What a vehicle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleStatus {
    /// No trip could be assigned (out of service, or unknown).
    Unassigned,
    /// At the first stop of its trip, waiting to depart.
    Layover,
    /// At a stop of its trip.
    StoppedAt,
    /// Between stops.
    InTransitTo,
    /// Away from its trip's path (detour): no predictions.
    OffRoute,
}

/// A snapshot of one vehicle for the public interfaces.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleView {
    pub vehicle_id: String,
    pub lat: f64,
    pub lon: f64,
    pub bearing: Option<f64>,
    pub speed: Option<f64>,
    /// Unix seconds of the newest report (clock-corrected).
    pub recorded_at: f64,
    pub stale: bool,
    pub status: VehicleStatus,
    pub trip: Option<u32>,
    pub service_date: Option<NaiveDate>,
    /// Index (in the trip) of the stop the vehicle is at or heading to.
    pub stop_index: Option<usize>,
    /// Seconds behind the timetable at its position (negative: early).
    pub delay_s: Option<f64>,
    pub distance_m: Option<f64>,
    pub logged_in: bool,
}

#[derive(Debug, Clone)]
struct Run {
    trip: u32,
    date: NaiveDate,
    day_start: f64,
    day_type: DayType,
    logged_in: bool,
    d: f64,
    t: f64,
    speed: f64,
    points: VecDeque<(f64, f64)>,
    arr: Vec<Option<f64>>,
    dep: Vec<Option<f64>>,
    reliable: Vec<bool>,
    refined: Vec<bool>,
    next_arr: usize,
    next_dep: usize,
    pending: Option<(f64, f64)>,
    backward: u32,
    off_count: u32,
    off_route: bool,
}

#[derive(Debug, Clone)]
struct Vehicle {
    id: String,
    last_t: f64,
    xy: Xy,
    lat: f64,
    lon: f64,
    bearing: Option<f64>,
    speed: Option<f64>,
    offsets: VecDeque<f64>,
    clock_offset: f64,
    run: Option<Run>,
    recent: VecDeque<(f64, Xy)>,
    prev_trip: Option<(u32, NaiveDate, f64)>,
    route_hint: Option<String>,
}

/// Live state of every vehicle, and the travel-time model it learns.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub(crate) net: Arc<Network>,
    pub(crate) config: TrackerConfig,
    vehicles: HashMap<String, Vehicle>,
    pub(crate) model: TravelModel,
    claimed: HashMap<(u32, NaiveDate), String>,
    services: HashMap<NaiveDate, Vec<bool>>,
    generation: u64,
}

fn interp(t0: f64, d0: f64, t1: f64, d1: f64, target: f64) -> f64 {
    if d1 - d0 <= 1e-9 {
        return t1;
    }
    t0 + (t1 - t0) * ((target - d0) / (d1 - d0)).clamp(0.0, 1.0)
}

fn median(v: &VecDeque<f64>) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().collect();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

impl Tracker {
    pub fn new(net: Arc<Network>, config: TrackerConfig) -> Tracker {
        Tracker {
            net,
            config,
            vehicles: HashMap::new(),
            model: TravelModel::new(),
            claimed: HashMap::new(),
            services: HashMap::new(),
            generation: 0,
        }
    }

    pub fn network(&self) -> &Arc<Network> {
        &self.net
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    pub fn model(&self) -> &TravelModel {
        &self.model
    }

    pub fn model_mut(&mut self) -> &mut TravelModel {
        &mut self.model
    }

    /// Bumped on every change of live state.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Replaces the network (a new feed version): vehicles are re-assigned
    /// from their next reports; the learned model is kept (keyed by stop ids).
    pub fn set_network(&mut self, net: Arc<Network>) {
        self.net = net;
        self.claimed.clear();
        self.services.clear();
        for v in self.vehicles.values_mut() {
            v.run = None;
            v.prev_trip = None;
        }
        self.generation += 1;
    }

    pub fn vehicle_count(&self) -> usize {
        self.vehicles.len()
    }

    fn services_on(&mut self, date: NaiveDate) -> &Vec<bool> {
        if !self.services.contains_key(&date) {
            if self.services.len() > 16 {
                self.services.clear();
            }
            let s = self.net.services_on(date);
            self.services.insert(date, s);
        }
        &self.services[&date]
    }

    /// Learns from a stored stop visit (history at start-up): the running
    /// time from the previous stop needs that stop's visit too, so pass the
    /// visits of a trip in stop order.
    pub fn learn_history(&mut self, visits: &[StopVisit]) {
        for w in visits.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.trip_id == b.trip_id && a.service_date == b.service_date {
                self.learn_pair(a, b);
            }
        }
        for v in visits {
            self.learn_dwell(v);
        }
    }

    fn learn_pair(&mut self, a: &StopVisit, b: &StopVisit) {
        if !(a.observed && b.observed) {
            return;
        }
        let Some(dep) = a.departure else { return };
        let ds = day_start(a.service_date);
        let dt = day_type(a.service_date);
        self.model.learn_run(
            &a.stop_id,
            &b.stop_id,
            dt,
            dep - ds,
            b.arrival - dep,
            b.arrival,
        );
    }

    fn learn_dwell(&mut self, v: &StopVisit) {
        let Some(dep) = v.departure else { return };
        if !v.observed || v.stop_sequence == 0 {
            return;
        }
        // First stops are layovers, not dwells: skipped by the caller's data
        // (scheduled departure equals the first stop's) — detect by the trip.
        if let Some(t) = self.net.trip(&v.trip_id) {
            let trip = &self.net.trips[t as usize];
            if trip.stops.first().map(|s| s.seq) == Some(v.stop_sequence)
                || trip.stops.last().map(|s| s.seq) == Some(v.stop_sequence)
            {
                return;
            }
        }
        let ds = day_start(v.service_date);
        self.model.learn_dwell(
            &v.stop_id,
            day_type(v.service_date),
            v.arrival - ds,
            dep - v.arrival,
            dep,
        );
    }

    /// Takes one report; returns the stop visits it completed or started.
    pub fn ingest(&mut self, r: &Report) -> Vec<StopVisit> {
        let mut out = Vec::new();
        if !(r.lat.is_finite() && r.lon.is_finite()) || r.vehicle_id.is_empty() {
            return out;
        }
        let xy = self.net.projection.to_xy(r.lat, r.lon);
        let mut v = self
            .vehicles
            .remove(&r.vehicle_id)
            .unwrap_or_else(|| Vehicle {
                id: r.vehicle_id.clone(),
                last_t: f64::MIN,
                xy,
                lat: r.lat,
                lon: r.lon,
                bearing: None,
                speed: None,
                offsets: VecDeque::new(),
                clock_offset: 0.0,
                run: None,
                recent: VecDeque::new(),
                prev_trip: None,
                route_hint: None,
            });
        // Device clock: the median offset of recent reports against receipt.
        // A report older than the newest accepted one (by the current
        // estimate) does not vote: a buffer delivered late says how long it
        // waited, not how the clock is off, and a burst of it would otherwise
        // make its old positions look current.
        let late = (r.recorded_at - v.clock_offset).min(r.received_at + 5.0) <= v.last_t;
        if !late {
            v.offsets.push_back(r.recorded_at - r.received_at);
            if v.offsets.len() > 21 {
                v.offsets.pop_front();
            }
            let m = median(&v.offsets);
            v.clock_offset = if m.abs() > 3.0 { m } else { 0.0 };
        }
        let t = (r.recorded_at - v.clock_offset).min(r.received_at + 5.0);
        if r.received_at - t > self.config.max_report_age_s {
            self.vehicles.insert(v.id.clone(), v);
            return out;
        }
        if t <= v.last_t {
            // Late or repeated: too old for the live state, but it may still
            // sharpen stop visits not yet decided.
            if t < v.last_t {
                self.late_point(&mut v, t, xy);
            }
            self.vehicles.insert(v.id.clone(), v);
            return out;
        }
        v.last_t = t;
        v.xy = xy;
        v.lat = r.lat;
        v.lon = r.lon;
        v.bearing = r.bearing;
        v.speed = r.speed;
        v.recent.push_back((t, xy));
        if v.recent.len() > 8 {
            v.recent.pop_front();
        }
        if let Some(route) = r.route_id.as_ref().filter(|s| !s.is_empty()) {
            v.route_hint = Some(route.clone());
        }
        self.generation += 1;

        // The driver's log-in wins.
        let login = r
            .trip_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|id| self.net.trip(id));
        if let Some(trip) = login {
            let same = v.run.as_ref().is_some_and(|run| run.trip == trip);
            // A log-in left on after the trip ended is not a new run of it.
            let finished = v.prev_trip.is_some_and(|p| p.0 == trip);
            if same || finished {
                if let Some(run) = v.run.as_mut() {
                    run.logged_in = true;
                }
            } else {
                let date = self.date_for(trip, t);
                self.release(&mut v);
                let arrived = v.prev_trip.map(|p| p.2);
                self.start_run(&mut v, trip, date, t, xy, true, arrived, &mut out);
            }
        } else if v.run.is_none() {
            self.infer(&mut v, t, &mut out);
        }
        if v.run.is_some() {
            self.advance(&mut v, t, xy, r.speed, &mut out);
        }
        self.vehicles.insert(v.id.clone(), v);
        out
    }

    /// The service date whose timetable puts `trip` nearest to `t`.
    fn date_for(&mut self, trip: u32, t: f64) -> NaiveDate {
        let d0 =
            transit_service_day(chrono::DateTime::from_timestamp(t as i64, 0).unwrap_or_default());
        let tr = &self.net.trips[trip as usize];
        let (start, end) = (f64::from(tr.start()), f64::from(tr.end()));
        let service = tr.service as usize;
        let mut best = (f64::INFINITY, d0);
        for date in [d0, d0 - Duration::days(1), d0 + Duration::days(1)] {
            let runs = self
                .services_on(date)
                .get(service)
                .copied()
                .unwrap_or(false);
            let local = t - day_start(date);
            let gap = if local < start {
                start - local
            } else if local > end {
                local - end
            } else {
                0.0
            };
            let score = gap + if runs { 0.0 } else { 86_400.0 };
            if score < best.0 {
                best = (score, date);
            }
        }
        best.1
    }

    fn release(&mut self, v: &mut Vehicle) {
        if let Some(run) = v.run.take() {
            let key = (run.trip, run.date);
            if self.claimed.get(&key) == Some(&v.id) {
                self.claimed.remove(&key);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_run(
        &mut self,
        v: &mut Vehicle,
        trip: u32,
        date: NaiveDate,
        t: f64,
        xy: Xy,
        logged_in: bool,
        arrived_at_first: Option<f64>,
        out: &mut Vec<StopVisit>,
    ) {
        let key = (trip, date);
        if let Some(other) = self.claimed.get(&key).cloned()
            && other != v.id
        {
            // A logged-in driver takes the trip from an inferred assignment.
            if let Some(o) = self.vehicles.get_mut(&other)
                && o.run.as_ref().is_some_and(|r| !r.logged_in)
            {
                o.run = None;
            }
        }
        self.claimed.insert(key, v.id.clone());
        let net = self.net.clone();
        let tr = &net.trips[trip as usize];
        let n = tr.stops.len();
        let line = net.shape_of(trip);
        let last = tr.stops[n - 1].dist;
        let p = line.project_window(xy, tr.stops[0].dist, last);
        let rad = self.config.dwell_radius_m;
        let mut run = Run {
            trip,
            date,
            day_start: day_start(date),
            day_type: day_type(date),
            logged_in,
            d: p.along,
            t,
            speed: 0.0,
            points: VecDeque::new(),
            arr: vec![None; n],
            dep: vec![None; n],
            reliable: vec![false; n],
            refined: vec![true; n],
            next_arr: 0,
            next_dep: 0,
            pending: None,
            backward: 0,
            off_count: 0,
            off_route: false,
        };
        if p.off > self.config.max_off_shape_m || p.along <= tr.stops[0].dist + rad {
            // At (or off the shape near) the first stop: a layover.
            run.d = tr.stops[0].dist.min(p.along);
            let arrived = arrived_at_first
                .filter(|a| t - a < 3_600.0 && *a <= t)
                .unwrap_or(t);
            run.arr[0] = Some(arrived);
            run.reliable[0] = arrived_at_first.is_some();
            run.next_arr = 1;
            if run.reliable[0] {
                out.push(self.visit(&v.id, &run, 0));
            }
        } else {
            // Joined mid-trip: stops behind are unknown.
            let j = tr.stops.partition_point(|s| s.dist < p.along - rad);
            run.next_arr = j;
            run.next_dep = j;
            if j < n && p.along >= tr.stops[j].dist - rad {
                run.arr[j] = Some(t);
                run.next_arr = j + 1;
            }
        }
        run.points.push_back((t, run.d));
        v.run = Some(run);
        self.generation += 1;
    }

    fn visit(&self, vehicle: &str, run: &Run, j: usize) -> StopVisit {
        let tr = &self.net.trips[run.trip as usize];
        let s = tr.stops[j];
        StopVisit {
            service_date: run.date,
            trip_id: tr.id.clone(),
            stop_sequence: s.seq,
            stop_id: self.net.stops[s.stop as usize].id.clone(),
            route_id: self.net.routes[tr.route as usize].id.clone(),
            direction_id: tr.direction,
            vehicle_id: vehicle.to_owned(),
            scheduled_arrival: run.day_start + f64::from(s.arr),
            scheduled_departure: run.day_start + f64::from(s.dep),
            arrival: run.arr[j].unwrap_or(run.t),
            departure: run.dep[j],
            observed: run.reliable[j],
        }
    }

    /// Trip inference from the schedule and the path (no log-in).
    fn infer(&mut self, v: &mut Vehicle, t: f64, out: &mut Vec<StopVisit>) {
        let Some((trip, date)) = self.best_candidate(v, t) else {
            return;
        };
        let arrived = v
            .prev_trip
            .filter(|p| self.net.next_in_block(p.0) == Some(trip))
            .map(|p| p.2);
        let xy = v.xy;
        self.start_run(v, trip, date, t, xy, false, arrived, out);
    }

    fn best_candidate(&mut self, v: &Vehicle, t: f64) -> Option<(u32, NaiveDate)> {
        let d0 =
            transit_service_day(chrono::DateTime::from_timestamp(t as i64, 0).unwrap_or_default());
        let net = self.net.clone();
        let rad = self.config.dwell_radius_m;
        let max_off = self.config.max_off_shape_m;
        let route_hint = v.route_hint.as_deref().and_then(|r| net.route(r));
        let successor = v
            .prev_trip
            .and_then(|p| net.next_in_block(p.0).map(|n| (n, p.1)));
        let earliest = v
            .recent
            .iter()
            .find(|(rt, p)| t - rt >= 20.0 && p.dist(v.xy) >= 30.0)
            .map(|x| x.1);
        let mut shape_cache: HashMap<u32, (f64, f64, Option<f64>)> = HashMap::new();
        let mut best: Option<(f64, u32, NaiveDate)> = None;
        for date in [d0, d0 - Duration::days(1)] {
            let services = self.services_on(date).clone();
            let local = t - day_start(date);
            for (ti, tr) in net.trips.iter().enumerate() {
                let ti = ti as u32;
                if !services.get(tr.service as usize).copied().unwrap_or(false) {
                    continue;
                }
                let (start, end) = (f64::from(tr.start()), f64::from(tr.end()));
                if local < start - 1_800.0 || local > end + 1_200.0 {
                    continue;
                }
                if route_hint.is_some_and(|r| r != tr.route) {
                    continue;
                }
                let (along, off, along_e) = *shape_cache.entry(tr.shape).or_insert_with(|| {
                    let line = &net.shapes[tr.shape as usize];
                    let p = line.project(v.xy);
                    (p.along, p.off, earliest.map(|e| line.project(e).along))
                });
                if off > max_off {
                    continue;
                }
                if along_e.is_some_and(|e| e > along + 30.0) {
                    continue;
                }
                let first = tr.stops[0];
                let lastd = tr.stops[tr.stops.len() - 1].dist;
                if along > lastd - rad {
                    continue;
                }
                let delay = if along <= first.dist + rad {
                    let d = local - f64::from(first.dep);
                    if d < 0.0 { d / 4.0 } else { d }
                } else {
                    local - tr.scheduled_at(along)
                };
                let mut score = delay.abs() / 60.0 + off / 15.0;
                if let Some(other) = self.claimed.get(&(ti, date))
                    && other != &v.id
                {
                    score += 20.0;
                }
                if successor == Some((ti, date)) {
                    score -= 10.0;
                }
                if best.is_none_or(|b| score < b.0) {
                    best = Some((score, ti, date));
                }
            }
        }
        best.filter(|b| b.0 < self.config.max_assign_score)
            .map(|b| (b.1, b.2))
    }

    fn advance(
        &mut self,
        v: &mut Vehicle,
        t: f64,
        xy: Xy,
        speed: Option<f64>,
        out: &mut Vec<StopVisit>,
    ) {
        let net = self.net.clone();
        let cfg = self.config.clone();
        let Some(run) = v.run.as_mut() else { return };
        let line = net.shape_of(run.trip);
        let dt = (t - run.t).max(0.0);
        let lo = run.d - cfg.backward_tolerance_m - 20.0;
        let hi = run.d + 30.0 * dt.max(1.0) + 100.0;
        let m = line.project_window(xy, lo, hi);
        if m.off > cfg.max_off_shape_m {
            run.off_count += 1;
            if run.off_count >= cfg.off_route_reports {
                if !run.logged_in {
                    // Perhaps another trip (a wrong guess, or a new trip).
                    let logged = run.logged_in;
                    if let Some((trip, date)) = self.best_candidate(v, t)
                        && v.run.as_ref().is_some_and(|r| r.trip != trip)
                        && !logged
                    {
                        self.release(v);
                        self.start_run(v, trip, date, t, xy, false, None, out);
                        return;
                    }
                }
                if let Some(run) = v.run.as_mut()
                    && !run.off_route
                {
                    run.off_route = true;
                    self.generation += 1;
                }
            }
            return;
        }
        if run.off_route {
            run.off_route = false;
            // Back on the path: stops skipped while away are unknown.
            let tr = &net.trips[run.trip as usize];
            let full = line.project_window(xy, run.d - cfg.backward_tolerance_m, line.length());
            if full.off <= cfg.max_off_shape_m && full.along > m.along + 50.0 {
                let j = tr
                    .stops
                    .partition_point(|s| s.dist < full.along - cfg.dwell_radius_m);
                run.next_arr = run.next_arr.max(j);
                run.next_dep = run.next_dep.max(j);
                run.d = full.along;
                run.t = t;
                run.points.clear();
                run.points.push_back((t, run.d));
                return;
            }
        }
        run.off_count = 0;
        let dd = m.along - run.d;
        if dd < -cfg.backward_tolerance_m {
            run.backward += 1;
            if run.backward >= 4 && !run.logged_in {
                self.release(v);
            }
            return;
        }
        run.backward = 0;
        let v_now = speed.unwrap_or(run.speed);
        let expected = 0.5 * (run.speed + v_now) * dt;
        let limit = cfg.jump_tolerance_m + 0.3 * expected + 2.0 * dt;
        if dd > expected + limit {
            // A jump: wait for a second report to confirm it.
            let confirm = run.pending.filter(|(pt, pd)| {
                m.along >= pd - cfg.backward_tolerance_m
                    && m.along - pd <= 0.5 * (run.speed + v_now) * (t - pt) + limit
            });
            match confirm {
                Some(p) => {
                    run.pending = None;
                    Self::accept(&net, &cfg, &mut self.model, &v.id, run, p.0, p.1, out);
                }
                None => {
                    run.pending = Some((t, m.along));
                    return;
                }
            }
        } else {
            run.pending = None;
        }
        run.speed = v_now;
        Self::accept(&net, &cfg, &mut self.model, &v.id, run, t, m.along, out);
        self.generation += 1;
        // The trip is done at its last stop: on to the next of the block.
        let n = net.trips[run.trip as usize].stops.len();
        let last_d = net.trips[run.trip as usize].stops[n - 1].dist;
        let (pt0, pd0) = run
            .points
            .iter()
            .rev()
            .nth(1)
            .copied()
            .unwrap_or((run.t, run.d));
        let standing = run.d >= last_d - 1.5 || (run.t > pt0 && run.d - pd0 < 2.0);
        if run.next_arr >= n && standing {
            // Arrived where it stands: refine the last arrival and emit it.
            let ta = run.d.min(last_d) - 0.3;
            let pts = &run.points;
            for i in 1..pts.len() {
                let (a, b) = (pts[i - 1], pts[i]);
                if a.1 < ta && ta <= b.1 {
                    run.arr[n - 1] = Some(interp(a.0, a.1, b.0, b.1, ta));
                    break;
                }
            }
            if run.reliable[n - 1] {
                out.push(self.visit(&v.id, run, n - 1));
            }
            let (trip, date, arrived) = (run.trip, run.date, run.arr[n - 1].unwrap_or(t));
            self.release(v);
            v.prev_trip = Some((trip, date, arrived));
            if let Some(next) = net.next_in_block(trip) {
                let start = day_start(date) + f64::from(net.trips[next as usize].start());
                if start - t < 7_200.0 {
                    let logged = false;
                    self.start_run(v, next, date, t, xy, logged, Some(arrived), out);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn accept(
        net: &Network,
        cfg: &TrackerConfig,
        model: &mut TravelModel,
        vehicle: &str,
        run: &mut Run,
        t: f64,
        along: f64,
        out: &mut Vec<StopVisit>,
    ) {
        let (t0, d0) = (run.t, run.d);
        let d1 = along.max(d0);
        run.d = d1;
        run.t = t;
        run.points.push_back((t, d1));
        if run.points.len() > 30 {
            run.points.pop_front();
        }
        let tr = &net.trips[run.trip as usize];
        let n = tr.stops.len();
        let rad = cfg.dwell_radius_m;
        let close = t - t0 <= cfg.learn_max_gap_s;
        let mut emitted: Vec<usize> = Vec::new();
        // Arrival: entering the stop's zone; the time is refined to when the
        // track reaches the stop itself (less a small tolerance).
        const EXACT_M: f64 = 0.3;
        for j in run.next_dep.max(1)..run.next_arr {
            let target = tr.stops[j].dist - EXACT_M;
            if !run.refined[j] && d0 < target && target <= d1 {
                run.arr[j] = Some(interp(t0, d0, t, d1, target));
                run.refined[j] = true;
            }
        }
        while run.next_arr < n && d1 >= tr.stops[run.next_arr].dist - rad {
            let j = run.next_arr;
            let target = (tr.stops[j].dist - EXACT_M).min(d1).max(d0);
            run.refined[j] = d1 >= tr.stops[j].dist - EXACT_M;
            run.arr[j] = Some(interp(t0, d0, t, d1, target));
            run.reliable[j] = close;
            run.next_arr += 1;
            emitted.push(j);
        }
        while run.next_dep < run.next_arr
            && run.next_dep < n - 1
            && d1 > tr.stops[run.next_dep].dist + rad
        {
            let j = run.next_dep;
            // Where the vehicle stood: the median position of the reports in
            // the stop's zone (GPS and the feed may put the stop a few metres
            // off); arrival and departure are when the track reached and
            // left that position.
            let sd = tr.stops[j].dist;
            let mut zone: Vec<f64> = run
                .points
                .iter()
                .map(|p| p.1)
                .filter(|d| (d - sd).abs() <= rad)
                .collect();
            zone.sort_by(f64::total_cmp);
            let pos = zone.get(zone.len() / 2).copied().unwrap_or(sd);
            let (ta, td) = (pos - EXACT_M, pos + EXACT_M);
            let pts = &run.points;
            let mut dep = interp(t0, d0, t, d1, td.max(d0).min(d1));
            for i in (1..pts.len()).rev() {
                let (a, b) = (pts[i - 1], pts[i]);
                if a.1 <= td && td < b.1 {
                    dep = interp(a.0, a.1, b.0, b.1, td);
                    break;
                }
            }
            if j > 0 && !zone.is_empty() {
                for i in 1..pts.len() {
                    let (a, b) = (pts[i - 1], pts[i]);
                    if a.1 < ta && ta <= b.1 && b.0 <= dep {
                        run.arr[j] = Some(interp(a.0, a.1, b.0, b.1, ta));
                        break;
                    }
                }
            }
            let dep = dep.max(run.arr[j].unwrap_or(f64::MIN));
            run.dep[j] = Some(dep);
            run.reliable[j] = run.reliable[j] && close;
            run.next_dep += 1;
            if !emitted.contains(&j) {
                emitted.push(j);
            }
        }
        emitted.sort_unstable();
        let ds = run.day_start;
        for j in emitted {
            let s = tr.stops[j];
            let stop_id = &net.stops[s.stop as usize].id;
            // Learn: the run from the previous stop, the dwell here.
            if j > 0
                && let (Some(a), Some(pd)) = (run.arr[j], run.dep[j - 1])
                && run.reliable[j]
                && run.reliable[j - 1]
                && run.dep[j].is_none()
            {
                let prev = &net.stops[tr.stops[j - 1].stop as usize].id;
                model.learn_run(prev, stop_id, run.day_type, pd - ds, a - pd, a);
            }
            if let (Some(a), Some(d)) = (run.arr[j], run.dep[j])
                && run.reliable[j]
                && j > 0
                && j < n - 1
            {
                model.learn_dwell(stop_id, run.day_type, a - ds, d - a, d);
            }
            if run.arr[j].is_some() && (j > 0 || run.reliable[0]) {
                out.push(StopVisit {
                    service_date: run.date,
                    trip_id: tr.id.clone(),
                    stop_sequence: s.seq,
                    stop_id: stop_id.clone(),
                    route_id: net.routes[tr.route as usize].id.clone(),
                    direction_id: tr.direction,
                    vehicle_id: vehicle.to_owned(),
                    scheduled_arrival: ds + f64::from(s.arr),
                    scheduled_departure: ds + f64::from(s.dep),
                    arrival: run.arr[j].unwrap_or(t),
                    departure: run.dep[j],
                    observed: run.reliable[j],
                });
            }
        }
    }

    /// A report older than the live state: kept only if it falls between
    /// the accepted points of the current trip (it refines nothing already
    /// emitted, but keeps the point history whole for later interpolation).
    fn late_point(&mut self, v: &mut Vehicle, t: f64, xy: Xy) {
        let net = self.net.clone();
        let Some(run) = v.run.as_mut() else { return };
        let Some(&(first_t, _)) = run.points.front() else {
            return;
        };
        if t < first_t {
            return;
        }
        let i = run.points.partition_point(|p| p.0 < t);
        if i == 0 || i >= run.points.len() {
            return;
        }
        let (a, b) = (run.points[i - 1], run.points[i]);
        let m = net
            .shape_of(run.trip)
            .project_window(xy, a.1 - 30.0, b.1 + 30.0);
        if m.off <= self.config.max_off_shape_m {
            run.points.insert(i, (t, m.along.clamp(a.1, b.1)));
        }
    }

    /// Forgets vehicles silent for longer than `drop_after_s`.
    pub fn sweep(&mut self, now: f64) -> usize {
        let drop = self.config.drop_after_s;
        let gone: Vec<String> = self
            .vehicles
            .values()
            .filter(|v| now - v.last_t > drop)
            .map(|v| v.id.clone())
            .collect();
        for id in &gone {
            if let Some(mut v) = self.vehicles.remove(id) {
                self.release(&mut v);
            }
        }
        if !gone.is_empty() {
            self.generation += 1;
        }
        gone.len()
    }

    /// Every vehicle as seen at `now`.
    pub fn vehicles(&self, now: f64) -> Vec<VehicleView> {
        let mut out: Vec<VehicleView> = self.vehicles.values().map(|v| self.view(v, now)).collect();
        out.sort_by(|a, b| a.vehicle_id.cmp(&b.vehicle_id));
        out
    }

    pub fn vehicle(&self, id: &str, now: f64) -> Option<VehicleView> {
        self.vehicles.get(id).map(|v| self.view(v, now))
    }

    fn view(&self, v: &Vehicle, now: f64) -> VehicleView {
        let stale = now - v.last_t > self.config.stale_after_s;
        let mut view = VehicleView {
            vehicle_id: v.id.clone(),
            lat: v.lat,
            lon: v.lon,
            bearing: v.bearing,
            speed: v.speed,
            recorded_at: v.last_t,
            stale,
            status: VehicleStatus::Unassigned,
            trip: None,
            service_date: None,
            stop_index: None,
            delay_s: None,
            distance_m: None,
            logged_in: false,
        };
        let Some(run) = &v.run else { return view };
        let tr = &self.net.trips[run.trip as usize];
        view.trip = Some(run.trip);
        view.service_date = Some(run.date);
        view.distance_m = Some(run.d);
        view.logged_in = run.logged_in;
        let n = tr.stops.len();
        let at_stop = run.next_dep < run.next_arr && run.next_dep < n;
        view.status = if run.off_route {
            VehicleStatus::OffRoute
        } else if run.next_arr <= 1 && run.next_dep == 0 {
            VehicleStatus::Layover
        } else if at_stop {
            VehicleStatus::StoppedAt
        } else {
            VehicleStatus::InTransitTo
        };
        view.stop_index = Some(if at_stop {
            run.next_dep
        } else {
            run.next_arr.min(n - 1)
        });
        let local = run.t - run.day_start;
        view.delay_s = Some(if view.status == VehicleStatus::Layover {
            (now - run.day_start - f64::from(tr.stops[0].dep)).max(0.0)
        } else {
            local - tr.scheduled_at(run.d)
        });
        view
    }

    pub(crate) fn run_state(&self, id: &str) -> Option<RunState<'_>> {
        let v = self.vehicles.get(id)?;
        let run = v.run.as_ref()?;
        Some(RunState {
            trip: run.trip,
            date: run.date,
            day_start: run.day_start,
            day_type: run.day_type,
            d: run.d,
            t: run.t,
            arr: &run.arr,
            dep: &run.dep,
            next_arr: run.next_arr,
            next_dep: run.next_dep,
            off_route: run.off_route,
            last_t: v.last_t,
        })
    }
}

/// A read-only view of a vehicle's run, for predictions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunState<'a> {
    pub trip: u32,
    pub date: NaiveDate,
    pub day_start: f64,
    pub day_type: DayType,
    pub d: f64,
    pub t: f64,
    pub arr: &'a [Option<f64>],
    pub dep: &'a [Option<f64>],
    pub next_arr: usize,
    pub next_dep: usize,
    pub off_route: bool,
    pub last_t: f64,
}
