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
}

impl Default for LocationConfig {
    fn default() -> Self {
        LocationConfig {
            database: DatabaseConfig::default(),
            grpc: ListenConfig::default(),
            http: ListenConfig::http_default(),
            rate_limit: RateLimitConfig::default(),
            log: LogConfig::default(),
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
