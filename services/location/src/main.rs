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
        Command::Serve => {
            telemetry::init(&config.log.filter, config.log.format);
            let shutdown = shutdown::Shutdown::new();
            shutdown::on_signals(shutdown.clone());
            let app = Application::build(config).await?;
            println!(
                "location: gRPC on {}, GTFS-Realtime, metrics and health on http://{}",
                app.grpc_addr(),
                app.http_addr()
            );
            app.run_until_stopped(shutdown).await?;
            Ok(())
        }
    }
}
