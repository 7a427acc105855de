//! The web service's configuration: defaults, then the TOML file given with
//! `--config`, then `KAGOSHIMA_<SECTION>__<KEY>` environment variables.
//!
//! Rate limits behind the web: the web calls PassengerService for every
//! browser, adding the browser's address as `x-forwarded-for` metadata. The
//! location service believes that metadata only from its trusted proxies, so
//! **the location service must list the web's address (as the location
//! service sees it) in its `rate_limit.trusted_proxies`**, for example
//!
//! ```toml
//! # location.toml
//! [rate_limit]
//! trusted_proxies = ["10.0.0.5"]
//! ```
//!
//! or `KAGOSHIMA_RATE_LIMIT__TRUSTED_PROXIES='["10.0.0.5"]'`. Without it every
//! browser shares the web's one bucket at the location service. The web keys
//! its own `/api` limit by the TCP peer and ignores its own
//! `rate_limit.trusted_proxies`.
use kagoshima_runtime::rate_limit::RateLimitConfig;
pub use kagoshima_runtime::settings::{AuthConfig, ListenConfig, LogConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebConfig {
    /// The pages, the JSON API under /api, /metrics and /healthz.
    pub http: ListenConfig,
    /// PassengerService of the location service.
    pub passenger_grpc: String,
    /// IndicatorService of the indicators service.
    pub indicators_grpc: String,
    /// IngestService of the ingest service, for device diagnostics on the
    /// dashboard; it must accept the bureau's tokens (its `auth.tokens`).
    pub ingest_grpc: String,
    /// The ingest service's Prometheus endpoint, read for the feeds' health.
    pub ingest_metrics_url: String,
    /// The stop shown by `/signage` without a stop id (天文館通).
    pub signage_default_stop: String,
    /// Seconds between two GetArrivals calls when no stream is available.
    pub poll_seconds: u64,
    /// Per-client-IP limit on /api, keyed by the TCP peer (see the module
    /// docs for the location service's `rate_limit.trusted_proxies`).
    pub rate_limit: RateLimitConfig,
    /// Bureau tokens accepted on /api/bureau (hashes only).
    pub auth: AuthConfig,
    pub log: LogConfig,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            http: ListenConfig::on("127.0.0.1:8080"),
            passenger_grpc: "http://127.0.0.1:50052".into(),
            indicators_grpc: "http://127.0.0.1:50053".into(),
            ingest_grpc: "http://127.0.0.1:50051".into(),
            ingest_metrics_url: "http://127.0.0.1:9091/metrics".into(),
            signage_default_stop: "tram_tenmonkan_dori".into(),
            poll_seconds: 5,
            rate_limit: RateLimitConfig::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
        }
    }
}
