//! A stop visit: when a vehicle was at a stop of its trip. The tracker makes
//! them, storage keeps them, the indicators and the accuracy report read them.
use chrono::NaiveDate;

/// When a vehicle was at a stop of its trip (arrival set, departure once left).
#[derive(Debug, Clone, PartialEq)]
pub struct StopVisit {
    pub service_date: NaiveDate,
    pub trip_id: String,
    pub stop_sequence: u32,
    pub stop_id: String,
    pub route_id: String,
    pub direction_id: Option<u8>,
    pub vehicle_id: String,
    pub scheduled_arrival: f64,
    pub scheduled_departure: f64,
    pub arrival: f64,
    pub departure: Option<f64>,
    /// A report close to the stop (not only interpolated across a gap).
    pub observed: bool,
}
