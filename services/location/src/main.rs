/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_location::{Application, LocationConfig};
use kagoshima_runtime::{config, shutdown, telemetry};

/// Kagoshima transit location service: PassengerService (gRPC, with health
/// and reflection) and the GTFS-Realtime feeds over HTTP (/gtfs-rt/...).
///
/// Configuration comes from built-in defaults, then the file given with
/// --config, then environment variables KAGOSHIMA_<SECTION>__<KEY> (for
/// example KAGOSHIMA_GRPC__LISTEN, KAGOSHIMA_RATE_LIMIT__PER_SECOND) and
/// DATABASE_URL. Import a feed first with `kagoshima-network import PATH`.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, short, env = "KAGOSHIMA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Print the effective configuration (secrets redacted) and exit.
    ShowConfig,
    /// Score arrival predictions on a simulated day against its ground
    /// truth (and two baselines); writes README.md, accuracy.svg and
    /// accuracy.json. No database or broker needed; run it in release mode.
    AccuracyReport(kagoshima_location::accuracy::AccuracyArgs),
    /// Map-matching throughput on one core: plays a simulated day's noisy
    /// positions through the tracker and reports positions per second.
    BenchMatching {
        /// Positions to play (from a simulated day, repeated if needed).
        #[arg(long, default_value_t = 1_000_000)]
        positions: usize,
        #[arg(long, default_value = "2025-06-10")]
        date: chrono::NaiveDate,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let cli = Cli::parse();
    let config: LocationConfig =
        config::load(cli.config.as_deref()).context("loading the configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::ShowConfig => {
            println!("{}", config::redacted_toml(&config)?);
            Ok(())
        }
        Command::AccuracyReport(args) => {
            let line = std::iter::once("kagoshima-location".to_owned())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" ");
            let o = kagoshima_location::accuracy::run(&args, &line)?;
            for (name, s) in &o.scores {
                println!(
                    "{name:12} 0-3 {:5.1}%  3-6 {:5.1}%  6-10 {:5.1}%  10-15 {:5.1}%  overall {:5.1}%",
                    s.bucket(0),
                    s.bucket(1),
                    s.bucket(2),
                    s.bucket(3),
                    s.overall()
                );
            }
            println!(
                "{} samples in {:.0} s; written to {}",
                o.samples,
                o.seconds,
                args.out.display()
            );
            Ok(())
        }
        Command::BenchMatching { positions, date } => {
            let (n, secs) = kagoshima_location::accuracy::bench_matching(positions, date)?;
            println!(
                "map matching: {n} positions in {secs:.2} s on one core = {:.0} positions/s",
                n as f64 / secs
            );
            Ok(())
        }
        Command::Serve => {
            telemetry::init(&config.log.filter, config.log.format);
            let shutdown = shutdown::Shutdown::new();
            shutdown::on_signals(shutdown.clone());
            let app = Application::build(config).await?;
            println!(
                "location: gRPC on {}, JSON API, metrics and health on http://{}",
                app.grpc_addr(),
                app.http_addr()
            );
            app.run_until_stopped(shutdown).await?;
            Ok(())
        }
    }
}
