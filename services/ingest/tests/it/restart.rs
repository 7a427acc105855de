//! Messages survive restarts and crashes of the ingest service: the broker
//! keeps what was not acknowledged, and the database makes repeats no-ops.
use std::{collections::BTreeSet, time::Duration};

use chrono::Utc;
use kagoshima_proto::Message;
use kagoshima_tests::{TestDb, eventually, free_port, mqtt::Device, unique};

use crate::support::{IngestProcess, TestIngest, config, filters_for, http_get, tap, topic};

#[tokio::test]
async fn messages_sent_while_ingest_is_down_arrive_once_after_restart() {
    let vehicle = unique("tram");
    let db = TestDb::new().await;
    let config = config(&db, filters_for(&[&vehicle]));
    let first = TestIngest::spawn_with(db, config.clone()).await;
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now();
    let early = tap(&vehicle, &unique("ev"), now).encode_to_vec();
    device.publish(&topic(&vehicle, "tap"), early.clone()).await;
    eventually("first tap stored", Duration::from_secs(10), || async {
        (first.db.count("SELECT count(*) FROM taps").await == 1).then_some(())
    })
    .await;
    let db = first.stop().await;

    // While it is down: five new taps, and the first one again.
    for _ in 0..5 {
        device
            .publish(
                &topic(&vehicle, "tap"),
                tap(&vehicle, &unique("ev"), now).encode_to_vec(),
            )
            .await;
    }
    device.publish(&topic(&vehicle, "tap"), early).await;

    let second = TestIngest::spawn_with(db, config).await;
    eventually(
        "queued taps stored after restart",
        Duration::from_secs(15),
        || async { (second.db.count("SELECT count(*) FROM taps").await == 6).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(second.db.count("SELECT count(*) FROM taps").await, 6);
    device.disconnect().await;
    second.stop().await;
}

#[tokio::test]
async fn kill_9_under_load_loses_nothing_acknowledged_and_stores_nothing_twice() {
    let vehicle = unique("tram");
    let db = TestDb::new().await;
    let mut cfg = config(&db, filters_for(&[&vehicle]));
    cfg.grpc.listen = format!("127.0.0.1:{}", free_port());
    cfg.http.listen = format!("127.0.0.1:{}", free_port());
    let process = IngestProcess::new(&cfg);
    let start = || process.start();

    let mut ingest = start();
    // Until its first subscription exists, the broker keeps nothing for ingest.
    let health = format!("http://{}/healthz", cfg.http.listen);
    eventually("ingest subscribed", Duration::from_secs(20), || async {
        http_get(&health)
            .await
            .filter(|(code, _)| *code == 200)
            .map(|_| ())
    })
    .await;
    let publisher = tokio::spawn({
        let vehicle = vehicle.clone();
        async move {
            let mut device = Device::connect(&unique("device")).await;
            let mut acked = Vec::new();
            for _ in 0..600 {
                let id = unique("ev");
                device
                    .publish(
                        &topic(&vehicle, "tap"),
                        tap(&vehicle, &id, Utc::now()).encode_to_vec(),
                    )
                    .await;
                acked.push(id);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            device.disconnect().await;
            acked
        }
    });

    // Let it store some, then kill it mid-stream.
    eventually("ingest storing", Duration::from_secs(20), || async {
        (db.count("SELECT count(*) FROM taps").await > 50).then_some(())
    })
    .await;
    ingest.kill().await.expect("kill -9");
    let at_kill = db.count("SELECT count(*) FROM taps").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ingest = start();
    let order = publisher.await.expect("publisher");
    let acked: BTreeSet<String> = order.iter().cloned().collect();
    assert_eq!(acked.len(), 600);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while db.count("SELECT count(*) FROM taps").await < 600
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT event_id FROM taps")
        .fetch_all(db.pool())
        .await
        .expect("event ids");
    let distinct: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), distinct.len(), "a tap was stored twice");
    let missing: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, id)| !distinct.contains(*id))
        .map(|(i, _)| i)
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged taps number {missing:?} were not stored (stored {at_kill} at the kill)"
    );
    assert_eq!(
        distinct, acked,
        "stored taps differ from the acknowledged ones"
    );
    assert!(
        at_kill < 600,
        "the kill came after everything was stored; the test proved nothing"
    );
    eprintln!(
        "fault report: ingest killed with kill -9 after {at_kill} stored: sent 600, acknowledged by the broker {}, stored {} (distinct {})",
        acked.len(),
        stored.len(),
        distinct.len()
    );
    ingest.kill().await.ok();
}
