//! One bad payload per validation rule, each ending as a dead letter with its reason.
use std::time::Duration;

use chrono::{Duration as Span, Utc};
use kagoshima_proto::Message;
use kagoshima_tests::{eventually, mqtt::Device, unique};

use crate::support::{TestIngest, position, tap, topic};

#[tokio::test]
async fn every_rule_dead_letters_its_bad_payload_with_the_reason() {
    let vehicle = unique("tram");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now();
    let pos = |f: &dyn Fn(&mut kagoshima_proto::v1::Position)| {
        let mut p = position(&vehicle, now);
        f(&mut p);
        p.encode_to_vec()
    };
    let tp = |f: &dyn Fn(&mut kagoshima_proto::v1::Tap)| {
        let mut t = tap(&vehicle, &unique("ev"), now);
        f(&mut t);
        t.encode_to_vec()
    };
    let pan = "4111111111111111";
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        (
            "malformed_payload",
            topic(&vehicle, "position"),
            b"\xff\xff\xff garbage".to_vec(),
        ),
        (
            "malformed_payload",
            topic(&vehicle, "tap"),
            b"{\"event_id\": 12, ".to_vec(),
        ),
        (
            "malformed_payload",
            topic(&vehicle, "position"),
            b"{\"no_such_field\": 1}".to_vec(),
        ),
        (
            "unknown_kind",
            topic(&vehicle, "video"),
            position(&vehicle, now).encode_to_vec(),
        ),
        (
            "vehicle_mismatch",
            topic(&vehicle, "position"),
            pos(&|p| p.vehicle_id = "someone-else".into()),
        ),
        (
            "outside_service_area",
            topic(&vehicle, "position"),
            pos(&|p| {
                p.lat = 35.681;
                p.lon = 139.767;
            }),
        ),
        (
            "invalid_coordinates",
            topic(&vehicle, "position"),
            pos(&|p| p.lat = f64::NAN),
        ),
        (
            "timestamp_in_future",
            topic(&vehicle, "position"),
            position(&vehicle, now + Span::hours(2)).encode_to_vec(),
        ),
        (
            "timestamp_too_old",
            topic(&vehicle, "tap"),
            tap(&vehicle, &unique("ev"), now - Span::days(90)).encode_to_vec(),
        ),
        (
            "missing_field",
            topic(&vehicle, "tap"),
            tp(&|t| t.event_id.clear()),
        ),
        (
            "invalid_field",
            topic(&vehicle, "tap"),
            tp(&|t| t.issuer_country = "Japan".into()),
        ),
        (
            "card_number",
            topic(&vehicle, "tap"),
            tp(&|t| t.card_token = pan.into()),
        ),
        (
            "card_number",
            topic(&vehicle, "tap"),
            tp(&|t| t.stop_id = format!("stop {pan}")),
        ),
        (
            "oversized_payload",
            topic(&vehicle, "position"),
            vec![b' '; 70 * 1024],
        ),
    ];
    for (_, t, payload) in &cases {
        device.publish(t, payload.clone()).await;
    }
    let db = &ingest.db;
    let expected = i64::try_from(cases.len()).expect("small");
    eventually(
        "every bad message dead-lettered",
        Duration::from_secs(10),
        || async {
            (db.count("SELECT count(*) FROM dead_letters").await == expected).then_some(())
        },
    )
    .await;
    let rows: Vec<(String, String, Vec<u8>, Option<String>)> =
        sqlx::query_as("SELECT reason, detail, payload, topic FROM dead_letters ORDER BY id")
            .fetch_all(db.pool())
            .await
            .expect("dead letters");
    let reasons: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let wanted: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(reasons, wanted);
    for (reason, detail, payload, topic) in &rows {
        assert!(!detail.is_empty(), "{reason} has no detail");
        assert!(topic.is_some());
        let text = String::from_utf8_lossy(payload);
        assert!(
            !text.contains(pan),
            "a card number was stored in a dead letter ({reason})"
        );
        assert!(!detail.contains(pan));
    }
    // The masked payload keeps its last four digits for the investigator.
    assert!(
        rows.iter()
            .any(|r| String::from_utf8_lossy(&r.2).contains("************1111"))
    );
    assert_eq!(db.count("SELECT count(*) FROM taps").await, 0);
    assert_eq!(db.count("SELECT count(*) FROM vehicle_positions").await, 0);
    let metrics = ingest.metrics().await;
    assert!(
        metrics.contains("kagoshima_ingest_dead_lettered_total{reason=\"card_number\"} 2"),
        "{metrics}"
    );
    device.disconnect().await;
    ingest.stop().await;
}
