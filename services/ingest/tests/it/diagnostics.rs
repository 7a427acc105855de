//! Device diagnostics: a vendor's bad payloads show up with their reasons,
//! counts and latest payload (card numbers masked), next to what was stored.
use std::time::Duration;

use chrono::Utc;
use kagoshima_proto::{
    Message,
    v1::{
        GetDeviceDiagnosticsRequest, ListDevicesRequest, ingest_service_client::IngestServiceClient,
    },
};
use kagoshima_runtime::auth::{TokenEntry, hash_token_hex};
use kagoshima_tests::{TestDb, eventually, mqtt::Device, unique};
use tonic::{Code, Request};

use crate::support::{TEST_TOKEN, TestIngest, config, filters_for, position, tap, topic};

fn authorised<T>(message: T) -> Request<T> {
    with_token(message, TEST_TOKEN)
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

#[tokio::test]
async fn a_vendors_bad_payloads_show_up_with_their_reasons() {
    let vehicle = unique("tram");
    let quiet = unique("tram");
    let db = TestDb::new().await;
    let mut cfg = config(&db, filters_for(&[&vehicle, &quiet]));
    // A bus vendor's token: it must not see this tram's refusals.
    cfg.auth.tokens.push(TokenEntry {
        name: "bus-vendor".into(),
        sha256: hash_token_hex("bus-vendor-token"),
        devices: vec!["bus-".into()],
    });
    let ingest = TestIngest::spawn_with(db, cfg).await;
    let mut device = Device::connect(&unique("device")).await;
    let now = Utc::now();
    device
        .publish(
            &topic(&vehicle, "position"),
            position(&vehicle, now).encode_to_vec(),
        )
        .await;
    device
        .publish(
            &topic(&vehicle, "tap"),
            tap(&vehicle, &unique("ev"), now).encode_to_vec(),
        )
        .await;
    // Two taps in JSON with a short enum name misspelt, one with a card number.
    let bad = |extra: &str| {
        format!(
            r#"{{"eventId":"{}","vehicleId":"{vehicle}","validatorId":"v1","occurredAt":"{}","action":"onn","medium":"card","riderCategory":"adult","result":"approved","cardToken":"tok"{extra}}}"#,
            unique("ev"),
            now.to_rfc3339()
        )
    };
    device.publish(&topic(&vehicle, "tap"), bad("")).await;
    device.publish(&topic(&vehicle, "tap"), bad("")).await;
    device
        .publish(
            &topic(&vehicle, "tap"),
            bad(r#","stopId":"4111111111111111""#),
        )
        .await;
    eventually("all five handled", Duration::from_secs(15), || async {
        (ingest.db.count("SELECT count(*) FROM dead_letters").await == 3
            && ingest.db.count("SELECT count(*) FROM taps").await == 1)
            .then_some(())
    })
    .await;

    let mut client = IngestServiceClient::connect(format!("http://{}", ingest.grpc))
        .await
        .expect("connect");
    let no_token = client
        .get_device_diagnostics(GetDeviceDiagnosticsRequest {
            vehicle_id: vehicle.clone(),
            window_hours: 0,
        })
        .await
        .expect_err("needs a token");
    assert_eq!(no_token.code(), Code::Unauthenticated);

    let d = client
        .get_device_diagnostics(authorised(GetDeviceDiagnosticsRequest {
            vehicle_id: vehicle.clone(),
            window_hours: 0,
        }))
        .await
        .expect("diagnostics")
        .into_inner();
    assert_eq!(d.window_hours, 24);
    let device_summary = d.device.expect("device");
    let stored: Vec<(&str, u64)> = device_summary
        .stored
        .iter()
        .map(|m| (m.kind.as_str(), m.count))
        .collect();
    assert_eq!(stored, [("position", 1), ("tap", 1)]);
    assert_eq!(device_summary.refused, 3);
    assert_eq!(device_summary.mode, "tram");
    let reasons: Vec<(&str, u64)> = d
        .refusals
        .iter()
        .map(|r| (r.reason.as_str(), r.count))
        .collect();
    assert_eq!(reasons, [("malformed_payload", 2), ("card_number", 1)]);
    let malformed = &d.refusals[0];
    assert!(
        malformed
            .latest_detail
            .contains("\"onn\" is not a TapAction; accepted: ON, OFF"),
        "{}",
        malformed.latest_detail
    );
    assert_eq!(malformed.latest_payload_encoding, "text");
    assert!(malformed.latest_payload.contains("\"action\":\"onn\""));
    let card = &d.refusals[1];
    assert!(!card.latest_payload.contains("4111111111111111"));
    assert!(
        card.latest_payload.contains("1111"),
        "{}",
        card.latest_payload
    );

    let list = client
        .list_devices(authorised(ListDevicesRequest { window_hours: 1 }))
        .await
        .expect("list")
        .into_inner();
    let listed = list
        .devices
        .iter()
        .find(|d| d.vehicle_id == vehicle)
        .expect("the device is listed");
    assert_eq!(listed.refused, 3);
    assert!(
        list.dead_letters
            .iter()
            .any(|c| c.vehicle_id == vehicle && c.reason == "malformed_payload" && c.count == 2)
    );

    // The bus vendor sees neither the tram nor its dead letters.
    let other = client
        .get_device_diagnostics(with_token(
            GetDeviceDiagnosticsRequest {
                vehicle_id: vehicle.clone(),
                window_hours: 0,
            },
            "bus-vendor-token",
        ))
        .await
        .expect_err("not the bus vendor's device");
    assert_eq!(other.code(), Code::PermissionDenied);
    let theirs = client
        .list_devices(with_token(
            ListDevicesRequest { window_hours: 0 },
            "bus-vendor-token",
        ))
        .await
        .expect("list")
        .into_inner();
    assert!(theirs.devices.is_empty() && theirs.dead_letters.is_empty());

    let silent = client
        .get_device_diagnostics(authorised(GetDeviceDiagnosticsRequest {
            vehicle_id: quiet,
            window_hours: 0,
        }))
        .await
        .expect_err("nothing came from it");
    assert_eq!(silent.code(), Code::NotFound);
    assert!(silent.message().contains("check the vehicle id"));
    let too_long = client
        .list_devices(authorised(ListDevicesRequest {
            window_hours: 10_000,
        }))
        .await
        .expect_err("window too long");
    assert_eq!(too_long.code(), Code::InvalidArgument);
}
