//! A draft timetable: the current feed with the same IDs and every file as
//! it was, but the stop times of the analysed routes' trips set from the
//! observed running times (see [`super::analysis::RECOMMENDED_PERCENTILE`]),
//! and a readable diff against the current timetable.
//!
//! For each trip whose pattern (route, direction, first and last stop) and
//! band have at least [`super::analysis::MIN_RUNS`] observed runs: the
//! first departure stays, the trip's time becomes the recommended one, the
//! dwell times stay as scheduled, and the running time is spread over the
//! segments in proportion to their observed medians in that band (else
//! their scheduled times). Times are rounded to 15 seconds. Every other trip
//! is left as it is. A block (one vehicle's day) whose trips now overlap is
//! listed to be made again and its trips lose their block_id, so that the
//! draft stays a valid feed.
use std::collections::{BTreeMap, HashMap};

use kagoshima_domain::calendar::{gtfs_time, parse_gtfs_time as parse_time};
use serde::Serialize;

use super::{analysis::Analysis, bands::Band};

/// Times of the draft are multiples of this (seconds).
pub const ROUND_S: u32 = 15;

/// One trip whose times changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TripChange {
    pub trip_id: String,
    pub route_id: String,
    pub band: Band,
    pub departure: String,
    pub scheduled_s: u32,
    pub draft_s: u32,
}

/// One stop time that changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StopTimeChange {
    pub trip_id: String,
    pub stop_sequence: u32,
    pub stop_id: String,
    pub arrival: String,
    pub draft_arrival: String,
    pub departure: String,
    pub draft_departure: String,
}

/// What the draft changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Draft {
    pub trips: Vec<TripChange>,
    pub stop_times: Vec<StopTimeChange>,
    /// Trips of the analysed routes left as scheduled (too few runs seen).
    pub unchanged_trips: usize,
    /// Blocks (one vehicle's trips of a day) whose trips now overlap: the
    /// longer trips need another vehicle or later departures. Their trips
    /// leave the draft without a block_id, so that the draft stays a valid
    /// feed; the vehicle schedules (運用) are to be made again.
    pub blocks_to_rework: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error("{file}: {reason}")]
    Feed { file: String, reason: String },
}

fn feed_error(file: &str, reason: impl ToString) -> DraftError {
    DraftError::Feed {
        file: file.to_owned(),
        reason: reason.to_string(),
    }
}

fn round(s: f64) -> u32 {
    ((s / f64::from(ROUND_S)).round().max(0.0) as u32) * ROUND_S
}

struct Call {
    row: usize,
    seq: u32,
    stop: String,
    arr: u32,
    dep: u32,
}

/// The draft feed's files (name → bytes) from the current feed's and the
/// analysis, and what changed.
pub fn draft(
    feed: &BTreeMap<String, Vec<u8>>,
    analysis: &Analysis,
) -> Result<(Draft, BTreeMap<String, Vec<u8>>), DraftError> {
    let read = |name: &str| -> Result<csv::Reader<&[u8]>, DraftError> {
        let bytes = feed
            .get(name)
            .ok_or_else(|| feed_error(name, "not in the feed"))?;
        Ok(csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes.as_slice()))
    };
    // trips.txt: route and direction of each trip.
    let mut trips = read("trips.txt")?;
    let headers = trips
        .headers()
        .map_err(|e| feed_error("trips.txt", e))?
        .clone();
    let col = |h: &csv::StringRecord, name: &str, file: &str| {
        h.iter()
            .position(|c| c.trim_start_matches('\u{feff}') == name)
            .ok_or_else(|| feed_error(file, format!("no {name} column")))
    };
    let (t_trip, t_route) = (
        col(&headers, "trip_id", "trips.txt")?,
        col(&headers, "route_id", "trips.txt")?,
    );
    let t_dir = col(&headers, "direction_id", "trips.txt").ok();
    let t_block = col(&headers, "block_id", "trips.txt").ok();
    let t_service = col(&headers, "service_id", "trips.txt")?;
    let mut trip_route: HashMap<String, (String, i16)> = HashMap::new();
    let mut trip_rows: Vec<csv::StringRecord> = Vec::new();
    for r in trips.records() {
        let r = r.map_err(|e| feed_error("trips.txt", e))?;
        let dir = t_dir
            .and_then(|i| r.get(i))
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        trip_route.insert(r[t_trip].to_owned(), (r[t_route].to_owned(), dir));
        trip_rows.push(r);
    }
    // stop_times.txt, kept row by row.
    let mut st = read("stop_times.txt")?;
    let st_headers = st
        .headers()
        .map_err(|e| feed_error("stop_times.txt", e))?
        .clone();
    let (c_trip, c_arr, c_dep, c_stop, c_seq) = (
        col(&st_headers, "trip_id", "stop_times.txt")?,
        col(&st_headers, "arrival_time", "stop_times.txt")?,
        col(&st_headers, "departure_time", "stop_times.txt")?,
        col(&st_headers, "stop_id", "stop_times.txt")?,
        col(&st_headers, "stop_sequence", "stop_times.txt")?,
    );
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    let mut calls: BTreeMap<String, Vec<Call>> = BTreeMap::new();
    for r in st.records() {
        let r = r.map_err(|e| feed_error("stop_times.txt", e))?;
        let (arr, dep) = (parse_time(&r[c_arr]), parse_time(&r[c_dep]));
        if let (Some(arr), Some(dep), Ok(seq)) = (arr.or(dep), dep.or(arr), r[c_seq].parse()) {
            calls.entry(r[c_trip].to_owned()).or_default().push(Call {
                row: rows.len(),
                seq,
                stop: r[c_stop].to_owned(),
                arr,
                dep,
            });
        }
        rows.push(r);
    }

    let trip_times: HashMap<(&str, i16, &str, &str, Band), f64> = analysis
        .trip_times
        .iter()
        .filter(|t| t.runs >= super::analysis::MIN_RUNS)
        .map(|t| {
            (
                (
                    t.route_id.as_str(),
                    t.direction_id,
                    t.first_stop.as_str(),
                    t.last_stop.as_str(),
                    t.band,
                ),
                t.recommended_s,
            )
        })
        .collect();
    let medians: HashMap<(&str, &str, &str, Band), f64> = analysis
        .segments
        .iter()
        .map(|s| {
            (
                (
                    s.route_id.as_str(),
                    s.from_stop.as_str(),
                    s.to_stop.as_str(),
                    s.band,
                ),
                s.p50_s,
            )
        })
        .collect();
    let analysed = |route: &str| analysis.route_id.as_deref().is_none_or(|r| r == route);

    let mut draft = Draft::default();
    // Each trip's first departure and last arrival, as drafted.
    let mut spans: HashMap<String, (u32, u32)> = HashMap::new();
    for (trip_id, mut list) in calls {
        list.sort_by_key(|c| c.seq);
        if let (Some(f), Some(l)) = (list.first(), list.last()) {
            spans.insert(trip_id.clone(), (f.dep, l.arr));
        }
        let Some((route, dir)) = trip_route.get(&trip_id) else {
            continue;
        };
        if !analysed(route) || list.len() < 2 {
            continue;
        }
        let (first, last) = (&list[0], &list[list.len() - 1]);
        let band = Band::of_hour(first.dep / 3600 % 24);
        let Some(&total) = trip_times.get(&(
            route.as_str(),
            *dir,
            first.stop.as_str(),
            last.stop.as_str(),
            band,
        )) else {
            draft.unchanged_trips += 1;
            continue;
        };
        let dwell: u32 = list[1..list.len() - 1]
            .iter()
            .map(|c| c.dep.saturating_sub(c.arr))
            .sum();
        let weights: Vec<f64> = list
            .windows(2)
            .map(|w| {
                medians
                    .get(&(route.as_str(), w[0].stop.as_str(), w[1].stop.as_str(), band))
                    .copied()
                    .unwrap_or_else(|| f64::from(w[1].arr.saturating_sub(w[0].dep)))
                    .max(1.0)
            })
            .collect();
        let running = (total - f64::from(dwell)).max(weights.len() as f64 * 30.0);
        let scale = running / weights.iter().sum::<f64>();
        // New times, cumulated exactly and rounded at each stop.
        let mut clock = f64::from(first.dep);
        let mut new_times = vec![(first.arr, first.dep)];
        for (k, w) in weights.iter().enumerate() {
            clock += w * scale;
            let c = &list[k + 1];
            let arr = round(clock).max(new_times[k].1);
            let dep = if k + 2 == list.len() {
                arr
            } else {
                arr + c.dep.saturating_sub(c.arr)
            };
            clock += f64::from(c.dep.saturating_sub(c.arr));
            new_times.push((arr, dep));
        }
        let scheduled_s = last.arr - first.dep;
        let draft_s = new_times[new_times.len() - 1].0 - first.dep;
        spans.insert(trip_id.clone(), (first.dep, first.dep + draft_s));
        if draft_s == scheduled_s
            && list
                .iter()
                .zip(&new_times)
                .all(|(c, t)| (c.arr, c.dep) == *t)
        {
            continue;
        }
        draft.trips.push(TripChange {
            trip_id: trip_id.clone(),
            route_id: route.clone(),
            band,
            departure: gtfs_time(first.dep),
            scheduled_s,
            draft_s,
        });
        for (c, &(arr, dep)) in list.iter().zip(&new_times) {
            if (c.arr, c.dep) == (arr, dep) {
                continue;
            }
            draft.stop_times.push(StopTimeChange {
                trip_id: trip_id.clone(),
                stop_sequence: c.seq,
                stop_id: c.stop.clone(),
                arrival: gtfs_time(c.arr),
                draft_arrival: gtfs_time(arr),
                departure: gtfs_time(c.dep),
                draft_departure: gtfs_time(dep),
            });
            let mut fields: Vec<String> = rows[c.row].iter().map(str::to_owned).collect();
            fields[c_arr] = gtfs_time(arr);
            fields[c_dep] = gtfs_time(dep);
            rows[c.row] = csv::StringRecord::from(fields);
        }
    }

    // Blocks whose trips now overlap lose their block_id.
    if let Some(b) = t_block {
        let mut blocks: BTreeMap<(String, String), Vec<(u32, u32)>> = BTreeMap::new();
        for r in &trip_rows {
            if let (Some(block), Some(span)) =
                (r.get(b).filter(|x| !x.is_empty()), spans.get(&r[t_trip]))
            {
                blocks
                    .entry((block.to_owned(), r[t_service].to_owned()))
                    .or_default()
                    .push(*span);
            }
        }
        for ((block, _), mut list) in blocks {
            list.sort_unstable();
            if list.windows(2).any(|w| w[0].1 > w[1].0) {
                draft.blocks_to_rework.push(block);
            }
        }
        draft.blocks_to_rework.sort();
        draft.blocks_to_rework.dedup();
        for r in &mut trip_rows {
            if r.get(b)
                .is_some_and(|x| draft.blocks_to_rework.iter().any(|k| k == x))
            {
                let mut fields: Vec<String> = r.iter().map(str::to_owned).collect();
                fields[b] = String::new();
                *r = csv::StringRecord::from(fields);
            }
        }
    }

    // Every file as it was, trips.txt and stop_times.txt as drafted.
    let mut files = feed.clone();
    let write = |name: &str, headers: &csv::StringRecord, rows: &[csv::StringRecord]| {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(headers)
            .map_err(|e| feed_error(name, e))?;
        for r in rows {
            writer.write_record(r).map_err(|e| feed_error(name, e))?;
        }
        writer.into_inner().map_err(|e| feed_error(name, e))
    };
    files.insert(
        "trips.txt".into(),
        write("trips.txt", &headers, &trip_rows)?,
    );
    files.insert(
        "stop_times.txt".into(),
        write("stop_times.txt", &st_headers, &rows)?,
    );
    Ok((draft, files))
}

/// The diff as CSV: one line per changed stop time.
pub fn diff_csv(draft: &Draft) -> String {
    let mut out = String::from(
        "trip_id,stop_sequence,stop_id,arrival,draft_arrival,departure,draft_departure\n",
    );
    for c in &draft.stop_times {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            c.trip_id,
            c.stop_sequence,
            c.stop_id,
            c.arrival,
            c.draft_arrival,
            c.departure,
            c.draft_departure
        ));
    }
    out
}
