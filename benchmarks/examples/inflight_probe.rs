use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering::Relaxed},
};
use std::time::Duration;
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let broker = kagoshima_tests::broker::PrivateBroker::start_with("autosave_interval 30");
    let mut o = MqttOptions::new("sub-x", "127.0.0.1", broker.port);
    o.set_clean_session(false).set_manual_acks(true);
    let (c, mut el) = AsyncClient::new(o, 1_000_000);
    c.subscribe("t/#", QoS::AtLeastOnce).await?;
    let got = Arc::new(AtomicU64::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let max_out = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (g, a, m) = (got.clone(), acked.clone(), max_out.clone());
    tokio::spawn(async move {
        loop {
            if let Ok(Event::Incoming(Packet::Publish(p))) = el.poll().await {
                let n = g.fetch_add(1, Relaxed) + 1;
                let out = n - a.load(Relaxed);
                m.fetch_max(out, Relaxed);
                let _ = tx.send(p);
            }
        }
    });
    let a2 = acked.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            while let Ok(p) = rx.try_recv() {
                c.ack(&p).await.unwrap();
                a2.fetch_add(1, Relaxed);
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut po = MqttOptions::new("pub-x", "127.0.0.1", broker.port);
    po.set_inflight(1000);
    let (p, mut pel) = AsyncClient::new(po, 10000);
    tokio::spawn(async move {
        loop {
            if pel.poll().await.is_err() {
                break;
            }
        }
    });
    for _ in 0..200000 {
        p.publish("t/x", QoS::AtLeastOnce, false, vec![b'x'; 100])
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "received {} acked(requested) {} max received-minus-ack-requested {}",
        got.load(Relaxed),
        acked.load(Relaxed),
        max_out.load(Relaxed)
    );
    Ok(())
}
