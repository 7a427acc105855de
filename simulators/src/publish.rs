//! Publishers: the layer between simulated time and the world. Events go to
//! the MQTT broker (QoS 1, paced to the wall clock at a chosen speed) or to a
//! recording file (JSON lines), which `replay` plays back.
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::day::{Encoding, SimEvent};
use crate::tokens::{base64_decode, base64_encode};

/// A message ready for the wire.
#[derive(Debug, Clone)]
pub struct WireMessage {
    pub publish_at: DateTime<Utc>,
    pub topic: String,
    pub payload: Vec<u8>,
}

impl WireMessage {
    pub fn from_event(e: &SimEvent, encoding: Encoding) -> WireMessage {
        WireMessage {
            publish_at: e.publish_at,
            topic: e.topic.to_string(),
            payload: e.payload.encode(encoding),
        }
    }
}

/// One line of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordLine {
    pub topic: String,
    /// The original publish instant (UTC, RFC 3339).
    pub published_at: String,
    /// The payload bytes in base64 (protobuf or JSON as published).
    pub payload_b64: String,
}

/// Writes a recording: one JSON object per line.
pub fn write_recording(path: &std::path::Path, messages: &[WireMessage]) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for m in messages {
        let line = RecordLine {
            topic: m.topic.clone(),
            published_at: m.publish_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            payload_b64: base64_encode(&m.payload),
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a recording written by [`write_recording`].
pub fn read_recording(path: &std::path::Path) -> anyhow::Result<Vec<WireMessage>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let r: RecordLine =
            serde_json::from_str(&line).with_context(|| format!("line {}", i + 1))?;
        out.push(WireMessage {
            publish_at: DateTime::parse_from_rfc3339(&r.published_at)
                .with_context(|| format!("line {}: published_at", i + 1))?
                .with_timezone(&Utc),
            topic: r.topic,
            payload: base64_decode(&r.payload_b64)
                .with_context(|| format!("line {}: payload_b64 is not base64", i + 1))?,
        });
    }
    Ok(out)
}

/// An MQTT connection that publishes at QoS 1 and counts the broker's acks.
pub struct MqttPublisher {
    client: AsyncClient,
    acked: Arc<AtomicU64>,
    sent: u64,
    task: JoinHandle<anyhow::Result<()>>,
}

impl MqttPublisher {
    /// Connects (waits for the CONNACK).
    pub async fn connect(host: &str, port: u16, client_id: &str) -> anyhow::Result<Self> {
        let mut options = MqttOptions::new(client_id, host, port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_inflight(1000)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    anyhow::bail!("cannot connect to the mqtt broker at {host}:{port}: {e}")
                }
                Err(_) => {
                    anyhow::bail!("no connack from the mqtt broker at {host}:{port} within 10 s")
                }
            }
        }
        let acked = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let acked = acked.clone();
            async move {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::PubAck(_))) => {
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                        Ok(_) => {}
                        Err(e) => {
                            // rumqttc reconnects (and resends unacked QoS 1) on the next poll.
                            eprintln!("mqtt connection error: {e}; reconnecting");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            }
        });
        Ok(MqttPublisher {
            client,
            acked,
            sent: 0,
            task,
        })
    }

    pub async fn publish(&mut self, topic: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .context("queueing a publish")?;
        self.sent += 1;
        Ok(())
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until the broker acknowledged every publish, then disconnects.
    /// Returns the number acknowledged.
    pub async fn finish(self, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.acked() < self.sent && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let acked = self.acked();
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
        if acked < self.sent {
            anyhow::bail!(
                "broker acknowledged {acked} of {} messages within {timeout:?}",
                self.sent
            );
        }
        Ok(acked)
    }
}

/// How simulated time maps to the wall clock.
#[derive(Debug, Clone, Copy)]
pub enum Pacing {
    /// As fast as the broker takes it.
    Unpaced,
    /// `speed` simulated seconds per wall second, starting at the first message.
    Speed(f64),
    /// Real time: each message at its own instant; earlier ones are skipped.
    WallClock,
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    use std::io::IsTerminal;
    let pb = ProgressBar::with_draw_target(
        Some(len),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_prefix(what.to_owned());
    pb
}

/// Statistics of a publishing run.
#[derive(Debug, Clone, Copy)]
pub struct PlayStats {
    pub published: u64,
    pub acked: u64,
    pub skipped: u64,
    pub wall: Duration,
}

/// Publishes `messages` (sorted by `publish_at`) onto the broker with `pacing`.
pub async fn play(
    messages: &[WireMessage],
    publisher: MqttPublisher,
    pacing: Pacing,
    progress: &ProgressBar,
) -> anyhow::Result<PlayStats> {
    let mut publisher = publisher;
    let started = tokio::time::Instant::now();
    let sim_start = messages.first().map(|m| m.publish_at);
    let mut skipped = 0;
    for (i, m) in messages.iter().enumerate() {
        match pacing {
            Pacing::Unpaced => {}
            Pacing::Speed(speed) => {
                let sim = (m.publish_at - sim_start.unwrap_or(m.publish_at))
                    .to_std()
                    .unwrap_or_default();
                let target = started + sim.div_f64(speed.max(1e-6));
                if target > tokio::time::Instant::now() + Duration::from_millis(2) {
                    tokio::time::sleep_until(target).await;
                }
            }
            Pacing::WallClock => {
                let now = Utc::now();
                if m.publish_at < now - chrono::Duration::seconds(2) {
                    skipped += 1;
                    continue;
                }
                if let Ok(wait) = (m.publish_at - now).to_std() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
        publisher.publish(&m.topic, m.payload.clone()).await?;
        if i % 256 == 0 {
            progress.set_position(i as u64 + 1);
            progress.set_message(m.publish_at.format("%H:%M:%SZ").to_string());
        }
    }
    progress.set_position(messages.len() as u64);
    let published = publisher.sent();
    let acked = publisher.finish(Duration::from_secs(60)).await?;
    progress.finish();
    Ok(PlayStats {
        published,
        acked,
        skipped,
        wall: started.elapsed(),
    })
}
