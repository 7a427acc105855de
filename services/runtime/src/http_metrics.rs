//! Request metrics for every HTTP port, under `kagoshima_http_`: requests by
//! route (the router's pattern, never the raw path, so the label set stays
//! bounded), method and status, and their latency by route.
use std::time::Instant;

use axum::{
    Router,
    extract::{MatchedPath, Request},
    middleware::{self, Next},
    response::Response,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

type LatencyFamily = Family<RouteLabel, Histogram, fn() -> Histogram>;

#[derive(Debug, Clone)]
struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    seconds: LatencyFamily,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

/// Wraps `router` so that every request it answers is counted and timed.
pub fn instrument(router: Router, registry: &mut Registry) -> Router {
    let metrics = HttpMetrics {
        requests: Family::default(),
        seconds: Family::new_with_constructor(latency_histogram),
    };
    let r = registry.sub_registry_with_prefix("kagoshima_http");
    r.register(
        "requests",
        "HTTP requests answered, by route, method and status",
        metrics.requests.clone(),
    );
    r.register(
        "request_seconds",
        "Time to answer an HTTP request (to its first byte), by route",
        metrics.seconds.clone(),
    );
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let metrics = metrics.clone();
        async move { record(metrics, request, next).await }
    }))
}

async fn record(metrics: HttpMetrics, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .seconds
        .get_or_create(&RouteLabel {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
