//! The static passenger information, from the active feed version: routes,
//! stops with the routes serving them, stop search and stop timetables, every
//! name in the language asked for (falling back to Japanese). Both the gRPC
//! service and the JSON API call these; the live features (issue #5) live in
//! modules of their own beside this one.
use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, Utc};
use kagoshima_domain::calendar::service_date;
use kagoshima_network::read::catalog::{Catalog, PatternRecord, ShapePointRecord, StopRecord};
use kagoshima_network::search::normalize;
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
    /// A date the active timetable does not cover (expired or not started).
    #[error("{0}")]
    OutsideTimetable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<InfoError> for tonic::Status {
    fn from(e: InfoError) -> tonic::Status {
        match &e {
            InfoError::InvalidArgument(m) => tonic::Status::invalid_argument(m.clone()),
            InfoError::NotFound(m) => tonic::Status::not_found(m.clone()),
            InfoError::NoFeed => tonic::Status::failed_precondition(e.to_string()),
            InfoError::OutsideTimetable(m) => tonic::Status::out_of_range(m.clone()),
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

/// A `limit` asked for: 0 means [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`].
pub fn parse_limit(limit: u32) -> Result<u32, InfoError> {
    match limit {
        0 => Ok(DEFAULT_LIMIT),
        l if l > MAX_LIMIT => Err(InfoError::InvalidArgument(format!(
            "limit {l} is too large: at most {MAX_LIMIT}"
        ))),
        l => Ok(l),
    }
}

/// GTFS's accessibility code (0 unknown, 1 possible, 2 not) as the API says it.
pub fn step_free(code: i16) -> StepFree {
    match code {
        1 => StepFree::Yes,
        2 => StepFree::No,
        _ => StepFree::Unknown,
    }
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
        catalog: &Catalog,
        kind: &str,
        keys: &[String],
        lang: &str,
    ) -> Result<Names, sqlx::Error> {
        let mut names = Names::default();
        for row in catalog.names(kind, keys, &[lang, "ja", READING]).await? {
            names
                .0
                .entry(row.key)
                .or_default()
                .insert(row.lang, row.text);
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

    async fn catalog(&self) -> Result<Catalog, InfoError> {
        Catalog::active(&self.pool).await?.ok_or(InfoError::NoFeed)
    }

    async fn routes(
        &self,
        catalog: &Catalog,
        only: Option<&[String]>,
        mode: Option<&str>,
        lang: &str,
    ) -> Result<Vec<Route>, InfoError> {
        let rows = catalog.routes(only, mode).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.route_id.clone()).collect();
        let short = Names::load(catalog, "route_short", &ids, lang).await?;
        let long = Names::load(catalog, "route_long", &ids, lang).await?;
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
    async fn stops(
        &self,
        catalog: &Catalog,
        ids: &[String],
        lang: &str,
    ) -> Result<Vec<Stop>, InfoError> {
        let rows = catalog.stops(ids).await?;
        let serving = catalog.routes_serving(ids).await?;
        let route_ids: Vec<String> = serving
            .iter()
            .map(|(_, r)| r.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let routes = self.routes(catalog, Some(&route_ids), None, lang).await?;
        let names = Names::load(catalog, "stop", ids, lang).await?;
        let mut by_id: HashMap<String, StopRecord> =
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
                    step_free: step_free(row.wheelchair_boarding).into(),
                    station: row.location_type == 1,
                    parent_station: row.parent_station.unwrap_or_default(),
                    platform_code: row.platform_code.unwrap_or_default(),
                    stop_id: row.stop_id,
                }
            })
            .collect())
    }

    async fn stop(&self, catalog: &Catalog, stop_id: &str, lang: &str) -> Result<Stop, InfoError> {
        if stop_id.trim().is_empty() {
            return Err(InfoError::InvalidArgument("stop_id is required".into()));
        }
        self.stops(catalog, &[stop_id.to_owned()], lang)
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
        let catalog = self.catalog().await?;
        self.routes(&catalog, None, mode_name(mode), lang).await
    }

    /// One stop with its routes; counted as a lookup of that stop.
    pub async fn get_stop(&self, stop_id: &str, lang: &str) -> Result<Stop, InfoError> {
        let lang = parse_lang(lang)?;
        let catalog = self.catalog().await?;
        let stop = self.stop(&catalog, stop_id, lang).await?;
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
        let limit = parse_limit(limit)?;
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
        let catalog = self.catalog().await?;
        let ids = catalog.search_stop_ids(&key, limit).await?;
        let ids = one_per_place(&catalog, ids).await?;
        let stops = self.stops(&catalog, &ids, lang).await?;
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
        let catalog = self.catalog().await?;
        let rows = catalog.stops_near(lat, lon, radius, limit).await?;
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        let ids = one_per_place(&catalog, ids).await?;
        let stops = self.stops(&catalog, &ids, lang).await?;
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
        let catalog = self.catalog().await?;
        let stop = self.stop(&catalog, stop_id, lang).await?;
        if let Some(route) = route_id
            && !catalog.route_exists(route).await?
        {
            return Err(InfoError::NotFound(format!(
                "no route {route:?} in the active feed"
            )));
        }
        // An empty timetable on a date the feed does not cover would read as
        // "no service that day"; say what is wrong instead.
        if let Some(period) = catalog.service_period().await?
            && let Some(why) = period.outside(date)
        {
            return Err(InfoError::OutsideTimetable(why));
        }
        let day = catalog.services_on(date).await?;
        let rows = catalog
            .departures(&stop.stop_id, &day.service_ids, route_id)
            .await?;
        let headsigns: Vec<String> = rows
            .iter()
            .filter_map(|r| r.headsign.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let headsign_names = Names::load(&catalog, "headsign", &headsigns, lang).await?;
        let route_ids: Vec<String> = rows
            .iter()
            .map(|r| r.route_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let short_names = Names::load(&catalog, "route_short", &route_ids, lang).await?;
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
                    departure_time: kagoshima_domain::calendar::gtfs_time(seconds),
                    departure_seconds: seconds,
                    direction_id: r.direction_id.map_or(-1, i32::from),
                    mode: mode_of(&r.mode).into(),
                    trip_id: r.trip_id,
                    route_id: r.route_id,
                    stop_id: r.stop_id,
                    platform_code: r.platform_code.unwrap_or_default(),
                    headway_seconds: r.headway_s.map_or(0, |h| h.max(0) as u32),
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
        let catalog = self.catalog().await?;
        let route = self
            .routes(&catalog, Some(&[route_id.to_owned()]), None, lang)
            .await?
            .pop()
            .ok_or_else(|| {
                InfoError::NotFound(format!("no route {route_id:?} in the active feed"))
            })?;
        let patterns = catalog.route_patterns(route_id, direction_id).await?;
        let mut directions = Vec::with_capacity(patterns.len());
        for pattern in patterns {
            directions.push(self.direction(&catalog, route_id, pattern, lang).await?);
        }
        Ok(RouteShape {
            route: Some(route),
            directions,
        })
    }

    async fn direction(
        &self,
        catalog: &Catalog,
        route_id: &str,
        pattern: PatternRecord,
        lang: &str,
    ) -> Result<RouteDirection, InfoError> {
        let (trip_id, headsign) = catalog
            .longest_trip(route_id, &pattern)
            .await?
            .unwrap_or_default();
        let stop_rows = catalog.trip_stops(&trip_id).await?;
        let point_rows = match &pattern.shape_id {
            None => Vec::new(),
            Some(shape_id) => catalog.shape(shape_id).await?,
        };
        let derived = point_rows.iter().any(|p| p.derived);
        let points = shape_points(&point_rows);
        let ids: Vec<String> = stop_rows.iter().map(|s| s.stop_id.clone()).collect();
        let names = Names::load(catalog, "stop", &ids, lang).await?;
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
            Some(h) => Names::load(catalog, "headsign", std::slice::from_ref(h), lang)
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
/// `ids` (in their order) without the stops that share a board with one
/// before them: another feed's stop of the same name at the same place (the
/// first, best-ranked or nearest, stands for the place).
async fn one_per_place(catalog: &Catalog, ids: Vec<String>) -> Result<Vec<String>, InfoError> {
    if ids.len() < 2 || catalog.versions().len() < 2 {
        return Ok(ids);
    }
    let mut boards: HashMap<String, Vec<String>> = HashMap::new();
    for (asked, stop) in catalog.calling_points(&ids).await? {
        boards.entry(asked).or_default().push(stop);
    }
    let mut covered: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for id in ids {
        if covered.contains(&id) {
            continue;
        }
        covered.extend(boards.remove(&id).unwrap_or_default());
        kept.push(id);
    }
    Ok(kept)
}

fn shape_points(rows: &[ShapePointRecord]) -> Vec<ShapePoint> {
    let mut along = 0.0;
    let mut previous: Option<&ShapePointRecord> = None;
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
