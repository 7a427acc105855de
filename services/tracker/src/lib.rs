//! Live vehicle tracking for the location service: pure, synchronous, no
//! I/O. [`network::Network`] is the active feed in metres (a local tangent
//! plane, never raw degrees); [`Tracker`] keeps each vehicle's state from its
//! position reports (map matching, trip assignment, layovers, detours,
//! staleness), emits [`StopVisit`]s, learns the [`model::TravelModel`] from
//! them, and predicts arrivals ([`predict`]).
//!
//! Time is unix seconds (`f64`) everywhere; GTFS times are seconds after
//! 00:00 JST of the service date ([`network::day_start`]).

pub mod geo;
pub mod model;
pub mod network;
pub mod predict;
pub mod tracker;

#[cfg(test)]
mod tests;

pub use network::{Network, NetworkInput};
pub use predict::Prediction;
pub use tracker::{Report, StopVisit, Tracker, TrackerConfig, VehicleStatus, VehicleView};
