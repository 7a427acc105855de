//! End-to-end ingest benchmark: publishers → broker → ingest → database.
//!
//! Starts the ingest service in this process against a fresh database, has
//! `--vehicles` simulated vehicles publish `--messages` positions in total at
//! QoS 1 over `--connections` MQTT connections as fast as the broker takes
//! them, and waits until every message is queryable. Reports messages per
//! second (first publish to last row committed) and the delay from publish to
//! row (p50, p99), measured in the database as `received_at - recorded_at`.
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use kagoshima_bench::{median, quantile};
use kagoshima_ingest::{Application, IngestConfig};
use kagoshima_proto::{Message, Timestamp, v1::Position};
use kagoshima_runtime::{secret::Secret, shutdown::Shutdown};
use kagoshima_tests::{TestDb, broker::PrivateBroker, unique};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

#[derive(Debug, Parser)]
#[command(about = "End-to-end ingest throughput and latency (see BENCHMARKS.md)")]
struct Args {
    /// Position messages to publish per run.
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Distinct vehicles publishing.
    #[arg(long, default_value_t = 2_000)]
    vehicles: usize,
    /// MQTT connections the publishers share.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Messages per ingest batch.
    #[arg(long, default_value_t = 2_000)]
    batch: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rates = Vec::new();
    let mut p50s = Vec::new();
    let mut p99s = Vec::new();
    for run in 1..=args.runs {
        let (rate, p50, p99) = one_run(&args).await?;
        println!("run {run}: {rate:.0} msg/s, publish→row p50 {p50:.1} ms, p99 {p99:.1} ms");
        rates.push(rate);
        p50s.push(p50);
        p99s.push(p99);
    }
    println!(
        "median of {} runs: {:.0} msg/s, p50 {:.1} ms, p99 {:.1} ms ({} messages, {} vehicles, {} connections, QoS 1)",
        args.runs,
        median(rates),
        median(p50s),
        median(p99s),
        args.messages,
        args.vehicles,
        args.connections
    );
    Ok(())
}

async fn one_run(args: &Args) -> anyhow::Result<(f64, f64, f64)> {
    let db = TestDb::new().await;
    let prefix = unique("bench");
    // A broker of our own with the project's queueing settings: the system
    // one may keep Mosquitto's defaults, which drop messages under load.
    let broker = PrivateBroker::start();
    let (host, port) = ("127.0.0.1".to_owned(), broker.port);
    let mut config = IngestConfig::default();
    config.database.url = Secret::new(db.url.clone());
    config.mqtt.host.clone_from(&host);
    config.mqtt.port = port;
    config.mqtt.client_id = unique("bench-ingest");
    config.mqtt.topic_filters = vec!["kagoshima/v1/bus/+/position".into()];
    config.card_hash_key = Secret::new("b".repeat(64));
    config.grpc.listen = "127.0.0.1:0".into();
    config.http.listen = "127.0.0.1:0".into();
    config.batch.max_messages = args.batch;
    let app = Application::build(config)
        .await
        .context("starting ingest")?;
    let shutdown = Shutdown::new();
    let service = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let per_connection = args.messages.div_ceil(args.connections);
    let mut publishers = Vec::new();
    for c in 0..args.connections {
        let (host, prefix) = (host.clone(), prefix.clone());
        let vehicles = args.vehicles.div_ceil(args.connections);
        let count = per_connection.min(args.messages - (c * per_connection).min(args.messages));
        publishers.push(tokio::spawn(async move {
            publish(&host, port, &prefix, c, count, vehicles).await
        }));
    }
    for p in publishers {
        p.await??;
    }
    let total = i64::try_from(args.messages)?;
    loop {
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM vehicle_positions")
            .fetch_one(db.pool())
            .await?;
        if stored >= total {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("only {stored} of {total} messages stored after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut delays: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM received_at - recorded_at)::float8 * 1000 FROM vehicle_positions",
    )
    .fetch_all(db.pool())
    .await?;
    delays.sort_by(f64::total_cmp);
    shutdown.cancel();
    service.await??;
    drop(broker);
    Ok((
        args.messages as f64 / elapsed,
        quantile(&delays, 0.5),
        quantile(&delays, 0.99),
    ))
}

/// Publishes `count` positions round-robin over this connection's vehicles,
/// keeping up to 100 messages in flight, and returns once all are acknowledged.
async fn publish(
    host: &str,
    port: u16,
    prefix: &str,
    connection: usize,
    count: usize,
    vehicles: usize,
) -> anyhow::Result<()> {
    let mut options = MqttOptions::new(format!("{prefix}-pub-{connection}"), host, port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    let producer = tokio::spawn({
        let prefix = prefix.to_owned();
        async move {
            for i in 0..count {
                // Each connection has vehicles of its own, so keys never collide.
                let vehicle = format!("{prefix}-{connection}-{}", i % vehicles.max(1));
                let now = Utc::now();
                let position = Position {
                    vehicle_id: vehicle.clone(),
                    recorded_at: Some(Timestamp {
                        seconds: now.timestamp(),
                        // Distinct per message so (vehicle, recorded_at) never repeats.
                        nanos: i32::try_from(now.timestamp_subsec_micros()).unwrap_or(0) * 1000,
                    }),
                    lat: 31.59 + (i % 100) as f64 * 1e-4,
                    lon: 130.55,
                    ..Default::default()
                };
                client
                    .publish(
                        format!("kagoshima/v1/bus/{vehicle}/position"),
                        QoS::AtLeastOnce,
                        false,
                        position.encode_to_vec(),
                    )
                    .await?;
            }
            anyhow::Ok(())
        }
    });
    let mut acked = 0;
    while acked < count {
        if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await? {
            acked += 1;
        }
    }
    producer.await??;
    Ok(())
}
