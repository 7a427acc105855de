//! An embedded MQTT broker (rumqttd) for the demo, so nothing but Rust and
//! PostgreSQL is needed to see the platform alive.
use std::{collections::HashMap, net::SocketAddr};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Starts a broker on `listen` in a thread of its own (rumqttd runs its own
/// runtime); it lives as long as the process.
pub fn start_embedded(listen: SocketAddr) -> anyhow::Result<()> {
    let server = ServerSettings {
        name: "demo".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: 256 * 1024,
            // Room for ingest to hold a batch unacknowledged.
            max_inflight_count: 10_000,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_000,
            max_outgoing_packet_count: 10_000,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("demo".to_owned(), server)])),
        v5: None,
        ws: None,
        cluster: None,
        console: None,
        bridge: None,
        prometheus: None,
        metrics: None,
    };
    // Fail early and clearly when the port is taken.
    std::net::TcpListener::bind(listen).map_err(|e| {
        anyhow::anyhow!("cannot listen for MQTT on {listen}: {e} (choose another with --mqtt-port)")
    })?;
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            let mut broker = Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !answers_mqtt(listen) {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the embedded broker did not start on {listen}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// Whether an MQTT 3.1.1 CONNECT on `listen` gets its CONNACK. A full
/// session (connect, acknowledge, disconnect) rather than a bare TCP probe:
/// rumqttd logs a connection closed before CONNECT as an ERROR.
fn answers_mqtt(listen: SocketAddr) -> bool {
    use std::io::{Read, Write};
    const CLIENT_ID: &[u8] = b"city-ready-probe";
    let Ok(mut stream) =
        std::net::TcpStream::connect_timeout(&listen, std::time::Duration::from_millis(500))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(1)));
    // Fixed header, then "MQTT", level 4, clean session, keep-alive 10 s.
    let mut connect = vec![0x10, (10 + 2 + CLIENT_ID.len()) as u8];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10]);
    connect.extend_from_slice(&[0, CLIENT_ID.len() as u8]);
    connect.extend_from_slice(CLIENT_ID);
    let mut connack = [0u8; 4];
    let accepted = stream.write_all(&connect).is_ok()
        && stream.read_exact(&mut connack).is_ok()
        && connack[0] == 0x20
        && connack[3] == 0;
    let _ = stream.write_all(&[0xE0, 0]);
    accepted
}
