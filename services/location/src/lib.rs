//! The location service. Today: passenger information from the static
//! network (`PassengerService` over gRPC and the same as JSON over HTTP),
//! rate limited per client IP, with anonymous stop-search counters. Issue #5
//! adds the live part (vehicle state, arrivals) in modules beside
//! [`static_info`].

pub mod accuracy;
pub mod app;
pub mod arrivals_json;
pub mod board;
pub mod config;
pub mod counts;
pub mod grpc;
pub mod gtfs_rt;
pub mod http;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod network_load;
pub mod static_info;

pub use app::{Application, LocationError};
pub use config::LocationConfig;
