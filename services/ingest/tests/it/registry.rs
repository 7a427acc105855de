//! The device registry: who has published, first and last seen.
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use kagoshima_storage::{Batch, PositionRow, REGISTRY_RESOLUTION};
use kagoshima_tests::{TestDb, unique};

fn report(vehicle: &str, at: DateTime<Utc>) -> Batch {
    Batch {
        positions: vec![PositionRow {
            vehicle_id: vehicle.to_owned(),
            recorded_at: at,
            mode: "tram",
            lat: 31.5916,
            lon: 130.5571,
            bearing: None,
            speed: None,
            accuracy: None,
            trip_id: None,
            route_id: None,
            odometer: None,
        }],
        ..Batch::default()
    }
}

/// (first_seen, last_seen, the row version's transaction id).
async fn registry_row(db: &TestDb, vehicle: &str) -> (DateTime<Utc>, DateTime<Utc>, String) {
    sqlx::query_as("SELECT first_seen, last_seen, xmin::text FROM devices WHERE vehicle_id = $1")
        .bind(vehicle)
        .fetch_one(db.pool())
        .await
        .expect("registry row")
}

#[tokio::test]
async fn last_seen_is_rewritten_only_once_it_lags_by_the_resolution() {
    let db = TestDb::new().await;
    let vehicle = unique("tram");
    let t0 = Utc::now().trunc_subsecs(3);
    let write = |at| {
        let batch = report(&vehicle, at);
        let store = db.store.clone();
        async move { store.write_batch(&batch).await.expect("write") }
    };

    write(t0).await;
    let (first, last, version) = registry_row(&db, &vehicle).await;
    assert_eq!((first, last), (t0, t0));

    // Reports inside the resolution leave the row alone: no new row version.
    let inside = t0 + REGISTRY_RESOLUTION - TimeDelta::seconds(1);
    write(t0 + TimeDelta::seconds(1)).await;
    write(inside).await;
    assert_eq!(registry_row(&db, &vehicle).await, (t0, t0, version.clone()));

    // A report a resolution later moves last_seen to its exact time.
    let later = t0 + REGISTRY_RESOLUTION + TimeDelta::seconds(1);
    write(later).await;
    let (first, last, moved) = registry_row(&db, &vehicle).await;
    assert_eq!((first, last), (t0, later));
    assert_ne!(moved, version, "the row was rewritten");

    // A report from before first_seen (uploaded late from a device's buffer)
    // moves first_seen back at once and never moves last_seen back.
    let buffered = t0 - TimeDelta::hours(1);
    write(buffered).await;
    let (first, last, _) = registry_row(&db, &vehicle).await;
    assert_eq!((first, last), (buffered, later));
}
