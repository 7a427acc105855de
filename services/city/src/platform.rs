//! Every service of the platform in one process, started the same way by the
//! demo's main and by the tests: [`Platform::build`] binds every port (port 0
//! in tests, so they never race for one) and connects each service;
//! [`Platform::run_until_stopped`] serves until the shutdown signal and stops
//! them all when one fails.
use std::net::SocketAddr;

use anyhow::Context;
use kagoshima_runtime::{auth::TokenEntry, secret::Secret, shutdown::Shutdown};
use tracing::warn;

/// What the services share, and where they listen.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    pub database_url: String,
    pub mqtt_host: String,
    pub mqtt_port: u16,
    /// Prefix of the services' MQTT client ids (`{prefix}-ingest`, ...).
    pub mqtt_client_prefix: String,
    /// The HMAC key of card tokens (production: from the secret store).
    pub card_hash_key: String,
    /// Tokens accepted by IndicatorService and the bureau dashboard.
    pub bureau: Vec<TokenEntry>,
    /// Tokens accepted by IngestService (back-office uploads).
    pub back_office: Vec<TokenEntry>,
    pub ports: Ports,
    /// Seconds between two refreshes of the indicators' rollups.
    pub refresh_interval_s: u64,
}

/// Where the services listen.
#[derive(Debug, Clone, Copy)]
pub enum Ports {
    /// gRPC of ingest, passenger and indicators at `grpc_base` +0, +1, +2;
    /// their HTTP (admin, GTFS-Realtime) at +1000, +1001, +1002; the web
    /// pages on `web`.
    Fixed { grpc_base: u16, web: u16 },
    /// A free port for each (tests).
    Any,
}

impl Ports {
    fn at(self, offset: u16) -> String {
        match self {
            Ports::Fixed { grpc_base, .. } => format!("127.0.0.1:{}", grpc_base + offset),
            Ports::Any => "127.0.0.1:0".into(),
        }
    }

    fn web(self) -> String {
        match self {
            Ports::Fixed { web, .. } => format!("127.0.0.1:{web}"),
            Ports::Any => "127.0.0.1:0".into(),
        }
    }
}

/// The bound addresses of every service.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    pub ingest_grpc: SocketAddr,
    pub ingest_http: SocketAddr,
    pub passenger_grpc: SocketAddr,
    pub passenger_http: SocketAddr,
    pub indicators_grpc: SocketAddr,
    pub indicators_http: SocketAddr,
    pub web: SocketAddr,
}

/// The services, built and bound, not yet serving.
pub struct Platform {
    ingest: kagoshima_ingest::Application,
    location: kagoshima_location::Application,
    indicators: kagoshima_indicators::app::Application,
    web: kagoshima_web::Application,
    addresses: Addresses,
}

impl Platform {
    pub async fn build(config: &PlatformConfig) -> anyhow::Result<Platform> {
        let database = || Secret::new(config.database_url.clone());
        let client_id = |service: &str| format!("{}-{service}", config.mqtt_client_prefix);

        let mut ingest = kagoshima_ingest::IngestConfig::default();
        ingest.database.url = database();
        ingest.mqtt.host.clone_from(&config.mqtt_host);
        ingest.mqtt.port = config.mqtt_port;
        ingest.mqtt.client_id = client_id("ingest");
        ingest.card_hash_key = Secret::new(config.card_hash_key.clone());
        // The bureau's tokens too: its dashboard shows the device diagnostics.
        ingest.auth.tokens = [config.back_office.as_slice(), config.bureau.as_slice()].concat();
        ingest.grpc.listen = config.ports.at(0);
        ingest.http.listen = config.ports.at(1000);
        let ingest = kagoshima_ingest::Application::build(ingest)
            .await
            .context("starting ingest")?;

        let mut location = kagoshima_location::LocationConfig::default();
        location.database.url = database();
        location.grpc.listen = config.ports.at(1);
        location.http.listen = config.ports.at(1001);
        location.mqtt.host.clone_from(&config.mqtt_host);
        location.mqtt.port = config.mqtt_port;
        location.mqtt.client_id = client_id("location");
        // The web front asks on behalf of every passenger: limit each
        // passenger by the address the web forwards, not the web itself.
        location.rate_limit.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
        // The bureau publishes service alerts (AlertService).
        location.auth.tokens.clone_from(&config.bureau);
        let location = kagoshima_location::Application::build(location)
            .await
            .context("starting location")?;

        let mut indicators = kagoshima_indicators::IndicatorsConfig::default();
        indicators.database.url = database();
        indicators.grpc.listen = config.ports.at(2);
        indicators.http.listen = config.ports.at(1002);
        indicators.auth.tokens.clone_from(&config.bureau);
        indicators.refresh.interval_s = config.refresh_interval_s;
        let indicators = kagoshima_indicators::app::Application::build(indicators)
            .await
            .context("starting indicators")?;

        let mut web = kagoshima_web::WebConfig::default();
        web.http.listen = config.ports.web();
        web.passenger_grpc = format!("http://{}", location.grpc_addr());
        web.indicators_grpc = format!("http://{}", indicators.grpc_addr());
        web.ingest_grpc = format!("http://{}", ingest.grpc_addr());
        web.ingest_metrics_url = format!("http://{}/metrics", ingest.http_addr());
        web.auth.tokens.clone_from(&config.bureau);
        let web = kagoshima_web::Application::build(web)
            .await
            .context("starting web")?;

        let addresses = Addresses {
            ingest_grpc: ingest.grpc_addr(),
            ingest_http: ingest.http_addr(),
            passenger_grpc: location.grpc_addr(),
            passenger_http: location.http_addr(),
            indicators_grpc: indicators.grpc_addr(),
            indicators_http: indicators.http_addr(),
            web: web.addr(),
        };
        Ok(Platform {
            ingest,
            location,
            indicators,
            web,
            addresses,
        })
    }

    pub fn addresses(&self) -> Addresses {
        self.addresses
    }

    /// Serves until `shutdown`; when one service fails, stops the others and
    /// returns its error.
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let Platform {
            ingest,
            location,
            indicators,
            web,
            ..
        } = self;
        let mut tasks = tokio::task::JoinSet::new();
        let s = shutdown.clone();
        tasks.spawn(async move { ingest.run_until_stopped(s).await.context("ingest") });
        let s = shutdown.clone();
        tasks.spawn(async move { location.run_until_stopped(s).await.context("location") });
        let s = shutdown.clone();
        tasks.spawn(async move { indicators.run_until_stopped(s).await.context("indicators") });
        let s = shutdown.clone();
        tasks.spawn(async move { web.run_until_stopped(s).await.context("web") });
        let mut result = Ok(());
        while let Some(joined) = tasks.join_next().await {
            let failed = match joined {
                Ok(outcome) => outcome,
                Err(e) => Err(e.into()),
            };
            if let Err(e) = failed {
                warn!(error = %format!("{e:#}"), "a service stopped with an error; stopping the rest");
                if result.is_ok() {
                    result = Err(e);
                }
                shutdown.cancel();
            }
        }
        result
    }
}
