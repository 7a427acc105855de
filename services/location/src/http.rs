//! The location service's HTTP: the GTFS-Realtime feeds, where they are
//! produced (passenger JSON is the web service's `/api`, answered from
//! PassengerService).
//!
//! - `GET /gtfs-rt/vehicle-positions`
//! - `GET /gtfs-rt/trip-updates`
//! - `GET /gtfs-rt/alerts` (ServiceAlerts)
//!
//! Protobuf, or proto3 JSON (see `gtfs_rt_json`) with `?format=json` or
//! `Accept: application/json`; `Last-Modified`, 304 on `If-Modified-Since`,
//! `Cache-Control: max-age=15`. Errors are the platform's JSON error with
//! 400 or 404, and 429 with `Retry-After` over the per-client rate limit
//! (shared with gRPC's keying rules).
use std::time::{Duration, UNIX_EPOCH};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use kagoshima_runtime::{
    http_error::json_error,
    rate_limit::{RateLimiter, limit_http},
};
use serde::Deserialize;

use crate::{alerts::Alerts, gtfs_rt, live::Live};

#[derive(Clone)]
struct FeedState {
    live: Live,
    alerts: Alerts,
    cache: gtfs_rt::Cache,
}

/// The feed routes, rate limited. Serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the limit sees
/// client addresses.
pub fn router(limiter: RateLimiter, live: Live, alerts: Alerts) -> Router {
    let state = FeedState {
        live,
        alerts,
        cache: gtfs_rt::Cache::default(),
    };
    Router::new()
        .route("/gtfs-rt/vehicle-positions", get(vehicle_positions))
        .route("/gtfs-rt/trip-updates", get(trip_updates))
        .route("/gtfs-rt/alerts", get(service_alerts))
        .fallback(|| async {
            json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint: this service serves /gtfs-rt/vehicle-positions, \
                 /gtfs-rt/trip-updates and /gtfs-rt/alerts; passenger JSON is the web \
                 service's /api",
            )
        })
        .layer(middleware::from_fn_with_state(limiter, limit_http))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    #[serde(default)]
    format: String,
}

async fn vehicle_positions(
    State(s): State<FeedState>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    feed(&s, gtfs_rt::Kind::VehiclePositions, &q, &headers)
}

async fn trip_updates(
    State(s): State<FeedState>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    feed(&s, gtfs_rt::Kind::TripUpdates, &q, &headers)
}

async fn service_alerts(
    State(s): State<FeedState>,
    Query(q): Query<FeedQuery>,
    headers: HeaderMap,
) -> Response {
    feed(&s, gtfs_rt::Kind::Alerts, &q, &headers)
}

/// A GTFS-Realtime feed: protobuf, or JSON with `?format=json` or
/// `Accept: application/json`; 304 when not modified since the client's copy.
fn feed(s: &FeedState, kind: gtfs_rt::Kind, q: &FeedQuery, headers: &HeaderMap) -> Response {
    let json = match q.format.as_str() {
        "" => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json")),
        "json" => true,
        "pb" | "protobuf" => false,
        other => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_argument",
                format!("unknown format {other:?}: use json or pb"),
            );
        }
    };
    let (at, message) = s.cache.get(&s.live, &s.alerts, kind);
    let modified = UNIX_EPOCH + Duration::from_secs(at);
    let last_modified = httpdate::fmt_http_date(modified);
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        && since >= modified
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&last_modified) {
            r.headers_mut().insert(header::LAST_MODIFIED, v);
        }
        return r;
    }
    let mut r = if json {
        Json(crate::gtfs_rt_json::to_json(&message)).into_response()
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
