//! The project's own feed checks (on top of what `gtfs-structures` enforces
//! while loading): stop times increase along every trip, every stop lies near
//! its trip's shape, and every stop name has the passenger languages.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::feed::Feed;

/// The languages every stop name must have in translations.txt.
pub const REQUIRED_LANGUAGES: [&str; 6] = ["ja", "ja-Hrkt", "en", "zh-Hans", "zh-Hant", "ko"];

/// How far a stop may be from its trip's shape, metres.
pub const MAX_STOP_SHAPE_DISTANCE_M: f64 = 30.0;

/// The outcome of [`check_feed`]: empty `problems` means the feed passed.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub problems: Vec<String>,
    pub trips_checked: usize,
    pub stops_checked: usize,
    /// The largest stop-to-shape distance seen, metres.
    pub max_stop_shape_distance_m: f64,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Loads the feed with `gtfs-structures` and runs the project's checks.
pub fn check_feed(dir: &Path) -> CheckReport {
    let mut report = CheckReport::default();
    let feed = match Feed::load(dir) {
        Ok(f) => f,
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    for trip in feed.trips.values() {
        report.trips_checked += 1;
        if trip.stop_times.len() < 2 {
            report
                .problems
                .push(format!("trip {}: fewer than two stops", trip.id));
        }
        for pair in trip.stop_times.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.arrival_s <= a.departure_s {
                report.problems.push(format!(
                    "trip {}: arrival at {} (seq {}) is not after the departure from {}",
                    trip.id, b.stop_id, b.stop_sequence, a.stop_id
                ));
            }
        }
        for st in &trip.stop_times {
            if st.departure_s < st.arrival_s {
                report.problems.push(format!(
                    "trip {}: departs {} before arriving",
                    trip.id, st.stop_id
                ));
            }
        }
        let Some(shape) = feed.shapes.get(&trip.shape_id) else {
            report.problems.push(format!(
                "trip {}: shape {:?} missing",
                trip.id, trip.shape_id
            ));
            continue;
        };
        for st in &trip.stop_times {
            let Some(stop) = feed.stops.get(&st.stop_id) else {
                report
                    .problems
                    .push(format!("trip {}: unknown stop {}", trip.id, st.stop_id));
                continue;
            };
            let (_, off) = shape.project(stop.xy);
            report.max_stop_shape_distance_m = report.max_stop_shape_distance_m.max(off);
            if off > MAX_STOP_SHAPE_DISTANCE_M {
                report.problems.push(format!(
                    "trip {}: stop {} is {off:.1} m from shape {}",
                    trip.id, st.stop_id, shape.id
                ));
            }
        }
    }
    // Translations of stop names (GTFS-JP 2nd edition: matched by field_value or record_id).
    let raw = gtfs_structures::RawGtfs::from_path(dir);
    let translations = match raw.map(|r| r.translations) {
        Ok(Some(Ok(t))) => t,
        Ok(Some(Err(e))) => {
            report
                .problems
                .push(format!("translations.txt unreadable: {e}"));
            Vec::new()
        }
        Ok(None) => {
            report.problems.push("translations.txt missing".into());
            Vec::new()
        }
        Err(e) => {
            report.problems.push(e.to_string());
            Vec::new()
        }
    };
    let mut langs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in &translations {
        if t.table_name != "stops" || t.field_name != "stop_name" {
            continue;
        }
        let key = match (&t.field_value, &t.record_id) {
            (Some(v), _) if !v.is_empty() => v.clone(),
            (_, Some(id)) => feed
                .stops
                .get(id)
                .map_or_else(|| id.clone(), |s| s.name.clone()),
            _ => continue,
        };
        langs.entry(key).or_default().insert(t.language.clone());
    }
    for stop in feed.stops.values() {
        report.stops_checked += 1;
        let have = langs.get(&stop.name);
        for lang in REQUIRED_LANGUAGES {
            if !have.is_some_and(|h| h.contains(lang)) {
                report.problems.push(format!(
                    "stop {} ({}): no {lang} translation",
                    stop.id, stop.name
                ));
            }
        }
    }
    report
}
