//! The platform across its services, started in-process the way the demo's
//! main starts it: taps published over MQTT go through ingest (hashed with the
//! production HMAC), become rides and show in the monthly indicator over
//! IndicatorService; a refused message shows in both ingest's and location's
//! metrics.
use std::time::Duration;

use chrono::{DateTime, Utc};
use kagoshima_city::platform::{Platform, PlatformConfig, Ports};
use kagoshima_domain::{calendar::JST, card_data::CardTokenHasher};
use kagoshima_proto::v1::{
    GetMonthlyRequest, Medium, RiderCategory, Tap, TapAction, TapResult,
    indicator_service_client::IndicatorServiceClient,
};
use kagoshima_runtime::{auth::TokenEntry, shutdown::Shutdown};
use kagoshima_tests::{TestDb, broker::PrivateBroker, eventually, mqtt::Device, unique};
use prost::Message;

const CARD_KEY: &str = "5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5";
const BUREAU_TOKEN: &str = "platform-test-bureau-token";
const RIDERS: usize = 5;

fn tap(vehicle: &str, n: usize, at: DateTime<Utc>) -> Tap {
    Tap {
        event_id: format!("{vehicle}-ev-{n}"),
        vehicle_id: vehicle.into(),
        validator_id: format!("{vehicle}-v1"),
        occurred_at: Some(prost_types_timestamp(at)),
        action: TapAction::On.into(),
        card_token: format!("tok_platform_{n}"),
        medium: Medium::Card.into(),
        brand: "visa".into(),
        issuer_country: "JP".into(),
        rider_category: RiderCategory::Adult.into(),
        num_riders: 1,
        fare_yen: 170,
        result: TapResult::Approved.into(),
        stop_id: "tram_tenmonkan_dori".into(),
        route_id: "tram-1".into(),
        trip_id: String::new(),
    }
}

fn prost_types_timestamp(at: DateTime<Utc>) -> kagoshima_proto::Timestamp {
    kagoshima_proto::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

async fn http_get(url: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, response))
}

fn counted(metrics: &str, name: &str, reason: &str) -> bool {
    metrics.lines().any(|l| {
        l.starts_with(name) && l.contains(&format!("reason=\"{reason}\"")) && !l.ends_with(" 0")
    })
}

#[tokio::test]
async fn taps_over_mqtt_become_the_monthly_indicator_and_refusals_are_counted_twice() {
    let db = TestDb::new().await;
    let feed = kagoshima_network::feed::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../simulators/feed/kagoshima"
    )))
    .expect("the sample feed");
    kagoshima_network::import(
        db.pool(),
        &feed,
        &kagoshima_network::ImportOptions::default(),
        &kagoshima_network::import::Quiet,
    )
    .await
    .expect("import");
    let broker = PrivateBroker::start();
    let platform = Platform::build(&PlatformConfig {
        database_url: db.url.clone(),
        mqtt_host: "127.0.0.1".into(),
        mqtt_port: broker.port,
        mqtt_client_prefix: unique("platform-test"),
        card_hash_key: CARD_KEY.into(),
        bureau: vec![TokenEntry {
            name: "test-bureau".into(),
            sha256: kagoshima_runtime::auth::hash_token_hex(BUREAU_TOKEN),
            devices: Vec::new(),
        }],
        back_office: Vec::new(),
        ports: Ports::Any,
        refresh_interval_s: 1,
    })
    .await
    .expect("the platform builds");
    let at = platform.addresses();
    let shutdown = Shutdown::new();
    let running = tokio::spawn(platform.run_until_stopped(shutdown.clone()));
    for health in [
        at.ingest_http,
        at.passenger_http,
        at.indicators_http,
        at.web,
    ] {
        let url = format!("http://{health}/healthz");
        eventually(&format!("{url} ready"), Duration::from_secs(20), || async {
            http_get(&url).await.filter(|(c, _)| *c == 200).map(drop)
        })
        .await;
    }

    let vehicle = unique("tram");
    let mut device = Device::connect_to(&unique("validator"), "127.0.0.1", broker.port).await;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let topic = format!("kagoshima/v1/tram/{vehicle}/tap");
    for n in 0..RIDERS {
        let at = now - chrono::Duration::seconds(60 - n as i64);
        device
            .publish(&topic, tap(&vehicle, n, at).encode_to_vec())
            .await;
    }
    device
        .publish(
            &format!("kagoshima/v1/tram/{vehicle}/position"),
            b"not protobuf".to_vec(),
        )
        .await;

    // The ride count of this JST month, over IndicatorService with the token.
    let month = now.with_timezone(&JST).format("%Y-%m").to_string();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", at.indicators_grpc))
        .expect("endpoint")
        .connect()
        .await
        .expect("indicators answer");
    let indicators = IndicatorServiceClient::new(channel);
    let uses = eventually("the taps counted as uses", Duration::from_secs(30), || {
        let mut indicators = indicators.clone();
        let month = month.clone();
        async move {
            let mut request = tonic::Request::new(GetMonthlyRequest {
                month,
                indicator_ids: vec![],
            });
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {BUREAU_TOKEN}").parse().expect("header"),
            );
            let report = indicators.get_monthly(request).await.ok()?.into_inner();
            let value = report
                .indicators
                .iter()
                .find(|i| i.indicator_id == "tap_payment_uses")?
                .value
                .clone();
            (value == RIDERS.to_string()).then_some(value)
        }
    })
    .await;
    assert_eq!(uses, RIDERS.to_string());

    // Stored under the production HMAC of the token, never the token.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT card_hash FROM taps WHERE event_id = $1")
        .bind(format!("{vehicle}-ev-0"))
        .fetch_one(db.pool())
        .await
        .expect("the tap");
    // The configured key is hex: its 32 bytes are the HMAC key.
    let hasher = CardTokenHasher::new(&hex::decode(CARD_KEY).expect("hex")).expect("key");
    assert_eq!(stored, hasher.hash("tok_platform_0").to_vec());

    // The refused position: a dead letter at ingest, a refusal at location.
    for (service, url, name) in [
        (
            "ingest",
            format!("http://{}/metrics", at.ingest_http),
            "kagoshima_ingest_dead_lettered_total",
        ),
        (
            "location",
            format!("http://{}/metrics", at.passenger_http),
            "kagoshima_location_reports_refused_total",
        ),
    ] {
        eventually(
            &format!("{service} counts the refusal"),
            Duration::from_secs(10),
            || async {
                let (_, body) = http_get(&url).await?;
                counted(&body, name, "malformed_payload").then_some(())
            },
        )
        .await;
    }

    // Every service's /metrics holds its own series, with values from this run.
    let _ = http_get(&format!("http://{}/api/stops/search?q=tenmonkan", at.web)).await;
    for (service, url, wanted) in [
        (
            "indicators",
            format!("http://{}/metrics", at.indicators_http),
            &[
                "kagoshima_indicators_refreshes_total{outcome=\"ok\"}",
                "kagoshima_indicators_rides_built_total",
                "kagoshima_indicators_last_refresh_success_timestamp_seconds",
            ][..],
        ),
        (
            "location",
            format!("http://{}/metrics", at.passenger_http),
            &["kagoshima_location_feed_service_end_timestamp_seconds"][..],
        ),
        (
            "web",
            format!("http://{}/metrics", at.web),
            &["kagoshima_http_requests_total"][..],
        ),
    ] {
        eventually(
            &format!("{service} publishes {wanted:?}"),
            // Generous: a loaded CI machine runs other test binaries alongside.
            Duration::from_secs(60),
            || async {
                let (_, body) = http_get(&url).await?;
                wanted
                    .iter()
                    .all(|name| {
                        body.lines().any(|l| {
                            l.starts_with(name)
                                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok())
                                    > Some(0.0)
                        })
                    })
                    .then_some(())
            },
        )
        .await;
    }

    device.disconnect().await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the platform stops within 20 s")
        .expect("joins")
        .expect("stops cleanly");
}
