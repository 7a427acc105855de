/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::Parser;
use kagoshima_location::{Application, LocationConfig};
use kagoshima_runtime::cli::{self, ServiceCommand};

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
    #[command(flatten)]
    file: cli::ConfigFile,
    #[command(subcommand)]
    command: Option<ServiceCommand>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let args = Cli::parse();
    let config: LocationConfig = args.file.load().context("loading the configuration")?;
    match args.command.unwrap_or(ServiceCommand::Serve) {
        ServiceCommand::ShowConfig => Ok(cli::print_config(&config)?),
        ServiceCommand::Serve => {
            let log = config.log.clone();
            cli::serve(&log, |stop| async move {
                let app = Application::build(config).await?;
                println!(
                    "location: gRPC on {}, GTFS-Realtime, metrics and health on http://{}",
                    app.grpc_addr(),
                    app.http_addr()
                );
                app.run_until_stopped(stop).await?;
                Ok(())
            })
            .await
        }
    }
}
