//! Load mode: N synthetic vehicles reporting at M Hz over several MQTT
//! connections, as fast as asked, for benchmarks. Positions are valid, inside
//! the service area and unique per (vehicle, recorded_at) to the millisecond.
use std::time::Duration;

use chrono::{DateTime, Utc};
use kagoshima_domain::topic::{DeviceTopic, Kind, Mode};
use kagoshima_proto::Message as _;
use kagoshima_proto::v1::Position;

use crate::projection::{ORIGIN, Xy, to_latlon};
use crate::publish::MqttPublisher;
use crate::schedule::vehicle_id;

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub host: String,
    pub port: u16,
    pub vehicles: usize,
    pub hz: f64,
    pub duration: Duration,
    pub connections: usize,
    pub vehicle_prefix: String,
}

#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    pub published: u64,
    pub acked: u64,
    pub elapsed: Duration,
    /// Messages per second the broker acknowledged.
    pub rate: f64,
    /// Messages per second asked for.
    pub target_rate: f64,
}

/// The synthetic position of load vehicle `i` at `t`: circles of 0.5-3 km
/// radius around 天文館 (inside the service area).
pub fn load_position(id: &str, i: usize, t: DateTime<Utc>) -> Position {
    let r = 500.0 + (i % 50) as f64 * 50.0;
    let w = 0.002 + (i % 7) as f64 * 0.0005;
    let a = t.timestamp_millis() as f64 / 1000.0 * w + i as f64;
    let (lat, lon) = to_latlon(Xy {
        x: r * a.cos(),
        y: r * a.sin(),
    });
    debug_assert!(lat > ORIGIN.0 - 0.1);
    Position {
        vehicle_id: id.to_owned(),
        recorded_at: Some(kagoshima_proto::Timestamp {
            seconds: t.timestamp(),
            nanos: (t.timestamp_subsec_millis() * 1_000_000) as i32,
        }),
        lat,
        lon,
        bearing: Some(((a.to_degrees() + 90.0).rem_euclid(360.0)) as f32),
        speed: Some((r * w) as f32),
        accuracy: Some(8.0),
        trip_id: String::new(),
        route_id: String::new(),
        odometer: None,
    }
}

/// Runs the load and reports the achieved rate.
pub async fn run_load(cfg: &LoadConfig) -> anyhow::Result<LoadReport> {
    let conns = cfg.connections.clamp(1, cfg.vehicles.max(1));
    let started = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let cfg = cfg.clone();
        tasks.push(tokio::spawn(async move {
            let client_id = format!("{}load-{c}-{}", cfg.vehicle_prefix, std::process::id());
            let mut publisher = MqttPublisher::connect(&cfg.host, cfg.port, &client_id).await?;
            let mine: Vec<(usize, String, String)> = (c..cfg.vehicles)
                .step_by(conns)
                .map(|i| {
                    let id = vehicle_id(&cfg.vehicle_prefix, &format!("load-{i:05}"));
                    let topic = DeviceTopic::new(Mode::Bus, id.clone(), Kind::Position).to_string();
                    (i, id, topic)
                })
                .collect();
            let mut last_ms = vec![i64::MIN; mine.len()];
            let period = Duration::from_secs_f64(1.0 / cfg.hz.max(0.001));
            let start = tokio::time::Instant::now();
            let mut tick = 0u64;
            while start.elapsed() < cfg.duration {
                for (k, (i, id, topic)) in mine.iter().enumerate() {
                    let mut now = Utc::now();
                    let ms = now.timestamp_millis().max(last_ms[k] + 1);
                    last_ms[k] = ms;
                    now = DateTime::from_timestamp_millis(ms).unwrap_or(now);
                    publisher
                        .publish(topic, load_position(id, *i, now).encode_to_vec())
                        .await?;
                }
                tick += 1;
                tokio::time::sleep_until(start + period.mul_f64(tick as f64)).await;
            }
            let sent = publisher.sent();
            let acked = publisher.finish(Duration::from_secs(60)).await?;
            anyhow::Ok((sent, acked))
        }));
    }
    let (mut published, mut acked) = (0, 0);
    for t in tasks {
        let (s, a) = t.await??;
        published += s;
        acked += a;
    }
    let elapsed = started.elapsed();
    Ok(LoadReport {
        published,
        acked,
        elapsed,
        rate: acked as f64 / elapsed.as_secs_f64(),
        target_rate: cfg.vehicles as f64 * cfg.hz,
    })
}
