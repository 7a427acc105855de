//! A test device: publishes QoS 1 messages to the real broker and knows which
//! ones the broker acknowledged.
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};

/// `(host, port)` of the broker under test.
pub fn broker() -> (String, u16) {
    let addr = std::env::var("KAGOSHIMA_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".to_owned());
    let (host, port) = addr
        .rsplit_once(':')
        .expect("KAGOSHIMA_TEST_MQTT is host:port");
    (
        host.to_owned(),
        port.parse().expect("KAGOSHIMA_TEST_MQTT port"),
    )
}

/// A publisher that waits for the broker's PUBACK of every message.
pub struct Device {
    client: AsyncClient,
    eventloop: EventLoop,
}

impl Device {
    pub async fn connect(client_id: &str) -> Device {
        let (host, port) = broker();
        Device::connect_to(client_id, &host, port).await
    }

    pub async fn connect_to(client_id: &str, host: &str, port: u16) -> Device {
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(10))
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!(
                    "cannot connect to the MQTT broker at {host}:{port}: {e}; is it running? (see README)"
                ),
                Err(_) => panic!("no CONNACK from the MQTT broker at {host}:{port} within 10 s"),
            }
        }
        Device { client, eventloop }
    }

    /// Publishes at QoS 1 and returns once the broker has acknowledged it.
    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .expect("queue publish");
        let mut sent = None;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.eventloop.poll()).await {
                Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => sent = Some(pkid),
                Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) if Some(ack.pkid) == sent => return,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("publish failed: {e}"),
                Err(_) => panic!("no PUBACK within 10 s"),
            }
        }
    }

    pub async fn disconnect(mut self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while self.eventloop.poll().await.is_ok() {}
        })
        .await;
    }
}
