//! Prometheus metrics of the ingest service.
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Debug, Clone)]
pub struct IngestMetrics {
    pub received: Family<KindLabel, Counter>,
    pub stored: Family<KindLabel, Counter>,
    pub duplicates: Family<KindLabel, Counter>,
    pub dead_lettered: Family<ReasonLabel, Counter>,
    pub batch_seconds: Histogram,
    pub batch_messages: Histogram,
    pub store_lag_seconds: Histogram,
    pub write_errors: Counter,
    pub pending: Gauge,
    pub mqtt_connected: Gauge,
}

impl IngestMetrics {
    /// Creates the metrics and registers them under `kagoshima_ingest_`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = IngestMetrics {
            received: Family::default(),
            stored: Family::default(),
            duplicates: Family::default(),
            dead_lettered: Family::default(),
            batch_seconds: Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
            batch_messages: Histogram::new([1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0]),
            store_lag_seconds: Histogram::new([
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 30.0, 300.0, 3600.0,
            ]),
            write_errors: Counter::default(),
            pending: Gauge::default(),
            mqtt_connected: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("kagoshima_ingest");
        r.register("received", "Messages received, by kind", m.received.clone());
        r.register(
            "stored",
            "Messages stored for the first time, by kind",
            m.stored.clone(),
        );
        r.register(
            "duplicates",
            "Repeated messages recognised and not stored again, by kind",
            m.duplicates.clone(),
        );
        r.register(
            "dead_lettered",
            "Messages refused by validation, by reason",
            m.dead_lettered.clone(),
        );
        r.register(
            "batch_seconds",
            "Time to write and commit one batch",
            m.batch_seconds.clone(),
        );
        r.register(
            "batch_messages",
            "Messages per committed batch",
            m.batch_messages.clone(),
        );
        r.register(
            "store_lag_seconds",
            "Delay from the device's timestamp to the commit of its row",
            m.store_lag_seconds.clone(),
        );
        r.register(
            "write_errors",
            "Failed batch writes (retried)",
            m.write_errors.clone(),
        );
        r.register(
            "pending",
            "Messages received and not yet acknowledged",
            m.pending.clone(),
        );
        r.register(
            "mqtt_connected",
            "1 while connected to the broker",
            m.mqtt_connected.clone(),
        );
        m
    }

    pub fn count_received(&self, kind: &'static str) {
        self.received.get_or_create(&KindLabel { kind }).inc();
    }
}
