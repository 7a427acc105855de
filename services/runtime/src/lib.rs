//! What every service binary shares: layered configuration, telemetry, bearer
//! tokens, the admin HTTP endpoints (`/metrics`, `/healthz`) and shutdown.

pub mod admin_http;
pub mod auth;
pub mod cli;
pub mod config;
pub mod host;
pub mod http_error;
pub mod http_metrics;
pub mod memory;
pub mod rate_limit;
pub mod secret;
pub mod serving;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
