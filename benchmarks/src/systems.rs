//! The systems under test, each started fresh for a run: our ingest (in this
//! process for the paced fleets), a plain MQTT subscriber (the broker alone),
//! and the consumers compared side by side as child processes: our ingest
//! binary and the peers (Node-RED and a Python ingester).
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use kagoshima_ingest::{Application, IngestConfig};
use kagoshima_runtime::{secret::Secret, shutdown::Shutdown};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, PubAck, QoS};
use sqlx::PgPool;
use tokio::{process::Child, sync::Notify, task::JoinHandle, time::Instant};

use crate::{
    fleet::{Encoding, Fleet, encode, position, to_micros},
    publish::Connection,
};

/// The topic filter every consumer subscribes to.
pub const FILTER: &str = "kagoshima/v1/+/+/position";

/// Our ingest service, running in this process.
pub struct Ingest {
    /// `/metrics` and `/healthz`.
    pub http: std::net::SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), kagoshima_ingest::IngestError>>,
}

/// Ingest settings a run may change.
#[derive(Debug, Clone, Copy)]
pub struct IngestTuning {
    pub batch: usize,
    pub max_wait_ms: u64,
}

impl Ingest {
    pub async fn start(
        db_url: &str,
        port: u16,
        client_id: &str,
        tuning: IngestTuning,
    ) -> anyhow::Result<Ingest> {
        let mut config = IngestConfig::default();
        config.database.url = Secret::new(db_url);
        config.mqtt.host = "127.0.0.1".into();
        config.mqtt.port = port;
        config.mqtt.client_id = client_id.into();
        config.mqtt.topic_filters = vec![FILTER.into()];
        config.card_hash_key = Secret::new("b".repeat(64));
        config.grpc.listen = "127.0.0.1:0".into();
        config.http.listen = "127.0.0.1:0".into();
        config.batch.max_messages = tuning.batch;
        config.batch.max_wait_ms = tuning.max_wait_ms;
        let app = Application::build(config)
            .await
            .context("starting ingest")?;
        let http = app.http_addr();
        tracing::info!(%http, "ingest metrics");
        let shutdown = Shutdown::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Ok(Ingest {
            http,
            shutdown,
            task,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(())
    }
}

/// The broker alone: a plain QoS 1 subscriber that acknowledges each message
/// as it arrives and only counts it: with rumqttc's automatic acks (one
/// packet each), or with `bulk` acks written straight onto the socket once
/// per read (what ingest does after its commits).
pub struct Subscriber {
    pub received: Arc<AtomicU64>,
    reached: Arc<Notify>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Subscriber {
    /// Connects and subscribes; returns once the broker confirmed the
    /// subscription. `target` messages wake [`Subscriber::wait`].
    pub async fn start(
        port: u16,
        client_id: &str,
        target: u64,
        bulk: bool,
    ) -> anyhow::Result<Subscriber> {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_manual_acks(bulk)
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        client.subscribe(FILTER, QoS::AtLeastOnce).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e).context("subscriber cannot connect"),
                Err(_) => anyhow::bail!("subscriber: no SUBACK within 10 s"),
            }
        }
        let received = Arc::new(AtomicU64::new(0));
        let reached = Arc::new(Notify::new());
        let (counter, notify) = (received.clone(), reached.clone());
        let task = tokio::spawn(async move {
            let _client = client;
            let mut pkids = Vec::new();
            loop {
                if let Event::Incoming(Packet::Publish(p)) = eventloop.poll().await? {
                    if bulk {
                        pkids.push(p.pkid);
                    }
                    if counter.fetch_add(1, Ordering::Relaxed) + 1 == target {
                        notify.notify_one();
                    }
                }
                // Everything read so far is counted: acknowledge it at once.
                if !pkids.is_empty()
                    && eventloop.state.events.is_empty()
                    && let Some(network) = eventloop.network.as_mut()
                {
                    for pkid in pkids.drain(..) {
                        network.write(Packet::PubAck(PubAck::new(pkid))).await?;
                    }
                    network.flush().await?;
                }
            }
        });
        Ok(Subscriber {
            received,
            reached,
            task,
        })
    }

    /// Waits until the target count arrived (true) or `timeout` passed.
    pub async fn wait(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.reached.notified())
            .await
            .is_ok()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A consumer (broker → database) in a child process: ours or a peer.
pub struct Consumer {
    child: Child,
    log: PathBuf,
}

/// Which consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConsumerKind {
    /// Our `kagoshima-ingest` binary, built beside this harness.
    Ingest,
    NodeRed,
    Python,
}

impl ConsumerKind {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerKind::Ingest => "kagoshima-ingest",
            ConsumerKind::NodeRed => "Node-RED",
            ConsumerKind::Python => "Python",
        }
    }

    /// Whether it is there to run, and if not, what to do about it.
    pub fn missing(self, peers: &Path) -> Option<&'static str> {
        let (present, remedy) = match self {
            ConsumerKind::Ingest => (
                ingest_binary().is_some_and(|b| b.exists()),
                "cargo build --release -p kagoshima-ingest",
            ),
            ConsumerKind::NodeRed => (
                peers.join("node-red/node_modules/node-red/red.js").exists(),
                "benchmarks/peers/install.sh",
            ),
            ConsumerKind::Python => (
                peers.join("python/.venv/bin/python").exists(),
                "benchmarks/peers/install.sh",
            ),
        };
        (!present).then_some(remedy)
    }
}

/// `kagoshima-ingest` from the folder this harness was built into.
fn ingest_binary() -> Option<PathBuf> {
    Some(
        std::env::current_exe()
            .ok()?
            .parent()?
            .join("kagoshima-ingest"),
    )
}

impl Consumer {
    /// Starts the consumer against the broker on `port` and the database at
    /// `db_url` (its sessions named [`crate::cpu::CONSUMER_APPLICATION`]),
    /// logging into `work`.
    pub async fn start(
        kind: ConsumerKind,
        peers: &Path,
        work: &Path,
        db_url: &str,
        port: u16,
        client_id: &str,
        tuning: IngestTuning,
    ) -> anyhow::Result<Consumer> {
        std::fs::create_dir_all(work)?;
        let log = work.join(format!("{client_id}.log"));
        let out = std::fs::File::create(&log)?;
        let db_url = crate::cpu::consumer_url(db_url);
        let mut command = match kind {
            ConsumerKind::Ingest => {
                let mut c = tokio::process::Command::new(
                    ingest_binary().context("where is this harness?")?,
                );
                // The same settings as the in-process ingest of the paced runs.
                c.env("KAGOSHIMA_CARD_HASH_KEY", "b".repeat(64))
                    .env("KAGOSHIMA_MQTT__HOST", "127.0.0.1")
                    .env("KAGOSHIMA_MQTT__PORT", port.to_string())
                    .env("KAGOSHIMA_MQTT__CLIENT_ID", client_id)
                    .env("KAGOSHIMA_MQTT__TOPIC_FILTERS", format!("[\"{FILTER}\"]"))
                    .env("KAGOSHIMA_GRPC__LISTEN", "127.0.0.1:0")
                    .env("KAGOSHIMA_HTTP__LISTEN", "127.0.0.1:0")
                    .env("KAGOSHIMA_BATCH__MAX_MESSAGES", tuning.batch.to_string())
                    .env(
                        "KAGOSHIMA_BATCH__MAX_WAIT_MS",
                        tuning.max_wait_ms.to_string(),
                    )
                    .env("KAGOSHIMA_LOG__FILTER", "warn");
                c
            }
            ConsumerKind::NodeRed => {
                let dir = peers.join("node-red");
                let user_dir = work.join(client_id);
                std::fs::create_dir_all(&user_dir)?;
                std::fs::copy(dir.join("flows.json"), user_dir.join("flows.json"))?;
                let mut c = tokio::process::Command::new("node");
                c.arg(dir.join("node_modules/node-red/red.js"))
                    .arg("--settings")
                    .arg(dir.join("settings.js"))
                    .arg("--userDir")
                    .arg(&user_dir)
                    .arg("--port")
                    .arg(kagoshima_tests::free_port().to_string())
                    .arg(user_dir.join("flows.json"));
                c
            }
            ConsumerKind::Python => {
                let dir = peers.join("python");
                let mut c = tokio::process::Command::new(dir.join(".venv/bin/python"));
                c.arg(dir.join("ingest.py"));
                c
            }
        };
        command
            .env("MQTT_HOST", "127.0.0.1")
            .env("MQTT_PORT", port.to_string())
            .env("MQTT_CLIENT_ID", client_id)
            .env("MQTT_TOPIC", FILTER)
            .env("DATABASE_URL", &db_url)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", kind.name()))?;
        Ok(Consumer { child, log })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The last lines of its log, to explain a failure.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Publishes a report of a probe vehicle every 200 ms until one is stored,
/// so the consumer is known to be subscribed and writing; then removes the
/// probe rows. Returns how long that took.
pub async fn until_ready(
    pool: &PgPool,
    port: u16,
    prefix: &str,
    encoding: Encoding,
    timeout: Duration,
    mut alive: impl FnMut() -> bool,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let fleet = Fleet::new(&format!("{prefix}-probe"), 1);
    let vehicle = &fleet.vehicles[0];
    let connection = Connection::open("127.0.0.1", port, &format!("{prefix}-probe")).await?;
    let mut sent = 0;
    loop {
        let at = to_micros(Utc::now()) - TimeDelta::seconds(1);
        connection
            .client
            .publish_bytes(
                vehicle.topic.to_string(),
                QoS::AtLeastOnce,
                false,
                encode(&position(vehicle, at), encoding),
            )
            .await?;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM vehicle_positions WHERE vehicle_id = $1")
                .bind(&*vehicle.id)
                .fetch_one(pool)
                .await?;
        if stored > 0 {
            break;
        }
        if !alive() {
            anyhow::bail!("the consumer exited before it was ready");
        }
        if started.elapsed() > timeout {
            anyhow::bail!("the consumer stored nothing within {timeout:?}");
        }
    }
    connection.finish(sent, Duration::from_secs(5)).await?;
    // Let the probes still in flight land before removing them.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(5) {
        let stored: i64 =
            sqlx::query_scalar("SELECT count(*) FROM vehicle_positions WHERE vehicle_id = $1")
                .bind(&*vehicle.id)
                .fetch_one(pool)
                .await?;
        if stored >= i64::try_from(sent)? {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query("DELETE FROM vehicle_positions WHERE vehicle_id = $1")
        .bind(&*vehicle.id)
        .execute(pool)
        .await?;
    Ok(started.elapsed())
}
