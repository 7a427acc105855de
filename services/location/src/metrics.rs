//! Prometheus metrics of the location service, under `kagoshima_location_`.
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use std::sync::atomic::AtomicU64;

use crate::live::Census;

/// Why a report was refused: a validation reason code of the device contract,
/// or `not_a_position` for another kind of message on the subscription.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct LocationMetrics {
    /// Position reports that passed the contract and reached the tracker.
    pub reports_accepted: Counter,
    /// Reports refused before the tracker, by reason.
    pub reports_refused: Family<ReasonLabel, Counter>,
    /// 1 while connected to the broker.
    pub mqtt_connected: Gauge,
    /// Vehicles known to the tracker, by mode and state.
    pub vehicles: Family<VehicleLabels, Gauge>,
    /// Seconds since the newest report of any vehicle.
    pub newest_report_age_seconds: Gauge<f64, AtomicU64>,
    /// Seconds since the oldest live vehicle's predictions were computed.
    pub oldest_prediction_age_seconds: Gauge<f64, AtomicU64>,
    /// End (JST midnight after) of the active feed's last service date, Unix seconds.
    pub feed_service_end_timestamp_seconds: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VehicleLabels {
    pub mode: String,
    pub state: &'static str,
}

/// The states a vehicle is counted in (all are published, zeros included,
/// so that an alert on one of them has a series to read).
const STATES: [&str; 5] = [
    "on_trip",
    "unassigned",
    "off_route",
    "silent_on_trip",
    "stale",
];

impl LocationMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> LocationMetrics {
        let m = LocationMetrics::default();
        let r = registry.sub_registry_with_prefix("kagoshima_location");
        r.register(
            "reports_accepted",
            "Position reports that passed the device contract and reached the tracker",
            m.reports_accepted.clone(),
        );
        r.register(
            "reports_refused",
            "Position reports refused by the device contract, by reason",
            m.reports_refused.clone(),
        );
        r.register(
            "mqtt_connected",
            "1 while connected to the broker",
            m.mqtt_connected.clone(),
        );
        r.register(
            "vehicles",
            "Vehicles known to the tracker, by mode and state (on_trip, unassigned, off_route, silent_on_trip, stale)",
            m.vehicles.clone(),
        );
        r.register(
            "newest_report_age_seconds",
            "Seconds since the newest position report of any vehicle",
            m.newest_report_age_seconds.clone(),
        );
        r.register(
            "oldest_prediction_age_seconds",
            "Seconds since the oldest live vehicle's predictions were computed",
            m.oldest_prediction_age_seconds.clone(),
        );
        r.register(
            "feed_service_end_timestamp_seconds",
            "End of the active feed's last service date (JST), Unix seconds",
            m.feed_service_end_timestamp_seconds.clone(),
        );
        m
    }

    /// Sets the gauges from a census of the live state.
    pub fn publish(&self, census: &Census) {
        let modes: std::collections::BTreeSet<&str> = census
            .vehicles
            .keys()
            .map(|(mode, _)| mode.as_str())
            .chain(["tram", "bus", "community_bus"])
            .collect();
        for mode in modes {
            for state in STATES {
                let n = census
                    .vehicles
                    .get(&(mode.to_owned(), state))
                    .copied()
                    .unwrap_or(0);
                self.vehicles
                    .get_or_create(&VehicleLabels {
                        mode: mode.to_owned(),
                        state,
                    })
                    .set(i64::from(n));
            }
        }
        // No vehicle at all: the newest report is as old as it can get.
        self.newest_report_age_seconds
            .set(census.newest_report_age_s.unwrap_or(f64::INFINITY));
        self.oldest_prediction_age_seconds
            .set(census.oldest_prediction_age_s);
        if let Some(date) = census.last_service_date {
            let end = kagoshima_domain::calendar::jst_day_start(date + chrono::Days::new(1));
            self.feed_service_end_timestamp_seconds.set(end.timestamp());
        }
    }

    pub fn count_refused(&self, reason: &'static str) {
        self.reports_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }
}
