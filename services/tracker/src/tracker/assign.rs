//! Trip assignment: which trip, on which service date, a vehicle runs (the
//! driver's log-in, else inferred from the schedule and its path), and the
//! start and end of a run.
use super::*;

impl Tracker {
    /// The trip a driver logged in to: the trip of that ID, or for the ID of
    /// a frequency-based trip (devices know the trip of trips.txt, not its
    /// runs) the run it is on, else the run starting nearest `t` other than
    /// the one it just finished.
    pub(super) fn logged_in_trip(
        &mut self,
        id: &str,
        t: f64,
        current: Option<u32>,
        finished: Option<u32>,
    ) -> Option<u32> {
        if let Some(trip) = self.net.trip(id) {
            return Some(trip);
        }
        let runs = self.net.runs_of(id).to_vec();
        if let Some(c) = current.filter(|c| runs.contains(c)) {
            return Some(c);
        }
        let mut best: Option<(f64, u32)> = None;
        for run in runs.into_iter().filter(|r| Some(*r) != finished) {
            let (_, date) = self.nearest_date(run, t);
            let start = day_start(date) + f64::from(self.net.trips[run as usize].start());
            let score = (t - start).abs();
            if best.is_none_or(|(b, _)| score < b) {
                best = Some((score, run));
            }
        }
        best.map(|(_, run)| run)
    }

    /// The service date whose timetable puts `trip` nearest to `t`.
    pub(super) fn date_for(&mut self, trip: u32, t: f64) -> NaiveDate {
        self.nearest_date(trip, t).1
    }

    /// How far `t` is from `trip`'s times (seconds; a day more on dates its
    /// service does not run) on the nearest service date, and that date.
    fn nearest_date(&mut self, trip: u32, t: f64) -> (f64, NaiveDate) {
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
        best
    }

    pub(super) fn release(&mut self, v: &mut Vehicle) {
        if let Some(run) = v.run.take() {
            let key = (run.trip, run.date);
            if self.claimed.get(&key) == Some(&v.id) {
                self.claimed.remove(&key);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_run(
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
            filter: Default::default(),
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

    pub(super) fn visit(&self, vehicle: &str, run: &Run, j: usize) -> StopVisit {
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
    pub(super) fn infer(&mut self, v: &mut Vehicle, t: f64, out: &mut Vec<StopVisit>) {
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

    pub(super) fn best_candidate(&mut self, v: &Vehicle, t: f64) -> Option<(u32, NaiveDate)> {
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
}
