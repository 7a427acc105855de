//! The location service: passenger information (`PassengerService` over
//! gRPC: routes, stops, search, timetables, live vehicles and arrivals) and
//! the GTFS-Realtime feeds over HTTP, rate limited per client IP, with
//! anonymous stop-search counters. Passenger JSON is the web service's
//! `/api`, answered from PassengerService.

pub mod alerts;
pub mod app;
pub mod board;
pub mod config;
pub mod counts;
pub mod crowding;
pub mod grpc;
pub mod gtfs_rt;
pub mod gtfs_rt_json;
pub mod http;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod static_info;
pub mod timetable_validity;

pub use app::{Application, LocationError};
pub use config::LocationConfig;
