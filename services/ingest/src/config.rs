//! The ingest service's configuration (see README "Configuration").
use std::time::Duration;

use kagoshima_domain::{topic::DEVICE_TOPIC_FILTER, validation::ValidationConfig};
pub use kagoshima_runtime::settings::{AuthConfig, DatabaseConfig, ListenConfig, LogConfig};
use kagoshima_runtime::{secret::Secret, tls::TlsConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestConfig {
    pub database: DatabaseConfig,
    pub mqtt: MqttConfig,
    pub batch: BatchConfig,
    pub validation: ValidationConfig,
    /// Key of the HMAC that replaces card tokens: 64 hex digits, or at least 32
    /// bytes of text. Required; never commit it (`openssl rand -hex 32`).
    pub card_hash_key: Secret,
    pub grpc: ListenConfig,
    pub http: ListenConfig,
    pub auth: AuthConfig,
    /// TLS for both the gRPC and the HTTP listener: set `cert` and `key`.
    pub tls: TlsConfig,
    pub log: LogConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            database: DatabaseConfig::default(),
            mqtt: MqttConfig::default(),
            batch: BatchConfig::default(),
            validation: ValidationConfig::default(),
            card_hash_key: Secret::default(),
            grpc: ListenConfig::on("127.0.0.1:50051"),
            http: ListenConfig::on("127.0.0.1:9091"),
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Stable across restarts: the broker keeps the persistent session (and
    /// every unacknowledged message) under this id.
    pub client_id: String,
    pub username: String,
    pub password: Secret,
    /// Topic filters to subscribe to (the device contract's one by default).
    pub topic_filters: Vec<String>,
    /// When set, subscribe as `$share/{group}/{filter}` so several ingest
    /// instances split the load.
    pub share_group: Option<String>,
    pub keep_alive_s: u64,
    pub max_packet_bytes: usize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "kagoshima-ingest-1".into(),
            username: String::new(),
            password: Secret::default(),
            topic_filters: vec![DEVICE_TOPIC_FILTER.into()],
            share_group: None,
            keep_alive_s: 30,
            max_packet_bytes: 1024 * 1024,
        }
    }
}

impl MqttConfig {
    pub fn subscriptions(&self) -> Vec<String> {
        self.topic_filters
            .iter()
            .map(|filter| match &self.share_group {
                Some(group) => format!("$share/{group}/{filter}"),
                None => filter.clone(),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchConfig {
    /// Messages per database transaction at most.
    pub max_messages: usize,
    /// How long the first message of a batch may wait for company.
    pub max_wait_ms: u64,
    /// Messages received but not yet stored at most; past it the MQTT reader
    /// stops reading and the broker holds the rest (nothing is dropped).
    pub max_pending: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_messages: 2000,
            max_wait_ms: 20,
            max_pending: 50_000,
        }
    }
}

impl BatchConfig {
    pub fn max_wait(&self) -> Duration {
        Duration::from_millis(self.max_wait_ms)
    }
}
