use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use kagoshima_sim::Summary;
use kagoshima_tests::{eventually, mqtt::broker, unique};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::support::temp_dir;

/// The binary plays a tiny accelerated day onto the real broker, and every
/// message arrives under the run's own vehicle ids.
#[tokio::test]
async fn a_tiny_accelerated_day_arrives_on_the_broker() {
    let prefix = unique("simtest");
    let (host, port) = broker();
    let mut options = MqttOptions::new(unique("sim-sub"), host.clone(), port);
    options
        .set_keep_alive(Duration::from_secs(10))
        .set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    for v in ["tram-101", "tram-102"] {
        client
            // QoS 0 to the subscriber: no per-client inflight window at the broker
            // (mosquitto queues at most 1000 QoS 1 messages for a slow client).
            .subscribe(format!("kagoshima/v1/tram/{prefix}-{v}/#"), QoS::AtMostOnce)
            .await
            .expect("subscribe");
    }
    let received = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<String, u64>::new()));
    let (subacks_tx, mut subacks_rx) = tokio::sync::mpsc::channel(4);
    let task = tokio::spawn({
        let received = received.clone();
        async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let kind = p.topic.rsplit('/').next().unwrap_or("").to_owned();
                        *received.lock().expect("lock").entry(kind).or_default() += 1;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subacks_tx.send(()).await;
                    }
                    Ok(_) => {}
                    Err(e) => panic!("subscriber: {e}"),
                }
            }
        }
    });
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), subacks_rx.recv())
            .await
            .expect("suback");
    }
    let out = temp_dir("simday");
    let status = Command::new(env!("CARGO_BIN_EXE_kagoshima-sim"))
        .args([
            "day",
            "--speed",
            "20000",
            "--scale",
            "0.02",
            "--max-vehicles",
            "2",
        ])
        .args([
            "--vehicle-prefix",
            &prefix,
            "--mqtt",
            &format!("{host}:{port}"),
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run kagoshima-sim");
    assert!(status.success());
    let summary: Summary =
        serde_json::from_slice(&std::fs::read(out.join("truth/summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(summary.vehicles, 2);
    eventually("every message arrives", Duration::from_secs(20), || {
        let received = received.clone();
        let want = summary.clone();
        async move {
            let r = received.lock().expect("lock").clone();
            let got = |k: &str| r.get(k).copied().unwrap_or(0);
            if got("position") > want.positions {
                panic!("more positions than published: {r:?}");
            }
            (got("position") == want.positions
                && got("tap") == want.taps_published
                && got("passengers") == want.passenger_counts
                && got("status") == want.status)
                .then_some(())
        }
    })
    .await;
    task.abort();
    let _ = std::fs::remove_dir_all(&out);
}
