//! Devices authenticate to the broker and may publish only under their own
//! vehicle id: the broker's ACL (deploy/mosquitto/acl) and ingest's own check.
use std::{process::Command, time::Duration};

use chrono::Utc;
use kagoshima_proto::Message;
use kagoshima_tests::{TestDb, broker::PrivateBroker, eventually, mqtt::Device, unique};

use crate::support::{config_on, position, start, stop, topic, wait_healthy};

#[tokio::test]
async fn devices_publish_only_as_themselves() {
    let dir = std::env::temp_dir().join(unique("kagoshima-auth"));
    std::fs::create_dir_all(&dir).expect("dir");
    let passwords = dir.join("passwd");
    let acl = dir.join("acl");
    std::fs::write(&acl, include_str!("../../../../deploy/mosquitto/acl")).expect("acl");
    let (tram_a, tram_b) = (unique("tram"), unique("tram"));
    for (i, (user, password)) in [
        (tram_a.as_str(), "pw-a"),
        (tram_b.as_str(), "pw-b"),
        ("ingest", "pw-ingest"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let status = cmd
            .arg("-b")
            .arg(&passwords)
            .arg(user)
            .arg(password)
            .status()
            .expect("mosquitto_passwd");
        assert!(status.success());
    }
    let broker = PrivateBroker::start_with_auth(&passwords, &acl);

    // Nobody gets in without a password, or with a wrong one.
    assert!(
        Device::try_connect(&unique("anon"), "127.0.0.1", broker.port, None)
            .await
            .is_err()
    );
    assert!(
        Device::try_connect(
            &unique("x"),
            "127.0.0.1",
            broker.port,
            Some((&tram_a, "wrong"))
        )
        .await
        .is_err()
    );

    let db = TestDb::new().await;
    let mut config = config_on(
        &db.url,
        "127.0.0.1",
        broker.port,
        vec!["kagoshima/v1/+/+/+".into()],
    );
    config.mqtt.username = "ingest".into();
    config.mqtt.password = kagoshima_runtime::secret::Secret::new("pw-ingest");
    let (_, http, shutdown, handle) = start(config).await;
    wait_healthy(http).await;

    let mut device_a = Device::try_connect(
        &unique("dev"),
        "127.0.0.1",
        broker.port,
        Some((&tram_a, "pw-a")),
    )
    .await
    .expect("tram a logs in");
    let now = Utc::now();
    // As itself: stored.
    device_a
        .publish(
            &topic(&tram_a, "position"),
            position(&tram_a, now).encode_to_vec(),
        )
        .await;
    // As tram b, on tram b's topic: the broker's ACL drops it.
    device_a
        .publish(
            &topic(&tram_b, "position"),
            position(&tram_b, now).encode_to_vec(),
        )
        .await;
    // On its own topic claiming to be tram b: ingest refuses it.
    device_a
        .publish(
            &topic(&tram_a, "position"),
            position(&tram_b, now).encode_to_vec(),
        )
        .await;
    eventually(
        "own report stored and impersonation dead-lettered",
        Duration::from_secs(10),
        || async {
            (db.count("SELECT count(*) FROM vehicle_positions").await == 1
                && db.count("SELECT count(*) FROM dead_letters").await == 1)
                .then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let vehicles: Vec<String> = sqlx::query_scalar("SELECT vehicle_id FROM vehicle_positions")
        .fetch_all(db.pool())
        .await
        .expect("rows");
    assert_eq!(vehicles, vec![tram_a.clone()]);
    let reason: String = sqlx::query_scalar("SELECT reason FROM dead_letters")
        .fetch_one(db.pool())
        .await
        .expect("dead letter");
    assert_eq!(reason, "vehicle_mismatch");
    device_a.disconnect().await;
    stop(shutdown, handle).await;
    let _ = std::fs::remove_dir_all(dir);
}
