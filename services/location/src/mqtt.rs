//! Positions (and passenger counts, for crowding) from the broker: its own QoS 1 subscription with a persistent
//! session. Live state needs no exactly-once (a repeated report is a no-op
//! for the tracker), so messages are acknowledged on receipt.
use std::time::Duration;

use chrono::{DateTime, Utc};
use kagoshima_domain::{
    decode::decode,
    validation::{ValidEvent, Validator},
};
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_tracker::Report;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tracing::{debug, info, warn};

use crate::{config::MqttConfig, live::Live, metrics::LocationMetrics};

/// Why location refused a report: a reason code and a detail for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub detail: String,
}

/// Decodes a position report with the platform's one decoder and contract
/// ([`kagoshima_domain::decode`]), so location refuses exactly what ingest
/// dead-letters.
pub fn decode_position(
    validator: &Validator,
    topic: &str,
    payload: &[u8],
    received_at: DateTime<Utc>,
) -> Result<Report, Refusal> {
    let (_, event) = decode(validator, topic, payload, received_at).map_err(|r| Refusal {
        reason: r.rejection.reason.code(),
        detail: r.rejection.detail,
    })?;
    let ValidEvent::Position { at, msg } = event else {
        return Err(Refusal {
            reason: "not_a_position",
            detail: format!(
                "a {} message on the position subscription",
                topic_kind(topic)
            ),
        });
    };
    Ok(Report {
        vehicle_id: msg.vehicle_id,
        recorded_at: seconds(at),
        received_at: seconds(received_at),
        lat: msg.lat,
        lon: msg.lon,
        bearing: msg.bearing.map(f64::from),
        speed: msg.speed.map(f64::from),
        trip_id: Some(msg.trip_id).filter(|s| !s.is_empty()),
        route_id: Some(msg.route_id).filter(|s| !s.is_empty()),
    })
}

fn topic_kind(topic: &str) -> &str {
    topic.rsplit('/').next().unwrap_or(topic)
}

fn seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64 / 1e6
}

/// Runs until shutdown, reconnecting as needed.
pub async fn consume(
    config: MqttConfig,
    validator: Validator,
    live: Live,
    metrics: LocationMetrics,
    shutdown: Shutdown,
) {
    let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
    options
        .set_clean_session(!config.persistent_session)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(256 * 1024, 256 * 1024);
    if !config.username.is_empty() {
        options.set_credentials(&config.username, config.password.expose());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            e = eventloop.poll() => e,
            () = shutdown.cancelled() => {
                let _ = client.try_disconnect();
                return;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                info!(
                    session_present = ack.session_present,
                    "location connected to the broker"
                );
                backoff = Duration::from_millis(200);
                metrics.mqtt_connected.set(1);
                for filter in [&config.topic_filter, &config.counts_topic_filter] {
                    if filter.is_empty() {
                        continue;
                    }
                    if let Err(e) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                        warn!(error = %e, filter, "cannot queue the subscription");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic.ends_with("/passengers") => {
                match decode(&validator, &p.topic, &p.payload, Utc::now()) {
                    Ok((_, ValidEvent::Passengers { at, msg })) => live.count_passengers(
                        &msg.vehicle_id,
                        &msg.trip_id,
                        msg.boardings,
                        msg.alightings,
                        seconds(at),
                    ),
                    Ok(_) => {}
                    Err(refused) => metrics.count_refused(refused.rejection.reason.code()),
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                match decode_position(&validator, &p.topic, &p.payload, Utc::now()) {
                    Ok(report) => {
                        metrics.reports_accepted.inc();
                        live.ingest(&report);
                    }
                    Err(refusal) => {
                        // Counted by reason; ingest keeps the payload as a
                        // dead letter, so the detail is only for debugging.
                        metrics.count_refused(refusal.reason);
                        debug!(topic = %p.topic, reason = refusal.reason, detail = %refusal.detail, "position refused");
                    }
                }
                // A burst of buffered reports must not hold up passenger
                // requests on this worker: each report costs tens of µs.
                tokio::task::yield_now().await;
            }
            Ok(_) => {}
            Err(e) => {
                metrics.mqtt_connected.set(0);
                warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "broker connection failed; reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
