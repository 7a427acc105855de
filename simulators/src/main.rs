//! `kagoshima-sim`: plays a Kagoshima day onto the MQTT broker, replays
//! recordings, generates load and writes back-office files.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Args, Parser, Subcommand};
use kagoshima_domain::calendar::transit_service_day;
use kagoshima_sim::check::check_feed;
use kagoshima_sim::feed::sample_feed_dir;
use kagoshima_sim::load::{LoadConfig, run_load};
use kagoshima_sim::publish::{
    MqttPublisher, Pacing, WireMessage, play, progress_bar, read_recording, write_recording,
};
use kagoshima_sim::{Encoding, Feed, NoiseConfig, SimConfig, backoffice, simulate_day};

/// Kagoshima transit simulators: trams, city buses and あいばす publishing
/// positions, taps, passenger counts and heartbeats over MQTT (QoS 1, topics
/// kagoshima/v1/{mode}/{vehicle_id}/{kind}), with ground truth.
///
/// Examples:
///   kagoshima-sim day --speed 600                 # yesterday (JST) in ~2.4 min
///   kagoshima-sim day --realtime                  # today, paced to the wall clock
///   kagoshima-sim day --date 2025-06-10 --no-mqtt --out run1 --record run1/messages.jsonl
///   kagoshima-sim replay run1/messages.jsonl --speed 100
///   kagoshima-sim load --vehicles 2000 --hz 1 --duration 20
///   kagoshima-sim backoffice --from 2025-06-01 --to 2025-06-30 --out backoffice
///   kagoshima-sim check-feed
#[derive(Debug, Parser)]
#[command(version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a service day and publish it (accelerated by default: yesterday, JST).
    Day(DayArgs),
    /// Play a recorded message file (from `day --record`) onto the broker.
    Replay(ReplayArgs),
    /// Publish synthetic positions as fast as asked and report the achieved rate.
    Load(LoadArgs),
    /// Write かごりん bike-share trips and 1-day ticket sales CSVs for a date range.
    Backoffice(BackofficeArgs),
    /// Validate a GTFS feed (default: the shipped sample feed).
    CheckFeed {
        /// The feed folder or zip.
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct MqttArgs {
    /// Broker address host:port.
    #[arg(long, default_value = "127.0.0.1:1883", env = "KAGOSHIMA_SIM_MQTT")]
    mqtt: String,
}

impl MqttArgs {
    fn host_port(&self) -> anyhow::Result<(String, u16)> {
        let (h, p) = self
            .mqtt
            .rsplit_once(':')
            .context("--mqtt must be host:port")?;
        Ok((h.to_owned(), p.parse().context("--mqtt port")?))
    }
}

#[derive(Debug, Args)]
struct DayArgs {
    /// Service date (JST). Default: yesterday's service day (today's with --realtime).
    #[arg(long)]
    date: Option<NaiveDate>,
    /// Simulated seconds per wall-clock second (600: a day in ~2.4 min; 0: unpaced).
    #[arg(long, default_value_t = 600.0, conflicts_with = "realtime")]
    speed: f64,
    /// Today, paced to the wall clock (messages before now are skipped).
    #[arg(long)]
    realtime: bool,
    /// Random seed: the same seed gives the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rider demand multiplier (1.0 ≈ 30,000 tram rides a day).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Prefix for every vehicle id ("{prefix}-tram-101"), to keep runs apart.
    #[arg(long, default_value = "")]
    vehicle_prefix: String,
    /// Simulate only the first N vehicles.
    #[arg(long)]
    max_vehicles: Option<usize>,
    /// GTFS feed folder or zip (default: the shipped sample feed).
    #[arg(long)]
    feed: Option<PathBuf>,
    /// Write the ground truth to DIR/truth/.
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Also record every message to FILE (JSON lines) for `replay`.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Do not publish (only write truth and recording).
    #[arg(long)]
    no_mqtt: bool,
    /// Payload encoding.
    #[arg(long, value_enum, default_value_t = Encoding::Proto)]
    encoding: Encoding,
    #[command(flatten)]
    mqtt: MqttArgs,
    #[command(flatten)]
    noise: NoiseArgs,
}

#[derive(Debug, Args)]
struct NoiseArgs {
    /// Exact positions and clocks, regular reports, every driver logged in.
    #[arg(long)]
    no_noise: bool,
    /// GPS error standard deviation per axis, metres (truncated at 4 σ).
    #[arg(long, default_value_t = 10.0)]
    gps_sigma: f64,
    /// Share of reports that are outliers.
    #[arg(long, default_value_t = 0.02)]
    outlier_share: f64,
    /// Largest outlier error, metres.
    #[arg(long, default_value_t = 300.0)]
    outlier_max: f64,
    /// Shortest and longest seconds between reports.
    #[arg(long, default_value_t = 5.0)]
    interval_min: f64,
    #[arg(long, default_value_t = 15.0)]
    interval_max: f64,
    /// Share of reports after which the device is silent for 1-3 min.
    #[arg(long, default_value_t = 0.05)]
    gap_share: f64,
    /// Share of devices whose clock is off, and by at most how many seconds.
    #[arg(long, default_value_t = 0.05)]
    clock_offset_share: f64,
    #[arg(long, default_value_t = 90.0)]
    clock_offset_max: f64,
}

impl NoiseArgs {
    fn config(&self) -> NoiseConfig {
        if self.no_noise {
            return NoiseConfig::none();
        }
        NoiseConfig {
            enabled: true,
            sigma_m: self.gps_sigma,
            outlier_share: self.outlier_share,
            outlier_max_m: self.outlier_max,
            interval_s: (self.interval_min, self.interval_max.max(self.interval_min)),
            gap_share: self.gap_share,
            clock_offset_share: self.clock_offset_share,
            clock_offset_max_s: self.clock_offset_max,
            ..NoiseConfig::default()
        }
    }
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The recording (JSON lines: topic, published_at, payload_b64).
    file: PathBuf,
    /// Simulated seconds per wall-clock second (0: unpaced).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    #[command(flatten)]
    mqtt: MqttArgs,
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[arg(long, default_value_t = 1000)]
    vehicles: usize,
    /// Reports per vehicle per second.
    #[arg(long, default_value_t = 1.0)]
    hz: f64,
    /// Seconds to run.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// MQTT connections to spread the vehicles over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    #[arg(long, default_value = "")]
    vehicle_prefix: String,
    #[command(flatten)]
    mqtt: MqttArgs,
}

#[derive(Debug, Args)]
struct BackofficeArgs {
    #[arg(long)]
    from: NaiveDate,
    #[arg(long)]
    to: NaiveDate,
    #[arg(long, default_value = "backoffice")]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Day(a) => day(a).await,
        Command::Replay(a) => replay(a).await,
        Command::Load(a) => {
            let (host, port) = a.mqtt.host_port()?;
            let r = run_load(&LoadConfig {
                host,
                port,
                vehicles: a.vehicles,
                hz: a.hz,
                duration: Duration::from_secs(a.duration),
                connections: a.connections,
                vehicle_prefix: a.vehicle_prefix,
            })
            .await?;
            println!(
                "load: {} vehicles x {} Hz for {} s over {} connections: published {}, acked {} in {:.1} s = {:.0} msg/s (asked {:.0} msg/s)",
                a.vehicles,
                a.hz,
                a.duration,
                a.connections,
                r.published,
                r.acked,
                r.elapsed.as_secs_f64(),
                r.rate,
                r.target_rate
            );
            Ok(())
        }
        Command::Backoffice(a) => {
            let (b, s, nb, ns) = backoffice::write_backoffice(
                a.from,
                a.to,
                a.seed,
                &kagoshima_sim::FareConfig::default(),
                &a.out,
            )?;
            println!("{nb} bike-share trips → {}", b.display());
            println!("{ns} ticket sales → {}", s.display());
            Ok(())
        }
        Command::CheckFeed { dir } => {
            let dir = dir.unwrap_or_else(sample_feed_dir);
            let report = check_feed(&dir);
            for p in &report.problems {
                println!("problem: {p}");
            }
            println!(
                "{}: {} trips, {} stops checked, largest stop-to-shape distance {:.1} m, {} problems",
                dir.display(),
                report.trips_checked,
                report.stops_checked,
                report.max_stop_shape_distance_m,
                report.problems.len()
            );
            if !report.is_ok() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn day(a: DayArgs) -> anyhow::Result<()> {
    let today = transit_service_day(Utc::now());
    let date = a.date.unwrap_or(if a.realtime {
        today
    } else {
        today.pred_opt().context("date")?
    });
    let feed_dir = a.feed.clone().unwrap_or_else(sample_feed_dir);
    let feed = Feed::load(&feed_dir)?;
    let mut config = SimConfig::new(date);
    config.seed = a.seed;
    config.scale = a.scale;
    config.vehicle_prefix = a.vehicle_prefix.clone();
    config.max_vehicles = a.max_vehicles;
    config.noise = a.noise.config();
    let t0 = Instant::now();
    let sim = simulate_day(&feed, &config);
    let s = &sim.truth.summary;
    eprintln!(
        "simulated {date} in {:.1} s: {} vehicles, {} messages ({} positions, {} taps, {} passenger counts, {} status), {} rides",
        t0.elapsed().as_secs_f64(),
        s.vehicles,
        s.messages,
        s.positions,
        s.taps_published,
        s.passenger_counts,
        s.status,
        s.rides
    );
    sim.truth.write(&a.out)?;
    eprintln!("ground truth in {}", a.out.join("truth").display());
    let messages: Vec<WireMessage> = sim
        .events
        .iter()
        .map(|e| WireMessage::from_event(e, a.encoding))
        .collect();
    if let Some(path) = &a.record {
        write_recording(path, &messages)?;
        eprintln!("recorded {} messages to {}", messages.len(), path.display());
    }
    if a.no_mqtt {
        return Ok(());
    }
    let pacing = if a.realtime {
        Pacing::WallClock
    } else if a.speed > 0.0 {
        Pacing::Speed(a.speed)
    } else {
        Pacing::Unpaced
    };
    publish_all(&messages, &a.mqtt, pacing, &a.vehicle_prefix).await
}

async fn publish_all(
    messages: &[WireMessage],
    mqtt: &MqttArgs,
    pacing: Pacing,
    prefix: &str,
) -> anyhow::Result<()> {
    let (host, port) = mqtt.host_port()?;
    let client_id = format!("kagoshima-sim-{prefix}-{}", std::process::id());
    let publisher = MqttPublisher::connect(&host, port, &client_id).await?;
    let pb = progress_bar(messages.len() as u64, "publishing");
    let stats = play(messages, publisher, pacing, &pb).await?;
    println!(
        "published {} messages ({} acknowledged, {} skipped) to {host}:{port} in {:.1} s ({:.0} msg/s)",
        stats.published,
        stats.acked,
        stats.skipped,
        stats.wall.as_secs_f64(),
        stats.published as f64 / stats.wall.as_secs_f64().max(1e-9)
    );
    Ok(())
}

async fn replay(a: ReplayArgs) -> anyhow::Result<()> {
    let mut messages = read_recording(&a.file)?;
    messages.sort_by_key(|m| m.publish_at);
    let pacing = if a.speed > 0.0 {
        Pacing::Speed(a.speed)
    } else {
        Pacing::Unpaced
    };
    publish_all(&messages, &a.mqtt, pacing, "replay").await
}
