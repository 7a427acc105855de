//! Load generators: QoS 1 publishers that count the broker's acknowledgements,
//! either as fast as the broker takes messages or paced like a real fleet.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use chrono::{DateTime, Utc};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

use crate::fleet::{Encoding, Fleet, MessageSet, Vehicle, encode, position, to_micros};

/// Messages a publisher keeps unacknowledged at most.
const INFLIGHT: u16 = 1000;

/// One MQTT publisher connection whose event loop runs in a task of its own.
pub struct Connection {
    pub client: AsyncClient,
    acked: Arc<AtomicU64>,
    driver: JoinHandle<anyhow::Result<()>>,
}

impl Connection {
    pub async fn open(host: &str, port: u16, client_id: &str) -> anyhow::Result<Connection> {
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_inflight(INFLIGHT)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e).context("publisher cannot connect"),
                Err(_) => anyhow::bail!("publisher: no CONNACK within 10 s"),
            }
        }
        let acked = Arc::new(AtomicU64::new(0));
        let counter = acked.clone();
        let driver = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        });
        Ok(Connection {
            client,
            acked,
            driver,
        })
    }

    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until the broker has acknowledged `sent` messages, then disconnects.
    pub async fn finish(self, sent: u64, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        while self.acked() < sent && Instant::now() < deadline {
            if self.driver.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let acked = self.acked();
        let _ = self.client.disconnect().await;
        if tokio::time::timeout(Duration::from_secs(2), self.driver)
            .await
            .is_err()
        {
            // The event loop did not see its DISCONNECT go out; the task is
            // dropped with the runtime.
        }
        Ok(acked)
    }
}

/// Opens `n` publisher connections.
pub async fn connect_all(
    host: &str,
    port: u16,
    prefix: &str,
    n: usize,
) -> anyhow::Result<Vec<Connection>> {
    let mut out = Vec::with_capacity(n);
    for c in 0..n {
        out.push(Connection::open(host, port, &format!("{prefix}-pub-{c}")).await?);
    }
    Ok(out)
}

/// What a load generator did.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub sent: u64,
    pub acked: u64,
    /// From the first publish to the last one handed to the client.
    pub publishing: Duration,
}

/// Publishes a whole message set as fast as the broker acknowledges it.
pub async fn burst(
    connections: Vec<Connection>,
    set: &MessageSet,
    encoding: Encoding,
) -> anyhow::Result<Published> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (connection, messages) in connections.into_iter().zip(set.per_connection.iter()) {
        let messages = messages.clone();
        tasks.push(tokio::spawn(async move {
            for m in &messages {
                connection
                    .client
                    .publish_bytes(
                        m.topic.to_string(),
                        QoS::AtLeastOnce,
                        false,
                        m.payload(encoding),
                    )
                    .await?;
            }
            let done = started.elapsed();
            let sent = messages.len() as u64;
            let acked = connection.finish(sent, Duration::from_secs(120)).await?;
            anyhow::Ok((sent, acked, done))
        }));
    }
    let mut out = Published {
        sent: 0,
        acked: 0,
        publishing: Duration::ZERO,
    };
    for t in tasks {
        let (sent, acked, done) = t.await??;
        out.sent += sent;
        out.acked += acked;
        out.publishing = out.publishing.max(done);
    }
    Ok(out)
}

/// A fleet reporting at `hz` for `duration`, each vehicle at its own phase
/// within the period (vehicles are not synchronised), with `recorded_at` the
/// moment the report is published.
#[derive(Debug, Clone)]
pub struct Pacing {
    pub hz: f64,
    pub duration: Duration,
    pub encoding: Encoding,
}

/// The key of a published message, for the queryability probe.
pub type Key = (Arc<str>, DateTime<Utc>);

/// Paced publishing. Reports of vehicles in `probes` are announced on
/// `probe_tx` just before they are published; the last key published on
/// each connection is returned.
pub async fn paced(
    connections: Vec<Connection>,
    fleet: &Fleet,
    pacing: &Pacing,
    probes: Arc<std::collections::HashSet<Arc<str>>>,
    probe_tx: mpsc::UnboundedSender<Key>,
) -> anyhow::Result<(Published, Vec<Key>)> {
    let n = connections.len().max(1);
    let period = Duration::from_secs_f64(1.0 / pacing.hz.max(0.001));
    let ticks = (pacing.duration.as_secs_f64() * pacing.hz).round().max(1.0) as u64;
    let started = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::new();
    for (c, connection) in connections.into_iter().enumerate() {
        // Vehicle i reports at phase i/len of the period, on connection i % n.
        let mine: Vec<(Duration, Vehicle)> = fleet
            .vehicles
            .iter()
            .filter(|v| v.index % n == c)
            .map(|v| {
                (
                    period.mul_f64(v.index as f64 / fleet.len().max(1) as f64),
                    v.clone(),
                )
            })
            .collect();
        let (probes, probe_tx, encoding) = (probes.clone(), probe_tx.clone(), pacing.encoding);
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            let mut last: Option<Key> = None;
            for tick in 0..ticks {
                let base = started + period.mul_f64(tick as f64);
                for (phase, v) in &mine {
                    let due = base + *phase;
                    // Sleeping for every message would cost more than it
                    // gains: messages due within 2 ms go together.
                    if due > Instant::now() + Duration::from_millis(2) {
                        tokio::time::sleep_until(due).await;
                    }
                    let at = to_micros(Utc::now());
                    let p = position(v, at);
                    if probes.contains(&v.id) {
                        let _ = probe_tx.send((v.id.clone(), at));
                    }
                    connection
                        .client
                        .publish_bytes(
                            v.topic.to_string(),
                            QoS::AtLeastOnce,
                            false,
                            encode(&p, encoding),
                        )
                        .await?;
                    sent += 1;
                    last = Some((v.id.clone(), at));
                }
            }
            let done = started.elapsed();
            let acked = connection.finish(sent, Duration::from_secs(120)).await?;
            anyhow::Ok((sent, acked, done, last))
        }));
    }
    drop(probe_tx);
    let mut out = Published {
        sent: 0,
        acked: 0,
        publishing: Duration::ZERO,
    };
    let mut last_keys = Vec::new();
    for t in tasks {
        let (sent, acked, done, last) = t.await??;
        out.sent += sent;
        out.acked += acked;
        out.publishing = out.publishing.max(done);
        last_keys.extend(last);
    }
    Ok((out, last_keys))
}
