//! The same questions as JSON over HTTP, for the web pages:
//!
//! - `GET /api/v1/routes?mode=&lang=`
//! - `GET /api/v1/stops/search?q=&lang=&limit=`
//! - `GET /api/v1/stops/{id}?lang=`
//! - `GET /api/v1/stops/{id}/timetable?date=&route=&lang=`
//! - `GET /api/v1/routes/{id}/shape?lang=&direction=` (GetRouteShape)
//!
//! Bodies are the proto messages in proto3 JSON with the proto field names
//! (snake_case) and every field present. Errors are
//! `{"error": {"code": "invalid_argument", "message": "..."}}` with 400, 404,
//! 429 (with `Retry-After`), 503 or 500. Rate limited per client IP like gRPC.
use std::sync::LazyLock;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use kagoshima_proto::v1::{GetStopResponse, ListRoutesResponse, SearchStopsResponse, TransitMode};
use kagoshima_runtime::rate_limit::RateLimiter;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde::Deserialize;

use crate::arrivals_json::ArrivalsJson;
use crate::gtfs_rt;
use crate::live::{Live, now};
use crate::static_info::{InfoError, StaticInfo};

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(kagoshima_proto::FILE_DESCRIPTOR_SET)
        .expect("the build embeds a valid descriptor set")
});

/// A generated message as proto3 JSON (proto field names, defaults shown),
/// written straight into the response body.
pub fn proto_json<M: prost::Message>(message: &M, name: &str) -> Response {
    json_response(name, proto_json_bytes(message, name))
}

/// The bytes of [`proto_json`], or why they could not be written.
pub(crate) fn proto_json_bytes<M: prost::Message>(
    message: &M,
    name: &str,
) -> Result<Vec<u8>, String> {
    let full = format!("kagoshima.transit.v1.{name}");
    let descriptor = POOL
        .get_message_by_name(&full)
        .ok_or_else(|| format!("no descriptor for {full}"))?;
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic.transcode_from(message).map_err(|e| e.to_string())?;
    let options = SerializeOptions::new()
        .skip_default_fields(false)
        .use_proto_field_name(true);
    let mut body = Vec::with_capacity(message.encoded_len() * 4);
    dynamic
        .serialize_with_options(&mut serde_json::Serializer::new(&mut body), &options)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

/// A JSON answer, or a 500 that says so (and a logged reason) when the
/// message could not be encoded.
fn json_response(message: &str, body: Result<Vec<u8>, String>) -> Response {
    match body {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(reason) => {
            tracing::error!(message, reason, "cannot encode a response as JSON");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "cannot encode the answer",
            )
        }
    }
}

use kagoshima_runtime::http_error::json_error as error;

impl IntoResponse for InfoError {
    fn into_response(self) -> Response {
        match &self {
            InfoError::InvalidArgument(m) => error(StatusCode::BAD_REQUEST, "invalid_argument", m),
            InfoError::NotFound(m) => error(StatusCode::NOT_FOUND, "not_found", m),
            InfoError::NoFeed => {
                error(StatusCode::SERVICE_UNAVAILABLE, "no_feed", self.to_string())
            }
            InfoError::Database(e) => {
                tracing::error!(error = %e, "passenger query failed");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is not answering; try again",
                )
            }
        }
    }
}

#[derive(Clone)]
struct ApiState {
    info: StaticInfo,
    limiter: RateLimiter,
    live: Live,
    cache: gtfs_rt::Cache,
}

/// The `/api/v1` routes. Serve with `into_make_service_with_connect_info::<SocketAddr>()`
/// so the rate limit sees client addresses.
pub fn router(info: StaticInfo, limiter: RateLimiter, live: Live) -> Router {
    let state = ApiState {
        info,
        limiter,
        live,
        cache: gtfs_rt::Cache::default(),
    };
    Router::new()
        .route("/api/v1/stops/{id}/arrivals", get(arrivals))
        .route("/api/v1/routes/{id}/vehicles", get(vehicles))
        .route("/api/v1/routes/{id}/shape", get(route_shape))
        .route("/gtfs-rt/vehicle-positions", get(vehicle_positions))
        .route("/gtfs-rt/trip-updates", get(trip_updates))
        .route("/api/v1/routes", get(routes))
        .route("/api/v1/stops/search", get(search))
        .route("/api/v1/stops/{id}", get(stop))
        .route("/api/v1/stops/{id}/timetable", get(timetable))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(middleware::from_fn_with_state(
            state.limiter.clone(),
            kagoshima_runtime::rate_limit::limit_http,
        ))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct RoutesQuery {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    lang: String,
}

async fn routes(State(s): State<ApiState>, Query(q): Query<RoutesQuery>) -> Response {
    let mode = match q.mode.as_str() {
        "" => TransitMode::Unspecified,
        "tram" => TransitMode::Tram,
        "bus" => TransitMode::Bus,
        "community_bus" => TransitMode::CommunityBus,
        "other" => TransitMode::Other,
        other => {
            return InfoError::InvalidArgument(format!(
                "unknown mode {other:?}: use tram, bus, community_bus or other"
            ))
            .into_response();
        }
    };
    match s.info.list_routes(mode, &q.lang).await {
        Ok(routes) => proto_json(&ListRoutesResponse { routes }, "ListRoutesResponse"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    limit: Option<String>,
}

async fn search(State(s): State<ApiState>, Query(q): Query<SearchQuery>) -> Response {
    let limit = match q.limit.as_deref().map(str::parse::<u32>) {
        None => 0,
        Some(Ok(l)) => l,
        Some(Err(_)) => {
            return InfoError::InvalidArgument("limit must be a number from 1 to 50".into())
                .into_response();
        }
    };
    match s.info.search_stops(&q.q, &q.lang, limit).await {
        Ok(stops) => proto_json(&SearchStopsResponse { stops }, "SearchStopsResponse"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    #[serde(default)]
    lang: String,
}

async fn stop(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    match s.info.get_stop(&id, &q.lang).await {
        Ok(stop) => proto_json(&GetStopResponse { stop: Some(stop) }, "GetStopResponse"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ShapeQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    direction: Option<String>,
}

async fn route_shape(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<ShapeQuery>,
) -> Response {
    let direction = match q.direction.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match d.parse::<i32>() {
            Ok(d) => Some(d),
            Err(_) => {
                return InfoError::InvalidArgument("direction must be 0 or 1".into())
                    .into_response();
            }
        },
    };
    match s.info.route_shape(&id, &q.lang, direction).await {
        Ok(shape) => proto_json(&shape, "RouteShape"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct TimetableQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    route: String,
    #[serde(default)]
    lang: String,
}

async fn timetable(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<TimetableQuery>,
) -> Response {
    match s
        .info
        .stop_timetable(&id, Some(&q.date), Some(&q.route), &q.lang)
        .await
    {
        Ok(t) => proto_json(&t, "GetStopTimetableResponse"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct ArrivalsQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    route: String,
}

async fn arrivals(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<ArrivalsQuery>,
) -> Response {
    let limit = match q.limit.as_deref().map(str::parse::<u32>) {
        None => 0,
        Some(Ok(l)) => l,
        Some(Err(_)) => {
            return InfoError::InvalidArgument("limit must be a number from 1 to 50".into())
                .into_response();
        }
    };
    match s.live.arrivals(&id, &q.lang, limit, &q.route, now()) {
        Ok(a) => json_response(
            "GetArrivalsResponse",
            serde_json::to_vec(&ArrivalsJson(&a)).map_err(|e| e.to_string()),
        ),
        Err(e) => e.into_response(),
    }
}

async fn vehicles(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    match s.live.vehicles(&id, &q.lang, now()) {
        Ok(v) => proto_json(&v, "ListVehiclesResponse"),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    #[serde(default)]
    format: String,
}

async fn vehicle_positions(
    State(s): State<ApiState>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    feed(&s, gtfs_rt::Kind::VehiclePositions, &q, &headers)
}

async fn trip_updates(
    State(s): State<ApiState>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    feed(&s, gtfs_rt::Kind::TripUpdates, &q, &headers)
}

fn http_date(secs: u64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs as i64, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// A GTFS-Realtime feed: protobuf, or JSON with `?format=json` or
/// `Accept: application/json`; 304 when not modified since the client's copy.
fn feed(s: &ApiState, kind: gtfs_rt::Kind, q: &FeedQuery, headers: &HeaderMap) -> Response {
    let json = match q.format.as_str() {
        "" => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json")),
        "json" => true,
        "pb" | "protobuf" => false,
        other => {
            return InfoError::InvalidArgument(format!("unknown format {other:?}: use json or pb"))
                .into_response();
        }
    };
    let (at, message) = s.cache.get(&s.live, kind);
    let last_modified = http_date(at);
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        && since.timestamp() >= at as i64
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&last_modified) {
            r.headers_mut().insert(header::LAST_MODIFIED, v);
        }
        return r;
    }
    let mut r = if json {
        Json(serde_json::to_value(&*message).unwrap_or_default()).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            prost::Message::encode_to_vec(&*message),
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=15"),
    );
    r
}
