//! The static passenger information, from the active feed version: routes,
//! stops with the routes serving them, stop search and stop timetables, every
//! name in the language asked for (falling back to Japanese). Both the gRPC
//! service and the JSON API call these; the live features (issue #5) live in
//! modules of their own beside this one.
use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use kagoshima_domain::calendar::service_date;
use kagoshima_network::{search::normalize, service_day};
use kagoshima_proto::v1::{
    Departure, GetStopTimetableResponse, LocalizedName, Route, RouteDirection, RouteShape,
    RouteShapeStop, ShapePoint, StepFree, Stop, TransitMode,
};
use sqlx::PgPool;

use crate::counts;

/// The languages every passenger-facing name exists in.
pub const LANGUAGES: &[&str] = &["ja", "en", "zh-Hans", "zh-Hant", "ko"];
/// The kana reading's language tag.
pub const READING: &str = "ja-Hrkt";
pub const DEFAULT_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 50;
pub const MAX_QUERY_CHARS: usize = 100;

/// Why a question has no answer.
#[derive(Debug, thiserror::Error)]
pub enum InfoError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("no network feed has been imported yet (run `kagoshima-network import PATH`)")]
    NoFeed,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<InfoError> for tonic::Status {
    fn from(e: InfoError) -> tonic::Status {
        match &e {
            InfoError::InvalidArgument(m) => tonic::Status::invalid_argument(m.clone()),
            InfoError::NotFound(m) => tonic::Status::not_found(m.clone()),
            InfoError::NoFeed => tonic::Status::failed_precondition(e.to_string()),
            InfoError::Database(_) => {
                tracing::error!(error = %e, "passenger query failed");
                tonic::Status::unavailable("the database is not answering; try again")
            }
        }
    }
}

/// A language asked for: one of [`LANGUAGES`]; empty means Japanese.
pub fn parse_lang(lang: &str) -> Result<&'static str, InfoError> {
    if lang.trim().is_empty() {
        return Ok("ja");
    }
    let canonical = kagoshima_network::feed::canonical_lang(lang);
    LANGUAGES
        .iter()
        .find(|l| **l == canonical)
        .copied()
        .ok_or_else(|| {
            InfoError::InvalidArgument(format!(
                "unsupported language {lang:?}: use one of {}",
                LANGUAGES.join(", ")
            ))
        })
}

/// A mode name as stored by the importer, as the proto enum.
pub fn mode_of(mode: &str) -> TransitMode {
    match mode {
        "tram" => TransitMode::Tram,
        "bus" => TransitMode::Bus,
        "community_bus" => TransitMode::CommunityBus,
        _ => TransitMode::Other,
    }
}

fn mode_name(mode: TransitMode) -> Option<&'static str> {
    match mode {
        TransitMode::Unspecified => None,
        TransitMode::Tram => Some("tram"),
        TransitMode::Bus => Some("bus"),
        TransitMode::CommunityBus => Some("community_bus"),
        TransitMode::Other => Some("other"),
    }
}

/// Names of one kind by key and language.
#[derive(Default)]
struct Names(HashMap<String, HashMap<String, String>>);

impl Names {
    async fn load(
        pool: &PgPool,
        fv: i64,
        kind: &str,
        keys: &[String],
        lang: &str,
    ) -> Result<Names, sqlx::Error> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT key, lang, text FROM network_names
              WHERE feed_version_id = $1 AND kind = $2 AND key = ANY($3) AND lang = ANY($4)",
        )
        .bind(fv)
        .bind(kind)
        .bind(keys)
        .bind(vec![lang, "ja", READING])
        .fetch_all(pool)
        .await?;
        let mut names = Names::default();
        for (key, lang, text) in rows {
            names.0.entry(key).or_default().insert(lang, text);
        }
        Ok(names)
    }

    /// The name in `lang`, else in Japanese, else `original`.
    fn get(&self, key: &str, lang: &str, original: &str) -> LocalizedName {
        let found = self.0.get(key);
        let pick = |l: &str| found.and_then(|m| m.get(l)).filter(|t| !t.is_empty());
        match pick(lang) {
            Some(text) => LocalizedName {
                lang: lang.to_owned(),
                text: text.clone(),
            },
            None => LocalizedName {
                lang: "ja".to_owned(),
                text: pick("ja").cloned().unwrap_or_else(|| original.to_owned()),
            },
        }
    }

    fn reading(&self, key: &str) -> String {
        self.0
            .get(key)
            .and_then(|m| m.get(READING))
            .cloned()
            .unwrap_or_default()
    }
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    route_id: String,
    agency_id: Option<String>,
    short_name: Option<String>,
    long_name: Option<String>,
    mode: String,
    color: Option<String>,
    text_color: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StopRow {
    stop_id: String,
    name: String,
    lat: Option<f64>,
    lon: Option<f64>,
    wheelchair_boarding: i16,
}

#[derive(sqlx::FromRow)]
struct DepartureRow {
    trip_id: String,
    route_id: String,
    headsign: Option<String>,
    time_s: i32,
    direction_id: Option<i16>,
    mode: String,
    short_name: Option<String>,
}

/// The static information service, cheap to clone.
#[derive(Debug, Clone)]
pub struct StaticInfo {
    pool: PgPool,
}

impl StaticInfo {
    pub fn new(pool: PgPool) -> StaticInfo {
        StaticInfo { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn version(&self) -> Result<i64, InfoError> {
        service_day::active_version(&self.pool)
            .await?
            .ok_or(InfoError::NoFeed)
    }

    async fn routes(
        &self,
        fv: i64,
        only: Option<&[String]>,
        mode: Option<&str>,
        lang: &str,
    ) -> Result<Vec<Route>, InfoError> {
        let rows: Vec<RouteRow> = sqlx::query_as(
            "SELECT route_id, agency_id, short_name, long_name, mode, color, text_color
               FROM network_routes
              WHERE feed_version_id = $1
                AND ($2::text[] IS NULL OR route_id = ANY($2))
                AND ($3::text IS NULL OR mode = $3)
              ORDER BY sort_order NULLS LAST, route_type, route_id",
        )
        .bind(fv)
        .bind(only)
        .bind(mode)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.route_id.clone()).collect();
        let short = Names::load(&self.pool, fv, "route_short", &ids, lang).await?;
        let long = Names::load(&self.pool, fv, "route_long", &ids, lang).await?;
        Ok(rows
            .into_iter()
            .map(|r| Route {
                short_name: Some(short.get(
                    &r.route_id,
                    lang,
                    r.short_name.as_deref().unwrap_or(""),
                )),
                long_name: Some(long.get(&r.route_id, lang, r.long_name.as_deref().unwrap_or(""))),
                mode: mode_of(&r.mode).into(),
                color: r.color.unwrap_or_default(),
                text_color: r.text_color.unwrap_or_default(),
                agency_id: r.agency_id.unwrap_or_default(),
                route_id: r.route_id,
            })
            .collect())
    }

    /// Stops by id, in the given order, with their routes.
    async fn stops(&self, fv: i64, ids: &[String], lang: &str) -> Result<Vec<Stop>, InfoError> {
        let rows: Vec<StopRow> = sqlx::query_as(
            "SELECT s.stop_id, s.name, s.lat, s.lon,
                    CASE WHEN s.wheelchair_boarding = 0 THEN coalesce(p.wheelchair_boarding, 0)
                         ELSE s.wheelchair_boarding END::int2 AS wheelchair_boarding
               FROM network_stops s
               LEFT JOIN network_stops p
                 ON p.feed_version_id = s.feed_version_id AND p.stop_id = s.parent_station
              WHERE s.feed_version_id = $1 AND s.stop_id = ANY($2)",
        )
        .bind(fv)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let serving: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT st.stop_id, t.route_id
               FROM network_stop_times st
               JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id
              WHERE st.feed_version_id = $1 AND st.stop_id = ANY($2)",
        )
        .bind(fv)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let route_ids: Vec<String> = serving
            .iter()
            .map(|(_, r)| r.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let routes = self.routes(fv, Some(&route_ids), None, lang).await?;
        let names = Names::load(&self.pool, fv, "stop", ids, lang).await?;
        let mut by_id: HashMap<String, StopRow> =
            rows.into_iter().map(|r| (r.stop_id.clone(), r)).collect();
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .map(|row| {
                let serves: BTreeSet<&str> = serving
                    .iter()
                    .filter(|(s, _)| *s == row.stop_id)
                    .map(|(_, r)| r.as_str())
                    .collect();
                Stop {
                    name: Some(names.get(&row.stop_id, lang, &row.name)),
                    reading: names.reading(&row.stop_id),
                    lat: row.lat.unwrap_or_default(),
                    lon: row.lon.unwrap_or_default(),
                    routes: routes
                        .iter()
                        .filter(|r| serves.contains(r.route_id.as_str()))
                        .cloned()
                        .collect(),
                    step_free: match row.wheelchair_boarding {
                        1 => StepFree::Yes,
                        2 => StepFree::No,
                        _ => StepFree::Unknown,
                    }
                    .into(),
                    stop_id: row.stop_id,
                }
            })
            .collect())
    }

    async fn stop(&self, fv: i64, stop_id: &str, lang: &str) -> Result<Stop, InfoError> {
        if stop_id.trim().is_empty() {
            return Err(InfoError::InvalidArgument("stop_id is required".into()));
        }
        self.stops(fv, &[stop_id.to_owned()], lang)
            .await?
            .pop()
            .ok_or_else(|| InfoError::NotFound(format!("no stop {stop_id:?} in the active feed")))
    }

    /// Every route, or those of one mode.
    pub async fn list_routes(
        &self,
        mode: TransitMode,
        lang: &str,
    ) -> Result<Vec<Route>, InfoError> {
        let lang = parse_lang(lang)?;
        let fv = self.version().await?;
        self.routes(fv, None, mode_name(mode), lang).await
    }

    /// One stop with its routes; counted as a lookup of that stop.
    pub async fn get_stop(&self, stop_id: &str, lang: &str) -> Result<Stop, InfoError> {
        let lang = parse_lang(lang)?;
        let fv = self.version().await?;
        let stop = self.stop(fv, stop_id, lang).await?;
        counts::record_lookup(&self.pool, today(), &stop.stop_id).await;
        Ok(stop)
    }

    /// Stops matching `query` in any language, best first; counted (see
    /// passenger.proto for the rule).
    pub async fn search_stops(
        &self,
        query: &str,
        lang: &str,
        limit: u32,
    ) -> Result<Vec<Stop>, InfoError> {
        let lang = parse_lang(lang)?;
        let limit = match limit {
            0 => DEFAULT_LIMIT,
            l if l > MAX_LIMIT => {
                return Err(InfoError::InvalidArgument(format!(
                    "limit {l} is too large: at most {MAX_LIMIT}"
                )));
            }
            l => l,
        };
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(InfoError::InvalidArgument(format!(
                "query is too long: at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let key = normalize(query);
        if key.is_empty() {
            return Err(InfoError::InvalidArgument(
                "query is empty: give part of a stop name (kanji, kana, romaji or English)".into(),
            ));
        }
        let fv = self.version().await?;
        // Keys hold letters and digits only, so LIKE needs no escaping.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT k.stop_id
               FROM network_stop_search_keys k
               JOIN network_stops s ON s.feed_version_id = k.feed_version_id AND s.stop_id = k.stop_id
              WHERE k.feed_version_id = $1 AND k.key LIKE '%' || $2 || '%' AND s.location_type IN (0, 1)
              GROUP BY k.stop_id, s.name
              ORDER BY min(CASE WHEN k.key = $2 THEN 0 WHEN k.key LIKE $2 || '%' THEN 1 ELSE 2 END),
                       length(s.name), k.stop_id
              LIMIT $3",
        )
        .bind(fv)
        .bind(&key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let stops = self.stops(fv, &ids, lang).await?;
        counts::record_search(&self.pool, today(), &stops).await;
        Ok(stops)
    }

    /// The stops within `radius_m` of a place, nearest first, with their
    /// straight-line distance in metres. Stations stand for their platforms.
    pub async fn nearby_stops(
        &self,
        lat: f64,
        lon: f64,
        lang: &str,
        limit: u32,
        radius_m: u32,
    ) -> Result<Vec<(Stop, u32)>, InfoError> {
        let lang = parse_lang(lang)?;
        if !(lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon))
        {
            return Err(InfoError::InvalidArgument(format!(
                "lat {lat}, lon {lon} is not a place on earth: give degrees (WGS 84)"
            )));
        }
        let limit = match limit {
            0 => 5,
            l @ 1..=20 => l,
            l => {
                return Err(InfoError::InvalidArgument(format!(
                    "limit {l} is too large: at most 20"
                )));
            }
        };
        let radius = match radius_m {
            0 => 800,
            r @ 1..=3000 => r,
            r => {
                return Err(InfoError::InvalidArgument(format!(
                    "radius_m {r} is too large: at most 3000"
                )));
            }
        };
        let fv = self.version().await?;
        // A box around the place first (an index-friendly filter), then the
        // equirectangular distance, exact enough at a few kilometres.
        let dlat = f64::from(radius) / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        let rows: Vec<(String, f64)> = sqlx::query_as(
            "SELECT stop_id, dist FROM (
                SELECT stop_id,
                       6371000 * sqrt(power(radians(lat - $2), 2)
                           + power(radians(lon - $3) * cos(radians($2)), 2)) AS dist
                  FROM network_stops
                 WHERE feed_version_id = $1 AND lat BETWEEN $2 - $4 AND $2 + $4
                   AND lon BETWEEN $3 - $5 AND $3 + $5
                   AND (location_type = 1 OR (location_type = 0 AND parent_station IS NULL))
             ) s WHERE dist <= $6 ORDER BY dist, stop_id LIMIT $7",
        )
        .bind(fv)
        .bind(lat)
        .bind(lon)
        .bind(dlat)
        .bind(dlon)
        .bind(f64::from(radius))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        let stops = self.stops(fv, &ids, lang).await?;
        let distance: HashMap<&str, f64> = rows.iter().map(|(id, d)| (id.as_str(), *d)).collect();
        Ok(stops
            .into_iter()
            .map(|s| {
                let d = distance
                    .get(s.stop_id.as_str())
                    .copied()
                    .unwrap_or_default();
                (s, d.round() as u32)
            })
            .collect())
    }

    /// The departures from a stop on a date (today in Japan when `None`).
    pub async fn stop_timetable(
        &self,
        stop_id: &str,
        date: Option<&str>,
        route_id: Option<&str>,
        lang: &str,
    ) -> Result<GetStopTimetableResponse, InfoError> {
        let lang = parse_lang(lang)?;
        let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
            None => today(),
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                InfoError::InvalidArgument(format!("date {d:?} is not a date: use YYYY-MM-DD"))
            })?,
        };
        let route_id = route_id.map(str::trim).filter(|r| !r.is_empty());
        let fv = self.version().await?;
        let stop = self.stop(fv, stop_id, lang).await?;
        if let Some(route) = route_id {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM network_routes WHERE feed_version_id = $1 AND route_id = $2)",
            )
            .bind(fv)
            .bind(route)
            .fetch_one(&self.pool)
            .await?;
            if !known {
                return Err(InfoError::NotFound(format!(
                    "no route {route:?} in the active feed"
                )));
            }
        }
        let day = service_day::services_on(&self.pool, fv, date).await?;
        let rows: Vec<DepartureRow> = sqlx::query_as(
            "SELECT st.trip_id, t.route_id, coalesce(st.stop_headsign, t.headsign) AS headsign,
                    coalesce(st.departure_s, st.arrival_s) AS time_s, t.direction_id, r.mode, r.short_name
               FROM network_stop_times st
               JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id
               JOIN network_routes r ON r.feed_version_id = t.feed_version_id AND r.route_id = t.route_id
              WHERE st.feed_version_id = $1 AND st.stop_id = $2 AND t.service_id = ANY($3)
                AND NOT st.last_stop AND st.pickup_type <> 1
                AND coalesce(st.departure_s, st.arrival_s) IS NOT NULL
                AND ($4::text IS NULL OR t.route_id = $4)
              ORDER BY time_s, t.route_id, st.trip_id",
        )
        .bind(fv)
        .bind(&stop.stop_id)
        .bind(&day.service_ids)
        .bind(route_id)
        .fetch_all(&self.pool)
        .await?;
        let headsigns: Vec<String> = rows
            .iter()
            .filter_map(|r| r.headsign.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let headsign_names = Names::load(&self.pool, fv, "headsign", &headsigns, lang).await?;
        let route_ids: Vec<String> = rows
            .iter()
            .map(|r| r.route_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let short_names = Names::load(&self.pool, fv, "route_short", &route_ids, lang).await?;
        let departures = rows
            .into_iter()
            .map(|r| {
                let seconds = u32::try_from(r.time_s).unwrap_or(0);
                Departure {
                    route_short_name: Some(short_names.get(
                        &r.route_id,
                        lang,
                        r.short_name.as_deref().unwrap_or(""),
                    )),
                    headsign: Some(match &r.headsign {
                        Some(h) => headsign_names.get(h, lang, h),
                        None => LocalizedName {
                            lang: "ja".into(),
                            text: String::new(),
                        },
                    }),
                    departure_time: format!(
                        "{:02}:{:02}:{:02}",
                        seconds / 3600,
                        seconds / 60 % 60,
                        seconds % 60
                    ),
                    departure_seconds: seconds,
                    direction_id: r.direction_id.map_or(-1, i32::from),
                    mode: mode_of(&r.mode).into(),
                    trip_id: r.trip_id,
                    route_id: r.route_id,
                }
            })
            .collect();
        counts::record_lookup(&self.pool, today(), &stop.stop_id).await;
        Ok(GetStopTimetableResponse {
            stop: Some(stop),
            date: date.format("%Y-%m-%d").to_string(),
            service_ids: day.service_ids,
            holiday: day.holiday,
            departures,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PatternRow {
    direction_id: i32,
    shape_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ShapeStopRow {
    stop_id: String,
    name: String,
    lat: Option<f64>,
    lon: Option<f64>,
    stop_sequence: i32,
    shape_dist: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct ShapePointRow {
    lat: f64,
    lon: f64,
    dist_m: Option<f64>,
    derived: bool,
}

impl StaticInfo {
    /// A route's geometry: per direction, the points of its most common
    /// shape and the stops of that shape's longest trip, in order.
    pub async fn route_shape(
        &self,
        route_id: &str,
        lang: &str,
        direction_id: Option<i32>,
    ) -> Result<RouteShape, InfoError> {
        let lang = parse_lang(lang)?;
        let route_id = route_id.trim();
        if route_id.is_empty() {
            return Err(InfoError::InvalidArgument("route_id is required".into()));
        }
        if let Some(d) = direction_id
            && !(0..=1).contains(&d)
        {
            return Err(InfoError::InvalidArgument(format!(
                "direction_id {d} is not 0 or 1"
            )));
        }
        let fv = self.version().await?;
        let route = self
            .routes(fv, Some(&[route_id.to_owned()]), None, lang)
            .await?
            .pop()
            .ok_or_else(|| {
                InfoError::NotFound(format!("no route {route_id:?} in the active feed"))
            })?;
        // The most common shape of each direction.
        let patterns: Vec<PatternRow> = sqlx::query_as(
            "SELECT DISTINCT ON (direction_id) direction_id, shape_id
               FROM (SELECT coalesce(direction_id, -1)::int AS direction_id, shape_id, count(*) AS n
                       FROM network_trips
                      WHERE feed_version_id = $1 AND route_id = $2
                        AND ($3::int IS NULL OR direction_id = $3)
                      GROUP BY 1, 2) p
              ORDER BY direction_id, n DESC, shape_id NULLS LAST",
        )
        .bind(fv)
        .bind(route_id)
        .bind(direction_id)
        .fetch_all(&self.pool)
        .await?;
        let mut directions = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            directions.push(self.direction(fv, route_id, pattern, lang).await?);
        }
        Ok(RouteShape {
            route: Some(route),
            directions,
        })
    }

    async fn direction(
        &self,
        fv: i64,
        route_id: &str,
        pattern: PatternRow,
        lang: &str,
    ) -> Result<RouteDirection, InfoError> {
        let trip: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT t.trip_id, t.headsign
               FROM network_trips t
              WHERE t.feed_version_id = $1 AND t.route_id = $2
                AND coalesce(t.direction_id, -1) = $3 AND t.shape_id IS NOT DISTINCT FROM $4
              ORDER BY (SELECT count(*) FROM network_stop_times st
                         WHERE st.feed_version_id = t.feed_version_id AND st.trip_id = t.trip_id) DESC,
                       t.trip_id
              LIMIT 1",
        )
        .bind(fv)
        .bind(route_id)
        .bind(pattern.direction_id)
        .bind(&pattern.shape_id)
        .fetch_optional(&self.pool)
        .await?;
        let (trip_id, headsign) = trip.unwrap_or_default();
        let stop_rows: Vec<ShapeStopRow> = sqlx::query_as(
            "SELECT st.stop_id, s.name, s.lat, s.lon, st.stop_sequence, st.shape_dist
               FROM network_stop_times st
               JOIN network_stops s ON s.feed_version_id = st.feed_version_id AND s.stop_id = st.stop_id
              WHERE st.feed_version_id = $1 AND st.trip_id = $2
              ORDER BY st.stop_sequence",
        )
        .bind(fv)
        .bind(&trip_id)
        .fetch_all(&self.pool)
        .await?;
        let point_rows: Vec<ShapePointRow> = match &pattern.shape_id {
            None => Vec::new(),
            Some(shape_id) => {
                sqlx::query_as(
                    "SELECT lat, lon, dist_m, derived FROM network_shapes
                      WHERE feed_version_id = $1 AND shape_id = $2 ORDER BY seq",
                )
                .bind(fv)
                .bind(shape_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        let derived = point_rows.iter().any(|p| p.derived);
        let points = shape_points(&point_rows);
        let ids: Vec<String> = stop_rows.iter().map(|s| s.stop_id.clone()).collect();
        let names = Names::load(&self.pool, fv, "stop", &ids, lang).await?;
        let mut from = 0;
        let stops = stop_rows
            .into_iter()
            .map(|s| {
                let lat = s.lat.unwrap_or_default();
                let lon = s.lon.unwrap_or_default();
                let dist_m =
                    match s.shape_dist {
                        Some(d) => d,
                        None if points.is_empty() || s.lat.is_none() || s.lon.is_none() => -1.0,
                        None => {
                            // The nearest point at or after the previous stop's.
                            let (i, _) =
                                points[from..]
                                    .iter()
                                    .enumerate()
                                    .map(|(i, p)| (i + from, metres(p.lat, p.lon, lat, lon)))
                                    .fold((from, f64::INFINITY), |best, c| {
                                        if c.1 < best.1 { c } else { best }
                                    });
                            from = i;
                            points[i].dist_m
                        }
                    };
                RouteShapeStop {
                    name: Some(names.get(&s.stop_id, lang, &s.name)),
                    lat,
                    lon,
                    stop_sequence: u32::try_from(s.stop_sequence).unwrap_or(0),
                    dist_m,
                    stop_id: s.stop_id,
                }
            })
            .collect();
        let headsign = match &headsign {
            Some(h) => Names::load(&self.pool, fv, "headsign", std::slice::from_ref(h), lang)
                .await?
                .get(h, lang, h),
            None => LocalizedName {
                lang: "ja".into(),
                text: String::new(),
            },
        };
        Ok(RouteDirection {
            direction_id: pattern.direction_id,
            shape_id: pattern.shape_id.unwrap_or_default(),
            derived,
            headsign: Some(headsign),
            points,
            stops,
        })
    }
}

/// Shape points with their distance along the shape (the stored dist_m, else
/// summed from the coordinates).
fn shape_points(rows: &[ShapePointRow]) -> Vec<ShapePoint> {
    let mut along = 0.0;
    let mut previous: Option<&ShapePointRow> = None;
    rows.iter()
        .map(|p| {
            if let Some(q) = previous {
                along += metres(q.lat, q.lon, p.lat, p.lon);
            }
            previous = Some(p);
            ShapePoint {
                lat: p.lat,
                lon: p.lon,
                dist_m: p.dist_m.unwrap_or(along),
            }
        })
        .collect()
}

/// Great-circle distance in metres.
fn metres(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * a.sqrt().asin()
}

/// Today in Japan.
pub fn today() -> NaiveDate {
    service_date(Utc::now())
}
