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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Demo(args)) => args,
        None => cli.demo,
    };
    // rumqttd's router logs a client that leaves while its last packets are
    // in flight ("no-connection id N is already gone") as an ERROR: every
    // clean stop of the demo did. Bookkeeping of the embedded demo broker,
    // not something an operator acts on; its other messages stay at warn.
    telemetry::init(
        "info,rumqttc=warn,rumqttd=warn,rumqttd::router::routing=off,sqlx=warn",
        Default::default(),
    );
    demo::run(args).await
}
