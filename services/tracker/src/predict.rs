//! Arrival predictions: for every remaining stop of a vehicle's trip and
//! the next trips of its block, from the learned running and dwell times at
//! the time of day each segment will be run, the vehicle's position along
//! its segment (reckoned on while it is silent), and the layover at
//! terminals (a trip does not leave before its timetable), each with its
//! likely window from the spread of those learned times. The vehicle's
//! own recent pace is not carried ahead: on the accuracy matrix every
//! weight given to it lost accuracy (the learned profile by time of day
//! already holds the day's swings; see reports/accuracy/matrix.md).
use chrono::NaiveDate;

use crate::model::Spread;
use crate::network::day_start;
use crate::tracker::Tracker;

/// Puts each trip's shown times in order: no stop reached before the one
/// before it is left, no departure before its arrival. The reckoning may
/// break that by a few seconds where times are held a little after now (a
/// silent vehicle's dwell shown ending in 5 s, the next stop reckoned from
/// when it really ended); GTFS-Realtime forbids it (validator E022) and a
/// countdown would show the later stop first.
fn in_trip_order(preds: &mut [Prediction]) {
    let mut left: Option<(u32, f64)> = None;
    for p in preds {
        if let Some((trip, at)) = left
            && trip == p.trip
        {
            p.arrival = p.arrival.max(at);
        }
        p.departure = p.departure.max(p.arrival);
        left = Some((p.trip, p.departure));
    }
}

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
    /// The likely window of the arrival: from `early_s` seconds before
    /// `arrival` to `late_s` after (made to hold about four arrivals in
    /// five; coverage by day in reports/accuracy/matrix.md).
    pub early_s: f64,
    pub late_s: f64,
}

/// The likely window grows with every running and dwell time still to come,
/// by their spread. One day's segments are neither independent (a wet
/// rush hour slows them all) nor tied (a red light is one segment's), so
/// the spreads add as a root sum of squares, scaled by [`WINDOW_SCALE`];
/// [`WINDOW_BASE_S`] is where the vehicle is now (GPS, reporting interval).
/// Both chosen on the accuracy matrix's tuning seed (7) so that at least
/// four arrivals in five fall in the window on every cell, the harshest
/// day's too (80-92 % there; the reported seed's figures, 77-95 %, are in
/// reports/accuracy/matrix.md).
const WINDOW_SCALE: f64 = 0.9;
const WINDOW_BASE_S: f64 = 30.0;
/// Spread added for each second a vehicle has been silent (reckoned on
/// from its last fix): on the tuning seed it brings the gappy days' window
/// from 80.5 % to 81.9 % of arrivals for 6 s more width.
const SILENCE_SPREAD_PER_S: f64 = 0.6;

/// Sums of squares of the spreads still to come.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    below: f64,
    above: f64,
}

impl Window {
    /// Adds `share` (0..=1) of a time's spread.
    fn add(&mut self, s: Spread, share: f64) {
        self.below += (s.below * share).powi(2);
        self.above += (s.above * share).powi(2);
    }

    /// (seconds early, seconds late).
    fn seconds(&self) -> (f64, f64) {
        (
            WINDOW_BASE_S + WINDOW_SCALE * self.below.sqrt(),
            WINDOW_BASE_S + WINDOW_SCALE * self.above.sqrt(),
        )
    }

    /// A layover of `slack` seconds beyond the least one absorbs lateness,
    /// and the trip does not leave early.
    fn after_layover(&self, slack: f64) -> Window {
        let late = (WINDOW_SCALE * self.above.sqrt() - slack.max(0.0)).max(0.0) / WINDOW_SCALE;
        Window {
            below: if slack > 0.0 { 0.0 } else { self.below },
            above: late * late,
        }
    }
}

/// The spread of a time the model has not learned: a share of the
/// timetable's.
fn unlearned(t: f64) -> Spread {
    Spread {
        below: 0.2 * t,
        above: 0.3 * t,
    }
}

/// A last fix older than this means the vehicle has gone silent (reports
/// come every 5-15 s): it is reckoned on along its profile from that fix,
/// through the stops it would have passed meanwhile, rather than held at
/// the next stop until it reports again. A vehicle that reports and is
/// slower than its profile is held there instead (it is still short of
/// the stop). Chosen on the accuracy matrix's tuning seed: see
/// reports/accuracy/matrix.md.
const SILENT_AFTER_S: f64 = 20.0;

impl Tracker {
    fn run_time(
        &self,
        from: u32,
        to: u32,
        day: kagoshima_domain::calendar::DayType,
        tod: f64,
        sched: f64,
    ) -> (f64, Spread) {
        let a = &self.net.stops[from as usize].id;
        let b = &self.net.stops[to as usize].id;
        self.model.run(a, b, day, tod).unwrap_or_else(|| {
            let t = sched.max(10.0);
            (t, unlearned(t))
        })
    }

    fn dwell_time(
        &self,
        stop: u32,
        day: kagoshima_domain::calendar::DayType,
        tod: f64,
        sched: f64,
    ) -> (f64, Spread) {
        let s = &self.net.stops[stop as usize].id;
        self.model.dwell(s, day, tod).unwrap_or_else(|| {
            let t = sched.max(20.0);
            (t, unlearned(t))
        })
    }

    /// Predictions for a vehicle at `now`, up to `horizon_s` ahead. Empty
    /// when the vehicle is unknown, unassigned, stale or off route.
    pub fn predict(&self, vehicle_id: &str, now: f64, horizon_s: f64) -> Vec<Prediction> {
        let mut out = self.reckon(vehicle_id, now, horizon_s);
        in_trip_order(&mut out);
        out
    }

    /// The predictions as reckoned, before [`in_trip_order`].
    fn reckon(&self, vehicle_id: &str, now: f64, horizon_s: f64) -> Vec<Prediction> {
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
        let silent = now - rs.last_t > SILENT_AFTER_S;
        // The earliest time shown: a little after now; while silent the
        // reckoning carries on from times that may already have passed.
        let floor = |t: f64, least: f64| if silent { t } else { t.max(now + least) };
        let shown = |t: f64| t.max(now + 1.0);

        // Where the current trip stands.
        let mut stops_away = 0u32;
        let mut win = Window::default();
        if silent {
            // Where a silent vehicle is now is itself uncertain.
            let s = SILENCE_SPREAD_PER_S * (now - rs.last_t);
            win.add(Spread { below: s, above: s }, 1.0);
        }
        let (mut t, first) = if rs.next_arr <= 1 && rs.next_dep == 0 {
            // Layover at the first stop.
            let sched = ds + f64::from(tr.stops[0].dep);
            let arrived = rs.arr[0].unwrap_or(now);
            let dep = sched
                .max(now)
                .max(arrived + self.config.min_layover_s.min(sched - arrived).max(0.0));
            out.push(self.pred(
                vehicle_id,
                rs.trip,
                rs.date,
                0,
                (arrived, dep),
                0,
                0,
                true,
                win,
            ));
            (dep, 1)
        } else if rs.next_dep < rs.next_arr && rs.next_dep < n {
            // At a stop: the rest of the dwell.
            let j = rs.next_dep;
            let arrived = rs.arr[j].unwrap_or(rs.t);
            let (dwell, spread) = if j + 1 == n {
                (0.0, Spread::default())
            } else {
                self.dwell_time(
                    tr.stops[j].stop,
                    day,
                    arrived - ds,
                    f64::from(tr.stops[j].dep - tr.stops[j].arr),
                )
            };
            let dep = floor(arrived + dwell, 5.0);
            out.push(self.pred(
                vehicle_id,
                rs.trip,
                rs.date,
                j,
                (arrived, dep.max(now + 5.0)),
                0,
                0,
                true,
                win,
            ));
            // The part of the dwell still to come.
            win.add(spread, ((dep - now) / dwell.max(1.0)).clamp(0.0, 1.0));
            (dep, j + 1)
        } else if rs.next_arr < n && rs.next_arr >= 1 {
            // Between stops j-1 and j.
            let j = rs.next_arr;
            let (a, b) = (tr.stops[j - 1], tr.stops[j]);
            let left = rs.dep[j - 1];
            let (run, spread) = self.run_time(
                a.stop,
                b.stop,
                day,
                left.unwrap_or(rs.t) - ds,
                f64::from(b.arr - a.dep),
            );
            let span = (b.dist - a.dist).max(1.0);
            let frac = ((rs.d - a.dist) / span).clamp(0.0, 1.0);
            win.add(spread, 1.0 - frac);
            let by_distance = rs.t + run * (1.0 - frac);
            let eta = match left {
                Some(l) if now - l <= 2.0 * run => 0.5 * by_distance + 0.5 * (l + run),
                _ => by_distance,
            };
            (floor(eta, 1.0), j)
        } else {
            return out;
        };

        // The stops ahead on this trip, then the next trips of the block.
        let mut trip = rs.trip;
        let mut trips_ahead = 0u32;
        let mut j = first;
        let mut arriving =
            first > 0 && rs.next_dep >= rs.next_arr && rs.next_arr >= 1 && rs.next_arr < n;
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
                    let (run, spread) =
                        self.run_time(p.stop, s.stop, day, t - ds_trip, f64::from(s.arr - p.dep));
                    win.add(spread, 1.0);
                    t + run
                };
                if arr > limit {
                    return out;
                }
                let (dwell, spread) = if j + 1 == n {
                    (0.0, Spread::default())
                } else {
                    self.dwell_time(s.stop, day, arr - ds_trip, f64::from(s.dep - s.arr))
                };
                out.push(self.pred(
                    vehicle_id,
                    trip,
                    rs.date,
                    j,
                    (shown(arr), shown(arr + dwell)),
                    stops_away,
                    trips_ahead,
                    false,
                    win,
                ));
                win.add(spread, 1.0);
                let dep = arr + dwell;
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
            win = win.after_layover(sched - (t + self.config.min_layover_s));
            out.push(self.pred(
                vehicle_id,
                next,
                rs.date,
                0,
                (t, dep),
                stops_away,
                trips_ahead + 1,
                false,
                win,
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
        (arrival, departure): (f64, f64),
        stops_away: u32,
        trips_ahead: u32,
        at_stop: bool,
        win: Window,
    ) -> Prediction {
        let (early_s, late_s) = win.seconds();
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
            early_s,
            late_s,
        }
    }
}
