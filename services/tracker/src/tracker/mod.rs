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

mod assign;
mod filter;
mod learn;
mod progress;

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
    filter: filter::ProgressFilter,
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
            .map(str::to_owned);
        let login = login.and_then(|id| {
            let current = v.run.as_ref().map(|run| run.trip);
            self.logged_in_trip(&id, t, current, v.prev_trip.map(|p| p.0))
        });
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
