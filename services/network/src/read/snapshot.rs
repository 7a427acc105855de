//! The whole active network at once, as the tracker's [`NetworkInput`] with
//! every passenger-facing name: from the active feed version in the database
//! (the live services), or from a GTFS folder read by this crate's own parser
//! (the accuracy report, which runs without a database).
use std::collections::HashMap;

use chrono::NaiveDate;
use kagoshima_tracker::NetworkInput;
use kagoshima_tracker::network::{
    CalendarDateInput, CalendarInput, RouteInput, RunOf, ShapePointInput, StopInput, StopTimeInput,
    TripInput,
};
use sqlx::PgPool;

/// Passenger-facing names of the active feed: kind → key → lang → text
/// (kinds as in `network_names`: stop, route_short, route_long, headsign).
/// Nested so that a lookup by `&str` allocates nothing: it runs for every
/// row of every arrivals answer.
#[derive(Debug, Clone, Default)]
pub struct Names(HashMap<String, HashMap<String, HashMap<String, String>, Fast>, Fast>);

type Fast = foldhash::fast::RandomState;

impl Names {
    pub fn insert(&mut self, kind: &str, key: &str, lang: &str, text: &str) {
        self.0
            .entry(kind.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default()
            .insert(lang.to_owned(), text.to_owned());
    }

    /// The text in `lang`, else Japanese, else `original`; with its language.
    pub fn get(&self, kind: &str, key: &str, lang: &str, original: &str) -> (String, String) {
        let found = self.0.get(kind).and_then(|keys| keys.get(key));
        let pick = |l: &str| found.and_then(|m| m.get(l)).filter(|t| !t.is_empty());
        match pick(lang) {
            Some(t) => (lang.to_owned(), t.clone()),
            None => (
                "ja".to_owned(),
                pick("ja").cloned().unwrap_or_else(|| original.to_owned()),
            ),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TripRow {
    trip_id: String,
    route_id: String,
    service_id: String,
    headsign: Option<String>,
    direction_id: Option<i16>,
    block_id: Option<String>,
    shape_id: Option<String>,
    wheelchair_accessible: i16,
    run_of: Option<String>,
    run_start_s: Option<i32>,
    run_headway_s: Option<i32>,
    run_exact_times: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct CalendarRow {
    service_id: String,
    monday: bool,
    tuesday: bool,
    wednesday: bool,
    thursday: bool,
    friday: bool,
    saturday: bool,
    sunday: bool,
    start_date: NaiveDate,
    end_date: NaiveDate,
}

/// The active feeds' network and names, as one network (their IDs are
/// apart: see [`crate::namespace`]).
pub struct ActiveNetwork {
    /// The newest of the active versions: it changes whenever any feed is
    /// imported.
    pub version: i64,
    pub input: NetworkInput,
    pub names: Names,
}

/// The active feed version's network and names; `None` without a feed.
pub async fn active(pool: &PgPool) -> Result<Option<ActiveNetwork>, sqlx::Error> {
    let fv = crate::service_day::active_versions(pool).await?;
    let Some(&version) = fv.iter().max() else {
        return Ok(None);
    };
    let mut input = NetworkInput::default();
    type StopRow = (
        String,
        String,
        Option<f64>,
        Option<f64>,
        Option<String>,
        Option<String>,
        i64,
    );
    // Only a platform (location_type 0) belongs to a station for riders;
    // entrances and boarding areas are not where a board is asked for.
    let stops: Vec<StopRow> = sqlx::query_as(
        "SELECT stop_id, name, lat, lon,
                CASE WHEN location_type = 0 THEN parent_station END, platform_code, feed_version_id
           FROM network_stops WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.stops = stops
        .into_iter()
        .map(
            |(stop_id, name, lat, lon, parent_station, platform_code, feed)| StopInput {
                stop_id,
                name,
                lat: lat.unwrap_or_default(),
                lon: lon.unwrap_or_default(),
                parent_station,
                platform_code,
                feed,
            },
        )
        .collect();
    let routes: Vec<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT route_id, agency_id, short_name, mode FROM network_routes WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.routes = routes
        .into_iter()
        .map(|(route_id, agency_id, short, mode)| RouteInput {
            route_id,
            agency_id,
            short_name: short.unwrap_or_default(),
            mode,
        })
        .collect();
    let trips: Vec<TripRow> = sqlx::query_as(
        "SELECT trip_id, route_id, service_id, headsign, direction_id, block_id, shape_id,
                wheelchair_accessible, run_of, run_start_s, run_headway_s, run_exact_times
           FROM network_trips WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.trips = trips
        .into_iter()
        .map(|t| TripInput {
            run: t.run_of.map(|template| RunOf {
                template,
                start_s: t.run_start_s.unwrap_or_default().max(0) as u32,
                headway_s: t.run_headway_s.unwrap_or_default().max(0) as u32,
                exact_times: t.run_exact_times.unwrap_or(false),
            }),
            trip_id: t.trip_id,
            route_id: t.route_id,
            service_id: t.service_id,
            headsign: t.headsign.unwrap_or_default(),
            direction_id: t.direction_id.and_then(|d| u8::try_from(d).ok()),
            wheelchair_accessible: u8::try_from(t.wheelchair_accessible).unwrap_or(0),
            block_id: t.block_id,
            shape_id: t.shape_id,
        })
        .collect();
    type StopTimeRow = (String, i32, String, Option<i32>, Option<i32>);
    let sts: Vec<StopTimeRow> = sqlx::query_as(
        "SELECT trip_id, stop_sequence, stop_id, arrival_s, departure_s
           FROM network_stop_times WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.stop_times = sts
        .into_iter()
        .map(
            |(trip_id, seq, stop_id, arrival_s, departure_s)| StopTimeInput {
                trip_id,
                stop_sequence: u32::try_from(seq).unwrap_or(0),
                stop_id,
                arrival_s,
                departure_s,
            },
        )
        .collect();
    let shapes: Vec<(String, i32, f64, f64)> = sqlx::query_as(
        "SELECT shape_id, seq, lat, lon FROM network_shapes WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.shapes = shapes
        .into_iter()
        .map(|(shape_id, seq, lat, lon)| ShapePointInput {
            shape_id,
            seq: u32::try_from(seq).unwrap_or(0),
            lat,
            lon,
        })
        .collect();
    let cals: Vec<CalendarRow> = sqlx::query_as(
        "SELECT service_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday,
                start_date, end_date FROM network_calendars WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.calendars = cals
        .into_iter()
        .map(|c| CalendarInput {
            service_id: c.service_id,
            days: [
                c.monday,
                c.tuesday,
                c.wednesday,
                c.thursday,
                c.friday,
                c.saturday,
                c.sunday,
            ],
            start: c.start_date,
            end: c.end_date,
        })
        .collect();
    let dates: Vec<(String, NaiveDate, i16)> = sqlx::query_as(
        "SELECT service_id, date, exception_type FROM network_calendar_dates WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    input.calendar_dates = dates
        .into_iter()
        .map(|(service_id, date, e)| CalendarDateInput {
            service_id,
            date,
            exception_type: u8::try_from(e).unwrap_or(0),
        })
        .collect();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT kind, key, lang, text FROM network_names WHERE feed_version_id = ANY($1)",
    )
    .bind(&fv)
    .fetch_all(pool)
    .await?;
    let mut names = Names::default();
    for (kind, key, lang, text) in rows {
        names.insert(&kind, &key, &lang, &text);
    }
    Ok(Some(ActiveNetwork {
        version,
        input,
        names,
    }))
}

/// A GTFS folder or zip, read and checked by the network crate's parser.
#[allow(clippy::field_reassign_with_default)]
pub fn from_feed(path: &std::path::Path) -> anyhow::Result<NetworkInput> {
    let feed = crate::feed::load(path)
        .map_err(|report| anyhow::anyhow!("invalid feed at {}: {report:?}", path.display()))?;
    let mut input = NetworkInput::default();
    input.stops = feed
        .stops
        .iter()
        .map(|s| StopInput {
            stop_id: s.id.clone(),
            name: s.name.clone().unwrap_or_default(),
            lat: s.latitude.unwrap_or_default(),
            lon: s.longitude.unwrap_or_default(),
            parent_station: s
                .parent_station
                .clone()
                .filter(|_| s.location_type == gtfs_structures::LocationType::StopPoint),
            platform_code: s.platform_code.clone(),
            feed: 0,
        })
        .collect();
    input.routes = feed
        .routes
        .iter()
        .map(|r| {
            let code = serde_json::to_value(r.route_type)
                .ok()
                .and_then(|v| v.as_i64())
                .unwrap_or(3) as i32;
            RouteInput {
                route_id: r.id.clone(),
                agency_id: r.agency_id.clone(),
                short_name: r.short_name.clone().unwrap_or_default(),
                mode: crate::import::route_mode(
                    code,
                    r.agency_id.as_deref(),
                    &[r.short_name.as_deref(), r.long_name.as_deref()],
                    &crate::ImportOptions::default(),
                )
                .to_owned(),
            }
        })
        .collect();
    input.trips = feed
        .trips
        .iter()
        .map(|t| TripInput {
            run: feed.runs.get(&t.id).map(|r| RunOf {
                template: r.template.clone(),
                start_s: r.start_s,
                headway_s: r.headway_s,
                exact_times: r.exact_times,
            }),
            trip_id: t.id.clone(),
            route_id: t.route_id.clone(),
            service_id: t.service_id.clone(),
            headsign: t.trip_headsign.clone().unwrap_or_default(),
            direction_id: t.direction_id.map(|d| match d {
                gtfs_structures::DirectionType::Outbound => 0,
                gtfs_structures::DirectionType::Inbound => 1,
            }),
            wheelchair_accessible: crate::import::availability(&t.wheelchair_accessible) as u8,
            block_id: t.block_id.clone(),
            shape_id: t.shape_id.clone(),
        })
        .collect();
    input.stop_times = feed
        .stop_times
        .iter()
        .map(|s| StopTimeInput {
            trip_id: s.trip_id.clone(),
            stop_sequence: s.stop_sequence,
            stop_id: s.stop_id.clone(),
            arrival_s: s.arrival_time.and_then(|v| i32::try_from(v).ok()),
            departure_s: s.departure_time.and_then(|v| i32::try_from(v).ok()),
        })
        .collect();
    input.shapes = feed
        .shapes
        .iter()
        .map(|s| ShapePointInput {
            shape_id: s.id.clone(),
            seq: u32::try_from(s.sequence).unwrap_or(0),
            lat: s.latitude,
            lon: s.longitude,
        })
        .collect();
    input.calendars = feed
        .calendars
        .iter()
        .map(|c| CalendarInput {
            service_id: c.id.clone(),
            days: [
                c.monday,
                c.tuesday,
                c.wednesday,
                c.thursday,
                c.friday,
                c.saturday,
                c.sunday,
            ],
            start: date(&c.start_date),
            end: date(&c.end_date),
        })
        .collect();
    input.calendar_dates = feed
        .calendar_dates
        .iter()
        .map(|d| CalendarDateInput {
            service_id: d.service_id.clone(),
            date: date(&d.date),
            exception_type: match d.exception_type {
                gtfs_structures::Exception::Added => 1,
                gtfs_structures::Exception::Deleted => 2,
            },
        })
        .collect();
    Ok(input)
}

/// A gtfs-structures date (shown as YYYY-MM-DD) as a chrono date.
fn date(d: &impl std::fmt::Display) -> NaiveDate {
    NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}
