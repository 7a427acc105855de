use kagoshima_storage::MIGRATOR;
use kagoshima_tests::TestDb;

#[tokio::test]
async fn migrations_apply_on_an_empty_database_and_rerun_as_no_ops() {
    let db = TestDb::empty().await;
    db.store.migrate().await.expect("first run");
    db.store.migrate().await.expect("second run is a no-op");
    // Each file is also safe to run again by hand.
    for migration in MIGRATOR.iter() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql.as_str().to_owned()))
            .execute(db.pool())
            .await
            .unwrap_or_else(|e| panic!("migration {} re-run: {e}", migration.description));
    }
    for table in [
        "devices",
        "vehicle_positions",
        "taps",
        "passenger_counts",
        "device_status",
        "dead_letters",
    ] {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(table)
            .fetch_one(db.pool())
            .await
            .expect("regclass");
        assert!(exists, "table {table} missing");
    }
    let timescale = db
        .store
        .timescale_enabled()
        .await
        .expect("detect timescale");
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
    )
    .fetch_one(db.pool())
    .await
    .expect("available extensions");
    assert!(
        !timescale || available,
        "timescale reported enabled but not installed"
    );
    if !timescale {
        // Plain PostgreSQL: a tap's event_id alone is unique.
        let unique_on_event_id: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'taps' AND indexname = 'taps_event_id_key')",
        )
        .fetch_one(db.pool())
        .await
        .expect("indexes");
        assert!(unique_on_event_id);
    }
}
