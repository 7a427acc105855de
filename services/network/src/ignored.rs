//! What the platform does not read of a feed, so that `validate` and
//! `import` can say so instead of dropping it without a word: whole files,
//! columns of the files it reads, and stops it keeps but never shows.
use std::collections::BTreeMap;

/// One thing of the feed that is not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ignored {
    pub file: String,
    /// `the whole file`, `columns a, b`, or which rows.
    pub what: String,
    pub why: String,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.file, self.what, self.why)
    }
}

/// The columns read of each file the platform reads. GTFS-JP's `*_jp.txt`
/// files are stored whole, as published.
const READ: &[(&str, &[&str])] = &[
    (
        "agency.txt",
        &[
            "agency_id",
            "agency_name",
            "agency_url",
            "agency_timezone",
            "agency_lang",
            "agency_phone",
            "agency_fare_url",
        ],
    ),
    (
        "routes.txt",
        &[
            "route_id",
            "agency_id",
            "route_short_name",
            "route_long_name",
            "route_type",
            "route_color",
            "route_text_color",
            "route_sort_order",
        ],
    ),
    (
        "stops.txt",
        &[
            "stop_id",
            "stop_code",
            "stop_name",
            "stop_lat",
            "stop_lon",
            "location_type",
            "parent_station",
            "platform_code",
            "wheelchair_boarding",
        ],
    ),
    (
        "trips.txt",
        &[
            "route_id",
            "service_id",
            "trip_id",
            "trip_headsign",
            "direction_id",
            "block_id",
            "shape_id",
            "wheelchair_accessible",
        ],
    ),
    (
        "stop_times.txt",
        &[
            "trip_id",
            "arrival_time",
            "departure_time",
            "stop_id",
            "stop_sequence",
            "stop_headsign",
            "pickup_type",
            "drop_off_type",
            "shape_dist_traveled",
        ],
    ),
    (
        "calendar.txt",
        &[
            "service_id",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "start_date",
            "end_date",
        ],
    ),
    (
        "calendar_dates.txt",
        &["service_id", "date", "exception_type"],
    ),
    (
        "shapes.txt",
        &[
            "shape_id",
            "shape_pt_lat",
            "shape_pt_lon",
            "shape_pt_sequence",
            "shape_dist_traveled",
        ],
    ),
    ("feed_info.txt", &["feed_lang", "feed_version"]),
    (
        "translations.txt",
        &[
            "table_name",
            "field_name",
            "language",
            "translation",
            "record_id",
            "record_sub_id",
            "field_value",
            "trans_id",
            "lang",
        ],
    ),
    (
        "frequencies.txt",
        &[
            "trip_id",
            "start_time",
            "end_time",
            "headway_secs",
            "exact_times",
        ],
    ),
];

/// Why a file the platform does not read is left out.
fn why_not_read(file: &str) -> &'static str {
    match file {
        f if f.starts_with("fare_") || f == "rider_categories.txt" || f == "timeframes.txt" => {
            "fares come from the platform's own fare rules (payments), not from the feed"
        }
        "transfers.txt" => "transfers are not used for timetables or arrivals",
        "pathways.txt" | "levels.txt" => "paths inside stations are not shown",
        "attributions.txt" => "attributions are not shown",
        "booking_rules.txt" | "location_groups.txt" | "location_group_stops.txt" => {
            "demand-responsive (GTFS-Flex) service is not supported"
        }
        "networks.txt" | "route_networks.txt" | "areas.txt" | "stop_areas.txt" => {
            "networks and areas belong to GTFS fares v2, which is not read"
        }
        _ => "not a file the platform reads",
    }
}

/// Everything of the feed's `files` (name → bytes) the platform does not
/// use: whole files, columns, and the stops kept but never shown (entrances,
/// nodes and boarding areas).
pub fn ignored(files: &BTreeMap<String, Vec<u8>>, stops: &[gtfs_structures::Stop]) -> Vec<Ignored> {
    let mut out = Vec::new();
    for (name, bytes) in files {
        if name.ends_with("_jp.txt") {
            continue;
        }
        let Some((_, read)) = READ.iter().find(|(f, _)| f == name) else {
            out.push(Ignored {
                file: name.clone(),
                what: "the whole file".into(),
                why: why_not_read(name).into(),
            });
            continue;
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let unread: Vec<String> = reader
            .headers()
            .map(|h| {
                h.iter()
                    .filter(|c| !c.is_empty() && !read.contains(c))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if !unread.is_empty() {
            out.push(Ignored {
                file: name.clone(),
                what: format!("columns {}", unread.join(", ")),
                why: "not used by the platform".into(),
            });
        }
    }
    let unseen = stops
        .iter()
        .filter(|s| {
            !matches!(
                s.location_type,
                gtfs_structures::LocationType::StopPoint | gtfs_structures::LocationType::StopArea
            )
        })
        .count();
    if unseen > 0 {
        out.push(Ignored {
            file: "stops.txt".into(),
            what: format!("{unseen} entrances, nodes or boarding areas (location_type 2-4)"),
            why: "kept with the feed but never shown to riders: their station is".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_files_columns_and_hidden_stops_are_listed() {
        let files = BTreeMap::from([
            (
                "stops.txt".to_owned(),
                b"stop_id,stop_name,stop_lat,stop_lon,zone_id,stop_desc\n".to_vec(),
            ),
            ("fare_rules.txt".to_owned(), b"fare_id\n".to_vec()),
            ("routes_jp.txt".to_owned(), b"route_id\n".to_vec()),
            ("calendar.txt".to_owned(), b"service_id,monday\n".to_vec()),
        ]);
        let entrance = gtfs_structures::Stop {
            location_type: gtfs_structures::LocationType::StationEntrance,
            ..gtfs_structures::Stop::default()
        };
        let shown: Vec<String> = ignored(&files, &[entrance, gtfs_structures::Stop::default()])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "fare_rules.txt: the whole file (fares come from the platform's own fare rules (payments), not from the feed)",
                "stops.txt: columns zone_id, stop_desc (not used by the platform)",
                "stops.txt: 1 entrances, nodes or boarding areas (location_type 2-4) (kept with the feed but never shown to riders: their station is)",
            ]
        );
    }
}
