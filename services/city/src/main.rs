/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use kagoshima_city::demo::{self, DemoArgs};
use kagoshima_runtime::telemetry;

/// Kagoshima transit: the whole platform in one process.
///
/// `kagoshima-city demo` (the default) needs only Rust and PostgreSQL's
/// binaries: it embeds an MQTT broker unless --mqtt is given, uses
/// DATABASE_URL or else starts a private PostgreSQL in its data folder, loads
/// the sample network, plays the simulated city in real time, and prints the
/// addresses to open. Ctrl-C stops everything cleanly.
#[derive(Debug, Parser)]
#[command(version, about, long_about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: DemoArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the simulated city on every service (the default).
    Demo(DemoArgs),
    /// Fill a past period (by default this fiscal year up to yesterday) with
    /// the simulated city's events, by COPY, deterministic per seed.
    History(kagoshima_city::history::HistoryArgs),
}

/// rumqttd, the demo's embedded broker, logs two routine events of a client
/// leaving at ERROR: the router closing the link after the client's own
/// DISCONNECT ("router-drop"), and a packet for a connection that just left
/// ("no-connection id N is already gone"). Every clean stop of the demo did
/// one or the other; nothing an operator acts on. Its other errors still show.
static EMBEDDED_BROKER_BOOKKEEPING: &[telemetry::Benign] = &[
    telemetry::Benign {
        target: "rumqttd::server::broker",
        message_prefix: "router-drop",
    },
    telemetry::Benign {
        target: "rumqttd::router::routing",
        message_prefix: "no-connection id",
    },
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Demo(args)) => args,
        Some(Command::History(args)) => {
            telemetry::init("info,sqlx=warn", Default::default());
            return kagoshima_city::history::run(args).await;
        }
        None => cli.demo,
    };
    telemetry::init_quieting(
        "info,rumqttc=warn,rumqttd=warn,sqlx=warn",
        Default::default(),
        EMBEDDED_BROKER_BOOKKEEPING,
    );
    demo::run(args).await
}
