use std::{net::SocketAddr, path::Path, time::Duration};

use kagoshima_location::{Application, LocationConfig};
use kagoshima_network::{ImportOptions, ImportOutcome, feed, import::Quiet};
use kagoshima_proto::v1::passenger_service_client::PassengerServiceClient;
use kagoshima_runtime::{rate_limit::RateLimitConfig, secret::Secret, shutdown::Shutdown};
use kagoshima_tests::TestDb;
use kagoshima_tracker::Report;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The bureau token the test location service accepts for AlertService.
pub const BUREAU_TOKEN: &str = "bureau-test-token";

pub fn sample_feed() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulators/feed/kagoshima")
}

pub struct TestLocation {
    pub db: TestDb,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    live: std::sync::Arc<std::sync::Mutex<Option<kagoshima_location::live::Live>>>,
    shutdown: Shutdown,
    handle: Option<JoinHandle<()>>,
}

impl Drop for TestLocation {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

/// Imports `feed` into a fresh database.
pub async fn db_with(feed_path: &Path) -> TestDb {
    let db = TestDb::new().await;
    let feed = feed::load(feed_path).expect("valid feed");
    let outcome = kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import");
    assert!(matches!(outcome, ImportOutcome::Imported(_)));
    db
}

impl TestLocation {
    /// The service over the sample feed, with a generous rate limit.
    pub async fn spawn() -> TestLocation {
        TestLocation::spawn_with(
            db_with(&sample_feed()).await,
            RateLimitConfig {
                enabled: true,
                per_second: 1000.0,
                burst: 1000,
                ..RateLimitConfig::default()
            },
        )
        .await
    }

    pub async fn spawn_with(db: TestDb, rate_limit: RateLimitConfig) -> TestLocation {
        if std::env::var_os("TEST_LOG").is_some() {
            kagoshima_runtime::telemetry::init("info", Default::default());
        }
        let mut config = LocationConfig::default();
        config.database.url = Secret::new(db.url.clone());
        config.database.max_connections = 4;
        config.grpc.listen = "127.0.0.1:0".into();
        config.http.listen = "127.0.0.1:0".into();
        config.rate_limit = rate_limit;
        config.auth.tokens = vec![kagoshima_runtime::auth::TokenEntry {
            name: "bureau".into(),
            sha256: kagoshima_runtime::auth::hash_token_hex(BUREAU_TOKEN),
            devices: Vec::new(),
        }];
        let (host, port) = kagoshima_tests::mqtt::broker();
        config.mqtt.host = host;
        config.mqtt.port = port;
        config.mqtt.client_id = kagoshima_tests::unique("location-test");
        config.mqtt.persistent_session = false;
        let app = Application::build(config).await.expect("location builds");
        let (grpc, http) = (app.grpc_addr(), app.http_addr());
        let live = app.live_handle();
        let shutdown = Shutdown::new();
        let handle = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                app.run_until_stopped(shutdown)
                    .await
                    .expect("location runs")
            }
        });
        let location = TestLocation {
            db,
            grpc,
            http,
            live,
            shutdown,
            handle: Some(handle),
        };
        let url = format!("http://{}/healthz", location.http);
        kagoshima_tests::eventually("location healthy", Duration::from_secs(10), || async {
            http_get(&url).await.filter(|(c, _)| *c == 200).map(|_| ())
        })
        .await;
        location
    }

    /// The running service's live state (filled once it serves).
    pub fn live(&self) -> kagoshima_location::live::Live {
        self.live
            .lock()
            .expect("live handle")
            .clone()
            .expect("the service is running")
    }

    /// (stop_id, lat, lon) of a trip's stops in the active feed, in order.
    pub async fn trip_stops(&self, trip: &str) -> Vec<(String, f64, f64)> {
        let catalog = kagoshima_network::read::Catalog::active(self.db.pool())
            .await
            .expect("catalog")
            .expect("an active feed");
        catalog
            .trip_stops(trip)
            .await
            .expect("trip stops")
            .into_iter()
            .map(|s| {
                (
                    s.stop_id,
                    s.lat.unwrap_or_default(),
                    s.lon.unwrap_or_default(),
                )
            })
            .collect()
    }

    pub async fn client(&self) -> PassengerServiceClient<Channel> {
        PassengerServiceClient::connect(format!("http://{}", self.grpc))
            .await
            .expect("grpc connects")
    }
}

/// A minimal HTTP/1.1 GET: (status, body). Handles chunked bodies.
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
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n)?);
            rest = tail.get(n + 2..)?;
        }
        out
    } else {
        body.to_owned()
    };
    Some((code, body))
}

/// GET with extra header lines: (status, head, body bytes).
pub async fn raw_get(addr: SocketAddr, path: &str, extra: &str) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let mut body = buf[split..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..i]).unwrap_or("0").trim(), 16)
                    .unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[i + 2..i + 2 + n]);
            rest = &rest[i + 2 + n + 2..];
        }
        body = out;
    }
    (code, head, body)
}

/// Positions from stop 0 to stop 2 of `trip`, the last one `end` (unix s).
pub fn drive(vehicle: &str, trip: &str, stops: &[(String, f64, f64)], end: f64) -> Vec<Report> {
    let mut out = Vec::new();
    let steps = 12;
    for k in 0..=steps {
        let f = 2.0 * f64::from(k) / f64::from(steps);
        let i = (f.floor() as usize).min(1);
        let u = f - i as f64;
        let (a, b) = (&stops[i], &stops[i + 1]);
        let t = end - 10.0 * f64::from(steps - k);
        out.push(Report {
            vehicle_id: vehicle.into(),
            recorded_at: t,
            received_at: t,
            lat: a.1 + (b.1 - a.1) * u,
            lon: a.2 + (b.2 - a.2) * u,
            bearing: None,
            speed: Some(8.0),
            trip_id: Some(trip.into()),
            route_id: None,
        });
    }
    out
}
