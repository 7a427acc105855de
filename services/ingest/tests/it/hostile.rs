//! A corpus of malformed, truncated, wrongly typed, absurd and hostile
//! payloads through MQTT and gRPC: each gets its dead-letter reason or gRPC
//! error, nothing crashes, and no card number is stored or logged anywhere.
use std::{process::Stdio, time::Duration};

use chrono::Utc;
use kagoshima_proto::{
    Message,
    v1::{
        DeviceEvent, UploadEventsRequest, device_event::Event,
        ingest_service_client::IngestServiceClient,
    },
};
use kagoshima_tests::{TestDb, eventually, free_port, mqtt::Device, unique};

use crate::support::{TEST_TOKEN, TestIngest, config, filters_for, http_get, position, tap, topic};

const PANS: [&str; 4] = [
    "4111111111111111",
    "5555555555554444",
    "3530111333300000",
    "378282246310005",
];

/// (expected reason, topic kind, payload) for one vehicle.
fn corpus(vehicle: &str) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let now = Utc::now();
    let good_tap = tap(vehicle, &unique("ev"), now).encode_to_vec();
    let json = |s: String| s.into_bytes();
    let ts = now.to_rfc3339();
    vec![
        (
            "malformed_payload",
            "tap",
            good_tap[..good_tap.len() / 2].to_vec(),
        ),
        (
            "malformed_payload",
            "position",
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ),
        (
            "malformed_payload",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"{ts}\",\"lat\":\"north\",\"lon\":130.5}}"
            )),
        ),
        (
            "malformed_payload",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"yesterday\",\"lat\":31.5,\"lon\":130.5}}"
            )),
        ),
        ("malformed_payload", "tap", b"{\"eventId\":".to_vec()),
        ("malformed_payload", "tap", Vec::new()),
        (
            "invalid_coordinates",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"{ts}\",\"lat\":\"NaN\",\"lon\":130.5}}"
            )),
        ),
        (
            "invalid_coordinates",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"{ts}\",\"lat\":1e308,\"lon\":130.5}}"
            )),
        ),
        (
            "invalid_coordinates",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"{ts}\",\"lat\":\"Infinity\",\"lon\":130.5}}"
            )),
        ),
        (
            "timestamp_in_future",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"9999-12-31T23:59:59Z\",\"lat\":31.5,\"lon\":130.5}}"
            )),
        ),
        (
            "invalid_field",
            "position",
            json(format!(
                "{{\"vehicleId\":\"{vehicle}\",\"recordedAt\":\"{ts}\",\"lat\":31.5,\"lon\":130.5,\"speed\":-3}}"
            )),
        ),
        ("invalid_field", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.stop_id = "stop\u{0}\u{7}".into();
            t.encode_to_vec()
        }),
        ("invalid_field", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.brand = "x".repeat(10_000);
            t.encode_to_vec()
        }),
        ("invalid_field", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.num_riders = 4_000_000;
            t.encode_to_vec()
        }),
        ("invalid_field", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.result = 99;
            t.encode_to_vec()
        }),
        ("card_number", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.card_token = PANS[0].into();
            t.encode_to_vec()
        }),
        ("card_number", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.trip_id = format!("trip {}", "5555 5555 5555 4444");
            t.encode_to_vec()
        }),
        ("card_number", "tap", {
            let mut t = tap(vehicle, &unique("ev"), now);
            t.validator_id = format!("v-{}", PANS[2]);
            t.encode_to_vec()
        }),
        (
            "card_number",
            "tap",
            json(format!(
                "{{\"eventId\":\"e1\",\"vehicleId\":\"{vehicle}\",\"pan\":\"{}\"}}",
                PANS[3]
            )),
        ),
        ("oversized_payload", "tap", vec![b'{'; 200 * 1024]),
    ]
}

#[tokio::test]
async fn the_hostile_corpus_is_refused_with_reasons_and_no_card_number_is_stored_or_logged() {
    let vehicle = unique("tram");
    let db = TestDb::new().await;
    let mut cfg = config(&db, filters_for(&[&vehicle]));
    cfg.grpc.listen = format!("127.0.0.1:{}", free_port());
    cfg.http.listen = format!("127.0.0.1:{}", free_port());
    cfg.log.filter = "debug".into();
    let dir = std::env::temp_dir().join(unique("kagoshima-hostile"));
    std::fs::create_dir_all(&dir).expect("dir");
    let config_path = dir.join("ingest.toml");
    std::fs::write(&config_path, toml::to_string(&cfg).expect("toml")).expect("config");
    let log_path = dir.join("ingest.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut ingest = tokio::process::Command::new(env!("CARGO_BIN_EXE_kagoshima-ingest"))
        .arg("--config")
        .arg(&config_path)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start ingest");
    let health = format!("http://{}/healthz", cfg.http.listen);
    eventually("ingest up", Duration::from_secs(20), || async {
        http_get(&health)
            .await
            .filter(|(c, _)| *c == 200)
            .map(|_| ())
    })
    .await;

    // Through MQTT.
    let cases = corpus(&vehicle);
    let mut device = Device::connect(&unique("device")).await;
    for (_, kind, payload) in &cases {
        device
            .publish(&topic(&vehicle, kind), payload.clone())
            .await;
    }
    // A hostile but valid string is stored as data, harmlessly.
    let mut sql = tap(&vehicle, &unique("ev"), Utc::now());
    sql.stop_id = "'); DROP TABLE taps; --".into();
    device
        .publish(&topic(&vehicle, "tap"), sql.encode_to_vec())
        .await;
    device
        .publish(
            &topic(&vehicle, "position"),
            position(&vehicle, Utc::now()).encode_to_vec(),
        )
        .await;

    let expected = i64::try_from(cases.len()).expect("small");
    eventually(
        "every hostile message dead-lettered",
        Duration::from_secs(15),
        || async {
            (db.count("SELECT count(*) FROM dead_letters").await == expected
                && db.count("SELECT count(*) FROM vehicle_positions").await == 1)
                .then_some(())
        },
    )
    .await;
    let reasons: Vec<String> = sqlx::query_scalar("SELECT reason FROM dead_letters ORDER BY id")
        .fetch_all(db.pool())
        .await
        .expect("reasons");
    assert_eq!(reasons, cases.iter().map(|c| c.0).collect::<Vec<_>>());
    assert_eq!(
        db.count("SELECT count(*) FROM taps WHERE stop_id LIKE '%DROP TABLE%'")
            .await,
        1
    );

    // Through gRPC: the same hostile taps as upload items.
    let mut client = IngestServiceClient::connect(format!("http://{}", cfg.grpc.listen))
        .await
        .expect("grpc");
    let hostile_taps: Vec<DeviceEvent> = PANS
        .iter()
        .map(|pan| {
            let mut t = tap(&vehicle, &unique("ev"), Utc::now());
            t.card_token = (*pan).into();
            DeviceEvent {
                mode: "tram".into(),
                event: Some(Event::Tap(t)),
            }
        })
        .collect();
    let mut request = tonic::Request::new(UploadEventsRequest {
        events: hostile_taps,
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TEST_TOKEN}").parse().expect("header"),
    );
    let response = client
        .upload_events(request)
        .await
        .expect("upload")
        .into_inner();
    assert_eq!(response.rejected, 4);
    assert!(response.results.iter().all(|r| r.reason == "card_number"));

    // Still alive after all of it.
    assert_eq!(http_get(&health).await.map(|(c, _)| c), Some(200));
    ingest.kill().await.ok();

    // No card number anywhere: not in any table, not in the log.
    let dump: String = sqlx::query_scalar(
        "SELECT concat_ws(' ', (SELECT string_agg(t::text, ' ') FROM taps t),
                              (SELECT string_agg(d::text || encode(d.payload, 'escape'), ' ') FROM dead_letters d),
                              (SELECT string_agg(v::text, ' ') FROM devices v))",
    )
    .fetch_one(db.pool())
    .await
    .expect("dump");
    let logged = std::fs::read_to_string(&log_path).expect("log");
    assert!(
        logged.contains("dead-lettered"),
        "the log shows nothing: did the service log at all?"
    );
    for pan in PANS {
        assert!(!dump.contains(pan), "card number {pan} stored");
        assert!(!logged.contains(pan), "card number {pan} logged");
    }
    assert!(!dump.contains("5555 5555 5555 4444") && !logged.contains("5555 5555 5555 4444"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_row_the_database_refuses_is_dead_lettered_without_blocking_its_batch() {
    let vehicle = unique("tram");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    // Stand-in for a value the database cannot take.
    sqlx::query("ALTER TABLE taps ADD CONSTRAINT test_refuses_poison CHECK (stop_id IS DISTINCT FROM 'poison')")
        .execute(ingest.db.pool())
        .await
        .expect("constraint");
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now();
    let mut poison = tap(&vehicle, &unique("ev"), now);
    poison.stop_id = "poison".into();
    for t in [
        tap(&vehicle, &unique("ev"), now),
        poison,
        tap(&vehicle, &unique("ev"), now),
    ] {
        device
            .publish(&topic(&vehicle, "tap"), t.encode_to_vec())
            .await;
    }
    let db = &ingest.db;
    eventually(
        "good taps stored, poison dead-lettered",
        Duration::from_secs(10),
        || async {
            (db.count("SELECT count(*) FROM taps").await == 2
                && db
                    .count("SELECT count(*) FROM dead_letters WHERE reason = 'storage_rejected'")
                    .await
                    == 1)
                .then_some(())
        },
    )
    .await;
    device.disconnect().await;
    ingest.stop().await;
}
