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
    while std::net::TcpStream::connect(listen).is_err() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the embedded broker did not start on {listen}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}
