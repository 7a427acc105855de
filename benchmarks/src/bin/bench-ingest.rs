//! Ingest benchmarks (see BENCHMARKS.md):
//!
//! - `paced`: a fleet of `--vehicles` reporting at `--hz` for `--duration`
//!   seconds → private Mosquitto → ingest (in this process) → PostgreSQL;
//!   achieved vs offered messages per second, publish→row and
//!   publish→queryable delays (p50, p99), and rows == published.
//! - `compare`: one fixed set of messages, as fast as possible, side by side
//!   in each round: the broker alone, the database alone (binary COPY, and
//!   ingest's UNNEST writer), our ingest (protobuf and JSON payloads) and the
//!   peers (Node-RED, Python) on JSON payloads; medians of the rounds and of
//!   the per-round ratios.

/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::{
    collections::HashSet,
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_bench::{
    cpu::{self, CpuUse, Snapshot},
    dbload,
    fleet::{Encoding, Fleet, MessageSet},
    median,
    publish::{self, Pacing},
    quantile, sink,
    systems::{Consumer, ConsumerKind, Ingest, IngestTuning, Subscriber, until_ready},
};
use kagoshima_tests::{TestDb, broker::PrivateBroker, unique};

#[derive(Debug, Parser)]
#[command(
    about = "Ingest benchmarks: end to end, against the machine's limits and against peers (see BENCHMARKS.md)"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Append the summary table (markdown) to this file.
    #[arg(long, global = true)]
    summary: Option<PathBuf>,
    /// MQTT connections the load generator uses.
    #[arg(long, global = true, default_value_t = 4)]
    connections: usize,
    /// Runs (rounds); medians are reported.
    #[arg(long, global = true, default_value_t = 3)]
    runs: usize,
    /// Ingest: messages per batch (transaction).
    #[arg(long, global = true, default_value_t = 2_000)]
    batch: usize,
    /// Ingest: how long a batch waits for company, ms.
    #[arg(long, global = true, default_value_t = 20)]
    max_wait_ms: u64,
    /// Longest wait for the rows after publishing ends, seconds.
    #[arg(long, global = true, default_value_t = 60)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A fleet reporting at a fixed rate, end to end through ingest.
    Paced {
        #[arg(long, default_value_t = 2_000)]
        vehicles: usize,
        #[arg(long, default_value_t = 1.0)]
        hz: f64,
        /// Seconds of publishing.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        #[arg(long, value_enum, default_value_t = Encoding::Proto)]
        encoding: Encoding,
        /// Vehicles whose reports are timed to queryability by polling.
        #[arg(long, default_value_t = 100)]
        probes: usize,
    },
    /// The same messages as fast as possible through every system, side by side.
    Compare {
        /// Vehicles; each sends `--ticks` reports one second apart.
        #[arg(long, default_value_t = 2_000)]
        vehicles: usize,
        #[arg(long, default_value_t = 50)]
        ticks: usize,
        /// Systems to run (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<System>,
        /// Where the peers are installed (benchmarks/peers/install.sh).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/peers"))]
        peers: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum System {
    /// Broker alone: publishers → Mosquitto → a plain QoS 1 subscriber
    /// (rumqttc's automatic acks, one packet each).
    Broker,
    /// Broker alone, the subscriber acknowledging in bulk once per read.
    BrokerBulk,
    /// Database alone: binary COPY of the same rows.
    Copy,
    /// Database alone: ingest's UNNEST batch writer on the same rows.
    Unnest,
    /// Diagnostics: the position INSERT alone (no RETURNING, no registry).
    InsertOnly,
    /// Diagnostics: the position INSERT with RETURNING (no registry).
    InsertReturning,
    /// Diagnostics: the UNNEST writer on two connections at once.
    Unnest2,
    /// Our ingest, protobuf payloads.
    Ingest,
    /// Our ingest, JSON payloads.
    IngestJson,
    /// Python peer (paho-mqtt + psycopg COPY), JSON payloads.
    Python,
    /// Node-RED peer (mqtt in → join → function with pg), JSON payloads.
    NodeRed,
}

const ALL: [System; 8] = [
    System::Broker,
    System::BrokerBulk,
    System::Copy,
    System::Unnest,
    System::Ingest,
    System::IngestJson,
    System::Python,
    System::NodeRed,
];

impl System {
    fn label(self) -> &'static str {
        match self {
            System::Broker => "broker alone (Mosquitto → plain QoS 1 subscriber)",
            System::BrokerBulk => "broker alone, subscriber acking in bulk",
            System::Copy => "database alone: binary COPY",
            System::Unnest => "database alone: ingest's UNNEST writer",
            System::InsertOnly => "diagnostic: UNNEST insert, no RETURNING, no registry",
            System::InsertReturning => "diagnostic: UNNEST insert + RETURNING, no registry",
            System::Unnest2 => "diagnostic: UNNEST writer on 2 connections",
            System::Ingest => "ingest (kagoshima-ingest), protobuf",
            System::IngestJson => "ingest (kagoshima-ingest), JSON",
            System::Python => "Python peer (paho-mqtt + psycopg COPY), JSON",
            System::NodeRed => "Node-RED 4 peer (mqtt in → join → pg), JSON",
        }
    }

    /// The consumer process it runs, if it is one.
    fn consumer(self) -> Option<ConsumerKind> {
        match self {
            System::Ingest | System::IngestJson => Some(ConsumerKind::Ingest),
            System::Python => Some(ConsumerKind::Python),
            System::NodeRed => Some(ConsumerKind::NodeRed),
            _ => None,
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            System::IngestJson | System::Python | System::NodeRed => Encoding::Json,
            _ => Encoding::Proto,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let args = Args::parse();
    // Ingest's own log: warnings only unless RUST_LOG says otherwise.
    kagoshima_runtime::telemetry::init(
        "warn,rumqttc=error,kagoshima_ingest::app=error",
        kagoshima_runtime::telemetry::LogFormat::Text,
    );
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let table = match &args.command {
        Command::Paced {
            vehicles,
            hz,
            duration,
            encoding,
            probes,
        } => {
            let pacing = Pacing {
                hz: *hz,
                duration: Duration::from_secs(*duration),
                encoding: *encoding,
            };
            paced(&args, *vehicles, &pacing, *probes).await?
        }
        Command::Compare {
            vehicles,
            ticks,
            only,
            peers,
        } => {
            let systems = if only.is_empty() {
                ALL.to_vec()
            } else {
                only.clone()
            };
            compare(&args, *vehicles, *ticks, &systems, peers).await?
        }
    };
    println!("\n{table}");
    if let Some(path) = &args.summary {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "`{command_line}`\n\n{table}")?;
    }
    Ok(())
}

fn tuning(args: &Args) -> IngestTuning {
    IngestTuning {
        batch: args.batch,
        max_wait_ms: args.max_wait_ms,
    }
}

/// A broker of our own with the project's settings
/// (deploy/mosquitto/tuning.conf: queueing limits, no Nagle delay; the system
/// one may keep Mosquitto's defaults, which drop messages under load) and the
/// production autosave interval (deploy/mosquitto/mosquitto.conf).
fn broker() -> PrivateBroker {
    PrivateBroker::start_with("autosave_interval 30")
}

struct PacedRun {
    offered: f64,
    published_rate: f64,
    stored_rate: f64,
    drain_s: f64,
    published: u64,
    rows: i64,
    dead_letters: i64,
    row_p50: f64,
    row_p99: f64,
    visible_p50: f64,
    visible_p99: f64,
    probes_seen: usize,
}

async fn paced(
    args: &Args,
    vehicles: usize,
    pacing: &Pacing,
    probes: usize,
) -> anyhow::Result<String> {
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        let r = paced_once(args, vehicles, pacing, probes).await?;
        println!(
            "run {run}: offered {:.0} msg/s, published {:.0} msg/s, stored {:.0} msg/s (drain {:.1} s after publishing), \
             rows {} of {} published ({} dead letters); publish→row p50 {:.1} ms p99 {:.1} ms; \
             publish→queryable (probes, {} seen) p50 {:.1} ms p99 {:.1} ms",
            r.offered,
            r.published_rate,
            r.stored_rate,
            r.drain_s,
            r.rows,
            r.published,
            r.dead_letters,
            r.row_p50,
            r.row_p99,
            r.probes_seen,
            r.visible_p50,
            r.visible_p99
        );
        runs.push(r);
    }
    let m = |f: fn(&PacedRun) -> f64| median(runs.iter().map(f).collect());
    let lost: i64 = runs.iter().map(|r| r.published as i64 - r.rows).sum();
    let mut t = String::new();
    writeln!(
        t,
        "| vehicles × Hz ({}) | offered msg/s | published msg/s | stored msg/s | achieved / offered | publish→row p50 / p99 ms | publish→queryable p50 / p99 ms | lost (all runs) |",
        pacing.encoding.as_str()
    )?;
    writeln!(t, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        t,
        "| {} × {} for {} s, median of {} | {:.0} | {:.0} | {:.0} | {:.1} % | {:.1} / {:.1} | {:.1} / {:.1} | {} |",
        vehicles,
        pacing.hz,
        pacing.duration.as_secs(),
        runs.len(),
        m(|r| r.offered),
        m(|r| r.published_rate),
        m(|r| r.stored_rate),
        100.0 * m(|r| r.stored_rate / r.offered),
        m(|r| r.row_p50),
        m(|r| r.row_p99),
        m(|r| r.visible_p50),
        m(|r| r.visible_p99),
        lost
    )?;
    Ok(t)
}

async fn paced_once(
    args: &Args,
    vehicles: usize,
    pacing: &Pacing,
    probes: usize,
) -> anyhow::Result<PacedRun> {
    let db = TestDb::new().await;
    let broker = broker();
    let prefix = unique("paced");
    let ingest = Ingest::start(
        &db.url,
        broker.port,
        &format!("{prefix}-ingest"),
        tuning(args),
    )
    .await?;
    until_ready(
        db.pool(),
        broker.port,
        &prefix,
        pacing.encoding,
        Duration::from_secs(30),
        || true,
    )
    .await?;

    let fleet = Fleet::new(&prefix, vehicles);
    let step = vehicles.div_ceil(probes.max(1)).max(1);
    let probe_ids: Arc<HashSet<Arc<str>>> = Arc::new(
        fleet
            .vehicles
            .iter()
            .step_by(step)
            .map(|v| v.id.clone())
            .collect(),
    );
    let (probe_tx, probe_rx) = tokio::sync::mpsc::unbounded_channel();
    let deadline = Instant::now() + pacing.duration + Duration::from_secs(args.timeout + 5);
    let watcher = tokio::spawn(sink::watch_probes(
        db.pool().clone(),
        probe_ids.clone(),
        probe_rx,
        Duration::from_millis(10),
        deadline,
    ));
    let connections =
        publish::connect_all("127.0.0.1", broker.port, &prefix, args.connections).await?;
    let started = Instant::now();
    let (published, last_keys) =
        publish::paced(connections, &fleet, pacing, probe_ids, probe_tx).await?;
    let stored = sink::wait_stored(
        db.pool(),
        &last_keys,
        i64::try_from(published.acked)?,
        started,
        pacing.duration + Duration::from_secs(args.timeout),
    )
    .await?;
    let (visible, _unseen) = watcher.await??;
    let rows = sink::row_delays_ms(db.pool()).await?;
    let dead_letters = db.count("SELECT count(*) FROM dead_letters").await;
    ingest.stop().await?;
    drop(broker);
    let publishing = published.publishing.as_secs_f64();
    Ok(PacedRun {
        offered: vehicles as f64 * pacing.hz,
        published_rate: published.sent as f64 / publishing,
        stored_rate: stored.rows as f64 / stored.elapsed.as_secs_f64(),
        drain_s: (stored.elapsed.as_secs_f64() - publishing).max(0.0),
        published: published.acked,
        rows: stored.rows,
        dead_letters,
        row_p50: quantile(&rows, 0.5),
        row_p99: quantile(&rows, 0.99),
        visible_p50: quantile(&visible, 0.5),
        visible_p99: quantile(&visible, 0.99),
        probes_seen: visible.len(),
    })
}

/// One round of `compare`: each system and what it did.
type Round = [(System, Throughput)];

#[derive(Debug, Clone, Copy)]
struct Throughput {
    rate: f64,
    lost: i64,
    complete: bool,
    /// For the consumers: the CPU it took, from first publish to last row.
    cpu: Option<CpuUse>,
}

/// CPU time of a consumer run's processes at one moment.
struct Processes {
    consumer: Snapshot,
    database: Snapshot,
    broker: Snapshot,
    harness: Snapshot,
}

impl Processes {
    fn since(&self, earlier: &Processes) -> CpuUse {
        CpuUse {
            consumer: self.consumer.since(&earlier.consumer),
            database: self.database.since(&earlier.database),
            broker: self.broker.since(&earlier.broker),
            harness: self.harness.since(&earlier.harness),
        }
    }
}

async fn compare(
    args: &Args,
    vehicles: usize,
    ticks: usize,
    systems: &[System],
    peers: &Path,
) -> anyhow::Result<String> {
    let fleet = Fleet::new(&unique("cmp"), vehicles);
    let set = MessageSet::build(&fleet, ticks, args.connections);
    println!(
        "{} messages ({} vehicles × {} reports), {} publisher connections, QoS 1",
        set.len(),
        vehicles,
        ticks,
        args.connections
    );
    let mut systems = systems.to_vec();
    systems.retain(|s| match s.consumer().and_then(|c| c.missing(peers)) {
        Some(remedy) => {
            println!("skipping {}: not installed (run {remedy})", s.label());
            false
        }
        None => true,
    });
    let work = std::env::temp_dir().join(unique("kagoshima-bench"));
    let mut results: Vec<Vec<(System, Throughput)>> = Vec::new();
    for run in 1..=args.runs {
        let mut round = Vec::new();
        for &system in &systems {
            let r = compare_once(args, system, &set, peers, &work)
                .await
                .with_context(|| format!("run {run}: {}", system.label()))?;
            println!(
                "run {run}: {:<50} {:>9.0} msg/s{}",
                system.label(),
                r.rate,
                if r.complete {
                    String::new()
                } else {
                    format!("  INCOMPLETE: {} missing", r.lost)
                }
            );
            round.push((system, r));
        }
        results.push(round);
    }
    let get = |round: &[(System, Throughput)], s: System| {
        round.iter().find(|(x, _)| *x == s).map(|(_, r)| r.rate)
    };
    let mut t = String::new();
    writeln!(
        t,
        "| system ({} messages, {} vehicles × {} reports, QoS 1) | msg/s, median of {} | runs | lost (all runs) |",
        set.len(),
        vehicles,
        ticks,
        results.len()
    )?;
    writeln!(t, "|---|---:|---|---:|")?;
    for &s in &systems {
        let rates: Vec<f64> = results.iter().filter_map(|r| get(r, s)).collect();
        let lost: i64 = results
            .iter()
            .flat_map(|r| r.iter().filter(|(x, _)| *x == s).map(|(_, r)| r.lost))
            .sum();
        let each = rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            t,
            "| {} | {:.0} | {} | {} |",
            s.label(),
            median(rates),
            each,
            lost
        )?;
    }
    // Ratios within each round, then their median. The broker's limit is
    // the better of the two plain subscribers; the lower limit is the lower
    // of that and COPY.
    let broker_limit = |r: &Round| {
        [System::Broker, System::BrokerBulk]
            .iter()
            .filter_map(|s| get(r, *s))
            .reduce(f64::max)
    };
    let lower_limit =
        |r: &[(System, Throughput)]| Some(broker_limit(r)?.min(get(r, System::Copy)?));
    let ratio = |num: System, den: &dyn Fn(&Round) -> Option<f64>| -> Vec<f64> {
        results
            .iter()
            .filter_map(|r| Some(get(r, num)? / den(r)?))
            .collect()
    };
    let of = |s: System| move |r: &Round| get(r, s);
    let mut lines = Vec::new();
    let mut add = |what: &str, per: Vec<f64>, pct: bool| lines.extend(ratio_line(what, per, pct));
    add(
        "ingest (protobuf) / lower limit (min of broker alone, COPY)",
        ratio(System::Ingest, &lower_limit),
        true,
    );
    add(
        "ingest (protobuf) / broker alone (better subscriber)",
        ratio(System::Ingest, &broker_limit),
        true,
    );
    add(
        "ingest (protobuf) / binary COPY",
        ratio(System::Ingest, &of(System::Copy)),
        true,
    );
    add(
        "ingest (protobuf) / its own UNNEST writer alone",
        ratio(System::Ingest, &of(System::Unnest)),
        true,
    );
    add(
        "ingest (JSON) / lower limit",
        ratio(System::IngestJson, &lower_limit),
        true,
    );
    for (ours, peer, what) in PEER_PAIRS {
        add(what, ratio(ours, &of(peer)), false);
    }
    t.push_str(&ratio_table("ratio (same round)", &lines));
    t.push_str(&cpu_table(&results, &systems, set.len())?);
    let _ = std::fs::remove_dir_all(&work);
    Ok(t)
}

/// Our ingest against each peer, on the same payloads and across them.
const PEER_PAIRS: [(System, System, &str); 4] = [
    (
        System::IngestJson,
        System::NodeRed,
        "ingest (JSON) / Node-RED (JSON)",
    ),
    (
        System::IngestJson,
        System::Python,
        "ingest (JSON) / Python (JSON)",
    ),
    (
        System::Ingest,
        System::NodeRed,
        "ingest (protobuf) / Node-RED (JSON)",
    ),
    (
        System::Ingest,
        System::Python,
        "ingest (protobuf) / Python (JSON)",
    ),
];

/// `| what | median | each round |`, as a percentage or a multiple; none
/// without rounds.
fn ratio_line(what: &str, per: Vec<f64>, pct: bool) -> Option<String> {
    if per.is_empty() {
        return None;
    }
    let f = |x: f64| {
        if pct {
            format!("{:.0} %", 100.0 * x)
        } else {
            format!("{x:.2}×")
        }
    };
    let each = per.iter().map(|x| f(*x)).collect::<Vec<_>>().join(", ");
    Some(format!("| {what} | {} | {each} |", f(median(per))))
}

/// A table of [`ratio_line`]s under `heading`, or nothing without lines.
fn ratio_table(heading: &str, lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "\n| {heading} | median | per round |\n|---|---:|---|\n{}\n",
        lines.join("\n")
    )
}

/// Where the CPU went, per system, and the consumers' messages per
/// CPU-second side by side: what separates consumers that the broker bounds
/// to similar rates.
fn cpu_table(
    results: &[Vec<(System, Throughput)>],
    systems: &[System],
    total: usize,
) -> anyhow::Result<String> {
    const PER: f64 = 100_000.0;
    let runs = |s: System| -> Vec<(&Throughput, CpuUse)> {
        results
            .iter()
            .flat_map(|r| r.iter().filter(move |(x, _)| *x == s))
            .filter_map(|(_, r)| Some((r, r.cpu?)))
            .collect()
    };
    let messages = |r: &Throughput| (total as i64 - r.lost).max(1) as f64;
    let per_100k = |d: Duration, r: &Throughput| d.as_secs_f64() * PER / messages(r);
    // Messages per CPU-second of the consumer and its database sessions.
    let efficiency =
        |r: &Throughput, c: &CpuUse| messages(r) / c.ingesting().as_secs_f64().max(1e-3);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut t = String::new();
    let measured: Vec<System> = systems
        .iter()
        .copied()
        .filter(|s| !runs(*s).is_empty())
        .collect();
    if measured.is_empty() {
        return Ok(t);
    }
    writeln!(
        t,
        "\n| CPU per {PER:.0} messages, median of rounds | consumer, s | its database sessions, s | together, s | msg per CPU-second together | broker, s | broker busy, share of one core | load generator and pollers, s | all measured, share of the {cores} cores |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for s in measured {
        let r = runs(s);
        let med = |f: &dyn Fn(&Throughput, &CpuUse) -> f64| {
            median(r.iter().map(|(t, c)| f(t, c)).collect())
        };
        let broker = med(&|t, c| per_100k(c.broker, t));
        // Elapsed time of a run is its messages over its rate.
        let busy = med(&|t, c| c.broker.as_secs_f64() / (messages(t) / t.rate));
        let harness = med(&|t, c| per_100k(c.harness, t));
        let machine = med(&|t, c| c.total().as_secs_f64() / (messages(t) / t.rate) / cores as f64);
        if s.consumer().is_some() {
            writeln!(
                t,
                "| {} | {:.2} | {:.2} | {:.2} | {:.0} | {broker:.2} | {:.0} % | {harness:.2} | {:.0} % |",
                s.label(),
                med(&|t, c| per_100k(c.consumer, t)),
                med(&|t, c| per_100k(c.database, t)),
                med(&|t, c| per_100k(c.ingesting(), t)),
                med(&|t, c| efficiency(t, c)),
                100.0 * busy,
                100.0 * machine
            )?;
        } else {
            writeln!(
                t,
                "| {} | – | – | – | – | {broker:.2} | {:.0} % | {harness:.2} | {:.0} % |",
                s.label(),
                100.0 * busy,
                100.0 * machine
            )?;
        }
    }
    let mut lines = Vec::new();
    for (ours, peer, what) in PEER_PAIRS {
        let per: Vec<f64> = results
            .iter()
            .filter_map(|round| {
                let find = |s: System| {
                    round
                        .iter()
                        .find(|(x, _)| *x == s)
                        .and_then(|(_, r)| Some((r, r.cpu?)))
                };
                let (a, ca) = find(ours)?;
                let (b, cb) = find(peer)?;
                Some(efficiency(a, &ca) / efficiency(b, &cb))
            })
            .collect();
        lines.extend(ratio_line(what, per, false));
    }
    t.push_str(&ratio_table(
        "messages per CPU-second, consumer + its database sessions (same round)",
        &lines,
    ));
    Ok(t)
}

async fn compare_once(
    args: &Args,
    system: System,
    set: &MessageSet,
    peers: &Path,
    work: &Path,
) -> anyhow::Result<Throughput> {
    let total = set.len() as u64;
    let timeout = Duration::from_secs(args.timeout);
    let prefix = unique("cmp");
    match system {
        System::Broker | System::BrokerBulk => {
            let broker = broker();
            let subscriber = Subscriber::start(
                broker.port,
                &format!("{prefix}-sub"),
                total,
                system == System::BrokerBulk,
            )
            .await?;
            let connections =
                publish::connect_all("127.0.0.1", broker.port, &prefix, args.connections).await?;
            let processes = || {
                (
                    Snapshot::take(broker.pid()),
                    Snapshot::take([std::process::id()]),
                )
            };
            let (broker_before, harness_before) = processes();
            let started = Instant::now();
            let publishing = tokio::spawn({
                let set = set.clone();
                async move { publish::burst(connections, &set, Encoding::Proto).await }
            });
            let complete = subscriber.wait(timeout).await;
            let elapsed = started.elapsed();
            let (broker_after, harness_after) = processes();
            publishing.await??;
            let received = subscriber
                .received
                .load(std::sync::atomic::Ordering::Relaxed);
            Ok(Throughput {
                rate: received as f64 / elapsed.as_secs_f64(),
                lost: total as i64 - received as i64,
                complete,
                cpu: Some(CpuUse {
                    broker: broker_after.since(&broker_before),
                    harness: harness_after.since(&harness_before),
                    ..CpuUse::default()
                }),
            })
        }
        System::Copy
        | System::Unnest
        | System::InsertOnly
        | System::InsertReturning
        | System::Unnest2 => {
            let db = TestDb::new().await;
            let elapsed = match system {
                System::Copy => dbload::copy_rows(db.pool(), &set.rows, args.batch).await?,
                System::InsertOnly => {
                    dbload::unnest_insert_only(db.pool(), &set.rows, args.batch, false).await?
                }
                System::InsertReturning => {
                    dbload::unnest_insert_only(db.pool(), &set.rows, args.batch, true).await?
                }
                System::Unnest2 => {
                    dbload::unnest_parallel(&db.store, &set.rows, args.batch, 2).await?
                }
                _ => dbload::unnest_rows(&db.store, &set.rows, args.batch).await?,
            };
            let rows = sink::count_rows(db.pool()).await?;
            Ok(Throughput {
                rate: rows as f64 / elapsed.as_secs_f64(),
                lost: total as i64 - rows,
                complete: rows == total as i64,
                cpu: None,
            })
        }
        System::Ingest | System::IngestJson | System::Python | System::NodeRed => {
            let kind = system.consumer().context("a consumer")?;
            let db = TestDb::new().await;
            let broker = broker();
            let encoding = system.encoding();
            let client_id = format!("{prefix}-consumer");
            let mut consumer = Consumer::start(
                kind,
                peers,
                work,
                &db.url,
                broker.port,
                &client_id,
                tuning(args),
            )
            .await?;
            let ready = until_ready(
                db.pool(),
                broker.port,
                &prefix,
                encoding,
                Duration::from_secs(60),
                || !consumer.has_exited(),
            )
            .await;
            if let Err(e) = ready {
                let tail = consumer.log_tail(20);
                consumer.stop().await;
                return Err(e).context(tail);
            }
            let connections =
                publish::connect_all("127.0.0.1", broker.port, &prefix, args.connections).await?;
            let processes = |backends: Vec<u32>| Processes {
                consumer: Snapshot::take(consumer.pid()),
                database: Snapshot::take(backends),
                broker: Snapshot::take(broker.pid()),
                harness: Snapshot::take([std::process::id()]),
            };
            let before = processes(cpu::consumer_backends(db.pool()).await?);
            let started = Instant::now();
            let publishing = tokio::spawn({
                let set = set.clone();
                async move { publish::burst(connections, &set, encoding).await }
            });
            let stored =
                sink::wait_stored(db.pool(), &set.last_keys(), total as i64, started, timeout)
                    .await?;
            let after = processes(cpu::consumer_backends(db.pool()).await?);
            publishing.await??;
            consumer.stop().await;
            drop(broker);
            Ok(Throughput {
                rate: stored.rows as f64 / stored.elapsed.as_secs_f64(),
                lost: total as i64 - stored.rows,
                complete: stored.complete,
                cpu: Some(after.since(&before)),
            })
        }
    }
}
