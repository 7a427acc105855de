//! Fault tests (issue: nothing lost, nobody in). Each is bounded in time and
//! uses loopback only. Short forms run by default; `KAGOSHIMA_FAULTS=long`
//! runs the long forms (a 30 s database outage, more messages).
use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use kagoshima_proto::Message;
use kagoshima_storage::{Store, private_postgres::PrivatePostgres};
use kagoshima_tests::{
    TestDb, broker::PrivateBroker, eventually, free_port, mqtt::ResilientDevice, unique,
};
use tokio::task::JoinHandle;

use crate::support::{
    IngestProcess, config_on, http_get, position, start, stop, tap, topic, wait_healthy,
};

fn long() -> bool {
    std::env::var("KAGOSHIMA_FAULTS").is_ok_and(|v| v == "long")
}

/// A device publishing taps, one after another, each until the broker
/// acknowledged it; returns the acknowledged event ids in order.
fn tap_publisher(
    port: u16,
    vehicle: String,
    count: usize,
    pace: Duration,
) -> JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut device = ResilientDevice::new(&unique("device"), "127.0.0.1", port);
        let mut acked = Vec::new();
        for _ in 0..count {
            let id = unique("ev");
            let payload = tap(&vehicle, &id, Utc::now()).encode_to_vec();
            if device
                .publish(&topic(&vehicle, "tap"), payload, Duration::from_secs(60))
                .await
            {
                acked.push(id);
            }
            tokio::time::sleep(pace).await;
        }
        acked
    })
}

async fn stored_event_ids(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT event_id FROM taps")
        .fetch_all(store.pool())
        .await
        .expect("event ids")
}

/// Waits until every acknowledged tap is stored, then checks exactly once.
/// Prints what was sent, acknowledged and stored (`--nocapture` shows it).
async fn assert_exactly_once(fault: &str, sent: usize, store: &Store, acked: &[String]) {
    let wanted: BTreeSet<&String> = acked.iter().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stored = stored_event_ids(store).await;
        let have: BTreeSet<&String> = stored.iter().collect();
        if wanted.is_subset(&have) || tokio::time::Instant::now() > deadline {
            assert_eq!(stored.len(), have.len(), "a tap was stored twice");
            let missing: Vec<usize> = acked
                .iter()
                .enumerate()
                .filter(|(_, id)| !have.contains(id))
                .map(|(i, _)| i)
                .collect();
            if !missing.is_empty() {
                let letters: Vec<(String, String)> =
                    sqlx::query_as("SELECT reason, detail FROM dead_letters")
                        .fetch_all(store.pool())
                        .await
                        .unwrap_or_default();
                panic!(
                    "acknowledged taps {missing:?} of {} were lost (dead letters: {letters:?})",
                    acked.len()
                );
            }
            eprintln!(
                "fault report: {fault}: sent {sent}, acknowledged by the broker {}, stored {} (distinct {})",
                acked.len(),
                stored.len(),
                have.len()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_database_outage_under_load_holds_messages_and_loses_none() {
    let outage = if long() {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(4)
    };
    let dir = std::env::temp_dir().join(unique("kagoshima-pg"));
    let mut postgres = PrivatePostgres::start(&dir, free_port()).expect("private postgres");
    let url = postgres.url("kagoshima");
    let broker = PrivateBroker::start();
    let vehicle = unique("tram");
    let config = config_on(
        &url,
        "127.0.0.1",
        broker.port,
        vec!["kagoshima/v1/+/+/+".into()],
    );
    let (_, http, shutdown, handle) = start(config).await;
    wait_healthy(http).await;
    let store = Store::connect(&url, 2).await.expect("connect");

    let count = if long() { 2_000 } else { 400 };
    let publisher = tap_publisher(
        broker.port,
        vehicle.clone(),
        count,
        Duration::from_millis(10),
    );
    eventually(
        "storing before the outage",
        Duration::from_secs(20),
        || async { (stored_event_ids(&store).await.len() > 20).then_some(()) },
    )
    .await;

    postgres.pause().expect("stop postgres");
    let health = format!("http://{http}/healthz");
    let body = eventually("health says degraded", Duration::from_secs(20), || async {
        http_get(&health)
            .await
            .filter(|(code, _)| *code == 503)
            .map(|(_, body)| body)
    })
    .await;
    assert!(
        body.contains("degraded") && body.contains("database"),
        "{body}"
    );
    tokio::time::sleep(outage).await;
    postgres.resume().expect("start postgres");
    eventually("health recovers", Duration::from_secs(30), || async {
        http_get(&health)
            .await
            .filter(|(code, _)| *code == 200)
            .map(|_| ())
    })
    .await;

    let acked = publisher.await.expect("publisher");
    assert_eq!(acked.len(), count, "the broker refused some publishes");
    let store = Store::connect(&url, 2).await.expect("reconnect");
    assert_exactly_once(
        &format!("database stopped {}s", outage.as_secs()),
        count,
        &store,
        &acked,
    )
    .await;
    stop(shutdown, handle).await;
    drop(postgres);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_broker_restart_under_load_loses_nothing_acknowledged() {
    let db = TestDb::new().await;
    let mut broker = PrivateBroker::start();
    let vehicle = unique("tram");
    let config = config_on(
        &db.url,
        "127.0.0.1",
        broker.port,
        vec!["kagoshima/v1/+/+/+".into()],
    );
    let (_, http, shutdown, handle) = start(config).await;
    wait_healthy(http).await;

    let count = if long() { 2_000 } else { 300 };
    let publisher = tap_publisher(
        broker.port,
        vehicle.clone(),
        count,
        Duration::from_millis(5),
    );
    eventually(
        "storing before the restart",
        Duration::from_secs(20),
        || async { (db.count("SELECT count(*) FROM taps").await > 30).then_some(()) },
    )
    .await;
    broker.restart();
    let acked = publisher.await.expect("publisher");
    assert_eq!(
        acked.len(),
        count,
        "a publish never got through after the restart"
    );
    assert_exactly_once("broker restarted", count, &db.store, &acked).await;
    stop(shutdown, handle).await;
}

#[tokio::test]
async fn two_instances_share_the_load_and_one_killed_loses_nothing() {
    let db = TestDb::new().await;
    let broker = PrivateBroker::start();
    let vehicle = unique("tram");
    let shared = |client: &str| {
        let mut c = config_on(
            &db.url,
            "127.0.0.1",
            broker.port,
            vec!["kagoshima/v1/+/+/+".into()],
        );
        c.mqtt.share_group = Some("ingest".into());
        c.mqtt.client_id = client.to_owned();
        c
    };
    // The victim is a real process, so kill -9 takes everything with it.
    let mut victim_config = shared(&unique("ingest-a"));
    victim_config.grpc.listen = format!("127.0.0.1:{}", free_port());
    victim_config.http.listen = format!("127.0.0.1:{}", free_port());
    let victim = IngestProcess::new(&victim_config);
    let mut process = victim.start();
    let (_, http_b, shutdown_b, handle_b) = start(shared(&unique("ingest-b"))).await;
    wait_healthy(victim_config.http.listen.parse().expect("addr")).await;
    wait_healthy(http_b).await;

    let count = if long() { 2_000 } else { 400 };
    let publisher = tap_publisher(
        broker.port,
        vehicle.clone(),
        count,
        Duration::from_millis(5),
    );
    eventually(
        "storing before the kill",
        Duration::from_secs(20),
        || async { (db.count("SELECT count(*) FROM taps").await > 40).then_some(()) },
    )
    .await;
    process.kill().await.expect("kill -9");
    let at_kill = db.count("SELECT count(*) FROM taps").await;
    let acked = publisher.await.expect("publisher");
    // The survivor carries on alone.
    eventually(
        "the survivor stores what comes after the kill",
        Duration::from_secs(20),
        || async { (db.count("SELECT count(*) FROM taps").await > at_kill + 100).then_some(()) },
    )
    .await;
    // What the broker had handed to the dead instance waits in its persistent
    // session; it comes back when the instance does.
    let mut process = victim.start();
    assert_exactly_once(
        "shared subscription, one of two killed",
        count,
        &db.store,
        &acked,
    )
    .await;
    process.kill().await.ok();
    stop(shutdown_b, handle_b).await;
}

#[tokio::test]
async fn an_hour_buffered_offline_is_stored_in_order_without_moving_the_vehicle_back() {
    let db = TestDb::new().await;
    let broker = PrivateBroker::start();
    let vehicle = unique("bus");
    let config = config_on(
        &db.url,
        "127.0.0.1",
        broker.port,
        vec!["kagoshima/v1/+/+/+".into()],
    );
    let (_, http, shutdown, handle) = start(config).await;
    wait_healthy(http).await;
    let mut device = ResilientDevice::new(&unique("device"), "127.0.0.1", broker.port);
    let now = Utc::now();
    // A live report first, then the buffered hour (one report every 5 s).
    assert!(
        device
            .publish(
                &topic(&vehicle, "position"),
                position(&vehicle, now).encode_to_vec(),
                Duration::from_secs(10)
            )
            .await
    );
    let buffered = 720;
    for i in (1..=buffered).rev() {
        let at = now - chrono::Duration::seconds(5 * i);
        let payload = position(&vehicle, at).encode_to_vec();
        assert!(
            device
                .publish(
                    &topic(&vehicle, "position"),
                    payload,
                    Duration::from_secs(10)
                )
                .await
        );
    }
    eventually("the whole hour stored", Duration::from_secs(30), || async {
        (db.count("SELECT count(*) FROM vehicle_positions").await == buffered + 1).then_some(())
    })
    .await;
    let times: Vec<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT recorded_at FROM vehicle_positions ORDER BY recorded_at")
            .fetch_all(db.pool())
            .await
            .expect("times");
    assert!(
        times.windows(2).all(|w| (w[1] - w[0]).num_seconds() == 5),
        "gaps or repeats in the hour"
    );
    eprintln!(
        "fault report: an hour buffered offline: sent {}, acknowledged {}, stored {} in time order",
        buffered + 1,
        buffered + 1,
        times.len()
    );
    // The registry still says the vehicle was last seen now, not an hour ago.
    let last_seen: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT last_seen FROM devices WHERE vehicle_id = $1")
            .bind(&vehicle)
            .fetch_one(db.pool())
            .await
            .expect("device");
    assert_eq!(last_seen, *times.last().expect("times"));
    stop(shutdown, handle).await;
}

/// Publishes `count` positions of `vehicle` as fast as the broker takes
/// them (QoS 1, many in flight); returns once every one is acknowledged.
async fn flood_positions(port: u16, vehicle: &str, count: usize) {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut options = MqttOptions::new(unique("flood"), "127.0.0.1", port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(1_000);
    let (client, mut eventloop) = AsyncClient::new(options, 1_000);
    let start = Utc::now() - chrono::Duration::minutes(10);
    let topic = topic(vehicle, "position");
    let vehicle = vehicle.to_owned();
    let sender = tokio::spawn(async move {
        for i in 0..count {
            let at = start + chrono::Duration::milliseconds(i as i64 * 20);
            let payload = position(&vehicle, at).encode_to_vec();
            client
                .publish(topic.clone(), QoS::AtLeastOnce, false, payload)
                .await
                .expect("queue publish");
        }
        client
    });
    let mut acked = 0;
    while acked < count {
        match tokio::time::timeout(Duration::from_secs(30), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("flooding the broker failed after {acked} acks: {e}"),
            Err(_) => panic!("the broker stopped acknowledging after {acked} of {count}"),
        }
    }
    let client = sender.await.expect("sender");
    let _ = client.disconnect().await;
}

/// Regression: with a backlog at the broker larger than ingest's pending
/// queue, ingest once stopped for good (its acknowledgements queued behind
/// the reads they were waiting for). A backlog built while ingest is down,
/// with a pending queue of 64, must drain completely.
#[tokio::test]
async fn a_backlog_far_larger_than_the_pending_queue_drains_completely() {
    let db = TestDb::new().await;
    let broker = PrivateBroker::start();
    let vehicle = unique("bus");
    let mut config = config_on(
        &db.url,
        "127.0.0.1",
        broker.port,
        vec![format!("kagoshima/v1/+/{vehicle}/position")],
    );
    config.batch.max_pending = 64;
    config.batch.max_messages = 32;
    // A first run makes the persistent session; the backlog builds while it is down.
    let (_, http, shutdown, handle) = start(config.clone()).await;
    wait_healthy(http).await;
    stop(shutdown, handle).await;

    let count = if long() { 60_000 } else { 12_000 };
    flood_positions(broker.port, &vehicle, count).await;

    let (_, http, shutdown, handle) = start(config).await;
    wait_healthy(http).await;
    eventually(
        "the whole backlog stored",
        Duration::from_secs(if long() { 300 } else { 90 }),
        || async {
            let n = db.count("SELECT count(*) FROM vehicle_positions").await;
            (n == count as i64).then_some(())
        },
    )
    .await;
    assert_eq!(db.count("SELECT count(*) FROM dead_letters").await, 0);
    stop(shutdown, handle).await;
}
