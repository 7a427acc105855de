//! Positions from the broker: its own QoS 1 subscription with a persistent
//! session. Live state needs no exactly-once (a repeated report is a no-op
//! for the tracker), so messages are acknowledged on receipt.
use std::time::Duration;

use kagoshima_domain::topic::{DeviceTopic, Kind};
use kagoshima_proto::v1::Position;
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_tracker::Report;
use prost::Message;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tracing::{debug, info, warn};

use crate::config::MqttConfig;
use crate::live::{Live, now};

/// Decodes a position payload (protobuf, or proto3 JSON when it starts with `{`).
pub fn decode_position(topic: &str, payload: &[u8], received_at: f64) -> Result<Report, String> {
    let t = DeviceTopic::parse(topic).map_err(|e| format!("bad topic: {e}"))?;
    if t.kind != Kind::Position {
        return Err("not a position".into());
    }
    let json = payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let p: Position = if json {
        kagoshima_proto::json::decode(payload).map_err(|e| format!("bad json: {e}"))?
    } else {
        Position::decode(payload).map_err(|e| format!("bad protobuf: {e}"))?
    };
    if p.vehicle_id != t.vehicle_id {
        return Err(format!(
            "vehicle {:?} does not match the topic's {:?}",
            p.vehicle_id, t.vehicle_id
        ));
    }
    let recorded = p
        .recorded_at
        .as_ref()
        .map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
        .ok_or("no recorded_at")?;
    if !(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon) {
        return Err("coordinates out of range".into());
    }
    Ok(Report {
        vehicle_id: p.vehicle_id,
        recorded_at: recorded,
        received_at,
        lat: p.lat,
        lon: p.lon,
        bearing: p.bearing.map(f64::from),
        speed: p.speed.map(f64::from),
        trip_id: Some(p.trip_id).filter(|s| !s.is_empty()),
        route_id: Some(p.route_id).filter(|s| !s.is_empty()),
    })
}

/// Runs until shutdown, reconnecting as needed.
pub async fn consume(config: MqttConfig, live: Live, shutdown: Shutdown) {
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
                if let Err(e) = client.try_subscribe(&config.topic_filter, QoS::AtLeastOnce) {
                    warn!(error = %e, "cannot queue the subscription");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                match decode_position(&p.topic, &p.payload, now()) {
                    Ok(report) => live.ingest(&report),
                    Err(reason) => debug!(topic = %p.topic, reason, "position ignored"),
                }
                // A burst of buffered reports must not hold up passenger
                // requests on this worker: each report costs tens of µs.
                tokio::task::yield_now().await;
            }
            Ok(_) => {}
            Err(e) => {
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
