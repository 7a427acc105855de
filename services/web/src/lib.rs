//! The web front of the platform (issue #7): the passenger page, stop
//! signage and the bureau dashboard, with the platform's one passenger JSON
//! API (`/api`) behind them, for the pages and for passenger apps. It holds
//! no data of its own: every answer comes from PassengerService and
//! IndicatorService over gRPC (and the ingest service's `/metrics` for the
//! feeds' health).

pub mod alerts;
pub mod app;
pub mod arrivals;
pub mod bureau;
pub mod config;
pub mod devices;
pub mod error;
pub mod feeds;
pub mod map;
pub mod pages;
pub mod passenger;
pub mod timetable;
pub mod upstream;

pub use app::{Application, WebError};
pub use config::WebConfig;
