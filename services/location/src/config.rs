//! The location service's configuration: defaults, then the TOML file given
//! with `--config`, then `KAGOSHIMA_<SECTION>__<KEY>` and `DATABASE_URL`.
use kagoshima_domain::validation::ValidationConfig;
pub use kagoshima_runtime::settings::{AuthConfig, DatabaseConfig, ListenConfig, LogConfig};
use kagoshima_runtime::{rate_limit::RateLimitConfig, secret::Secret};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationConfig {
    pub database: DatabaseConfig,
    /// PassengerService (gRPC, with health and reflection).
    pub grpc: ListenConfig,
    /// The GTFS-Realtime feeds under /gtfs-rt, and /metrics and /healthz.
    pub http: ListenConfig,
    /// Per-client-IP limit on the public interfaces (gRPC and /api).
    pub rate_limit: RateLimitConfig,
    pub log: LogConfig,
    /// Live vehicles and predictions (issue #5).
    pub live: LiveConfig,
    /// The broker the positions come from.
    pub mqtt: MqttConfig,
    /// The device contract's limits, as ingest applies them (service area,
    /// clock skew, age): location refuses what ingest dead-letters.
    pub validation: ValidationConfig,
    /// Bureau tokens for AlertService (`[[auth.tokens]]`, SHA-256 only);
    /// without any, every AlertService call is refused.
    pub auth: AuthConfig,
}

impl Default for LocationConfig {
    fn default() -> Self {
        LocationConfig {
            database: DatabaseConfig::default(),
            grpc: ListenConfig::on("127.0.0.1:50052"),
            http: ListenConfig::on("127.0.0.1:8082"),
            rate_limit: RateLimitConfig::default(),
            log: LogConfig::default(),
            live: LiveConfig::default(),
            mqtt: MqttConfig::default(),
            validation: ValidationConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveConfig {
    /// Days of stop visits learned from at start.
    pub history_days: u32,
    /// How often the active feed version is checked (and silent vehicles swept), seconds.
    pub feed_check_s: u64,
    /// Streams push at least this often, seconds (a request may ask otherwise).
    pub stream_refresh_s: u64,
    /// GTFS-Realtime responses are rebuilt at most this often, seconds.
    pub gtfs_rt_cache_s: u64,
    /// Riders per vehicle by mode, for crowding (`[live.capacity]`).
    pub capacity: crate::crowding::Capacity,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            history_days: 28,
            feed_check_s: 30,
            stream_refresh_s: 30,
            gtfs_rt_cache_s: 15,
            capacity: crate::crowding::Capacity::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttConfig {
    /// Off: positions only come in through the library API.
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Stable across restarts (persistent session, QoS 1).
    pub client_id: String,
    /// Keep the broker session across restarts, so that reports published
    /// while location restarts still arrive. Throwaway instances (tests,
    /// one-off runs) turn it off so the broker does not keep a queue for a
    /// client id that never comes back.
    pub persistent_session: bool,
    pub username: String,
    pub password: Secret,
    pub topic_filter: String,
    /// Passenger counts, for crowding; empty: none.
    pub counts_topic_filter: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "kagoshima-location-1".into(),
            persistent_session: true,
            username: String::new(),
            password: Secret::default(),
            topic_filter: "kagoshima/v1/+/+/position".into(),
            counts_topic_filter: "kagoshima/v1/+/+/passengers".into(),
        }
    }
}
