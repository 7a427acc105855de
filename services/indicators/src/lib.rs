//! Kagoshima transit indicators: rides from taps, ridership rollups, the
//! DX plan's monthly and fiscal-year indicators with progress against the
//! plan, the monthly fare cap, reports (CSV, XLSX, SVG) and exports (TIDES,
//! open data). See README.md for the counting rules.
pub mod app;
pub mod backoffice;
pub mod cli;
pub mod config;
pub mod daily_sums;
pub mod error;
pub mod export;
pub mod farecap;
pub mod figures;
pub mod grpc;
pub mod metrics;
pub mod period;
pub mod plan;
pub mod planning;
pub mod progress;
pub mod report;
pub mod ridership;
pub mod rides;
pub mod rollups;
pub mod service;
pub mod shared_measures;

pub use app::Application;
pub use config::IndicatorsConfig;
pub use error::IndicatorError;
pub use service::Indicators;
