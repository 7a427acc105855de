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
        Device::try_connect(client_id, host, port, None)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the MQTT broker at {host}:{port}: {e}; is it running? (see README)"))
    }

    /// Connects with optional credentials; the error says why the broker refused.
    pub async fn try_connect(
        client_id: &str,
        host: &str,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<Device, String> {
        let mut options = MqttOptions::new(client_id, host, port);
        if let Some((user, password)) = credentials {
            options.set_credentials(user, password);
        }
        options
            .set_keep_alive(Duration::from_secs(10))
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("no CONNACK within 10 s".into()),
            }
        }
        Ok(Device { client, eventloop })
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

/// A device that keeps publishing through broker restarts: it retries a
/// message until the broker acknowledges it (so the broker may get it twice,
/// which the platform must absorb).
pub struct ResilientDevice {
    client: AsyncClient,
    eventloop: EventLoop,
}

impl ResilientDevice {
    pub fn new(client_id: &str, host: &str, port: u16) -> ResilientDevice {
        let mut options = MqttOptions::new(client_id, host, port);
        options.set_keep_alive(Duration::from_secs(5));
        let (client, eventloop) = AsyncClient::new(options, 64);
        ResilientDevice { client, eventloop }
    }

    /// Returns once the broker has acknowledged `payload`, reconnecting and
    /// publishing again as often as needed (up to `deadline`).
    pub async fn publish(&mut self, topic: &str, payload: Vec<u8>, deadline: Duration) -> bool {
        let give_up = tokio::time::Instant::now() + deadline;
        let mut pkids = Vec::new();
        'attempt: while tokio::time::Instant::now() < give_up {
            if self
                .client
                .try_publish(topic, QoS::AtLeastOnce, false, payload.clone())
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let attempt_ends = tokio::time::Instant::now() + Duration::from_secs(3);
            loop {
                match tokio::time::timeout_at(attempt_ends, self.eventloop.poll()).await {
                    Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => pkids.push(pkid),
                    Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) if pkids.contains(&ack.pkid) => {
                        return true;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(_)) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue 'attempt;
                    }
                    Err(_) => continue 'attempt,
                }
            }
        }
        false
    }
}
