//! Frequency-based trips (GTFS `frequencies.txt`), expanded into the runs
//! they stand for, so that timetables, arrivals, trip assignment,
//! predictions and GTFS-Realtime treat every run as a trip of its own.
//!
//! The rules of the specification: a trip named in frequencies.txt runs only
//! as its frequencies say (never at its own stop_times' clock times); its
//! stop_times give the running times, relative to its first departure; runs
//! leave the first stop at `start_time`, then every `headway_secs`, while
//! before `end_time`. With `exact_times` 1 the runs keep those times exactly
//! (a compact way to write a schedule); with 0 (or empty) service is "about
//! every N minutes" and the times are an estimate. GTFS-Realtime names a
//! run by its template trip_id and its start_time.
use std::collections::{BTreeMap, HashMap, HashSet};

use gtfs_structures::{ExactTimes, RawFrequency, RawStopTime, RawTrip};

use crate::feed::Problem;

/// One run of a frequency-based trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The trip of trips.txt it repeats.
    pub template: String,
    /// When it leaves the first stop, seconds after the service day's start.
    pub start_s: u32,
    pub headway_s: u32,
    /// GTFS exact_times 1: the time is the schedule, not an estimate.
    pub exact_times: bool,
}

/// The ID a run gets: its template's, then `@` and its start time
/// (`T1@07:30:00`), unique as long as no trip of the feed is named so.
pub fn run_id(template: &str, start_s: u32) -> String {
    format!(
        "{template}@{}",
        kagoshima_domain::calendar::gtfs_time(start_s)
    )
}

/// Problems of frequencies.txt: unknown trips, empty or inverted periods, a
/// headway of zero, and periods of one trip that overlap (the runs would
/// collide). `line` numbers count the header as line 1.
pub fn check(frequencies: &[RawFrequency], trip_ids: &HashSet<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let at = |i: usize, field: &str, reason: String| Problem {
        file: "frequencies.txt".into(),
        line: Some(i as u64 + 2),
        field: Some(field.into()),
        reason,
    };
    let mut periods: HashMap<&str, Vec<(u32, u32, usize)>> = HashMap::new();
    for (i, f) in frequencies.iter().enumerate() {
        if !trip_ids.contains(f.trip_id.as_str()) {
            problems.push(at(
                i,
                "trip_id",
                format!("trip {:?} is not in trips.txt", f.trip_id),
            ));
        }
        if f.headway_secs == 0 {
            problems.push(at(i, "headway_secs", "must be more than 0".into()));
        }
        if f.end_time <= f.start_time {
            problems.push(at(
                i,
                "end_time",
                "must be after start_time (the period would hold no run)".into(),
            ));
            continue;
        }
        periods
            .entry(f.trip_id.as_str())
            .or_default()
            .push((f.start_time, f.end_time, i));
    }
    for (trip, mut list) in periods {
        list.sort_unstable();
        for pair in list.windows(2) {
            if pair[1].0 < pair[0].1 {
                problems.push(at(
                    pair[1].2,
                    "start_time",
                    format!(
                        "the periods of trip {trip:?} on lines {} and {} overlap",
                        pair[0].2 + 2,
                        pair[1].2 + 2
                    ),
                ));
            }
        }
    }
    problems
}

/// Replaces every trip named in `frequencies` by its runs, with their stop
/// times shifted from the template's; returns the runs by their trip ID.
/// Runs keep the template's service, route, shape and headsign; they belong
/// to no block (a block_id would chain every run into one vehicle's day).
/// Call after [`check`] found nothing.
pub fn expand(
    trips: &mut Vec<RawTrip>,
    stop_times: &mut Vec<RawStopTime>,
    frequencies: &[RawFrequency],
) -> BTreeMap<String, Run> {
    let mut runs = BTreeMap::new();
    if frequencies.is_empty() {
        return runs;
    }
    let templates: HashSet<&str> = frequencies.iter().map(|f| f.trip_id.as_str()).collect();
    let mut template_times: HashMap<String, Vec<RawStopTime>> = HashMap::new();
    stop_times.retain(|st| {
        if templates.contains(st.trip_id.as_str()) {
            template_times
                .entry(st.trip_id.clone())
                .or_default()
                .push(st.clone());
            false
        } else {
            true
        }
    });
    let mut template_trips: HashMap<String, RawTrip> = HashMap::new();
    trips.retain(|t| {
        if templates.contains(t.id.as_str()) {
            template_trips.insert(t.id.clone(), t.clone());
            false
        } else {
            true
        }
    });
    for f in frequencies {
        let (Some(trip), Some(times)) = (
            template_trips.get(&f.trip_id),
            template_times.get_mut(&f.trip_id),
        ) else {
            continue;
        };
        times.sort_by_key(|st| st.stop_sequence);
        let Some(origin) = times
            .iter()
            .find_map(|st| st.departure_time.or(st.arrival_time))
        else {
            continue;
        };
        let exact_times = matches!(f.exact_times, Some(ExactTimes::ScheduleBased));
        let mut start = f.start_time;
        while start < f.end_time && f.headway_secs > 0 {
            let id = run_id(&f.trip_id, start);
            let shift = |t: Option<u32>| t.map(|t| start + t.saturating_sub(origin));
            trips.push(RawTrip {
                id: id.clone(),
                block_id: None,
                ..trip.clone()
            });
            stop_times.extend(times.iter().map(|st| RawStopTime {
                trip_id: id.clone(),
                arrival_time: shift(st.arrival_time),
                departure_time: shift(st.departure_time),
                ..st.clone()
            }));
            runs.insert(
                id,
                Run {
                    template: f.trip_id.clone(),
                    start_s: start,
                    headway_s: f.headway_secs,
                    exact_times,
                },
            );
            start += f.headway_secs;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freq(trip: &str, start: u32, end: u32, headway: u32, exact: bool) -> RawFrequency {
        RawFrequency {
            trip_id: trip.into(),
            start_time: start,
            end_time: end,
            headway_secs: headway,
            exact_times: Some(if exact {
                ExactTimes::ScheduleBased
            } else {
                ExactTimes::FrequencyBased
            }),
        }
    }

    fn stop_time(trip: &str, seq: u32, t: u32) -> RawStopTime {
        RawStopTime {
            trip_id: trip.into(),
            arrival_time: Some(t),
            departure_time: Some(t),
            stop_id: format!("s{seq}"),
            stop_sequence: seq,
            ..RawStopTime::default()
        }
    }

    #[test]
    fn runs_repeat_the_template_from_start_while_before_end() {
        let mut trips = vec![
            RawTrip {
                id: "f".into(),
                block_id: Some("b".into()),
                ..RawTrip::default()
            },
            RawTrip {
                id: "plain".into(),
                ..RawTrip::default()
            },
        ];
        // The template's own clock times (10:00) only give running times.
        let mut stop_times = vec![
            stop_time("f", 1, 36_000),
            stop_time("f", 2, 36_300),
            stop_time("plain", 1, 100),
        ];
        let runs = expand(
            &mut trips,
            &mut stop_times,
            &[freq("f", 7 * 3600, 8 * 3600, 1200, true)],
        );
        let ids: Vec<&str> = trips.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["plain", "f@07:00:00", "f@07:20:00", "f@07:40:00"]);
        assert!(trips.iter().all(|t| t.block_id.is_none()));
        let second: Vec<(u32, Option<u32>)> = stop_times
            .iter()
            .filter(|st| st.trip_id == "f@07:20:00")
            .map(|st| (st.stop_sequence, st.departure_time))
            .collect();
        assert_eq!(second, [(1, Some(26_400)), (2, Some(26_700))]);
        assert_eq!(
            stop_times.len(),
            1 + 3 * 2,
            "the template's own times are gone"
        );
        assert_eq!(
            runs["f@07:40:00"],
            Run {
                template: "f".into(),
                start_s: 27_600,
                headway_s: 1200,
                exact_times: true
            }
        );
    }

    #[test]
    fn bad_periods_are_problems() {
        let ids = HashSet::from(["f"]);
        let problems = check(
            &[
                freq("f", 100, 50, 60, false),
                freq("ghost", 0, 100, 60, false),
                freq("f", 1000, 2000, 0, false),
                freq("f", 1500, 2500, 60, false),
            ],
            &ids,
        );
        let reasons: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:#?}");
        assert!(
            reasons[0].contains("line 2, field end_time"),
            "{reasons:#?}"
        );
        assert!(reasons[1].contains("\"ghost\" is not in trips.txt"));
        assert!(reasons[2].contains("headway_secs"));
        assert!(reasons[3].contains("lines 4 and 5 overlap"), "{reasons:#?}");
    }
}
