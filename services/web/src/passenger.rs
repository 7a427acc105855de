//! The passenger JSON API, answered from PassengerService over gRPC:
//!
//! - `GET /api/routes?lang=`
//! - `GET /api/stops/search?q=&lang=&limit=`
//! - `GET /api/stops/{id}?lang=`
//! - `GET /api/stops/{id}/arrivals?lang=`
//! - `GET /api/stops/{id}/arrivals/stream?lang=ja,en` (Server-Sent Events)
//! - `GET /api/routes/{id}/shape?lang=&stop=`
//! - `GET /api/routes/{id}/vehicles`
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::{Path, Query, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::Stream;
use kagoshima_proto::v1::{
    GetStopRequest, ListRoutesRequest, ListVehiclesRequest, LocalizedName, Route,
    SearchStopsRequest, Stop, TransitMode,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    app::AppState,
    arrivals::{self, Arrivals},
    error::ApiError,
    map::Projection,
    upstream::ClientIp,
};

/// The languages of passenger information.
pub const LANGS: [&str; 5] = ["ja", "en", "zh-Hans", "zh-Hant", "ko"];

/// A language tag from a query: one of [`LANGS`], empty meaning "ja".
pub fn parse_lang(lang: &str) -> Result<&'static str, ApiError> {
    let lang = lang.trim();
    if lang.is_empty() {
        return Ok("ja");
    }
    LANGS
        .iter()
        .find(|l| l.eq_ignore_ascii_case(lang))
        .copied()
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown language {lang:?}: use one of {}",
                LANGS.join(", ")
            ))
        })
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Name {
    pub text: String,
    /// The language the text is in (`ja` when no translation exists).
    pub lang: String,
}

impl From<Option<LocalizedName>> for Name {
    fn from(n: Option<LocalizedName>) -> Self {
        let n = n.unwrap_or_default();
        Name {
            text: n.text,
            lang: if n.lang.is_empty() {
                "ja".into()
            } else {
                n.lang
            },
        }
    }
}

pub fn mode_name(mode: i32) -> &'static str {
    match TransitMode::try_from(mode).unwrap_or(TransitMode::Unspecified) {
        TransitMode::Tram => "tram",
        TransitMode::Bus => "bus",
        TransitMode::CommunityBus => "community_bus",
        TransitMode::Other => "other",
        TransitMode::Unspecified => "unspecified",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteJson {
    pub route_id: String,
    pub mode: &'static str,
    pub short_name: Name,
    pub long_name: Name,
    pub color: String,
    pub text_color: String,
}

impl From<Route> for RouteJson {
    fn from(r: Route) -> Self {
        RouteJson {
            mode: mode_name(r.mode),
            route_id: r.route_id,
            short_name: r.short_name.into(),
            long_name: r.long_name.into(),
            color: r.color,
            text_color: r.text_color,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StopJson {
    pub stop_id: String,
    pub name: Name,
    pub reading: String,
    pub lat: f64,
    pub lon: f64,
    pub routes: Vec<RouteJson>,
}

impl From<Stop> for StopJson {
    fn from(s: Stop) -> Self {
        StopJson {
            stop_id: s.stop_id,
            name: s.name.into(),
            reading: s.reading,
            lat: s.lat,
            lon: s.lon,
            routes: s.routes.into_iter().map(RouteJson::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    lang: String,
}

pub async fn routes(
    State(s): State<AppState>,
    client: ClientIp,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let routes = s
        .upstream
        .passenger(client)
        .list_routes(ListRoutesRequest {
            mode: TransitMode::Unspecified.into(),
            lang: lang.into(),
        })
        .await?
        .into_inner()
        .routes;
    let routes: Vec<RouteJson> = routes.into_iter().map(RouteJson::from).collect();
    Ok(Json(json!({ "lang": lang, "routes": routes })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    limit: Option<String>,
}

/// One SearchStops call (it counts toward plan indicator No. 56 ①, so it is
/// made once per search, in the language asked for).
pub async fn search(
    State(s): State<AppState>,
    client: ClientIp,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => 10,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=50).contains(l))
            .ok_or_else(|| ApiError::BadRequest("limit must be a number from 1 to 50".into()))?,
    };
    let query = q.q.trim();
    if query.is_empty() {
        return Ok(Json(json!({ "lang": lang, "query": "", "stops": [] })).into_response());
    }
    if query.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "the search text is too long (at most 100 characters)".into(),
        ));
    }
    let stops = s
        .upstream
        .passenger(client)
        .search_stops(SearchStopsRequest {
            query: query.to_owned(),
            lang: lang.into(),
            limit,
        })
        .await?
        .into_inner()
        .stops;
    let stops: Vec<StopJson> = stops.into_iter().map(StopJson::from).collect();
    Ok(Json(json!({ "lang": lang, "query": query, "stops": stops })).into_response())
}

pub async fn stop(
    State(s): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let stop = get_stop(&s, client, &id, lang).await?;
    Ok(Json(json!({ "lang": lang, "stop": stop })).into_response())
}

/// Stops read in the last ten minutes, by (stop, language).
#[derive(Debug, Clone, Default)]
pub struct StopCache {
    entries: Arc<Mutex<HashMap<StopKey, (Instant, StopJson)>>>,
}

type StopKey = (String, &'static str);

const STOP_TTL: Duration = Duration::from_secs(600);

impl StopCache {
    fn get(&self, id: &str, lang: &'static str) -> Option<StopJson> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&(id.to_owned(), lang))
            .filter(|(at, _)| at.elapsed() < STOP_TTL)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, id: &str, lang: &'static str, stop: StopJson) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 2_000 {
            entries.retain(|_, (at, _)| at.elapsed() < STOP_TTL);
        }
        entries.insert((id.to_owned(), lang), (Instant::now(), stop));
    }
}

/// GetStop, through the cache (GetStop counts a lookup of the stop: the map
/// drawn after the passenger chose a stop must not count it twice).
pub async fn get_stop_cached(
    s: &AppState,
    client: ClientIp,
    id: &str,
    lang: &'static str,
) -> Result<StopJson, ApiError> {
    if let Some(stop) = s.stops.get(id, lang) {
        return Ok(stop);
    }
    get_stop(s, client, id, lang).await
}

pub async fn get_stop(
    s: &AppState,
    client: ClientIp,
    id: &str,
    lang: &'static str,
) -> Result<StopJson, ApiError> {
    let stop = s
        .upstream
        .passenger(client)
        .get_stop(GetStopRequest {
            stop_id: id.to_owned(),
            lang: lang.into(),
        })
        .await?
        .into_inner()
        .stop
        .ok_or_else(|| ApiError::Unavailable("the stop service answered without a stop".into()))?;
    let stop = StopJson::from(stop);
    s.stops.put(id, lang, stop.clone());
    Ok(stop)
}

pub async fn arrivals(
    State(s): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Json<Arrivals>, ApiError> {
    let lang = parse_lang(&q.lang)?;
    Ok(Json(arrivals::fetch(&s, client, &id, lang).await?))
}

/// Server-Sent Events: an `arrivals` event per language whenever the
/// arrivals change (StreamArrivals), or every `poll_seconds` (GetArrivals)
/// where the stream is not offered; an `error` event when they cannot be
/// read. `lang` may list up to five languages, comma-separated.
pub async fn arrivals_stream(
    State(s): State<AppState>,
    client: ClientIp,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut langs = Vec::new();
    for l in q.lang.split(',') {
        let l = parse_lang(l)?;
        if !langs.contains(&l) {
            langs.push(l);
        }
    }
    // Fail fast on an unknown stop, before the stream starts.
    arrivals::fetch(&s, client, &id, langs[0]).await?;
    let period = Duration::from_secs(s.config.poll_seconds.max(1));
    let events = arrivals::live_stream(s, client, id, langs, period).await?;
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize)]
pub struct ShapeQuery {
    #[serde(default)]
    lang: String,
    /// The stop the passenger chose; the map is drawn around it.
    #[serde(default)]
    stop: String,
}

#[derive(Debug, Serialize)]
pub struct ShapeJson {
    pub route: Option<RouteJson>,
    /// `route_shape` when PassengerService gives the route's geometry;
    /// `stops` when only stop coordinates are known (a map around the stop).
    pub source: &'static str,
    pub projection: Projection,
    /// The polyline in projected coordinates (SVG user units).
    pub points: Vec<[f64; 2]>,
    pub stops: Vec<ShapeStop>,
}

#[derive(Debug, Serialize)]
pub struct ShapeStop {
    pub stop_id: String,
    pub name: Name,
    pub lat: f64,
    pub lon: f64,
    pub x: f64,
    pub y: f64,
}

/// The route map. PassengerService has no method giving a route's shape or
/// its stops in order yet, so the map is drawn around the chosen stop (from
/// GetStop): the stop in the middle of a 4 km square, vehicles placed on it
/// by the page with the same projection.
pub async fn shape(
    State(s): State<AppState>,
    client: ClientIp,
    Path(route_id): Path<String>,
    Query(q): Query<ShapeQuery>,
) -> Result<Json<ShapeJson>, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let routes = s
        .upstream
        .passenger(client)
        .list_routes(ListRoutesRequest {
            mode: TransitMode::Unspecified.into(),
            lang: lang.into(),
        })
        .await?
        .into_inner()
        .routes;
    let route = routes
        .into_iter()
        .find(|r| r.route_id == route_id)
        .map(RouteJson::from)
        .ok_or_else(|| {
            ApiError::Upstream(tonic::Status::not_found(format!(
                "no route {route_id:?} in the active feed"
            )))
        })?;
    if q.stop.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "give the stop to draw the map around: ?stop=STOP_ID".into(),
        ));
    }
    let stop = get_stop_cached(&s, client, q.stop.trim(), lang).await?;
    let projection = Projection::around(stop.lat, stop.lon, 2000.0, 600.0);
    let (x, y) = projection.project(stop.lat, stop.lon);
    Ok(Json(ShapeJson {
        route: Some(route),
        source: "stops",
        projection,
        points: Vec::new(),
        stops: vec![ShapeStop {
            stop_id: stop.stop_id,
            name: stop.name,
            lat: stop.lat,
            lon: stop.lon,
            x,
            y,
        }],
    }))
}

#[derive(Debug, Serialize)]
pub struct VehicleJson {
    pub vehicle_id: String,
    pub route_id: String,
    pub trip_id: String,
    pub headsign: Name,
    pub lat: f64,
    pub lon: f64,
    pub bearing: Option<f32>,
    pub stale: bool,
    pub stop_id: String,
    pub stop_name: Name,
    pub delay_seconds: i32,
    pub mode: &'static str,
}

/// Live vehicles of a route (ListVehicles).
pub async fn vehicles(
    State(s): State<AppState>,
    client: ClientIp,
    Path(route_id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let vehicles = s
        .upstream
        .passenger(client)
        .list_vehicles(ListVehiclesRequest {
            route_id: route_id.clone(),
            lang: lang.into(),
        })
        .await?
        .into_inner()
        .vehicles;
    let vehicles: Vec<VehicleJson> = vehicles
        .into_iter()
        .map(|v| VehicleJson {
            mode: mode_name(v.mode),
            headsign: v.headsign.into(),
            stop_name: v.stop_name.into(),
            vehicle_id: v.vehicle_id,
            route_id: v.route_id,
            trip_id: v.trip_id,
            lat: v.lat,
            lon: v.lon,
            bearing: v.bearing,
            stale: v.stale,
            stop_id: v.stop_id,
            delay_seconds: v.delay_seconds,
        })
        .collect();
    Ok(Json(json!({ "route_id": route_id, "lang": lang, "vehicles": vehicles })).into_response())
}
