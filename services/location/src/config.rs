//! The location service's configuration: defaults, then the TOML file given
//! with `--config`, then `KAGOSHIMA_<SECTION>__<KEY>` and `DATABASE_URL`.
use kagoshima_runtime::{rate_limit::RateLimitConfig, secret::Secret, telemetry::LogFormat};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LocationConfig {
    pub database: DatabaseConfig,
    /// PassengerService (gRPC, with health and reflection).
    pub grpc: ListenConfig,
    /// The JSON API under /api/v1, and /metrics and /healthz.
    pub http: ListenConfig,
    /// Per-client-IP limit on the public interfaces (gRPC and /api).
    pub rate_limit: RateLimitConfig,
    pub log: LogConfig,
    /// Live vehicles and predictions (issue #5).
    pub live: LiveConfig,
    /// The broker the positions come from.
    pub mqtt: MqttConfig,
}

impl Default for LocationConfig {
    fn default() -> Self {
        LocationConfig {
            database: DatabaseConfig::default(),
            grpc: ListenConfig::default(),
            http: ListenConfig::http_default(),
            rate_limit: RateLimitConfig::default(),
            log: LogConfig::default(),
            live: LiveConfig::default(),
            mqtt: MqttConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// PostgreSQL URL; `DATABASE_URL` overrides it. Created and migrated if missing.
    pub url: Secret,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/kagoshima"),
            max_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ListenConfig {
    pub listen: String,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            listen: "127.0.0.1:50052".into(),
        }
    }
}

impl ListenConfig {
    pub fn http_default() -> ListenConfig {
        ListenConfig {
            listen: "127.0.0.1:8082".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info,sqlx=warn".into(),
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
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            history_days: 28,
            feed_check_s: 30,
            stream_refresh_s: 30,
            gtfs_rt_cache_s: 15,
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
    pub username: String,
    pub password: Secret,
    pub topic_filter: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "kagoshima-location-1".into(),
            username: String::new(),
            password: Secret::default(),
            topic_filter: "kagoshima/v1/+/+/position".into(),
        }
    }
}
