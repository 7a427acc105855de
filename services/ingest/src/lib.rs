//! The ingest service: device messages from MQTT and back-office uploads over
//! gRPC, validated, stored in batches exactly once, refused ones dead-lettered.

pub mod api;
pub mod app;
pub mod config;
pub mod consumer;
pub mod diagnostics;
pub mod metrics;
pub mod payload_check;
pub mod pipeline;

pub use app::{Application, IngestError};
pub use config::IngestConfig;
