/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_runtime::{auth, cli};
use kagoshima_web::{Application, WebConfig};

/// Kagoshima transit web front: the passenger page (/), stop signage
/// (/signage/{stop_id}) and the bureau dashboard (/dashboard), over the
/// location and indicators services' gRPC APIs.
///
/// Configuration comes from built-in defaults, then the file given with
/// --config, then environment variables KAGOSHIMA_<SECTION>__<KEY> (for
/// example KAGOSHIMA_HTTP__LISTEN, KAGOSHIMA_PASSENGER_GRPC).
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(flatten)]
    file: cli::ConfigFile,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Service(cli::ServiceCommand),
    /// Print the SHA-256 of a bureau token, for `auth.tokens`.
    HashToken { token: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let args = Cli::parse();
    let config: WebConfig = args.file.load().context("loading the configuration")?;
    match args
        .command
        .unwrap_or(Command::Service(cli::ServiceCommand::Serve))
    {
        Command::Service(cli::ServiceCommand::ShowConfig) => Ok(cli::print_config(&config)?),
        Command::HashToken { token } => {
            println!("{}", auth::hash_token_hex(&token));
            Ok(())
        }
        Command::Service(cli::ServiceCommand::Serve) => {
            let log = config.log.clone();
            cli::serve(&log, |stop| async move {
                let app = Application::build(config).await?;
                println!("web: pages and JSON API on http://{}", app.addr());
                app.run_until_stopped(stop).await?;
                Ok(())
            })
            .await
        }
    }
}
