//! The vehicle motion model: a block's trips run along their shapes with
//! time-of-day running times, random dwells, late starts and layovers. The
//! result is a [`Trajectory`] (the true position at every instant) and the
//! true stop visits.
use kagoshima_domain::topic::Mode;
use rand::Rng;
use rand::rngs::StdRng;

use crate::config::MotionConfig;
use crate::feed::{Feed, Shape};
use crate::projection::{Xy, bearing_deg};
use crate::schedule::PlannedVehicle;

/// A true stop visit. Times are seconds after 00:00 JST of the service date.
#[derive(Debug, Clone)]
pub struct Visit {
    pub vehicle_id: String,
    pub trip_id: String,
    pub route_id: String,
    pub stop_id: String,
    pub stop_sequence: u32,
    /// Index of the stop in its trip (0 = first).
    pub index: usize,
    pub last: bool,
    pub arrival_s: f64,
    pub departure_s: f64,
}

#[derive(Debug, Clone, Copy)]
enum LegKind {
    Dwell,
    Move,
}

#[derive(Debug, Clone)]
struct Leg {
    kind: LegKind,
    t0: f64,
    t1: f64,
    shape: usize,
    d0: f64,
    d1: f64,
    odo0: f64,
}

/// A span of a trip (for the driver's log-in), seconds.
#[derive(Debug, Clone)]
pub struct TripSpan {
    pub trip_id: String,
    pub route_id: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// Where a vehicle truly is at an instant.
#[derive(Debug, Clone, Copy)]
pub struct TrueState {
    pub xy: Xy,
    pub bearing: f64,
    pub speed: f64,
    pub odometer: f64,
}

/// The true motion of one vehicle over its service day.
#[derive(Debug, Clone)]
pub struct Trajectory {
    pub vehicle_id: String,
    pub mode: Mode,
    /// The device is on in `[on_s, off_s]`.
    pub on_s: f64,
    pub off_s: f64,
    pub trips: Vec<TripSpan>,
    pub visits: Vec<Visit>,
    legs: Vec<Leg>,
    shapes: Vec<Shape>,
}

/// Running-time factor by local hour of day (1.0 = as timetabled): slower
/// in the rush hours (07-09, 17-19), faster early and late, with 30-minute ramps.
pub fn time_factor(cfg: &MotionConfig, secs: f64) -> f64 {
    let h = (secs / 3600.0).rem_euclid(24.0);
    // (hour, factor) control points, linear in between.
    let q = cfg.quiet_factor;
    let r = cfg.rush_factor;
    let pts = [
        (0.0, q),
        (6.0, q),
        (6.5, 1.0),
        (7.0, r),
        (9.0, r),
        (9.5, 1.0),
        (16.5, 1.0),
        (17.0, r),
        (19.0, r),
        (19.5, 1.0),
        (21.0, 1.0),
        (21.5, q),
        (24.0, q),
    ];
    for w in pts.windows(2) {
        let ((h0, f0), (h1, f1)) = (w[0], w[1]);
        if h >= h0 && h <= h1 {
            return f0 + (f1 - f0) * (h - h0) / (h1 - h0);
        }
    }
    1.0
}

fn uniform(rng: &mut StdRng, (a, b): (u32, u32)) -> f64 {
    if b <= a {
        f64::from(a)
    } else {
        rng.random_range(f64::from(a)..f64::from(b))
    }
}

/// Runs a block's trips and returns the vehicle's trajectory.
pub fn run_vehicle(
    feed: &Feed,
    plan: &PlannedVehicle,
    cfg: &MotionConfig,
    rng: &mut StdRng,
) -> Trajectory {
    let mut legs: Vec<Leg> = Vec::new();
    let mut shapes: Vec<Shape> = Vec::new();
    let mut visits = Vec::new();
    let mut spans = Vec::new();
    let mut odo = 0.0;
    let mut clock: Option<f64> = None; // when the previous trip ended
    let nominal_dwell = (f64::from(cfg.dwell_s.0) + f64::from(cfg.dwell_s.1)) / 2.0;
    for trip_id in &plan.trip_ids {
        let trip = &feed.trips[trip_id];
        let shape = feed.shape_of(trip);
        let si = shapes.len();
        let sts = &trip.stop_times;
        let sched = f64::from(trip.start_s());
        let mut start = sched;
        if let Some(end) = clock {
            start = start.max(end + f64::from(cfg.min_layover_s));
        }
        if rng.random_bool(cfg.late_start_share.clamp(0.0, 1.0)) {
            start += uniform(rng, cfg.late_start_s);
        }
        let first_arrival = match clock {
            Some(end) => (end + 1.0).max(start - 120.0).min(start),
            None => start - 120.0,
        };
        // Layover or pull-out: standing at the first stop until departure.
        let d_first = sts[0].dist_m;
        if let Some(prev) = legs.last() {
            // Fill from the end of the previous trip to this departure at the terminal.
            let t_prev = prev.t1;
            if start > t_prev {
                legs.push(Leg {
                    kind: LegKind::Dwell,
                    t0: t_prev,
                    t1: start,
                    shape: si,
                    d0: d_first,
                    d1: d_first,
                    odo0: odo,
                });
            }
        } else {
            let on = start - f64::from(cfg.device_on_before_s);
            legs.push(Leg {
                kind: LegKind::Dwell,
                t0: on,
                t1: start,
                shape: si,
                d0: d_first,
                d1: d_first,
                odo0: odo,
            });
        }
        let mut t = start;
        for (i, st) in sts.iter().enumerate() {
            let last = i + 1 == sts.len();
            let (arr, dep) = if i == 0 {
                (first_arrival, start)
            } else {
                let prev = &sts[i - 1];
                let sched_run = f64::from(st.arrival_s.saturating_sub(prev.departure_s));
                let base = (sched_run - nominal_dwell.min(sched_run / 2.0)).max(10.0);
                let jitter = 1.0 + rng.random_range(-cfg.segment_jitter..=cfg.segment_jitter);
                let run = base * time_factor(cfg, t) * jitter;
                let arr = t + run;
                let dist = st.dist_m - prev.dist_m;
                legs.push(Leg {
                    kind: LegKind::Move,
                    t0: t,
                    t1: arr,
                    shape: si,
                    d0: prev.dist_m,
                    d1: st.dist_m,
                    odo0: odo,
                });
                odo += dist.max(0.0);
                let dwell = if last {
                    30.0
                } else {
                    uniform(rng, cfg.dwell_s)
                        .max(f64::from(st.departure_s.saturating_sub(st.arrival_s)))
                };
                (arr, arr + dwell)
            };
            if i > 0 {
                legs.push(Leg {
                    kind: LegKind::Dwell,
                    t0: arr,
                    t1: dep,
                    shape: si,
                    d0: st.dist_m,
                    d1: st.dist_m,
                    odo0: odo,
                });
            }
            visits.push(Visit {
                vehicle_id: plan.vehicle_id.clone(),
                trip_id: trip.id.clone(),
                route_id: trip.route_id.clone(),
                stop_id: st.stop_id.clone(),
                stop_sequence: st.stop_sequence,
                index: i,
                last,
                arrival_s: arr,
                departure_s: dep,
            });
            t = dep;
        }
        spans.push(TripSpan {
            trip_id: trip.id.clone(),
            route_id: trip.route_id.clone(),
            start_s: first_arrival,
            end_s: t,
        });
        shapes.push(shape);
        clock = Some(t);
    }
    let on_s = legs.first().map_or(0.0, |l| l.t0);
    let end = legs.last().map_or(0.0, |l| l.t1);
    if let Some(last) = legs.last().cloned() {
        legs.push(Leg {
            kind: LegKind::Dwell,
            t0: end,
            t1: end + f64::from(cfg.device_on_after_s),
            d0: last.d1,
            d1: last.d1,
            odo0: odo,
            shape: last.shape,
        });
    }
    Trajectory {
        vehicle_id: plan.vehicle_id.clone(),
        mode: plan.mode,
        on_s,
        off_s: end + f64::from(cfg.device_on_after_s),
        trips: spans,
        visits,
        legs,
        shapes,
    }
}

impl Trajectory {
    /// The true state at `t` (clamped to the device's on period).
    pub fn state_at(&self, t: f64) -> TrueState {
        let i = self
            .legs
            .partition_point(|l| l.t1 < t)
            .min(self.legs.len() - 1);
        let leg = &self.legs[i];
        let shape = &self.shapes[leg.shape];
        match leg.kind {
            LegKind::Dwell => {
                let (xy, (a, b)) = shape.at(leg.d0);
                TrueState {
                    xy,
                    bearing: bearing_deg(a, b),
                    speed: 0.0,
                    odometer: leg.odo0,
                }
            }
            LegKind::Move => {
                let dur = (leg.t1 - leg.t0).max(1e-6);
                let u = ((t - leg.t0) / dur).clamp(0.0, 1.0);
                let tau = std::f64::consts::TAU;
                let f = u - (tau * u).sin() / tau;
                let len = leg.d1 - leg.d0;
                let d = leg.d0 + len * f;
                let (xy, (a, b)) = shape.at(d);
                TrueState {
                    xy,
                    bearing: bearing_deg(a, b),
                    speed: (len / dur * (1.0 - (tau * u).cos())).max(0.0),
                    odometer: leg.odo0 + len.max(0.0) * f,
                }
            }
        }
    }

    /// The trip the driver runs at `t` (from boarding at the first stop to the last stop).
    pub fn trip_at(&self, t: f64) -> Option<&TripSpan> {
        self.trips.iter().find(|s| s.start_s <= t && t <= s.end_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rush_is_slower_and_night_faster_by_at_least_30_percent_overall() {
        let cfg = MotionConfig::default();
        let rush = time_factor(&cfg, 8.0 * 3600.0);
        let midday = time_factor(&cfg, 12.0 * 3600.0);
        let late = time_factor(&cfg, 22.5 * 3600.0);
        assert!(rush > midday && midday > late);
        assert!(rush / late >= 1.6, "{rush} / {late}");
    }
}
