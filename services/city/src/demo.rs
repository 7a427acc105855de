//! `kagoshima-city demo`: the database (DATABASE_URL or a private
//! PostgreSQL), the broker (embedded unless given), the sample network, this
//! fiscal year's simulated history (in the background), the [`Platform`] and the simulated city
//! publishing in real time.
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context;
use kagoshima_runtime::shutdown::Shutdown;
use tracing::{info, warn};

use crate::{
    broker,
    database::DemoDatabase,
    demo_clock::{self, DemoClock},
    platform::{Platform, PlatformConfig, Ports},
    secrets,
};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Folder for the private database, generated secrets and the demo feed.
    #[arg(long, default_value = ".data/demo")]
    pub data_dir: PathBuf,
    /// Use this broker (host:port) instead of the embedded one.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// Port of the embedded broker.
    #[arg(long, default_value_t = 1884)]
    pub mqtt_port: u16,
    /// Port of the private PostgreSQL (when DATABASE_URL is not set).
    #[arg(long, default_value_t = 55432)]
    pub postgres_port: u16,
    /// The GTFS / GTFS-JP feed to load.
    #[arg(long, default_value = "simulators/feed/kagoshima")]
    pub feed: PathBuf,
    /// Seed of the simulated city.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Rider demand (1.0 is about 30,000 tram rides a day).
    #[arg(long, default_value_t = 0.3)]
    pub scale: f64,
    /// Run without the simulated city (devices of your own publish instead).
    #[arg(long)]
    pub no_simulator: bool,
    /// Skip filling this fiscal year so far with simulated history (done in
    /// the background on the first start of each day, newest day first, so
    /// the dashboard has figures on every day of the year).
    #[arg(long)]
    pub no_history: bool,
    /// First port of the services: gRPC ingest +0, passenger +1, indicators
    /// +2; HTTP admin of ingest +1000, passenger JSON +1001, indicators +1002.
    #[arg(long, default_value_t = 50051)]
    pub grpc_port: u16,
    /// Port of the web pages.
    #[arg(long, default_value_t = 8080)]
    pub web_port: u16,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
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
        devices: Vec::new(),
    }];

    // The back office's token for IngestService uploads, kept beside it.
    let back_office_token = secrets::load_or_create(&args.data_dir, "ingest.token")?;
    let back_office = vec![kagoshima_runtime::auth::TokenEntry {
        name: "demo-back-office".into(),
        sha256: kagoshima_runtime::auth::hash_token_hex(&back_office_token),
        devices: Vec::new(),
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
    let platform = Platform::build(&PlatformConfig {
        database_url: database_url.clone(),
        mqtt_host: mqtt_host.clone(),
        mqtt_port,
        mqtt_client_prefix: "kagoshima-city".into(),
        card_hash_key: card_key.clone(),
        bureau,
        back_office,
        ports: Ports::Fixed {
            grpc_base: args.grpc_port,
            web: args.web_port,
        },
        refresh_interval_s: kagoshima_indicators::IndicatorsConfig::default()
            .refresh
            .interval_s,
    })
    .await?;
    let at = platform.addresses();
    let history = (!args.no_simulator && !args.no_history).then(|| {
        spawn_history(
            &database_url,
            &feed_dir,
            &args.data_dir,
            &card_key,
            clock.service_date,
            args.seed,
            args.scale,
            shutdown.clone(),
        )
    });
    let simulator = (!args.no_simulator).then(|| {
        let run = simulate(
            feed_dir.clone(),
            clock,
            args.seed,
            args.scale,
            mqtt_host.clone(),
            mqtt_port,
            shutdown.clone(),
        );
        let stop = shutdown.clone();
        tokio::spawn(async move {
            // A simulated day that ends keeps the platform serving; a
            // simulator that fails stops the demo, which would be silent.
            let outcome = run.await;
            if outcome.is_err() {
                stop.cancel();
            }
            outcome
        })
    });

    println!();
    println!(
        "Kagoshima transit demo is up ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("  passenger page       http://{}/", at.web);
    println!(
        "  signage (天文館通)   http://{}/signage/tram_tenmonkan_dori",
        at.web
    );
    println!(
        "  bureau dashboard     http://{}/dashboard   token: {bureau_token}",
        at.web
    );
    println!(
        "  passenger JSON API   http://{}/api/stops/search?q=天文館&lang=en",
        at.web
    );
    println!(
        "  PassengerService     grpc://{}  (grpcurl -plaintext {} list)",
        at.passenger_grpc, at.passenger_grpc
    );
    println!(
        "  GTFS-Realtime        http://{}/gtfs-rt/vehicle-positions?format=json",
        at.passenger_http
    );
    println!(
        "  IngestService        grpc://{}   token: {back_office_token}",
        at.ingest_grpc
    );
    println!(
        "  IndicatorService     grpc://{}  (bearer token above)",
        at.indicators_grpc
    );
    println!(
        "  ingest health        http://{}/healthz   metrics http://{}/metrics",
        at.ingest_http, at.ingest_http
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
    println!(
        "Upload events through IngestService (tokens are kept in {}):",
        args.data_dir.display()
    );
    println!(
        "  grpcurl -plaintext -H \"authorization: Bearer $(cat {}/ingest.token)\" -d '{{\"events\":[{{\"mode\":\"tram\",\"position\":{{\"vehicle_id\":\"tram-1001\",\"recorded_at\":\"{}\",\"lat\":31.5911,\"lon\":130.5570}}}}]}}' {} kagoshima.transit.v1.IngestService/UploadEvents",
        args.data_dir.display(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        at.ingest_grpc
    );
    println!("Ctrl-C stops everything.");
    println!();

    let mut result = platform.run_until_stopped(shutdown.clone()).await;
    if let Some(history) = history {
        match history.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!(error = %format!("{e:#}"), "the demo's history stopped with an error")
            }
            Err(e) => warn!(error = %e, "the demo's history task failed"),
        }
    }
    if let Some(simulator) = simulator {
        let simulated = match simulator.await {
            Ok(outcome) => outcome.context("the simulated city"),
            Err(e) => Err(anyhow::Error::from(e).context("the simulated city")),
        };
        if let Err(e) = simulated {
            warn!(error = %format!("{e:#}"), "the simulated city stopped with an error");
            if result.is_ok() {
                result = Err(e);
            }
        }
    }
    drop(database);
    info!("demo stopped");
    result
}

/// Fills this fiscal year up to yesterday in the background, newest day
/// first (the dashboard opens on this month), while the demo serves. Days
/// already filled are skipped, so only the first start of a day has work.
#[allow(clippy::too_many_arguments)]
fn spawn_history(
    database_url: &str,
    feed_dir: &Path,
    data_dir: &Path,
    card_key: &str,
    today: chrono::NaiveDate,
    seed: u64,
    scale: f64,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let from = kagoshima_domain::calendar::FiscalYear::of_date(today).start_date();
    let plan = crate::history::HistoryPlan {
        from,
        until: today,
        seed,
        scale,
        // Positions of the last five weeks only (the availability indicator
        // and the device pages): a month of positions is about 1 GB on plain
        // PostgreSQL. Every other event fills the whole year.
        positions_from: (today - chrono::Days::new(35)).max(from),
        newest_first: true,
    };
    let (database_url, feed_dir, data_dir, card_key) = (
        database_url.to_owned(),
        feed_dir.to_owned(),
        data_dir.to_owned(),
        card_key.to_owned(),
    );
    tokio::spawn(async move {
        let store = kagoshima_storage::Store::connect(&database_url, 2).await?;
        let outcome = crate::history::fill(
            &store,
            &feed_dir,
            &data_dir.join("backoffice"),
            &card_key,
            &plan,
            &indicatif::ProgressBar::hidden(),
            &shutdown,
        )
        .await
        .context("filling the demo's fiscal year so far")?;
        if shutdown.is_cancelled() {
            info!(
                days = outcome.days_filled,
                "demo history: stopped with the demo; the next start goes on where it stopped"
            );
        } else if outcome.days_filled > 0 {
            info!(
                days = outcome.days_filled,
                seconds = outcome.seconds,
                "demo history: this fiscal year so far is filled"
            );
        }
        Ok(())
    })
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
