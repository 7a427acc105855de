//! Prometheus metrics of the indicators service, under `kagoshima_indicators_`:
//! whether the background refresh keeps up (its lag and backlog) and what it
//! builds.
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use crate::service::Refreshed;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct IndicatorsMetrics {
    /// Background refresh runs, by outcome (ok, error).
    pub refreshes: Family<OutcomeLabel, Counter>,
    /// Service dates whose rides and rollups were rebuilt.
    pub dates_recomputed: Counter,
    /// Rides built by those rebuilds.
    pub rides_built: Counter,
    /// Unix seconds of the last refresh that succeeded.
    pub last_refresh_success: Gauge,
    /// Dates waiting for a refresh (new taps or corrections since).
    pub dirty_dates: Gauge,
}

impl IndicatorsMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        let r = registry.sub_registry_with_prefix("kagoshima_indicators");
        r.register(
            "refreshes",
            "Background refresh runs of rides and rollups, by outcome (ok, error)",
            m.refreshes.clone(),
        );
        r.register(
            "dates_recomputed",
            "Service dates whose rides and rollups were rebuilt",
            m.dates_recomputed.clone(),
        );
        r.register(
            "rides_built",
            "Rides built from taps by the refreshes",
            m.rides_built.clone(),
        );
        r.register(
            "last_refresh_success_timestamp_seconds",
            "Unix time of the last successful refresh (lag: time() minus this)",
            m.last_refresh_success.clone(),
        );
        r.register(
            "dirty_dates",
            "Service dates waiting for their rides and rollups to be rebuilt",
            m.dirty_dates.clone(),
        );
        m
    }

    pub fn record_success(&self, done: Refreshed, now_unix: i64) {
        self.refreshes
            .get_or_create(&OutcomeLabel { outcome: "ok" })
            .inc();
        self.dates_recomputed.inc_by(done.dates as u64);
        self.rides_built.inc_by(done.rides as u64);
        self.last_refresh_success.set(now_unix);
    }

    pub fn record_failure(&self) {
        self.refreshes
            .get_or_create(&OutcomeLabel { outcome: "error" })
            .inc();
    }
}
