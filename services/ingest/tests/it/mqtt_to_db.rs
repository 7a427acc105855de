use std::time::Duration;

use chrono::{SubsecRound, Utc};
use kagoshima_proto::{
    Message, json,
    v1::{DeviceKind, DeviceStatus, PassengerCount},
};
use kagoshima_tests::{eventually, mqtt::Device, unique};

use crate::support::{TestIngest, position, tap, topic, ts};

#[tokio::test]
async fn positions_taps_counts_and_status_land_in_the_database() {
    let vehicle = unique("tram");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now().trunc_subsecs(3);

    device
        .publish(
            &topic(&vehicle, "position"),
            position(&vehicle, now).encode_to_vec(),
        )
        .await;
    let json_position =
        json::encode(&position(&vehicle, now + chrono::Duration::seconds(5))).expect("json");
    assert_eq!(json_position.first(), Some(&b'{'));
    device
        .publish(&topic(&vehicle, "position"), json_position)
        .await;
    device
        .publish(
            &topic(&vehicle, "tap"),
            tap(&vehicle, &unique("ev"), now).encode_to_vec(),
        )
        .await;
    let json_tap = json::encode(&tap(&vehicle, &unique("ev"), now)).expect("json");
    device.publish(&topic(&vehicle, "tap"), json_tap).await;
    let count = PassengerCount {
        vehicle_id: vehicle.clone(),
        recorded_at: ts(now),
        stop_id: "tram_tenmonkan_dori".into(),
        boardings: 7,
        alightings: 3,
        trip_id: String::new(),
        route_id: "tram-1".into(),
    };
    device
        .publish(&topic(&vehicle, "passengers"), count.encode_to_vec())
        .await;
    let status = DeviceStatus {
        vehicle_id: vehicle.clone(),
        recorded_at: ts(now),
        device_kind: DeviceKind::Onboard.into(),
        firmware: "2.4.1".into(),
        uptime_s: 3600,
        buffered: 0,
    };
    device
        .publish(&topic(&vehicle, "status"), status.encode_to_vec())
        .await;

    let db = &ingest.db;
    eventually("every message stored", Duration::from_secs(10), || async {
        let n = db.count("SELECT (SELECT count(*) FROM vehicle_positions) + (SELECT count(*) FROM taps) + (SELECT count(*) FROM passenger_counts) + (SELECT count(*) FROM device_status)").await;
        (n == 6).then_some(())
    })
    .await;

    let (lat, lon, recorded_at, mode): (f64, f64, chrono::DateTime<Utc>, String) = sqlx::query_as(
        "SELECT lat, lon, recorded_at, mode FROM vehicle_positions ORDER BY recorded_at LIMIT 1",
    )
    .fetch_one(db.pool())
    .await
    .expect("position row");
    assert_eq!(
        (lat, lon, recorded_at, mode.as_str()),
        (31.59071, 130.55530, now, "tram")
    );

    let (boardings, alightings): (i32, i32) =
        sqlx::query_as("SELECT boardings, alightings FROM passenger_counts")
            .fetch_one(db.pool())
            .await
            .expect("count row");
    assert_eq!((boardings, alightings), (7, 3));

    let (firmware, kind): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT firmware, device_kind FROM devices WHERE vehicle_id = $1")
            .bind(&vehicle)
            .fetch_one(db.pool())
            .await
            .expect("device registry row");
    assert_eq!(firmware.as_deref(), Some("2.4.1"));
    assert_eq!(kind.as_deref(), Some("onboard"));

    // Card tokens are stored only as 32-byte keyed hashes.
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, ' ') FROM taps t")
        .fetch_one(db.pool())
        .await
        .expect("taps as text");
    assert!(
        !dump.contains("tok_"),
        "a card token reached the database: {dump}"
    );
    let hash_len: i32 = sqlx::query_scalar("SELECT min(octet_length(card_hash)) FROM taps")
        .fetch_one(db.pool())
        .await
        .expect("hash");
    assert_eq!(hash_len, 32);

    let metrics = ingest.metrics().await;
    assert!(
        metrics.contains("kagoshima_ingest_stored_total{kind=\"tap\"} 2"),
        "{metrics}"
    );
    device.disconnect().await;
    ingest.stop().await;
}

#[tokio::test]
async fn a_message_published_twice_is_stored_once() {
    let vehicle = unique("tram");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now();
    let the_tap = tap(&vehicle, &unique("ev"), now).encode_to_vec();
    let the_position = position(&vehicle, now).encode_to_vec();
    for _ in 0..3 {
        device
            .publish(&topic(&vehicle, "tap"), the_tap.clone())
            .await;
        device
            .publish(&topic(&vehicle, "position"), the_position.clone())
            .await;
    }
    eventually("duplicates recognised", Duration::from_secs(10), || async {
        let m = ingest.metrics().await;
        (m.contains("kagoshima_ingest_duplicates_total{kind=\"tap\"} 2")
            && m.contains("kagoshima_ingest_duplicates_total{kind=\"position\"} 2"))
        .then_some(())
    })
    .await;
    assert_eq!(ingest.db.count("SELECT count(*) FROM taps").await, 1);
    assert_eq!(
        ingest
            .db
            .count("SELECT count(*) FROM vehicle_positions")
            .await,
        1
    );
    device.disconnect().await;
    ingest.stop().await;
}
