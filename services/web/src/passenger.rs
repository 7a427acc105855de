//! The passenger JSON API, answered from PassengerService over gRPC:
//!
//! - `GET /api/routes?mode=&lang=` (mode: tram, bus, community_bus)
//! - `GET /api/stops/search?q=&lang=&limit=`
//! - `GET /api/stops/{id}?lang=`
//! - `GET /api/stops/{id}/timetable?date=&route=&lang=` (see [`crate::timetable`])
//! - `GET /api/stops/{id}/arrivals?lang=`
//! - `GET /api/stops/{id}/arrivals/stream?lang=ja,en` (Server-Sent Events)
//! - `GET /api/routes/{id}/shape?lang=` (GetRouteShape)
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
    GetRouteShapeRequest, GetStopRequest, ListRoutesRequest, ListVehiclesRequest, LocalizedName,
    NearbyStopsRequest, Route, SearchStopsRequest, StepFree, Stop, TransitMode,
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
    /// Whether a wheelchair user can board here; absent when the feed does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_free: Option<bool>,
    /// A station: its board holds every platform's departures.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub station: bool,
    /// A platform's station.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_station: Option<String>,
    /// A platform's code as posted ("B").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// A text field of the API that is empty when absent, as an option.
pub fn given(text: String) -> Option<String> {
    Some(text).filter(|t| !t.is_empty())
}

impl From<Stop> for StopJson {
    fn from(s: Stop) -> Self {
        let step_free = match s.step_free() {
            StepFree::Yes => Some(true),
            StepFree::No => Some(false),
            StepFree::Unknown => None,
        };
        StopJson {
            step_free,
            station: s.station,
            parent_station: given(s.parent_station),
            platform: given(s.platform_code),
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

#[derive(Debug, Deserialize)]
pub struct RoutesQuery {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    lang: String,
}

/// A mode from a query (the names of [`mode_name`]); empty means every mode.
fn parse_mode(mode: &str) -> Result<TransitMode, ApiError> {
    match mode.trim() {
        "" => Ok(TransitMode::Unspecified),
        "tram" => Ok(TransitMode::Tram),
        "bus" => Ok(TransitMode::Bus),
        "community_bus" => Ok(TransitMode::CommunityBus),
        other => Err(ApiError::BadRequest(format!(
            "unknown mode {other:?}: use tram, bus or community_bus"
        ))),
    }
}

pub async fn routes(
    State(s): State<AppState>,
    client: ClientIp,
    Query(q): Query<RoutesQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let mode = parse_mode(&q.mode)?;
    let routes = s
        .upstream
        .passenger(client)
        .list_routes(ListRoutesRequest {
            mode: mode.into(),
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

/// Query parameters are taken as text and parsed here, so that a bad one
/// gets the API's JSON error saying what is expected (not the extractor's
/// plain-text rejection).
#[derive(Debug, Deserialize)]
pub struct NearbyQuery {
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    radius_m: String,
}

/// An optional query parameter: `None` when empty, a 400 saying what
/// `name` must be when it does not parse.
pub(crate) fn param<T: std::str::FromStr>(
    name: &str,
    value: &str,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match value.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name} must be {expected} (got {v:?})"))),
    }
}

/// `GET /api/stops/nearby?lat=&lon=&lang=`: the stops nearest a place
/// (the phone's position), nearest first, each with its distance in metres.
pub async fn nearby(
    State(s): State<AppState>,
    client: ClientIp,
    Query(q): Query<NearbyQuery>,
) -> Result<Response, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let degrees = "degrees, e.g. 31.5912";
    let lat = param::<f64>("lat", &q.lat, degrees)?;
    let lon = param::<f64>("lon", &q.lon, degrees)?;
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Err(ApiError::BadRequest(
            "give lat and lon in degrees, e.g. ?lat=31.5912&lon=130.5571".into(),
        ));
    };
    let stops = s
        .upstream
        .passenger(client)
        .nearby_stops(NearbyStopsRequest {
            lat,
            lon,
            lang: lang.into(),
            limit: param("limit", &q.limit, "a number from 1 to 20")?.unwrap_or(0),
            radius_m: param("radius_m", &q.radius_m, "metres from 1 to 3000")?.unwrap_or(0),
        })
        .await?
        .into_inner()
        .stops;
    let stops: Vec<serde_json::Value> = stops
        .into_iter()
        .filter_map(|n| {
            let stop = serde_json::to_value(StopJson::from(n.stop?)).ok()?;
            let mut stop = stop.as_object()?.clone();
            stop.insert("distance_m".into(), json!(n.distance_m));
            Some(serde_json::Value::Object(stop))
        })
        .collect();
    Ok(Json(json!({ "lang": lang, "lat": lat, "lon": lon, "stops": stops })).into_response())
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
}

#[derive(Debug, Serialize)]
pub struct ShapeJson {
    pub route: Option<RouteJson>,
    /// `route_shape`: the geometry of PassengerService's GetRouteShape.
    pub source: &'static str,
    /// Fits every direction's shape and stops; the page places vehicles with it.
    pub projection: Projection,
    pub directions: Vec<DirectionJson>,
}

#[derive(Debug, Serialize)]
pub struct DirectionJson {
    pub direction_id: i32,
    pub headsign: Name,
    /// The polyline in projected coordinates (SVG user units).
    pub points: Vec<[f64; 2]>,
    /// Its stops in order.
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
    pub stop_sequence: u32,
    pub dist_m: f64,
}

/// The SVG map's width in user units.
const MAP_WIDTH: f64 = 600.0;
const MAP_MARGIN: f64 = 24.0;

/// The route map (GetRouteShape): each direction's shape and stops,
/// projected to metres around their middle and fitted to a 600-unit view.
pub async fn shape(
    State(s): State<AppState>,
    client: ClientIp,
    Path(route_id): Path<String>,
    Query(q): Query<ShapeQuery>,
) -> Result<Json<ShapeJson>, ApiError> {
    let lang = parse_lang(&q.lang)?;
    let shape = s
        .upstream
        .passenger(client)
        .get_route_shape(GetRouteShapeRequest {
            route_id,
            lang: lang.into(),
            direction_id: None,
        })
        .await?
        .into_inner();
    let all: Vec<(f64, f64)> = shape
        .directions
        .iter()
        .flat_map(|d| {
            d.points
                .iter()
                .map(|p| (p.lat, p.lon))
                .chain(d.stops.iter().map(|s| (s.lat, s.lon)))
        })
        .filter(|(lat, lon)| *lat != 0.0 || *lon != 0.0)
        .collect();
    let projection = Projection::fit(&all, MAP_WIDTH, MAP_MARGIN)
        .unwrap_or_else(|| Projection::around(31.5966, 130.5571, 2000.0, MAP_WIDTH));
    let directions = shape
        .directions
        .into_iter()
        .map(|d| DirectionJson {
            direction_id: d.direction_id,
            headsign: d.headsign.into(),
            points: d
                .points
                .iter()
                .map(|p| {
                    let (x, y) = projection.project(p.lat, p.lon);
                    [x, y]
                })
                .collect(),
            stops: d
                .stops
                .into_iter()
                .map(|st| {
                    let (x, y) = projection.project(st.lat, st.lon);
                    ShapeStop {
                        name: st.name.into(),
                        stop_id: st.stop_id,
                        lat: st.lat,
                        lon: st.lon,
                        x,
                        y,
                        stop_sequence: st.stop_sequence,
                        dist_m: st.dist_m,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Json(ShapeJson {
        route: shape.route.map(RouteJson::from),
        source: "route_shape",
        projection,
        directions,
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
