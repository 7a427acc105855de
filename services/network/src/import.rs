//! Writing a checked [`Feed`] into a new feed version.
//!
//! Everything happens in ONE transaction: the version row, every table
//! (written with `UNNEST` array batches, never row by row), the resolved names
//! and search keys, and at the very end the switch of `active` from the
//! previous version to the new one. Readers see the previous version until the
//! commit and the new one after it; a failure leaves the database as it was.
//! An advisory lock keeps two imports from interleaving.
// The column tuples below are the arrays bound to UNNEST, one per column;
// naming each tuple type would only repeat the INSERT's column list.
#![allow(clippy::type_complexity)]

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use crate::{
    feed::{Feed, Translation},
    search::{is_kana, kana_to_romaji, normalize},
};

/// Rows per INSERT statement.
const CHUNK: usize = 5_000;
/// Key of the advisory lock held while importing.
const IMPORT_LOCK: i64 = 0x6b61_676f_6e65_7477; // "kagonetw"

/// How the importer decides things the feed does not say.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Agencies whose bus routes are the community bus (あいばす). Routes whose
    /// short or long name contains "あいばす" count too.
    pub community_bus_agencies: Vec<String>,
    /// Import even when a version with the same SHA-256 exists.
    pub force: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            community_bus_agencies: vec!["kagoshima-aibus".into()],
            force: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub enum ImportOutcome {
    /// A new version was loaded and made active.
    Imported(ImportSummary),
    /// A version with the same SHA-256 exists: nothing was written.
    AlreadyImported {
        feed_version_id: i64,
        active: bool,
        sha256: String,
    },
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub feed_version_id: i64,
    pub previous_version_id: Option<i64>,
    pub sha256: String,
    pub agencies: usize,
    pub routes: usize,
    pub stops: usize,
    pub trips: usize,
    pub stop_times: usize,
    pub shapes: usize,
    pub shape_points: usize,
    pub shapes_derived: bool,
    pub calendars: usize,
    pub calendar_dates: usize,
    pub translations: usize,
    pub names: usize,
    pub search_keys: usize,
    pub extra_rows: usize,
    /// Frequency-based trips (frequencies.txt) and the runs they expand to
    /// (counted in `trips` and `stop_times`).
    pub frequency_trips: usize,
    pub frequency_runs: usize,
}

/// Reports the stage being written and its size (for a progress bar).
pub trait Progress: Sync {
    fn stage(&self, name: &str, rows: usize);
    fn advance(&self, rows: usize);
}

/// A progress reporter that says nothing.
#[derive(Debug, Clone, Copy)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: usize) {}
    fn advance(&self, _: usize) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The mode of a route, as stored in `network_routes.mode`.
pub fn route_mode(
    route_type: i32,
    agency_id: Option<&str>,
    names: &[Option<&str>],
    options: &ImportOptions,
) -> &'static str {
    let community = agency_id
        .is_some_and(|a| options.community_bus_agencies.iter().any(|c| c == a))
        || names.iter().flatten().any(|n| n.contains("あいばす"));
    match route_type {
        0 | 900..=999 => "tram",
        3 | 11 | 700..=799 | 200..=299 if community => "community_bus",
        3 | 11 | 700..=799 | 200..=299 => "bus",
        1 | 2 | 100..=199 | 400..=499 => "rail",
        4 | 1000..=1099 | 1200 => "ferry",
        _ => "other",
    }
}

/// The integer code of a gtfs-structures enum (they serialize as their code).
fn code<T: Serialize>(value: &T) -> i32 {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Number(n)) => {
            n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0)
        }
        Ok(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A gtfs-structures date (it displays as `YYYY-MM-DD`).
use crate::feed::date;

/// A route's colour column as `RRGGBB` (gtfs-structures serializes it so).
fn hex_color(route: &serde_json::Value, column: &str) -> Option<String> {
    route
        .get(column)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase)
}

fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// A destination for each trip whose `trip_headsign` is empty, so that no
/// departure is shown without one: the GTFS-JP route's `destination_stop`
/// (routes_jp.txt), else the name of the trip's last stop; with the
/// translations of that stop name. (A stop's own `stop_headsign`, where
/// given, still wins over the trip's.)
fn fallback_headsigns<'a>(
    feed: &'a Feed,
    trip_stops: &HashMap<&str, Vec<(u32, &str)>>,
    tr: &TranslationIndex<'_>,
) -> HashMap<&'a str, (String, BTreeMap<String, String>)> {
    let destination_of_route: HashMap<&str, &str> = feed
        .extra_files
        .iter()
        .filter(|f| f.name == "routes_jp.txt")
        .flat_map(|f| f.rows.iter())
        .filter_map(|(_, row)| {
            let route = row.get("route_id")?.as_str()?;
            let destination = row.get("destination_stop")?.as_str()?.trim();
            (!destination.is_empty()).then_some((route, destination))
        })
        .collect();
    let stop_names: HashMap<&str, &str> = feed
        .stops
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.name.as_deref()?)))
        .collect();
    let mut stop_of_name: HashMap<&str, &str> = HashMap::new();
    for (id, name) in &stop_names {
        let entry = stop_of_name.entry(*name).or_insert(*id);
        // The same choice on every import, whatever the hash order.
        if *id < *entry {
            *entry = *id;
        }
    }
    let mut out = HashMap::new();
    for t in &feed.trips {
        if t.trip_headsign.as_deref().is_some_and(|h| !h.is_empty()) {
            continue;
        }
        let fallback = match destination_of_route.get(t.route_id.as_str()) {
            // Translated as the stop of that name is, when there is one.
            Some(destination) => Some((
                (*destination).to_owned(),
                tr.resolve(
                    "stops",
                    "stop_name",
                    stop_of_name.get(destination).copied().unwrap_or(""),
                    destination,
                ),
            )),
            None => trip_stops
                .get(t.id.as_str())
                .and_then(|stops| stops.last())
                .and_then(|(_, stop)| Some((*stop, *stop_names.get(stop)?)))
                .filter(|(_, name)| !name.is_empty())
                .map(|(stop, name)| {
                    (
                        name.to_owned(),
                        tr.resolve("stops", "stop_name", stop, name),
                    )
                }),
        };
        if let Some(f) = fallback {
            out.insert(t.id.as_str(), f);
        }
    }
    out
}

/// Translations looked up by record id, by field value, or (1st edition) by
/// the Japanese text alone.
struct TranslationIndex<'a> {
    /// The language of the feed's own texts (`Feed::language`).
    original: &'a str,
    by_record: HashMap<(&'a str, &'a str, &'a str), Vec<&'a Translation>>,
    by_value: HashMap<(&'a str, &'a str, &'a str), Vec<&'a Translation>>,
    by_text: HashMap<&'a str, Vec<&'a Translation>>,
}

impl<'a> TranslationIndex<'a> {
    fn new(original: &'a str, translations: &'a [Translation]) -> Self {
        let mut index = TranslationIndex {
            original,
            by_record: HashMap::new(),
            by_value: HashMap::new(),
            by_text: HashMap::new(),
        };
        for t in translations {
            if t.table_name == "*" {
                if let Some(v) = &t.field_value {
                    index.by_text.entry(v.as_str()).or_default().push(t);
                }
            } else if let Some(id) = &t.record_id {
                index
                    .by_record
                    .entry((t.table_name.as_str(), t.field_name.as_str(), id.as_str()))
                    .or_default()
                    .push(t);
            } else if let Some(v) = &t.field_value {
                index
                    .by_value
                    .entry((t.table_name.as_str(), t.field_name.as_str(), v.as_str()))
                    .or_default()
                    .push(t);
            }
        }
        index
    }

    /// Every language's text of one field: the original in the feed's
    /// language, then the
    /// 1st-edition rows, the field-value rows and the record rows, each
    /// overriding the previous.
    fn resolve(
        &self,
        table: &str,
        field: &str,
        record_id: &str,
        value: &str,
    ) -> BTreeMap<String, String> {
        let mut names = BTreeMap::new();
        if !value.is_empty() {
            names.insert(self.original.to_owned(), value.to_owned());
        }
        let found = [
            self.by_text.get(value),
            self.by_value.get(&(table, field, value)),
            self.by_record.get(&(table, field, record_id)),
        ];
        for rows in found.into_iter().flatten() {
            for t in rows {
                names.insert(t.language.clone(), t.translation.clone());
            }
        }
        names
    }
}

/// Columns of one table, as arrays for `UNNEST`.
#[derive(Default)]
struct Names {
    kind: Vec<&'static str>,
    key: Vec<String>,
    lang: Vec<String>,
    text: Vec<String>,
}

impl Names {
    fn add(&mut self, kind: &'static str, key: &str, names: BTreeMap<String, String>) {
        for (lang, text) in names {
            self.kind.push(kind);
            self.key.push(key.to_owned());
            self.lang.push(lang);
            self.text.push(text);
        }
    }
}

/// Finds a version with this SHA-256, if any: (id, active).
pub async fn find_by_sha256(
    pool: &PgPool,
    sha256: &str,
) -> Result<Option<(i64, bool)>, sqlx::Error> {
    sqlx::query_as("SELECT id, active FROM feed_versions WHERE sha256 = $1 ORDER BY active DESC, id DESC LIMIT 1")
        .bind(sha256)
        .fetch_optional(pool)
        .await
}

/// Loads `feed` into a new version and makes it the active one.
pub async fn import(
    pool: &PgPool,
    feed: &Feed,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportOutcome, ImportError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(IMPORT_LOCK)
        .execute(&mut *tx)
        .await?;
    if !options.force {
        let existing: Option<(i64, bool)> = sqlx::query_as(
            "SELECT id, active FROM feed_versions WHERE sha256 = $1 AND feed_id = $2
              ORDER BY active DESC, id DESC LIMIT 1",
        )
        .bind(&feed.sha256)
        .bind(feed.feed_id.as_deref().unwrap_or_default())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((feed_version_id, active)) = existing {
            tx.rollback().await?;
            return Ok(ImportOutcome::AlreadyImported {
                feed_version_id,
                active,
                sha256: feed.sha256.clone(),
            });
        }
    }
    let shapes_derived = feed.shapes.is_empty();
    let fv: i64 = sqlx::query_scalar(
        "INSERT INTO feed_versions (source, sha256, active, feed_version, shapes_derived, feed_id)
         VALUES ($1, $2, false, $3, $4, $5) RETURNING id",
    )
    .bind(&feed.source)
    .bind(&feed.sha256)
    .bind(&feed.feed_version)
    .bind(shapes_derived)
    .bind(feed.feed_id.as_deref().unwrap_or_default())
    .fetch_one(&mut *tx)
    .await?;

    let mut summary = ImportSummary {
        feed_version_id: fv,
        sha256: feed.sha256.clone(),
        shapes_derived,
        ..ImportSummary::default()
    };
    let tr = TranslationIndex::new(&feed.language, &feed.translations);
    let mut names = Names::default();

    // agencies
    progress.stage("agencies", feed.agencies.len());
    {
        let single = feed.agencies.len() == 1;
        let ids: Vec<String> = feed
            .agencies
            .iter()
            .map(|a| {
                a.id.clone()
                    .filter(|i| !i.is_empty() || !single)
                    .unwrap_or_default()
            })
            .collect();
        for (a, id) in feed.agencies.iter().zip(&ids) {
            names.add(
                "agency",
                id,
                tr.resolve("agency", "agency_name", id, &a.name),
            );
        }
        sqlx::query(
            "INSERT INTO network_agencies (feed_version_id, agency_id, name, url, timezone, lang, phone, fare_url)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(fv)
        .bind(&ids)
        .bind(feed.agencies.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
        .bind(feed.agencies.iter().map(|a| a.url.clone()).collect::<Vec<_>>())
        .bind(feed.agencies.iter().map(|a| a.timezone.clone()).collect::<Vec<_>>())
        .bind(feed.agencies.iter().map(|a| a.lang.clone()).collect::<Vec<_>>())
        .bind(feed.agencies.iter().map(|a| a.phone.clone()).collect::<Vec<_>>())
        .bind(feed.agencies.iter().map(|a| a.fare_url.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        summary.agencies = feed.agencies.len();
        progress.advance(feed.agencies.len());
    }

    // routes
    progress.stage("routes", feed.routes.len());
    {
        let default_agency = (feed.agencies.len() == 1)
            .then(|| feed.agencies[0].id.clone())
            .flatten();
        let mut cols: (
            Vec<String>,
            Vec<Option<String>>,
            Vec<Option<String>>,
            Vec<Option<String>>,
            Vec<i32>,
            Vec<&str>,
            Vec<Option<String>>,
            Vec<Option<String>>,
            Vec<Option<i32>>,
        ) = Default::default();
        for r in &feed.routes {
            let route_type = code(&r.route_type);
            let agency = r
                .agency_id
                .clone()
                .filter(|a| !a.is_empty())
                .or_else(|| default_agency.clone());
            cols.0.push(r.id.clone());
            cols.1.push(agency.clone());
            cols.2.push(r.short_name.clone());
            cols.3.push(r.long_name.clone());
            cols.4.push(route_type);
            cols.5.push(route_mode(
                route_type,
                agency.as_deref(),
                &[r.short_name.as_deref(), r.long_name.as_deref()],
                options,
            ));
            let json = serde_json::to_value(r).unwrap_or_default();
            cols.6.push(hex_color(&json, "route_color"));
            cols.7.push(hex_color(&json, "route_text_color"));
            cols.8.push(r.order.and_then(|o| i32::try_from(o).ok()));
            names.add(
                "route_short",
                &r.id,
                tr.resolve(
                    "routes",
                    "route_short_name",
                    &r.id,
                    r.short_name.as_deref().unwrap_or(""),
                ),
            );
            names.add(
                "route_long",
                &r.id,
                tr.resolve(
                    "routes",
                    "route_long_name",
                    &r.id,
                    r.long_name.as_deref().unwrap_or(""),
                ),
            );
        }
        sqlx::query(
            "INSERT INTO network_routes (feed_version_id, route_id, agency_id, short_name, long_name, route_type, mode, color, text_color, sort_order)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::text[], $9::text[], $10::int4[])",
        )
        .bind(fv)
        .bind(&cols.0)
        .bind(&cols.1)
        .bind(&cols.2)
        .bind(&cols.3)
        .bind(&cols.4)
        .bind(&cols.5)
        .bind(&cols.6)
        .bind(&cols.7)
        .bind(&cols.8)
        .execute(&mut *tx)
        .await?;
        summary.routes = feed.routes.len();
        progress.advance(feed.routes.len());
    }

    // stops, with their names and search keys
    progress.stage("stops", feed.stops.len());
    let mut key_stop = Vec::new();
    let mut key_source = Vec::new();
    let mut key_text = Vec::new();
    for chunk in feed.stops.chunks(CHUNK) {
        let mut cols: (
            Vec<String>,
            Vec<Option<String>>,
            Vec<String>,
            Vec<Option<f64>>,
            Vec<Option<f64>>,
            Vec<i16>,
            Vec<Option<String>>,
            Vec<Option<String>>,
            Vec<i16>,
        ) = Default::default();
        for s in chunk {
            let name = s.name.clone().unwrap_or_default();
            let resolved = tr.resolve("stops", "stop_name", &s.id, &name);
            let mut keys: Vec<(String, String)> = resolved
                .iter()
                .map(|(lang, text)| (lang.clone(), normalize(text)))
                .collect();
            let reading = resolved
                .get("ja-Hrkt")
                .cloned()
                .or_else(|| is_kana(&name).then(|| name.clone()));
            if let Some(reading) = reading {
                keys.push(("romaji".into(), normalize(&kana_to_romaji(&reading))));
            }
            keys.sort();
            keys.dedup();
            for (source, key) in keys.into_iter().filter(|(_, k)| !k.is_empty()) {
                key_stop.push(s.id.clone());
                key_source.push(source);
                key_text.push(key);
            }
            names.add("stop", &s.id, resolved);
            cols.0.push(s.id.clone());
            cols.1.push(s.code.clone());
            cols.2.push(name);
            cols.3.push(s.latitude);
            cols.4.push(s.longitude);
            cols.5
                .push(i16::try_from(code(&s.location_type)).unwrap_or(0));
            cols.6
                .push(s.parent_station.clone().filter(|p| !p.is_empty()));
            cols.7.push(s.platform_code.clone());
            cols.8.push(availability(&s.wheelchair_boarding));
        }
        sqlx::query(
            "INSERT INTO network_stops (feed_version_id, stop_id, code, name, lat, lon, location_type, parent_station, platform_code, wheelchair_boarding)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int2[], $8::text[], $9::text[], $10::int2[])",
        )
        .bind(fv)
        .bind(&cols.0)
        .bind(&cols.1)
        .bind(&cols.2)
        .bind(&cols.3)
        .bind(&cols.4)
        .bind(&cols.5)
        .bind(&cols.6)
        .bind(&cols.7)
        .bind(&cols.8)
        .execute(&mut *tx)
        .await?;
        progress.advance(chunk.len());
    }
    summary.stops = feed.stops.len();

    // shapes: the feed's, or derived from the stops of each trip pattern
    let stop_pos: HashMap<&str, (f64, f64)> = feed
        .stops
        .iter()
        .filter_map(|s| Some((s.id.as_str(), (s.latitude?, s.longitude?))))
        .collect();
    let mut trip_stops: HashMap<&str, Vec<(u32, &str)>> = HashMap::new();
    for st in &feed.stop_times {
        trip_stops
            .entry(st.trip_id.as_str())
            .or_default()
            .push((st.stop_sequence, st.stop_id.as_str()));
    }
    for stops in trip_stops.values_mut() {
        stops.sort_unstable();
    }
    let fallback_headsigns = fallback_headsigns(feed, &trip_stops, &tr);
    let mut derived_shape_of_trip: HashMap<&str, String> = HashMap::new();
    let mut shape_rows: (Vec<String>, Vec<i32>, Vec<f64>, Vec<f64>, Vec<Option<f64>>) =
        Default::default();
    if shapes_derived {
        let mut patterns: HashMap<(&str, Vec<&str>), String> = HashMap::new();
        let mut trips: Vec<&gtfs_structures::RawTrip> = feed.trips.iter().collect();
        trips.sort_by(|a, b| a.id.cmp(&b.id));
        for trip in trips {
            let Some(stops) = trip_stops.get(trip.id.as_str()) else {
                continue;
            };
            let pattern: Vec<&str> = stops.iter().map(|(_, s)| *s).collect();
            let next = patterns.len();
            let shape_id = patterns
                .entry((trip.route_id.as_str(), pattern.clone()))
                .or_insert_with(|| {
                    let id = format!("derived:{}:{}", trip.route_id, next);
                    let mut dist = 0.0;
                    let mut prev: Option<(f64, f64)> = None;
                    let mut seq = 0;
                    for stop in &pattern {
                        let Some(&pos) = stop_pos.get(stop) else {
                            continue;
                        };
                        if let Some(p) = prev {
                            dist += haversine_m(p, pos);
                        }
                        prev = Some(pos);
                        seq += 1;
                        shape_rows.0.push(id.clone());
                        shape_rows.1.push(seq);
                        shape_rows.2.push(pos.0);
                        shape_rows.3.push(pos.1);
                        shape_rows.4.push(Some((dist * 10.0).round() / 10.0));
                    }
                    id
                })
                .clone();
            derived_shape_of_trip.insert(trip.id.as_str(), shape_id);
        }
        summary.shapes = patterns.len();
    } else {
        let mut ids = std::collections::HashSet::new();
        for s in &feed.shapes {
            ids.insert(s.id.as_str());
            shape_rows.0.push(s.id.clone());
            shape_rows
                .1
                .push(i32::try_from(s.sequence).unwrap_or(i32::MAX));
            shape_rows.2.push(s.latitude);
            shape_rows.3.push(s.longitude);
            shape_rows.4.push(s.dist_traveled.map(f64::from));
        }
        summary.shapes = ids.len();
    }
    summary.shape_points = shape_rows.0.len();
    progress.stage("shapes", shape_rows.0.len());
    for start in (0..shape_rows.0.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(shape_rows.0.len());
        sqlx::query(
            "INSERT INTO network_shapes (feed_version_id, shape_id, seq, lat, lon, dist_m, derived)
             SELECT $1, s.*, $7 FROM UNNEST($2::text[], $3::int4[], $4::float8[], $5::float8[], $6::float8[]) AS s",
        )
        .bind(fv)
        .bind(&shape_rows.0[start..end])
        .bind(&shape_rows.1[start..end])
        .bind(&shape_rows.2[start..end])
        .bind(&shape_rows.3[start..end])
        .bind(&shape_rows.4[start..end])
        .bind(shapes_derived)
        .execute(&mut *tx)
        .await?;
        progress.advance(end - start);
    }

    // trips
    progress.stage("trips", feed.trips.len());
    for chunk in feed.trips.chunks(CHUNK) {
        let mut cols: (
            Vec<String>,
            Vec<String>,
            Vec<String>,
            Vec<Option<String>>,
            Vec<Option<i16>>,
            Vec<Option<String>>,
            Vec<Option<String>>,
            Vec<i16>,
        ) = Default::default();
        let mut run_cols: (
            Vec<Option<String>>,
            Vec<Option<i32>>,
            Vec<Option<i32>>,
            Vec<Option<bool>>,
        ) = Default::default();
        for t in chunk {
            let run = feed.runs.get(&t.id);
            run_cols.0.push(run.map(|r| r.template.clone()));
            run_cols.1.push(run.map(|r| r.start_s as i32));
            run_cols.2.push(run.map(|r| r.headway_s as i32));
            run_cols.3.push(run.map(|r| r.exact_times));
            cols.0.push(t.id.clone());
            cols.1.push(t.route_id.clone());
            cols.2.push(t.service_id.clone());
            cols.3.push(
                t.trip_headsign
                    .clone()
                    .filter(|h| !h.is_empty())
                    .or_else(|| {
                        fallback_headsigns
                            .get(t.id.as_str())
                            .map(|(h, _)| h.clone())
                    }),
            );
            cols.4.push(
                t.direction_id
                    .as_ref()
                    .map(|d| i16::try_from(code(d)).unwrap_or(0)),
            );
            cols.5.push(t.block_id.clone().filter(|b| !b.is_empty()));
            cols.6.push(match derived_shape_of_trip.get(t.id.as_str()) {
                Some(id) => Some(id.clone()),
                None => t.shape_id.clone().filter(|s| !s.is_empty()),
            });
            cols.7.push(availability(&t.wheelchair_accessible));
        }
        sqlx::query(
            "INSERT INTO network_trips (feed_version_id, trip_id, route_id, service_id, headsign, direction_id, block_id, shape_id, wheelchair_accessible,
                                        run_of, run_start_s, run_headway_s, run_exact_times)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::int2[], $7::text[], $8::text[], $9::int2[],
                                      $10::text[], $11::int4[], $12::int4[], $13::bool[])",
        )
        .bind(fv)
        .bind(&cols.0)
        .bind(&cols.1)
        .bind(&cols.2)
        .bind(&cols.3)
        .bind(&cols.4)
        .bind(&cols.5)
        .bind(&cols.6)
        .bind(&cols.7)
        .bind(&run_cols.0)
        .bind(&run_cols.1)
        .bind(&run_cols.2)
        .bind(&run_cols.3)
        .execute(&mut *tx)
        .await?;
        progress.advance(chunk.len());
    }
    summary.trips = feed.trips.len();
    summary.frequency_runs = feed.runs.len();
    summary.frequency_trips = feed
        .runs
        .values()
        .map(|r| r.template.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    // Headsigns are translated by their text (or by trip id).
    {
        let mut seen = std::collections::HashSet::new();
        for t in &feed.trips {
            if let Some(h) = t.trip_headsign.as_deref().filter(|h| !h.is_empty())
                && seen.insert(h)
            {
                names.add(
                    "headsign",
                    h,
                    tr.resolve("trips", "trip_headsign", &t.id, h),
                );
            }
        }
        for (h, resolved) in fallback_headsigns.values() {
            if seen.insert(h) {
                names.add("headsign", h, resolved.clone());
            }
        }
        for st in &feed.stop_times {
            if let Some(h) = st.stop_headsign.as_deref().filter(|h| !h.is_empty())
                && seen.insert(h)
            {
                names.add(
                    "headsign",
                    h,
                    tr.resolve("stop_times", "stop_headsign", &st.trip_id, h),
                );
            }
        }
    }

    // stop times
    progress.stage("stop_times", feed.stop_times.len());
    let last_seq: HashMap<&str, u32> = trip_stops
        .iter()
        .filter_map(|(trip, stops)| Some((*trip, stops.last()?.0)))
        .collect();
    for chunk in feed.stop_times.chunks(CHUNK) {
        let mut cols: (
            Vec<&str>,
            Vec<i32>,
            Vec<&str>,
            Vec<Option<i32>>,
            Vec<Option<i32>>,
            Vec<Option<&str>>,
            Vec<i16>,
            Vec<i16>,
            Vec<Option<f64>>,
            Vec<bool>,
        ) = Default::default();
        for st in chunk {
            cols.0.push(&st.trip_id);
            cols.1
                .push(i32::try_from(st.stop_sequence).unwrap_or(i32::MAX));
            cols.2.push(&st.stop_id);
            cols.3
                .push(st.arrival_time.and_then(|t| i32::try_from(t).ok()));
            cols.4
                .push(st.departure_time.and_then(|t| i32::try_from(t).ok()));
            cols.5
                .push(st.stop_headsign.as_deref().filter(|h| !h.is_empty()));
            cols.6
                .push(i16::try_from(code(&st.pickup_type)).unwrap_or(0));
            cols.7
                .push(i16::try_from(code(&st.drop_off_type)).unwrap_or(0));
            cols.8.push(st.shape_dist_traveled.map(f64::from));
            cols.9
                .push(last_seq.get(st.trip_id.as_str()) == Some(&st.stop_sequence));
        }
        sqlx::query(
            "INSERT INTO network_stop_times (feed_version_id, trip_id, stop_sequence, stop_id, arrival_s, departure_s, stop_headsign, pickup_type, drop_off_type, shape_dist, last_stop)
             SELECT $1, * FROM UNNEST($2::text[], $3::int4[], $4::text[], $5::int4[], $6::int4[], $7::text[], $8::int2[], $9::int2[], $10::float8[], $11::bool[])",
        )
        .bind(fv)
        .bind(&cols.0)
        .bind(&cols.1)
        .bind(&cols.2)
        .bind(&cols.3)
        .bind(&cols.4)
        .bind(&cols.5)
        .bind(&cols.6)
        .bind(&cols.7)
        .bind(&cols.8)
        .bind(&cols.9)
        .execute(&mut *tx)
        .await?;
        progress.advance(chunk.len());
    }
    summary.stop_times = feed.stop_times.len();

    // calendars
    progress.stage(
        "calendars",
        feed.calendars.len() + feed.calendar_dates.len(),
    );
    {
        let c = &feed.calendars;
        let day =
            |f: fn(&gtfs_structures::Calendar) -> bool| c.iter().map(f).collect::<Vec<bool>>();
        sqlx::query(
            "INSERT INTO network_calendars (feed_version_id, service_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday, start_date, end_date)
             SELECT $1, * FROM UNNEST($2::text[], $3::bool[], $4::bool[], $5::bool[], $6::bool[], $7::bool[], $8::bool[], $9::bool[], $10::date[], $11::date[])",
        )
        .bind(fv)
        .bind(c.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
        .bind(day(|c| c.monday))
        .bind(day(|c| c.tuesday))
        .bind(day(|c| c.wednesday))
        .bind(day(|c| c.thursday))
        .bind(day(|c| c.friday))
        .bind(day(|c| c.saturday))
        .bind(day(|c| c.sunday))
        .bind(c.iter().map(|c| date(&c.start_date)).collect::<Vec<_>>())
        .bind(c.iter().map(|c| date(&c.end_date)).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        let d = &feed.calendar_dates;
        sqlx::query(
            "INSERT INTO network_calendar_dates (feed_version_id, service_id, date, exception_type)
             SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::int2[])
             ON CONFLICT (feed_version_id, service_id, date) DO UPDATE SET exception_type = EXCLUDED.exception_type",
        )
        .bind(fv)
        .bind(d.iter().map(|d| d.service_id.clone()).collect::<Vec<_>>())
        .bind(d.iter().map(|d| date(&d.date)).collect::<Vec<_>>())
        .bind(
            d.iter()
                .map(|d| match d.exception_type {
                    gtfs_structures::Exception::Added => 1_i16,
                    gtfs_structures::Exception::Deleted => 2,
                })
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
        summary.calendars = c.len();
        summary.calendar_dates = d.len();
        progress.advance(c.len() + d.len());
    }

    // translations as published
    progress.stage("translations", feed.translations.len());
    for chunk in feed.translations.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO network_translations (feed_version_id, table_name, field_name, language, translation, record_id, record_sub_id, field_value)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])",
        )
        .bind(fv)
        .bind(chunk.iter().map(|t| t.table_name.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.field_name.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.language.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.translation.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.record_id.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.record_sub_id.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|t| t.field_value.as_deref()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        progress.advance(chunk.len());
    }
    summary.translations = feed.translations.len();

    // resolved names and search keys
    progress.stage("names and search keys", names.key.len() + key_text.len());
    for start in (0..names.key.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(names.key.len());
        sqlx::query(
            "INSERT INTO network_names (feed_version_id, kind, key, lang, text)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(fv)
        .bind(&names.kind[start..end])
        .bind(&names.key[start..end])
        .bind(&names.lang[start..end])
        .bind(&names.text[start..end])
        .execute(&mut *tx)
        .await?;
        progress.advance(end - start);
    }
    summary.names = names.key.len();
    for start in (0..key_text.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(key_text.len());
        sqlx::query(
            "INSERT INTO network_stop_search_keys (feed_version_id, stop_id, source, key)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[])
             ON CONFLICT DO NOTHING",
        )
        .bind(fv)
        .bind(&key_stop[start..end])
        .bind(&key_source[start..end])
        .bind(&key_text[start..end])
        .execute(&mut *tx)
        .await?;
        progress.advance(end - start);
    }
    summary.search_keys = key_text.len();

    // GTFS-JP extra files, raw
    let extra_rows: usize = feed.extra_files.iter().map(|f| f.rows.len()).sum();
    progress.stage("GTFS-JP extra files", extra_rows);
    for file in &feed.extra_files {
        for chunk in file.rows.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO network_extra_rows (feed_version_id, file_name, line, record)
                 SELECT $1, $2, * FROM UNNEST($3::int4[], $4::jsonb[])",
            )
            .bind(fv)
            .bind(&file.name)
            .bind(
                chunk
                    .iter()
                    .map(|(l, _)| i32::try_from(*l).unwrap_or(i32::MAX))
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
            progress.advance(chunk.len());
        }
    }
    summary.extra_rows = extra_rows;

    // the files as published, for a draft timetable made later
    for (name, content) in &feed.files {
        sqlx::query(
            "INSERT INTO network_feed_files (feed_version_id, name, content) VALUES ($1, $2, $3)",
        )
        .bind(fv)
        .bind(name)
        .bind(content)
        .execute(&mut *tx)
        .await?;
    }

    // the switch
    summary.previous_version_id = activate(&mut tx, fv).await?;
    sqlx::query("UPDATE feed_versions SET summary = $2 WHERE id = $1")
        .bind(fv)
        .bind(serde_json::to_value(&summary).unwrap_or_default())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ImportOutcome::Imported(summary))
}

/// Makes `fv` the active version; returns the one it replaces.
/// Makes `fv` the active version of its feed, in place of the one before.
async fn activate(tx: &mut Transaction<'_, Postgres>, fv: i64) -> Result<Option<i64>, sqlx::Error> {
    let previous: Option<i64> = sqlx::query_scalar(
        "UPDATE feed_versions SET active = false
          WHERE active AND feed_id = (SELECT feed_id FROM feed_versions WHERE id = $1)
         RETURNING id",
    )
    .bind(fv)
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query("UPDATE feed_versions SET active = true WHERE id = $1")
        .bind(fv)
        .execute(&mut **tx)
        .await?;
    Ok(previous)
}

/// GTFS's accessibility code (wheelchair_boarding, wheelchair_accessible):
/// 0 no information, 1 possible, 2 not possible.
pub(crate) fn availability(a: &gtfs_structures::Availability) -> i16 {
    match a {
        gtfs_structures::Availability::Available => 1,
        gtfs_structures::Availability::NotAvailable => 2,
        _ => 0,
    }
}
