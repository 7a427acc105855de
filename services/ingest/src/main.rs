/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_ingest::{Application, IngestConfig};
use kagoshima_runtime::{auth::hash_token_hex, cli, telemetry};

/// Kagoshima transit ingest: stores what onboard devices publish over MQTT and
/// what back offices upload over gRPC, validated and exactly once.
///
/// Configuration comes from built-in defaults, then the file given with
/// --config, then environment variables KAGOSHIMA_<SECTION>__<KEY> (for
/// example KAGOSHIMA_MQTT__HOST) and DATABASE_URL. The card-token key
/// (KAGOSHIMA_CARD_HASH_KEY) is required.
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
    /// Apply database migrations and exit.
    Migrate,
    /// Check a payload file against the device contract, as the service would
    /// judge it, and list every problem at once. Exits 1 when it is refused.
    ///
    /// Example: kagoshima-ingest validate --topic kagoshima/v1/tram/tram-101/tap tap.json
    Validate {
        /// The MQTT topic it would be published on:
        /// kagoshima/v1/{tram|bus|community_bus}/{vehicle_id}/{position|tap|passengers|status}
        #[arg(long)]
        topic: String,
        /// Judge it as if received at this instant (RFC 3339) rather than now,
        /// for recordings whose timestamps are old.
        #[arg(long)]
        received_at: Option<chrono::DateTime<chrono::Utc>>,
        /// The payload: protobuf, or proto3 JSON; `-` reads standard input.
        file: PathBuf,
    },
    /// Print the SHA-256 of a token, for the `auth.tokens` list.
    HashToken {
        /// The token a client will send as `authorization: Bearer <token>`.
        token: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    let args = Cli::parse();
    let config: IngestConfig = args.file.load().context("loading the configuration")?;
    match args
        .command
        .unwrap_or(Command::Service(cli::ServiceCommand::Serve))
    {
        Command::HashToken { token } => {
            println!("{}", hash_token_hex(&token));
            Ok(())
        }
        Command::Validate {
            topic,
            received_at,
            file,
        } => {
            let payload = if file.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
                buf
            } else {
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let validator = kagoshima_domain::validation::Validator::new(config.validation);
            let report = kagoshima_ingest::payload_check::check(
                &validator,
                &topic,
                &payload,
                received_at.unwrap_or_else(chrono::Utc::now),
            );
            print!("{}", report.text);
            std::process::exit(if report.valid { 0 } else { 1 });
        }
        Command::Service(cli::ServiceCommand::ShowConfig) => Ok(cli::print_config(&config)?),
        Command::Migrate => {
            telemetry::init(&config.log.filter, config.log.format);
            kagoshima_storage::Store::open(config.database.url.expose(), 2).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Service(cli::ServiceCommand::Serve) => {
            let log = config.log.clone();
            cli::serve(&log, |stop| async move {
                let app = Application::build(config).await?;
                println!(
                    "ingest: gRPC on {}, metrics and health on http://{}",
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
