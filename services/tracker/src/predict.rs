//! Arrival predictions: for every remaining stop of a vehicle's trip and
//! the next trips of its block, from the learned running and dwell times at
//! the time of day each segment will be run, the vehicle's position along
//! its segment, its recent deviation from the profile (decaying ahead), and
//! the layover at terminals (a trip does not leave before its timetable).
use chrono::NaiveDate;

use crate::network::day_start;
use crate::tracker::Tracker;

/// One predicted stop time.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub vehicle_id: String,
    pub trip: u32,
    pub service_date: NaiveDate,
    /// Index of the stop in its trip.
    pub stop_index: usize,
    /// Unix seconds.
    pub scheduled_arrival: f64,
    pub scheduled_departure: f64,
    pub arrival: f64,
    pub departure: f64,
    /// Stops between the vehicle and this one (0: the next stop).
    pub stops_away: u32,
    /// 0 for the vehicle's current trip, 1 for the next of its block, ...
    pub trips_ahead: u32,
    /// The vehicle is at this stop now.
    pub at_stop: bool,
}

/// How far a deviation carries: weight of the vehicle's own recent pace.
const DEVIATION_WEIGHT: f64 = 0.3;
/// Segments ahead over which that weight decays by e.
const DEVIATION_DECAY: f64 = 3.0;

impl Tracker {
    fn run_time(
        &self,
        from: u32,
        to: u32,
        day: kagoshima_domain::calendar::DayType,
        tod: f64,
        sched: f64,
    ) -> f64 {
        let a = &self.net.stops[from as usize].id;
        let b = &self.net.stops[to as usize].id;
        self.model.run(a, b, day, tod).unwrap_or(sched.max(10.0))
    }

    fn dwell_time(
        &self,
        stop: u32,
        day: kagoshima_domain::calendar::DayType,
        tod: f64,
        sched: f64,
    ) -> f64 {
        let s = &self.net.stops[stop as usize].id;
        self.model.dwell(s, day, tod).unwrap_or(sched.max(20.0))
    }

    /// Predictions for a vehicle at `now`, up to `horizon_s` ahead. Empty
    /// when the vehicle is unknown, unassigned, stale or off route.
    pub fn predict(&self, vehicle_id: &str, now: f64, horizon_s: f64) -> Vec<Prediction> {
        let mut out = Vec::new();
        let Some(rs) = self.run_state(vehicle_id) else {
            return out;
        };
        if rs.off_route || now - rs.last_t > self.config.stale_after_s {
            return out;
        }
        let net = &self.net;
        let day = rs.day_type;
        let ds = rs.day_start;
        let tr = &net.trips[rs.trip as usize];
        let n = tr.stops.len();
        let limit = now + horizon_s;

        // The vehicle's pace against the profile over its last segments.
        let mut act = 0.0;
        let mut exp = 0.0;
        let mut j = rs.next_arr.min(n);
        let mut k = 0;
        while j >= 2 && k < 3 {
            let (b, a) = (j - 1, j - 2);
            if let (Some(arr), Some(dep)) = (rs.arr[b], rs.dep[a]) {
                let learned = self.run_time(
                    tr.stops[a].stop,
                    tr.stops[b].stop,
                    day,
                    dep - ds,
                    f64::from(tr.stops[b].arr - tr.stops[a].dep),
                );
                act += arr - dep;
                exp += learned;
            }
            j -= 1;
            k += 1;
        }
        let pace = if exp > 0.0 {
            (act / exp).clamp(0.7, 1.5)
        } else {
            1.0
        };
        let factor = |ahead: usize| {
            1.0 + (pace - 1.0) * DEVIATION_WEIGHT * (-(ahead as f64) / DEVIATION_DECAY).exp()
        };

        // Where the current trip stands.
        let mut stops_away = 0u32;
        let (mut t, first) = if rs.next_arr <= 1 && rs.next_dep == 0 {
            // Layover at the first stop.
            let sched = ds + f64::from(tr.stops[0].dep);
            let arrived = rs.arr[0].unwrap_or(now);
            let dep = sched
                .max(now)
                .max(arrived + self.config.min_layover_s.min(sched - arrived).max(0.0));
            out.push(self.pred(vehicle_id, rs.trip, rs.date, 0, arrived, dep, 0, 0, true));
            (dep, 1)
        } else if rs.next_dep < rs.next_arr && rs.next_dep < n {
            // At a stop: the rest of the dwell.
            let j = rs.next_dep;
            let arrived = rs.arr[j].unwrap_or(rs.t);
            let dwell = if j + 1 == n {
                0.0
            } else {
                self.dwell_time(
                    tr.stops[j].stop,
                    day,
                    arrived - ds,
                    f64::from(tr.stops[j].dep - tr.stops[j].arr),
                )
            };
            let dep = (arrived + dwell).max(now + 5.0);
            out.push(self.pred(vehicle_id, rs.trip, rs.date, j, arrived, dep, 0, 0, true));
            (dep, j + 1)
        } else if rs.next_arr < n && rs.next_arr >= 1 {
            // Between stops j-1 and j.
            let j = rs.next_arr;
            let (a, b) = (tr.stops[j - 1], tr.stops[j]);
            let left = rs.dep[j - 1];
            let run = self.run_time(
                a.stop,
                b.stop,
                day,
                left.unwrap_or(rs.t) - ds,
                f64::from(b.arr - a.dep),
            ) * factor(0);
            let span = (b.dist - a.dist).max(1.0);
            let frac = ((rs.d - a.dist) / span).clamp(0.0, 1.0);
            let by_distance = rs.t + run * (1.0 - frac);
            let eta = match left {
                Some(l) if now - l <= 2.0 * run => 0.5 * by_distance + 0.5 * (l + run),
                _ => by_distance,
            };
            (eta.max(now + 1.0), j)
        } else {
            return out;
        };

        // The stops ahead on this trip, then the next trips of the block.
        let mut trip = rs.trip;
        let mut trips_ahead = 0u32;
        let mut j = first;
        let mut arriving =
            first > 0 && rs.next_dep >= rs.next_arr && rs.next_arr >= 1 && rs.next_arr < n;
        let mut ahead = 0usize;
        loop {
            let tr = &net.trips[trip as usize];
            let n = tr.stops.len();
            let ds_trip = if trips_ahead == 0 {
                ds
            } else {
                day_start(rs.date)
            };
            while j < n {
                let s = tr.stops[j];
                let arr = if arriving {
                    arriving = false;
                    t
                } else {
                    let p = tr.stops[j - 1];
                    let run =
                        self.run_time(p.stop, s.stop, day, t - ds_trip, f64::from(s.arr - p.dep));
                    t + run * factor(ahead)
                };
                ahead += 1;
                if arr > limit {
                    return out;
                }
                let dep = if j + 1 == n {
                    arr
                } else {
                    arr + self.dwell_time(s.stop, day, arr - ds_trip, f64::from(s.dep - s.arr))
                };
                out.push(self.pred(
                    vehicle_id,
                    trip,
                    rs.date,
                    j,
                    arr,
                    dep,
                    stops_away,
                    trips_ahead,
                    false,
                ));
                stops_away += 1;
                t = dep;
                j += 1;
            }
            // Layover, then the next trip of the block.
            let Some(next) = net.next_in_block(trip) else {
                return out;
            };
            let ntr = &net.trips[next as usize];
            let sched = ds_trip + f64::from(ntr.stops[0].dep);
            let dep = sched.max(t + self.config.min_layover_s);
            if t > limit {
                return out;
            }
            out.push(self.pred(
                vehicle_id,
                next,
                rs.date,
                0,
                t,
                dep,
                stops_away,
                trips_ahead + 1,
                false,
            ));
            stops_away += 1;
            t = dep;
            trip = next;
            trips_ahead += 1;
            j = 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pred(
        &self,
        vehicle_id: &str,
        trip: u32,
        date: NaiveDate,
        j: usize,
        arrival: f64,
        departure: f64,
        stops_away: u32,
        trips_ahead: u32,
        at_stop: bool,
    ) -> Prediction {
        let ds = day_start(date);
        let s = self.net.trips[trip as usize].stops[j];
        Prediction {
            vehicle_id: vehicle_id.to_owned(),
            trip,
            service_date: date,
            stop_index: j,
            scheduled_arrival: ds + f64::from(s.arr),
            scheduled_departure: ds + f64::from(s.dep),
            arrival,
            departure,
            stops_away,
            trips_ahead,
            at_stop,
        }
    }
}
