//! Configuration sections every service shares, so `[database]`, `[grpc]`,
//! `[http]`, `[auth]` and `[log]` mean the same in each service's file.
use serde::{Deserialize, Serialize};

use crate::{auth::TokenEntry, secret::Secret, telemetry::LogFormat};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// PostgreSQL URL; `DATABASE_URL` overrides it. The database is created
    /// and migrated at start when missing.
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

/// An address to listen on; each service gives its own default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenConfig {
    pub listen: String,
}

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source} (is another process using it? change `listen`)")]
pub struct BindError {
    pub addr: String,
    pub source: std::io::Error,
}

impl ListenConfig {
    /// Binds the configured address (port 0 picks a free port).
    pub async fn bind(&self) -> Result<tokio::net::TcpListener, BindError> {
        tokio::net::TcpListener::bind(&self.listen)
            .await
            .map_err(|source| BindError {
                addr: self.listen.clone(),
                source,
            })
    }

    pub fn on(addr: &str) -> Self {
        ListenConfig {
            listen: addr.to_owned(),
        }
    }
}

/// Clients allowed on a bureau-only interface: a name and the SHA-256 of the
/// token (`hash-token` prints one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub tokens: Vec<TokenEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
    /// `RUST_LOG` syntax; the `RUST_LOG` variable overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info,rumqttc=warn,sqlx=warn".into(),
        }
    }
}
