use std::{net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};
use kagoshima_ingest::{Application, IngestConfig};
use kagoshima_proto::{
    Timestamp,
    v1::{Medium, Position, RiderCategory, Tap, TapAction, TapResult},
};
use kagoshima_runtime::{
    auth::TokenEntry, auth::hash_token_hex, secret::Secret, shutdown::Shutdown,
};
use kagoshima_tests::{TestDb, mqtt::broker, unique};
use tokio::task::JoinHandle;

/// A test-only key; real keys come from configuration.
pub const TEST_CARD_KEY: &str = "8a1f0c3e5b7d9a2c4e6f8091a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0";
pub const TEST_TOKEN: &str = "back-office-test-token";

pub fn config(db: &TestDb, filters: Vec<String>) -> IngestConfig {
    let (host, port) = broker();
    config_on(&db.url, &host, port, filters)
}

/// A configuration for the given database and broker.
pub fn config_on(database_url: &str, host: &str, port: u16, filters: Vec<String>) -> IngestConfig {
    let mut config = IngestConfig::default();
    config.database.url = Secret::new(database_url);
    config.database.max_connections = 4;
    config.mqtt.host = host.to_owned();
    config.mqtt.port = port;
    config.mqtt.client_id = unique("ingest-test");
    config.mqtt.topic_filters = filters;
    config.card_hash_key = Secret::new(TEST_CARD_KEY);
    config.grpc.listen = "127.0.0.1:0".into();
    config.http.listen = "127.0.0.1:0".into();
    config.batch.max_wait_ms = 5;
    config.auth.tokens = vec![TokenEntry {
        name: "test-back-office".into(),
        sha256: hash_token_hex(TEST_TOKEN),
        devices: Vec::new(),
    }];
    config
}

/// Topic filters that see only the given vehicles, so parallel tests on one
/// broker never store each other's messages.
pub fn filters_for(vehicles: &[&str]) -> Vec<String> {
    vehicles
        .iter()
        .map(|v| format!("kagoshima/v1/+/{v}/+"))
        .collect()
}

pub struct TestIngest {
    pub db: TestDb,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    shutdown: Shutdown,
    handle: JoinHandle<()>,
}

impl TestIngest {
    /// Starts the service for `vehicles` and waits until it is subscribed.
    pub async fn spawn(vehicles: &[&str]) -> TestIngest {
        let db = TestDb::new().await;
        let config = config(&db, filters_for(vehicles));
        TestIngest::spawn_with(db, config).await
    }

    pub async fn spawn_with(db: TestDb, config: IngestConfig) -> TestIngest {
        let (grpc, http, shutdown, handle) = start(config).await;
        let ingest = TestIngest {
            db,
            grpc,
            http,
            shutdown,
            handle,
        };
        ingest.wait_healthy().await;
        ingest
    }

    pub async fn wait_healthy(&self) {
        wait_healthy(self.http).await;
    }

    /// Stops gracefully (flushing and acknowledging) and returns the database.
    pub async fn stop(self) -> TestDb {
        stop(self.shutdown, self.handle).await;
        self.db
    }

    pub async fn metrics(&self) -> String {
        http_get(&format!("http://{}/metrics", self.http))
            .await
            .expect("metrics")
            .1
    }
}

/// Starts ingest in this process: (grpc, http, shutdown, task).
pub async fn start(config: IngestConfig) -> (SocketAddr, SocketAddr, Shutdown, JoinHandle<()>) {
    if std::env::var_os("TEST_LOG").is_some() {
        kagoshima_runtime::telemetry::init("info", Default::default());
    }
    let app = Application::build(config).await.expect("ingest builds");
    let (grpc, http) = (app.grpc_addr(), app.http_addr());
    let shutdown = Shutdown::new();
    let handle = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { app.run_until_stopped(shutdown).await.expect("ingest runs") }
    });
    (grpc, http, shutdown, handle)
}

/// Waits for `/healthz` to say ok (connected and subscribed).
pub async fn wait_healthy(http: SocketAddr) {
    let url = format!("http://{http}/healthz");
    kagoshima_tests::eventually("ingest healthy", Duration::from_secs(15), || async {
        http_get(&url)
            .await
            .filter(|(code, _)| *code == 200)
            .map(|_| ())
    })
    .await;
}

/// Stops an ingest started with `start`, gracefully.
pub async fn stop(shutdown: Shutdown, handle: JoinHandle<()>) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("ingest stops within 20 s")
        .expect("ingest task");
}

/// A minimal HTTP/1.1 GET over a TCP socket: (status, body).
pub async fn http_get(url: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((code, body))
}

pub fn ts(at: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// A valid position at 天文館通.
pub fn position(vehicle: &str, at: DateTime<Utc>) -> Position {
    Position {
        vehicle_id: vehicle.into(),
        recorded_at: ts(at),
        lat: 31.59071,
        lon: 130.55530,
        bearing: Some(90.0),
        speed: Some(6.5),
        accuracy: Some(5.0),
        trip_id: "tram-1-wd-001".into(),
        route_id: "tram-1".into(),
        odometer: None,
    }
}

/// A valid tap on.
pub fn tap(vehicle: &str, event_id: &str, at: DateTime<Utc>) -> Tap {
    Tap {
        event_id: event_id.into(),
        vehicle_id: vehicle.into(),
        validator_id: format!("{vehicle}-v1"),
        occurred_at: ts(at),
        action: TapAction::On.into(),
        card_token: format!("tok_{}", event_id.replace('-', "")),
        medium: Medium::Card.into(),
        brand: "visa".into(),
        issuer_country: "JP".into(),
        rider_category: RiderCategory::Adult.into(),
        num_riders: 1,
        fare_yen: 170,
        result: TapResult::Approved.into(),
        stop_id: "tram_tenmonkan_dori".into(),
        route_id: "tram-1".into(),
        trip_id: "tram-1-wd-001".into(),
    }
}

pub fn topic(vehicle: &str, kind: &str) -> String {
    format!("kagoshima/v1/tram/{vehicle}/{kind}")
}

/// The real binary with a configuration file of its own, for tests that
/// kill -9 it. The folder is removed when this is dropped.
pub struct IngestProcess {
    dir: std::path::PathBuf,
    config_path: std::path::PathBuf,
}

impl IngestProcess {
    pub fn new(config: &IngestConfig) -> IngestProcess {
        let dir = std::env::temp_dir().join(unique("kagoshima-ingest"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config_path = dir.join("ingest.toml");
        std::fs::write(&config_path, toml::to_string(config).expect("toml")).expect("write config");
        IngestProcess { dir, config_path }
    }

    pub fn start(&self) -> tokio::process::Child {
        let quiet = std::env::var_os("TEST_LOG").is_none();
        let output = || {
            if quiet {
                std::process::Stdio::null()
            } else {
                std::process::Stdio::inherit()
            }
        };
        tokio::process::Command::new(env!("CARGO_BIN_EXE_kagoshima-ingest"))
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("DATABASE_URL")
            .stdout(output())
            .stderr(output())
            .kill_on_drop(true)
            .spawn()
            .expect("start kagoshima-ingest")
    }
}

impl Drop for IngestProcess {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
