//! The MQTT side of ingest: a reader that keeps the broker connection alive and
//! a writer that stores messages in batches, acknowledging each message to the
//! broker only after the transaction holding it has committed.
//!
//! Delivery is at least once (QoS 1, persistent session, manual acks) and the
//! database makes repeats no-ops, so every message is stored exactly once.
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use kagoshima_domain::{
    card_data,
    validation::{Reason, Rejection},
};
use kagoshima_runtime::{admin_http::Health, shutdown::Shutdown};
use kagoshima_storage::{Batch, BatchOutcome, DeadLetter, Store};
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, PubAck, Publish,
    QoS, SubscribeReasonCode,
};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, error, info, warn};

use crate::{
    config::{BatchConfig, MqttConfig},
    metrics::{IngestMetrics, KindLabel, ReasonLabel},
    pipeline::{Fate, Pipeline, Slot, add_dead_letter},
};

/// How long a shutdown waits for a failing database before leaving the
/// unacknowledged messages to the broker.
const SHUTDOWN_WRITE_GRACE: Duration = Duration::from_secs(10);

/// How long writing acknowledgements to the broker may take.
const ACK_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the consumer needs.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub mqtt: MqttConfig,
    pub batch: BatchConfig,
    pub pipeline: Pipeline,
    pub store: Store,
    pub metrics: IngestMetrics,
    pub health: Health,
}

impl Consumer {
    fn options(&self) -> MqttOptions {
        let mut options = MqttOptions::new(&self.mqtt.client_id, &self.mqtt.host, self.mqtt.port);
        options
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_keep_alive(Duration::from_secs(self.mqtt.keep_alive_s.max(5)))
            .set_max_packet_size(self.mqtt.max_packet_bytes, self.mqtt.max_packet_bytes);
        if !self.mqtt.username.is_empty() {
            options.set_credentials(&self.mqtt.username, self.mqtt.password.expose());
        }
        options
    }

    /// Runs until `shutdown`, then stores and acknowledges what it holds.
    pub async fn run(self, shutdown: Shutdown) {
        let (tx, rx) = mpsc::channel(self.batch.max_pending.max(1));
        let writer_done = Shutdown::new();
        self.health.degrade("mqtt", "connecting to the broker");
        let reader = tokio::spawn(read_loop(
            self.options(),
            self.mqtt.subscriptions(),
            tx,
            self.metrics.clone(),
            self.health.clone(),
            shutdown.clone(),
            writer_done.clone(),
        ));
        self.write_loop(rx, &shutdown).await;
        // The reader flushes the last acknowledgements, then disconnects.
        writer_done.cancel();
        match tokio::time::timeout(Duration::from_secs(5), reader).await {
            Ok(_) => info!("mqtt consumer stopped"),
            Err(_) => warn!("mqtt reader did not stop within 5 s"),
        }
    }

    async fn write_loop(&self, mut rx: mpsc::Receiver<Received>, shutdown: &Shutdown) {
        let max = self.batch.max_messages.max(1);
        loop {
            let first = tokio::select! {
                m = rx.recv() => m,
                () = shutdown.cancelled() => {
                    // Take what was already received, then stop.
                    rx.close();
                    rx.recv().await
                }
            };
            let Some(first) = first else { return };
            let mut messages = vec![first];
            let deadline = tokio::time::Instant::now() + self.batch.max_wait();
            while messages.len() < max {
                match rx.try_recv() {
                    Ok(m) => messages.push(m),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        match tokio::time::timeout_at(deadline, rx.recv()).await {
                            Ok(Some(m)) => messages.push(m),
                            Ok(None) | Err(_) => break,
                        }
                    }
                }
            }
            self.metrics
                .pending
                .set(i64::try_from(rx.len()).unwrap_or(i64::MAX));
            if !self.store_and_ack(messages, shutdown).await {
                return;
            }
        }
    }

    /// Stores a batch and acknowledges its messages. Returns false when the
    /// batch could not be stored before shutdown (nothing acknowledged then).
    async fn store_and_ack(&self, messages: Vec<Received>, shutdown: &Shutdown) -> bool {
        let now = Utc::now();
        let mut batch = Batch::default();
        let slots: Vec<Slot> = messages
            .iter()
            .map(|m| {
                self.pipeline
                    .add_mqtt(&mut batch, &m.publish.topic, &m.publish.payload, now)
            })
            .collect();
        match self.write_with_retry(&batch, shutdown).await {
            Written::Done(outcome) => {
                self.record_lag(&batch);
                self.ack_all(&messages, &slots, &outcome).await;
                true
            }
            Written::GaveUp => false,
            // One message poisons the batch (the database refuses its data):
            // store the messages one by one so only that one is dead-lettered.
            Written::Refused(e) => {
                warn!(error = %e, messages = messages.len(), "the database refused a batch; retrying message by message");
                for message in messages {
                    if !self.store_alone(message, shutdown, now).await {
                        return false;
                    }
                }
                true
            }
        }
    }

    async fn store_alone(
        &self,
        message: Received,
        shutdown: &Shutdown,
        now: DateTime<Utc>,
    ) -> bool {
        let publish = &message.publish;
        let mut batch = Batch::default();
        let mut slot = self
            .pipeline
            .add_mqtt(&mut batch, &publish.topic, &publish.payload, now);
        let outcome = match self.write_with_retry(&batch, shutdown).await {
            Written::Done(outcome) => outcome,
            Written::GaveUp => return false,
            Written::Refused(e) => {
                let rejection = Rejection::new(
                    Reason::StorageRejected,
                    format!("the database refused the row: {e}"),
                );
                let letter = DeadLetter::new("mqtt", &rejection, &publish.payload, now)
                    .with_topic(&publish.topic);
                let mut dead = Batch::default();
                slot = add_dead_letter(&mut dead, letter, &rejection);
                match self.write_with_retry(&dead, shutdown).await {
                    Written::Done(outcome) => outcome,
                    // A dead letter is plain text and bytes: refused only if the
                    // database is broken; keep the message with the broker.
                    Written::GaveUp | Written::Refused(_) => return false,
                }
            }
        };
        self.record_lag(&batch);
        self.ack_all(std::slice::from_ref(&message), &[slot], &outcome)
            .await;
        true
    }

    /// Writes a batch, retrying while the database is unreachable.
    async fn write_with_retry(&self, batch: &Batch, shutdown: &Shutdown) -> Written {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        let mut failing_since: Option<Instant> = None;
        loop {
            match self.store.write_batch(batch).await {
                Ok(outcome) => {
                    if failing_since.is_some() {
                        info!("database writes recovered");
                    }
                    self.health.recover("database");
                    self.metrics
                        .batch_seconds
                        .observe(started.elapsed().as_secs_f64());
                    self.metrics.batch_messages.observe(batch.len() as f64);
                    return Written::Done(outcome);
                }
                Err(e) if e.is_data_error() => return Written::Refused(e),
                Err(e) => {
                    self.metrics.write_errors.inc();
                    self.health
                        .degrade("database", format!("batch write failing: {e}"));
                    error!(error = %e, rows = batch.len(), "batch write failed; holding the batch unacknowledged and retrying");
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if shutdown.is_cancelled() && since.elapsed() > SHUTDOWN_WRITE_GRACE {
                        warn!(
                            rows = batch.len(),
                            "giving up at shutdown; the broker keeps these messages"
                        );
                        return Written::GaveUp;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn record_lag(&self, batch: &Batch) {
        let committed = Utc::now();
        for row in &batch.positions {
            self.metrics
                .store_lag_seconds
                .observe((committed - row.recorded_at).num_milliseconds().max(0) as f64 / 1000.0);
        }
    }

    /// Counts each message's fate and acknowledges it to the broker.
    async fn ack_all(&self, messages: &[Received], slots: &[Slot], outcome: &BatchOutcome) {
        for (message, slot) in messages.iter().zip(slots) {
            let publish = &message.publish;
            match slot.fate(outcome) {
                Fate::Stored => {
                    self.metrics
                        .stored
                        .get_or_create(&KindLabel { kind: slot.kind() })
                        .inc();
                }
                Fate::Duplicate => {
                    self.metrics
                        .duplicates
                        .get_or_create(&KindLabel { kind: slot.kind() })
                        .inc();
                }
                Fate::DeadLettered => {
                    if let Slot::DeadLetter(reason) = slot {
                        self.metrics
                            .dead_lettered
                            .get_or_create(&ReasonLabel { reason })
                            .inc();
                        warn!(reason, topic = %card_data::mask_str(&publish.topic), "message dead-lettered");
                    }
                }
            }
            // Acknowledged on the connection it came by, or not at all: when that
            // connection is gone the broker redelivers the message on the next
            // one, and the database recognises the repeat. An acknowledgement
            // must never reach another connection, where the broker may have
            // given its packet id to a different message.
            message.acks.ack(publish).await;
        }
        debug!(
            messages = messages.len(),
            stored = outcome.stored(),
            duplicates = outcome.duplicates(),
            "batch committed"
        );
    }
}

/// The result of writing one batch.
enum Written {
    Done(BatchOutcome),
    /// The database refused the data (not a connection problem).
    Refused(kagoshima_storage::StorageError),
    /// Shutdown came while the database was unreachable.
    GaveUp,
}

/// A message and the acknowledgement path of the connection it arrived on.
#[derive(Debug)]
struct Received {
    publish: Publish,
    acks: Acks,
}

/// Acknowledgements for one connection, written by its reader straight onto
/// the socket, in bulk, before it reads anything more.
///
/// Not through rumqttc's request channel: its event loop sends one request
/// per poll and reads up to ten packets per poll, so under a backlog at the
/// broker acknowledgements fall behind reading without bound; and while the
/// reader waits for room in the pending queue nothing polls, so a writer
/// waiting to queue an acknowledgement and a reader waiting for the writer
/// stopped each other for good (a 60,000 msg/s benchmark did this within
/// seconds; Mosquitto's `max_inflight_messages` did not bound the backlog).
#[derive(Debug, Clone)]
struct Acks {
    pkids: mpsc::UnboundedSender<u16>,
    wake: Arc<Notify>,
    client: AsyncClient,
}

impl Acks {
    async fn ack(&self, publish: &Publish) {
        let sent = match publish.qos {
            QoS::AtMostOnce => return,
            QoS::AtLeastOnce => self.pkids.send(publish.pkid).is_ok(),
            // Not subscribed at QoS 2; rumqttc's own path keeps its state right.
            QoS::ExactlyOnce => self.client.ack(publish).await.is_ok(),
        };
        if sent {
            self.wake.notify_one();
        } else {
            debug!("ack not sent: its connection is gone");
        }
    }
}

/// Writes the queued acknowledgements onto the connection and flushes once.
async fn flush_acks(
    eventloop: &mut EventLoop,
    pkids: &mut mpsc::UnboundedReceiver<u16>,
    buffer: &mut Vec<u16>,
) -> Result<(), ConnectionError> {
    while let Ok(pkid) = pkids.try_recv() {
        buffer.push(pkid);
    }
    if buffer.is_empty() {
        return Ok(());
    }
    let Some(network) = eventloop.network.as_mut() else {
        // Not connected: these belong to a connection that is gone.
        buffer.clear();
        return Ok(());
    };
    for pkid in buffer.drain(..) {
        network.write(Packet::PubAck(PubAck::new(pkid))).await?;
    }
    match tokio::time::timeout(ACK_FLUSH_TIMEOUT, network.flush()).await {
        Ok(flushed) => Ok(flushed?),
        Err(_) => Err(ConnectionError::FlushTimeout),
    }
}

/// Keeps a connection to the broker: a new client and event loop for every
/// connection, so nothing queued for a dead connection is sent on a new one.
async fn read_loop(
    options: MqttOptions,
    subscriptions: Vec<String>,
    tx: mpsc::Sender<Received>,
    metrics: IngestMetrics,
    health: Health,
    shutdown: Shutdown,
    writer_done: Shutdown,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let (client, mut eventloop) = AsyncClient::new(options.clone(), 4096);
        let (pkids, mut to_ack) = mpsc::unbounded_channel();
        let wake = Arc::new(Notify::new());
        let acks = Acks {
            pkids,
            wake: wake.clone(),
            client: client.clone(),
        };
        let mut ack_buffer = Vec::with_capacity(4096);
        let mut disconnecting = false;
        let error = 'connection: loop {
            // Acknowledgements first: the broker frees what they cover.
            if let Err(e) = flush_acks(&mut eventloop, &mut to_ack, &mut ack_buffer).await {
                break e;
            }
            // Cancelling a poll is safe here: it loses no packet read (they
            // wait in the event loop's state) and its only requests are the
            // subscription and the disconnect.
            let event = tokio::select! {
                event = eventloop.poll() => event,
                () = wake.notified() => continue,
                () = writer_done.cancelled(), if !disconnecting => {
                    // After the writer's last acknowledgements.
                    disconnecting = true;
                    if let Err(e) = flush_acks(&mut eventloop, &mut to_ack, &mut ack_buffer).await {
                        debug!(error = %e, "last acknowledgements not sent");
                    }
                    if client.try_disconnect().is_err() {
                        return;
                    }
                    continue;
                }
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    info!(
                        session_present = ack.session_present,
                        "connected to the broker"
                    );
                    metrics.mqtt_connected.set(1);
                    backoff = Duration::from_millis(200);
                    // Subscribing again is harmless when the session survived.
                    let filters = subscriptions
                        .iter()
                        .map(|f| rumqttc::SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
                    if let Err(e) = client.try_subscribe_many(filters) {
                        error!(error = %e, "cannot queue the subscription");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    if ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure))
                    {
                        error!(subscriptions = ?subscriptions, "the broker refused the subscription (check the broker ACL)");
                        health
                            .degrade("mqtt", format!("subscription to {subscriptions:?} refused"));
                    } else {
                        info!(subscriptions = ?subscriptions, "subscribed");
                        health.recover("mqtt");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    metrics.count_received(kind_of(&publish.topic));
                    if shutdown.is_cancelled() {
                        // Not acknowledged: the broker keeps it for the next run.
                        continue;
                    }
                    let message = Received {
                        publish,
                        acks: acks.clone(),
                    };
                    // Waits for room without reading more (the broker holds the
                    // rest), but keeps sending the acknowledgements the writer
                    // makes while it frees that room.
                    loop {
                        tokio::select! {
                            permit = tx.reserve() => {
                                if let Ok(permit) = permit {
                                    permit.send(message);
                                }
                                break;
                            }
                            () = wake.notified() => {
                                if let Err(e) = flush_acks(&mut eventloop, &mut to_ack, &mut ack_buffer).await {
                                    break 'connection e;
                                }
                            }
                            () = shutdown.cancelled() => break,
                        }
                    }
                }
                Ok(Event::Outgoing(Outgoing::Disconnect)) if disconnecting => return,
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        metrics.mqtt_connected.set(0);
        if writer_done.is_cancelled() {
            return;
        }
        health.degrade("mqtt", format!("broker connection lost: {error}"));
        warn!(error = %error, retry_in_ms = backoff.as_millis() as u64, "broker connection failed; reconnecting");
        drop(eventloop);
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = writer_done.cancelled() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// The kind segment of a topic, for metrics (bounded label values).
fn kind_of(topic: &str) -> &'static str {
    topic
        .rsplit('/')
        .next()
        .and_then(kagoshima_domain::topic::Kind::parse)
        .map_or("unknown", |k| k.as_str())
}
