//! The running-time half of the analysis (segments, trip times, dwells,
//! adherence, headways, days observed) from one scan of the period's stop
//! visits in trip order, computed here as it streams. Five window and
//! percentile queries took 7 s for a month of the simulated city (490,000
//! visits) on 2 cores, sorting to disk; the one ordered scan reads the
//! primary key's order and this needs no sort but the headways' per stop
//! and day. Percentiles are PostgreSQL's `percentile_cont` (linear
//! interpolation), so the figures are those the queries gave.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use futures::TryStreamExt as _;
use sqlx::PgPool;

use super::analysis::{
    Adherence, BUNCHED_SHARE, DwellTimes, EARLY_S, Headways, LATE_S, MIN_RUNS, PlanningRequest,
    RECOMMENDED_PERCENTILE, SegmentTimes, TripTimes,
};
use super::bands::Band;

/// What the stop visits of the period say.
#[derive(Debug, Default)]
pub struct VisitFigures {
    pub days_observed: i64,
    pub segments: Vec<SegmentTimes>,
    pub trip_times: Vec<TripTimes>,
    pub dwells: Vec<DwellTimes>,
    pub adherence: Vec<Adherence>,
    pub headways: Vec<Headways>,
}

/// `percentile_cont(p)` of sorted values: linear interpolation between the
/// closest ranks.
pub fn percentile_cont(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let at = p.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
        }
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The band of a scheduled time (Unix seconds); none is the evening's, as
/// [`Band::sql_of`] gives.
fn band_of(at: Option<f64>) -> Band {
    at.map_or(Band::Evening, |s| {
        let hour = ((s + 9.0 * 3600.0) / 3600.0).floor().rem_euclid(24.0) as u32;
        Band::of_hour(hour)
    })
}

/// IDs as small numbers (a month holds half a million visits of a few
/// hundred stops and routes).
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn name(&self, id: u32) -> String {
        self.names[id as usize].clone()
    }
}

/// One visit, as read.
#[derive(Debug, Clone, Copy)]
struct Visit {
    seq: i32,
    stop: u32,
    route: u32,
    dir: Option<i16>,
    sched_arr: Option<f64>,
    sched_dep: Option<f64>,
    arr: f64,
    dep: Option<f64>,
}

#[derive(Default)]
struct SegmentAcc {
    min_seq: i32,
    sched_sum: f64,
    sched_n: u32,
    runs: Vec<f64>,
}

#[derive(Default)]
struct TripAcc {
    sched_sum: f64,
    sched_n: u32,
    runs: Vec<f64>,
}

#[derive(Default)]
struct HeadwayAcc {
    n: i64,
    sched_sum: f64,
    actual_sum: f64,
    actual_sq: f64,
    bunched: i64,
}

/// A departure at a stop: (scheduled, actual), Unix seconds.
type Departure = (Option<f64>, f64);

#[derive(Default)]
struct Figures {
    names: Names,
    days: BTreeSet<NaiveDate>,
    segments: BTreeMap<(u32, i16, u32, u32, Band), SegmentAcc>,
    trips: BTreeMap<(u32, i16, u32, u32, Band), TripAcc>,
    dwells: BTreeMap<(u32, u32, Band), Vec<f64>>,
    adherence: BTreeMap<(u32, Band), (i64, i64, i64)>,
    headways: BTreeMap<(u32, i16, Band), HeadwayAcc>,
    /// This day's departures per (route, direction, stop): (scheduled, actual).
    day_departures: HashMap<(u32, Option<i16>, u32), Vec<Departure>>,
}

impl Figures {
    /// One trip's visits of one day, in stop order.
    fn trip(&mut self, visits: &[Visit]) {
        for pair in visits.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let Some(run) = a.dep.map(|d| b.arr - d).filter(|r| *r >= 0.0) else {
                continue;
            };
            let key = (
                a.route,
                a.dir.unwrap_or(0),
                a.stop,
                b.stop,
                band_of(a.sched_dep),
            );
            let acc = self.segments.entry(key).or_insert_with(|| SegmentAcc {
                min_seq: a.seq,
                ..SegmentAcc::default()
            });
            acc.min_seq = acc.min_seq.min(a.seq);
            if let (Some(sa), Some(sd)) = (b.sched_arr, a.sched_dep) {
                acc.sched_sum += sa - sd;
                acc.sched_n += 1;
            }
            acc.runs.push(run);
        }
        // The whole trip, per route and direction it ran as.
        let mut parts: BTreeMap<(u32, Option<i16>), Vec<Visit>> = BTreeMap::new();
        for v in visits {
            parts.entry((v.route, v.dir)).or_default().push(*v);
        }
        for ((route, dir), part) in parts {
            let (first, last) = (part[0], part[part.len() - 1]);
            let span = last.seq - first.seq + 1;
            let max = |f: fn(&Visit) -> Option<f64>| part.iter().filter_map(f).reduce(f64::max);
            let min = |f: fn(&Visit) -> Option<f64>| part.iter().filter_map(f).reduce(f64::min);
            let run =
                min(|v| v.dep).map(|d| part.iter().map(|v| v.arr).fold(f64::MIN, f64::max) - d);
            let Some(run) = run.filter(|r| *r > 0.0 && part.len() as i32 == span) else {
                continue;
            };
            let acc = self
                .trips
                .entry((
                    route,
                    dir.unwrap_or(0),
                    first.stop,
                    last.stop,
                    band_of(first.sched_dep),
                ))
                .or_default();
            if let (Some(sa), Some(sd)) = (max(|v| v.sched_arr), min(|v| v.sched_dep)) {
                acc.sched_sum += sa - sd;
                acc.sched_n += 1;
            }
            acc.runs.push(run);
        }
        for v in visits {
            let Some(dep) = v.dep else { continue };
            let band = band_of(v.sched_dep);
            self.dwells
                .entry((v.route, v.stop, band))
                .or_default()
                .push(dep - v.arr);
            if let Some(sd) = v.sched_dep {
                let deviation = dep - sd;
                let a = self.adherence.entry((v.route, band)).or_default();
                a.0 += 1;
                a.1 += i64::from(deviation < -EARLY_S);
                a.2 += i64::from(deviation > LATE_S);
            }
            self.day_departures
                .entry((v.route, v.dir, v.stop))
                .or_default()
                .push((v.sched_dep, dep));
        }
    }

    /// The intervals between departures at each stop of the day just read.
    fn end_of_day(&mut self) {
        for ((route, dir, _), mut list) in self.day_departures.drain() {
            // In scheduled order, unscheduled last (as ORDER BY puts NULLs).
            list.sort_by(|a, b| match (a.0, b.0) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
            for pair in list.windows(2) {
                let ((s0, a0), (s1, a1)) = (pair[0], pair[1]);
                let (Some(s0), Some(s1)) = (s0, s1) else {
                    continue;
                };
                let (scheduled, actual) = (s1 - s0, a1 - a0);
                if scheduled <= 0.0 {
                    continue;
                }
                let h = self
                    .headways
                    .entry((route, dir.unwrap_or(0), band_of(Some(s1))))
                    .or_default();
                h.n += 1;
                h.sched_sum += scheduled;
                h.actual_sum += actual;
                h.actual_sq += actual * actual;
                h.bunched += i64::from(actual < BUNCHED_SHARE * scheduled);
            }
        }
    }

    fn finish(self) -> VisitFigures {
        let n = &self.names;
        let mut segments: Vec<(i32, SegmentTimes)> = self
            .segments
            .into_iter()
            .map(|((route, dir, from, to, band), acc)| {
                let runs = sorted(acc.runs);
                let p = |q| percentile_cont(&runs, q);
                (
                    acc.min_seq,
                    SegmentTimes {
                        route_id: n.name(route),
                        direction_id: dir,
                        from_stop: n.name(from),
                        to_stop: n.name(to),
                        band,
                        runs: runs.len() as i64,
                        scheduled_s: mean(acc.sched_sum, acc.sched_n),
                        p10_s: p(0.1),
                        p50_s: p(0.5),
                        p85_s: p(0.85),
                        p95_s: p(0.95),
                    },
                )
            })
            .collect();
        segments.sort_by(|(sa, a), (sb, b)| {
            (&a.route_id, a.direction_id, sa, a.band).cmp(&(
                &b.route_id,
                b.direction_id,
                sb,
                b.band,
            ))
        });
        let trip_times = self
            .trips
            .into_iter()
            .map(|((route, dir, first, last, band), acc)| {
                let runs = sorted(acc.runs);
                let scheduled_s = mean(acc.sched_sum, acc.sched_n);
                let count = runs.len() as i64;
                let p85 = percentile_cont(&runs, RECOMMENDED_PERCENTILE);
                TripTimes {
                    route_id: n.name(route),
                    direction_id: dir,
                    first_stop: n.name(first),
                    last_stop: n.name(last),
                    band,
                    runs: count,
                    scheduled_s,
                    p50_s: percentile_cont(&runs, 0.5),
                    p85_s: p85,
                    p95_s: percentile_cont(&runs, 0.95),
                    recommended_s: if count >= MIN_RUNS { p85 } else { scheduled_s },
                }
            })
            .collect();
        let mut dwells: Vec<DwellTimes> = self
            .dwells
            .into_iter()
            .map(|((route, stop, band), values)| {
                let values = sorted(values);
                DwellTimes {
                    route_id: n.name(route),
                    stop_id: n.name(stop),
                    band,
                    visits: values.len() as i64,
                    p50_s: percentile_cont(&values, 0.5),
                    p85_s: percentile_cont(&values, 0.85),
                }
            })
            .collect();
        dwells.sort_by(|a, b| {
            (&a.route_id, &a.stop_id, a.band).cmp(&(&b.route_id, &b.stop_id, b.band))
        });
        let adherence = self
            .adherence
            .into_iter()
            .map(|((route, band), (all, early, late))| {
                let share = |k: i64| k as f64 / all.max(1) as f64;
                Adherence {
                    route_id: n.name(route),
                    band,
                    departures: all,
                    early_share: share(early),
                    on_time_share: share(all - early - late),
                    late_share: share(late),
                }
            })
            .collect();
        let headways = self
            .headways
            .into_iter()
            .map(|((route, dir, band), h)| {
                let count = h.n as f64;
                let actual_mean = h.actual_sum / count;
                // stddev_samp, none (0) under two intervals.
                let cv = if h.n > 1 && actual_mean != 0.0 {
                    ((h.actual_sq - count * actual_mean * actual_mean) / (count - 1.0))
                        .max(0.0)
                        .sqrt()
                        / actual_mean
                } else {
                    0.0
                };
                Headways {
                    route_id: n.name(route),
                    direction_id: dir,
                    band,
                    intervals: h.n,
                    scheduled_mean_s: h.sched_sum / count,
                    actual_mean_s: actual_mean,
                    cv,
                    bunched_share: h.bunched as f64 / count,
                }
            })
            .collect();
        VisitFigures {
            days_observed: self.days.len() as i64,
            segments: segments.into_iter().map(|(_, s)| s).collect(),
            trip_times,
            dwells,
            adherence,
            headways,
        }
    }
}

fn mean(sum: f64, n: u32) -> f64 {
    if n == 0 { 0.0 } else { sum / f64::from(n) }
}

/// Reads the period's stop visits once, in trip order, and computes what
/// they say.
pub async fn scan(pool: &PgPool, req: &PlanningRequest) -> Result<VisitFigures, sqlx::Error> {
    let mut rows = kagoshima_storage::stop_visits::stream_period(
        pool,
        req.from,
        req.until,
        req.route_id.as_deref(),
    );
    let mut f = Figures::default();
    let mut current: Option<(NaiveDate, String)> = None;
    let mut trip: Vec<Visit> = Vec::new();
    while let Some(kagoshima_storage::stop_visits::TimedVisit {
        service_date: date,
        trip_id,
        stop_sequence: seq,
        stop_id: stop,
        route_id: route,
        direction_id: dir,
        scheduled_arrival: sa,
        scheduled_departure: sd,
        actual_arrival: arr,
        actual_departure: dep,
    }) = rows.try_next().await?
    {
        let same = current
            .as_ref()
            .is_some_and(|(d, t)| *d == date && *t == trip_id);
        if !same {
            f.trip(&trip);
            trip.clear();
            if current.as_ref().is_some_and(|(d, _)| *d != date) {
                f.end_of_day();
            }
            f.days.insert(date);
            current = Some((date, trip_id));
        }
        // A visit without a route is counted as a day observed only.
        let Some(route) = route else { continue };
        trip.push(Visit {
            seq,
            stop: f.names.id(stop),
            route: f.names.id(route),
            dir,
            sched_arr: sa,
            sched_dep: sd,
            arr,
            dep,
        });
    }
    f.trip(&trip);
    f.end_of_day();
    Ok(f.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_postgresql_does() {
        let v = [10.0, 20.0, 30.0, 40.0];
        // SELECT percentile_cont(ARRAY[0, 0.1, 0.5, 0.85, 1]) WITHIN GROUP
        // (ORDER BY x) FROM unnest('{10,20,30,40}'::float8[]) x
        let got: Vec<f64> = [0.0, 0.1, 0.5, 0.85, 1.0]
            .iter()
            .map(|&p| percentile_cont(&v, p))
            .collect();
        let want = [10.0, 13.0, 25.0, 35.5, 40.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{got:?}");
        }
        assert_eq!(percentile_cont(&[7.0], 0.85), 7.0);
    }

    #[test]
    fn bands_follow_the_scheduled_time_in_jst() {
        // 2026-10-01 07:59 JST is 2026-09-30 22:59 UTC.
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-30T22:59:00Z")
            .unwrap()
            .timestamp() as f64;
        assert_eq!(band_of(Some(at)), Band::AmPeak);
        assert_eq!(band_of(Some(at + 60.0)), Band::AmPeak);
        assert_eq!(band_of(Some(at + 3660.0)), Band::Midday);
        assert_eq!(band_of(None), Band::Evening);
    }
}
