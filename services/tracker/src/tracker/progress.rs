//! Progress along the assigned trip: map matching each report to the shape
//! (windowed, monotone, outliers rejected), layovers and detours, and the
//! stop visits passed between two reports.
use super::*;

impl Tracker {
    pub(super) fn advance(
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
                    run.filter.restart();
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
        // Filtered only where the device reports its speed (what carries the
        // progress between fixes).
        let along = if speed.is_some() {
            run.filter.update(run.d, expected, dt, m.along, m.off)
        } else {
            m.along
        };
        run.speed = v_now;
        Self::accept(&net, &cfg, &mut self.model, &v.id, run, t, along, out);
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
    pub(super) fn accept(
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
    pub(super) fn late_point(&mut self, v: &mut Vehicle, t: f64, xy: Xy) {
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
}
