/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_city::{broker, database::DemoDatabase, demo_clock, demo_clock::DemoClock, secrets};
use kagoshima_runtime::{secret::Secret, shutdown::Shutdown, telemetry};
use tracing::{info, warn};

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

#[derive(Debug, Clone, clap::Args)]
struct DemoArgs {
    /// Folder for the private database, generated secrets and the demo feed.
    #[arg(long, default_value = ".data/demo")]
    data_dir: PathBuf,
    /// Use this broker (host:port) instead of the embedded one.
    #[arg(long)]
    mqtt: Option<String>,
    /// Port of the embedded broker.
    #[arg(long, default_value_t = 1884)]
    mqtt_port: u16,
    /// Port of the private PostgreSQL (when DATABASE_URL is not set).
    #[arg(long, default_value_t = 55432)]
    postgres_port: u16,
    /// The GTFS / GTFS-JP feed to load.
    #[arg(long, default_value = "simulators/feed/kagoshima")]
    feed: PathBuf,
    /// Seed of the simulated city.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rider demand (1.0 is about 30,000 tram rides a day).
    #[arg(long, default_value_t = 0.3)]
    scale: f64,
    /// Run without the simulated city (devices of your own publish instead).
    #[arg(long)]
    no_simulator: bool,
    /// Skip filling this month so far with simulated history (done once a
    /// month on first start, so the dashboard has figures; ~10 s in release).
    #[arg(long)]
    no_history: bool,
    /// First port of the services: gRPC ingest +0, passenger +1, indicators
    /// +2; HTTP admin of ingest +1000, passenger JSON +1001, indicators +1002.
    #[arg(long, default_value_t = 50051)]
    grpc_port: u16,
    /// Port of the web pages.
    #[arg(long, default_value_t = 8080)]
    web_port: u16,
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
    demo(args).await
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let shutdown = Shutdown::new();
    kagoshima_runtime::shutdown::on_signals(shutdown.clone());
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data folder {}", args.data_dir.display()))?;

    println!(
        "Starting the Kagoshima transit demo (first build and database set-up take a while)..."
    );
    let database = DemoDatabase::resolve(
        std::env::var("DATABASE_URL").ok(),
        &args.data_dir,
        args.postgres_port,
    )?;
    let database_url = database.url();
    let (mqtt_host, mqtt_port) = match &args.mqtt {
        Some(addr) => split_host_port(addr)?,
        None => {
            let listen: SocketAddr = ([127, 0, 0, 1], args.mqtt_port).into();
            broker::start_embedded(listen)?;
            ("127.0.0.1".to_owned(), args.mqtt_port)
        }
    };
    let card_key = secrets::load_or_create(&args.data_dir, "card-hash.key")?;
    // The bureau's token for the dashboard and IndicatorService; only its hash
    // goes into the services' configuration.
    let bureau_token = secrets::load_or_create(&args.data_dir, "bureau.token")?;
    let bureau = vec![kagoshima_runtime::auth::TokenEntry {
        name: "demo-bureau".into(),
        sha256: kagoshima_runtime::auth::hash_token_hex(&bureau_token),
    }];

    let clock = DemoClock::at(chrono::Utc::now());
    if clock.is_shifted() {
        warn!(
            shift_minutes = clock.shift.num_minutes(),
            "the city sleeps now: the demo runs the timetable shifted so trams are out"
        );
    }
    let feed_dir = demo_clock::shifted_feed(
        &args.feed,
        &args
            .data_dir
            .join(format!("feed-shift-{}m", clock.shift.num_minutes())),
        clock.shift,
    )
    .with_context(|| format!("reading the feed at {}", args.feed.display()))?;
    import_feed(&database_url, &feed_dir).await?;
    if !args.no_simulator && !args.no_history {
        // This month so far, for the dashboard (once a month; seconds).
        let store = kagoshima_storage::Store::connect(&database_url, 2).await?;
        kagoshima_city::history::backfill_month(
            &store,
            &feed_dir,
            &args.data_dir,
            &card_key,
            clock.service_date,
            args.seed,
            args.scale,
        )
        .await
        .context("filling the demo's month so far")?;
    }

    let ports = Ports::new(args.grpc_port, args.web_port);
    let mut ingest = kagoshima_ingest::IngestConfig::default();
    ingest.database.url = Secret::new(database_url.clone());
    ingest.mqtt.host.clone_from(&mqtt_host);
    ingest.mqtt.port = mqtt_port;
    ingest.mqtt.client_id = "kagoshima-city-ingest".into();
    ingest.card_hash_key = Secret::new(card_key.clone());
    ingest.grpc.listen = ports.ingest_grpc.to_string();
    ingest.http.listen = ports.ingest_http.to_string();
    let ingest = kagoshima_ingest::Application::build(ingest).await?;

    let mut location = kagoshima_location::LocationConfig::default();
    location.database.url = Secret::new(database_url.clone());
    location.grpc.listen = ports.passenger_grpc.to_string();
    location.http.listen = ports.passenger_http.to_string();
    location.mqtt.host.clone_from(&mqtt_host);
    location.mqtt.port = mqtt_port;
    location.mqtt.client_id = "kagoshima-city-location".into();
    // The web front asks on behalf of every passenger: limit each passenger
    // by the address the web forwards, not the web itself.
    location.rate_limit.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
    let location = kagoshima_location::Application::build(location).await?;

    let mut indicators = kagoshima_indicators::IndicatorsConfig::default();
    indicators.database.url = Secret::new(database_url.clone());
    indicators.grpc.listen = ports.indicators_grpc.to_string();
    indicators.http.listen = ports.indicators_http.to_string();
    indicators.auth.tokens.clone_from(&bureau);
    let indicators = kagoshima_indicators::app::Application::build(indicators).await?;

    let mut web = kagoshima_web::WebConfig::default();
    web.http.listen = ports.web.to_string();
    web.passenger_grpc = format!("http://{}", ports.passenger_grpc);
    web.indicators_grpc = format!("http://{}", ports.indicators_grpc);
    web.ingest_metrics_url = format!("http://{}/metrics", ports.ingest_http);
    web.auth.tokens = bureau;
    let web = kagoshima_web::Application::build(web).await?;

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn({
        let s = shutdown.clone();
        async move {
            ingest
                .run_until_stopped(s)
                .await
                .map_err(anyhow::Error::from)
        }
    });
    tasks.spawn({
        let s = shutdown.clone();
        async move {
            location
                .run_until_stopped(s)
                .await
                .map_err(anyhow::Error::from)
        }
    });
    tasks.spawn({
        let s = shutdown.clone();
        async move {
            indicators
                .run_until_stopped(s)
                .await
                .map_err(anyhow::Error::from)
        }
    });
    tasks.spawn({
        let s = shutdown.clone();
        async move { web.run_until_stopped(s).await.map_err(anyhow::Error::from) }
    });
    if !args.no_simulator {
        tasks.spawn(simulate(
            feed_dir.clone(),
            clock,
            args.seed,
            args.scale,
            mqtt_host.clone(),
            mqtt_port,
            shutdown.clone(),
        ));
    }

    println!();
    println!(
        "Kagoshima transit demo is up ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("  passenger page       http://{}/", ports.web);
    println!(
        "  signage (天文館通)   http://{}/signage/tram_tenmonkan_dori",
        ports.web
    );
    println!(
        "  bureau dashboard     http://{}/dashboard   token: {bureau_token}",
        ports.web
    );
    println!(
        "  passenger JSON API   http://{}/api/v1/stops/search?q=天文館&lang=en",
        ports.passenger_http
    );
    println!(
        "  PassengerService     grpc://{}  (grpcurl -plaintext {} list)",
        ports.passenger_grpc, ports.passenger_grpc
    );
    println!("  IngestService        grpc://{}", ports.ingest_grpc);
    println!(
        "  IndicatorService     grpc://{}  (bearer token above)",
        ports.indicators_grpc
    );
    println!(
        "  ingest health        http://{}/healthz   metrics http://{}/metrics",
        ports.ingest_http, ports.ingest_http
    );
    println!("  MQTT broker          mqtt://{mqtt_host}:{mqtt_port}");
    println!(
        "  database             {}",
        kagoshima_runtime::secret::redact_url(&database_url)
    );
    println!(
        "  service day          {} (timetable shifted {} min)",
        clock.service_date,
        clock.shift.num_minutes()
    );
    println!("Ctrl-C stops everything.");
    println!();

    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!(error = %e, "a part of the platform stopped with an error; stopping the rest");
                result = Err(e);
                shutdown.cancel();
            }
            Err(e) => {
                result = Err(e.into());
                shutdown.cancel();
            }
        }
        if !shutdown.is_cancelled() {
            // A part finished on its own (the simulated day ended): keep serving.
            continue;
        }
    }
    drop(database);
    info!("demo stopped");
    result
}

/// The demo's listening addresses.
struct Ports {
    ingest_grpc: SocketAddr,
    passenger_grpc: SocketAddr,
    indicators_grpc: SocketAddr,
    ingest_http: SocketAddr,
    passenger_http: SocketAddr,
    indicators_http: SocketAddr,
    web: SocketAddr,
}

impl Ports {
    fn new(base: u16, web: u16) -> Self {
        let at = |offset: u16| SocketAddr::from(([127, 0, 0, 1], base + offset));
        Ports {
            ingest_grpc: at(0),
            passenger_grpc: at(1),
            indicators_grpc: at(2),
            ingest_http: at(1000),
            passenger_http: at(1001),
            indicators_http: at(1002),
            web: SocketAddr::from(([127, 0, 0, 1], web)),
        }
    }
}

async fn import_feed(database_url: &str, feed_dir: &Path) -> anyhow::Result<()> {
    let store = kagoshima_storage::Store::open(database_url, 2).await?;
    let feed = kagoshima_network::feed::load(feed_dir)
        .map_err(|report| anyhow::anyhow!("the feed is not valid:\n{report}"))?;
    let outcome = kagoshima_network::import(
        store.pool(),
        &feed,
        &kagoshima_network::ImportOptions::default(),
        &kagoshima_network::import::Quiet,
    )
    .await?;
    info!(?outcome, "network loaded");
    Ok(())
}

async fn simulate(
    feed_dir: PathBuf,
    clock: DemoClock,
    seed: u64,
    scale: f64,
    host: String,
    port: u16,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let feed = kagoshima_sim::Feed::load(&feed_dir)?;
    let mut config = kagoshima_sim::SimConfig::new(clock.service_date);
    config.seed = seed;
    config.scale = scale;
    let day = kagoshima_sim::simulate_day(&feed, &config);
    let messages: Vec<_> = day
        .events
        .iter()
        .map(|e| kagoshima_sim::publish::WireMessage::from_event(e, kagoshima_sim::Encoding::Proto))
        .collect();
    info!(
        messages = messages.len(),
        vehicles = day.truth.summary.vehicles,
        "simulated city running in real time"
    );
    let publisher =
        kagoshima_sim::publish::MqttPublisher::connect(&host, port, "kagoshima-city-sim").await?;
    let progress = indicatif::ProgressBar::hidden();
    tokio::select! {
        played = kagoshima_sim::publish::play(&messages, publisher, kagoshima_sim::publish::Pacing::WallClock, &progress) => {
            let stats = played?;
            info!(published = stats.published, "the simulated day is over");
        }
        () = shutdown.cancelled() => {}
    }
    Ok(())
}

fn split_host_port(addr: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--mqtt must be host:port, got {addr:?}"))?;
    Ok((
        host.to_owned(),
        port.parse()
            .with_context(|| format!("bad port in --mqtt {addr:?}"))?,
    ))
}
