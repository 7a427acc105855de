//! `kagoshima-network`: validate and import GTFS / GTFS-JP feeds
//! ([`kagoshima_network::cli`]).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_network::cli::run().await
}
