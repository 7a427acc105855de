//! Prometheus metrics of the location service, under `kagoshima_location_`.
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

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
}

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
        m
    }

    pub fn count_refused(&self, reason: &'static str) {
        self.reports_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }
}
