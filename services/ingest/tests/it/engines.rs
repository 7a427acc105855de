//! The same schema and the same guarantees on TimescaleDB and on plain
//! PostgreSQL, and what TimescaleDB adds where it runs (the test command runs
//! this file on both; `KAGOSHIMA_TEST_ENGINE` says which one to expect).
use chrono::{DateTime, Duration, Utc};
use kagoshima_domain::fields::{Medium, RiderCategory, TapAction, TapResult};
use kagoshima_storage::{
    Batch, MIGRATOR, PositionRow, REVIEWED_EDITS, Store, TapRow, private_postgres::PrivatePostgres,
};
use kagoshima_tests::{TestDb, free_port, unique};

fn tap(event_id: &str, at: DateTime<Utc>) -> TapRow {
    TapRow {
        event_id: event_id.to_owned(),
        occurred_at: at,
        vehicle_id: "tram-101".into(),
        mode: "tram",
        validator_id: "tram-101-v1".into(),
        action: TapAction::On,
        card_hash: [7; 32],
        medium: Medium::Card,
        brand: Some("visa".into()),
        issuer_country: Some("JP".into()),
        rider_category: RiderCategory::Adult,
        num_riders: 1,
        fare_yen: 170,
        result: TapResult::Approved,
        stop_id: Some("S01".into()),
        route_id: Some("1".into()),
        trip_id: None,
        source: "test",
    }
}

fn position(vehicle: &str, at: DateTime<Utc>) -> PositionRow {
    PositionRow {
        vehicle_id: vehicle.to_owned(),
        recorded_at: at,
        mode: "tram",
        lat: 31.5966,
        lon: 130.5571,
        bearing: None,
        speed: None,
        accuracy: None,
        trip_id: None,
        route_id: None,
        odometer: None,
    }
}

async fn write(store: &Store, batch: Batch) -> kagoshima_storage::BatchOutcome {
    store.write_batch(&batch).await.expect("batch written")
}

#[tokio::test]
async fn a_tap_resent_with_another_time_is_stored_once_on_either_engine() {
    let db = TestDb::new().await;
    let at = Utc::now() - Duration::days(3);
    let first = write(
        &db.store,
        Batch {
            taps: vec![tap("ev-resent", at), tap("ev-other", at)],
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(first.taps, vec![true, true]);
    // The validator's clock was corrected between the two sends: another
    // week, so another chunk on TimescaleDB. Inside one batch as well.
    let resent = write(
        &db.store,
        Batch {
            taps: vec![
                tap("ev-resent", at + Duration::days(8)),
                tap("ev-new", at),
                tap("ev-new", at + Duration::seconds(1)),
            ],
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(resent.taps, vec![false, true, false]);
    assert_eq!(db.count("SELECT count(*) FROM taps").await, 3);
    let kept: DateTime<Utc> =
        sqlx::query_scalar("SELECT occurred_at FROM taps WHERE event_id = 'ev-resent'")
            .fetch_one(db.pool())
            .await
            .expect("the first copy");
    assert_eq!(kept.timestamp_micros(), at.timestamp_micros());
    // A history's day is written a few thousand taps per statement: a tap
    // repeated in a later part of one batch is still stored once.
    let mut day: Vec<TapRow> = (0..4_500)
        .map(|i| tap(&format!("ev-day-{i}"), at + Duration::seconds(i)))
        .collect();
    day.push(tap("ev-day-7", at + Duration::hours(2)));
    let outcome = write(
        &db.store,
        Batch {
            taps: day,
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(outcome.taps.iter().filter(|new| **new).count(), 4_500);
    assert_eq!(outcome.taps.last(), Some(&false));
    assert_eq!(db.count("SELECT count(*) FROM taps").await, 4_503);
    db.timescale().await;
}

#[tokio::test]
async fn a_database_migrated_before_a_reviewed_edit_still_starts() {
    let db = TestDb::new().await;
    // As a database migrated by the previous release: version 1 recorded
    // with the checksum it had before the edit.
    assert!(!REVIEWED_EDITS.is_empty());
    for (version, before) in REVIEWED_EDITS {
        let set = sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2")
            .bind(hex::decode(before).expect("hex"))
            .bind(version)
            .execute(db.pool())
            .await
            .expect("set the old checksum");
        assert_eq!(set.rows_affected(), 1, "no applied migration {version}");
    }
    db.store
        .migrate()
        .await
        .expect("starts on an older database");
    for migration in MIGRATOR.iter() {
        let recorded: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_one(db.pool())
                .await
                .expect("recorded");
        assert_eq!(
            recorded,
            migration.checksum.as_ref(),
            "{}",
            migration.version
        );
    }
    // Any other change of an applied migration is still refused.
    let tampered = sqlx::query(
        "UPDATE _sqlx_migrations SET checksum = '\\x00'
          WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(db.pool())
    .await
    .expect("tamper");
    assert_eq!(tampered.rows_affected(), 1);
    let refused = db.store.migrate().await;
    assert!(refused.is_err(), "{refused:?}");
}

/// A cluster whose PostgreSQL can see the timescaledb files but does not
/// preload them (the system-mode install's other clusters): CREATE EXTENSION
/// there ends the session with a FATAL error, so the migrations must not try.
#[tokio::test]
async fn a_cluster_that_sees_timescaledb_without_preloading_it_gets_plain_tables() {
    let Some(bin) = std::env::var_os("KAGOSHIMA_TEST_TIMESCALEDB_BIN") else {
        assert_ne!(
            std::env::var("KAGOSHIMA_TEST_ENGINE").as_deref(),
            Ok("timescaledb"),
            "KAGOSHIMA_TEST_TIMESCALEDB_BIN must name the side-by-side bin folder"
        );
        eprintln!("skipped: KAGOSHIMA_TEST_TIMESCALEDB_BIN is not set (scripts/test.sh sets it)");
        return;
    };
    let dir = std::env::temp_dir().join(unique("kagoshima-pg-nopreload"));
    let postgres = PrivatePostgres::start_from(std::path::Path::new(&bin), &dir, free_port())
        .expect("a private cluster from the side-by-side binaries");
    let url = postgres.url("kagoshima");
    let store = Store::open(&url, 2).await.expect("migrates without FATAL");
    let available: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
    )
    .fetch_one(store.pool())
    .await
    .expect("available extensions");
    assert!(available, "this cluster should see the timescaledb files");
    assert!(!store.timescale_enabled().await.expect("detect"));
    let outcome = store
        .write_batch(&Batch {
            taps: vec![tap("ev-plain", Utc::now())],
            ..Batch::default()
        })
        .await
        .expect("ingest works on plain tables");
    assert_eq!(outcome.taps, vec![true]);
    store.pool().close().await;
    drop(postgres);
    let _ = std::fs::remove_dir_all(dir);
}

/// Hypertables, their chunk intervals, compression and retention policies
/// and the continuous aggregates, as the migrations declare them.
#[tokio::test]
async fn timescaledb_gets_hypertables_policies_and_continuous_aggregates() {
    let db = TestDb::new().await;
    if !db.timescale().await {
        // Plain PostgreSQL: the same names are ordinary tables.
        let kinds: Vec<(String, String)> = sqlx::query_as(
            "SELECT relname::text, relkind::text FROM pg_class
              WHERE relname IN ('rides', 'ridership_route_hour', 'ridership_od', 'ridership_shares')
              ORDER BY relname",
        )
        .fetch_all(db.pool())
        .await
        .expect("tables");
        assert_eq!(kinds.len(), 4);
        assert!(kinds.iter().all(|(_, kind)| kind == "r"), "{kinds:?}");
        return;
    }
    let chunks: Vec<(String, String)> = sqlx::query_as(
        "SELECT hypertable_name::text, time_interval::text FROM timescaledb_information.dimensions
          ORDER BY hypertable_name",
    )
    .fetch_all(db.pool())
    .await
    .expect("dimensions");
    let expected = [
        ("device_status", "7 days"),
        ("passenger_counts", "7 days"),
        ("rides", "7 days"),
        ("taps", "7 days"),
        ("vehicle_positions", "1 day"),
    ];
    for (table, interval) in expected {
        assert!(
            chunks.iter().any(|(t, i)| t == table && i == interval),
            "{table} should be a hypertable in chunks of {interval}: {chunks:?}"
        );
    }
    let compression: Vec<(String, String, Option<i16>, Option<i16>)> = sqlx::query_as(
        "SELECT hypertable_name::text, attname::text, segmentby_column_index, orderby_column_index
           FROM timescaledb_information.compression_settings ORDER BY 1, 2",
    )
    .fetch_all(db.pool())
    .await
    .expect("compression settings");
    let segment_by = |table: &str| {
        compression
            .iter()
            .any(|(t, c, s, _)| t == table && c == "vehicle_id" && s.is_some())
    };
    assert!(segment_by("vehicle_positions"), "{compression:?}");
    assert!(segment_by("device_status"), "{compression:?}");
    assert!(segment_by("taps"), "{compression:?}");
    assert!(segment_by("passenger_counts"), "{compression:?}");
    assert!(
        compression
            .iter()
            .any(|(t, c, _, o)| t == "vehicle_positions" && c == "recorded_at" && o.is_some()),
        "{compression:?}"
    );
    let jobs: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT proc_name::text, hypertable_name::text,
                coalesce(config->>'compress_after', config->>'drop_after')
           FROM timescaledb_information.jobs
          WHERE proc_name IN ('policy_compression', 'policy_retention')
          ORDER BY 1, 2",
    )
    .fetch_all(db.pool())
    .await
    .expect("jobs");
    let job = |proc: &str, table: &str, after: &str| {
        jobs.iter()
            .any(|(p, t, a)| p == proc && t == table && a == after)
    };
    assert!(
        job("policy_compression", "vehicle_positions", "7 days"),
        "{jobs:?}"
    );
    assert!(
        job("policy_compression", "device_status", "7 days"),
        "{jobs:?}"
    );
    assert!(
        job("policy_compression", "passenger_counts", "7 days"),
        "{jobs:?}"
    );
    // Taps are kept (revenue records), compressed after a month of late uploads.
    assert!(job("policy_compression", "taps", "35 days"), "{jobs:?}");
    assert!(
        !jobs
            .iter()
            .any(|(p, t, _)| p == "policy_retention" && t == "taps"),
        "{jobs:?}"
    );
    assert!(
        job("policy_retention", "vehicle_positions", "400 days"),
        "{jobs:?}"
    );
    assert!(
        job("policy_retention", "device_status", "400 days"),
        "{jobs:?}"
    );
    // Taps and rides are revenue records: never dropped by a policy.
    assert!(
        !jobs
            .iter()
            .any(|(p, t, _)| p == "policy_retention" && (t == "taps" || t == "rides")),
        "{jobs:?}"
    );
    let aggregates: Vec<String> = sqlx::query_scalar(
        "SELECT view_name::text FROM timescaledb_information.continuous_aggregates ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("continuous aggregates");
    assert_eq!(
        aggregates,
        ["ridership_od", "ridership_route_hour", "ridership_shares"]
    );
}

/// Late reports and repeats land in chunks that compression has already
/// packed: stored once, repeats still recognised.
#[tokio::test]
async fn positions_into_a_compressed_chunk_insert_and_repeat_as_no_ops() {
    let db = TestDb::new().await;
    let vehicle = unique("tram");
    // Whole seconds, as the validator truncates times to what the database keeps.
    let old =
        DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now") - Duration::days(10);
    let first = write(
        &db.store,
        Batch {
            positions: (0..20)
                .map(|i| position(&vehicle, old + Duration::seconds(i * 5)))
                .collect(),
            ..Batch::default()
        },
    )
    .await;
    assert!(first.positions.iter().all(|new| *new));
    if db.timescale().await {
        let compressed: i64 = sqlx::query_scalar(
            "SELECT count(compress_chunk(c, if_not_compressed => true))
               FROM show_chunks('vehicle_positions', older_than => INTERVAL '7 days') c",
        )
        .fetch_one(db.pool())
        .await
        .expect("compress");
        assert!(compressed >= 1);
        let still: i64 = db
            .count(
                "SELECT count(*) FROM timescaledb_information.chunks
                  WHERE hypertable_name = 'vehicle_positions' AND is_compressed",
            )
            .await;
        assert!(still >= 1, "no compressed chunk");
    }
    let late = write(
        &db.store,
        Batch {
            positions: vec![
                position(&vehicle, old),                         // a repeat
                position(&vehicle, old + Duration::seconds(7)),  // late, new
                position(&vehicle, old + Duration::seconds(95)), // a repeat
            ],
            ..Batch::default()
        },
    )
    .await;
    assert_eq!(late.positions, vec![false, true, false]);
    assert_eq!(db.count("SELECT count(*) FROM vehicle_positions").await, 21);
}

/// The retention policy drops raw positions only beyond 400 days: a whole
/// fiscal year back from any day of it (365 days at most on 31 March) stays.
#[tokio::test]
async fn a_retention_run_keeps_the_current_fiscal_year() {
    let db = TestDb::new().await;
    if !db.timescale().await {
        return; // No policy runs on plain PostgreSQL: nothing is dropped.
    }
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let vehicle = unique("tram");
    write(
        &db.store,
        Batch {
            positions: vec![
                position(&vehicle, now - Duration::days(366)),
                position(&vehicle, now - Duration::days(402)),
            ],
            ..Batch::default()
        },
    )
    .await;
    let job: i32 = sqlx::query_scalar(
        "SELECT job_id FROM timescaledb_information.jobs
          WHERE proc_name = 'policy_retention' AND hypertable_name = 'vehicle_positions'",
    )
    .fetch_one(db.pool())
    .await
    .expect("the retention job");
    sqlx::query("CALL run_job($1)")
        .bind(job)
        .execute(db.pool())
        .await
        .expect("retention runs");
    let kept: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT recorded_at FROM vehicle_positions WHERE vehicle_id = $1 ORDER BY 1",
    )
    .bind(&vehicle)
    .fetch_all(db.pool())
    .await
    .expect("positions");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0] > now - Duration::days(367));
}

/// A policy that fails (TimescaleDB 2.28.3 on PostgreSQL 15.20 records every
/// run as failed) is shown to the operator: a gauge per job in `/metrics` and
/// a warning in `/healthz`, which stays 200 so the service keeps serving.
#[tokio::test]
async fn a_failing_database_job_is_visible_and_the_service_stays_ready() {
    let db = TestDb::new().await;
    let timescale = db.timescale().await;
    if timescale {
        sqlx::raw_sql(
            "CREATE PROCEDURE kagoshima_test_failing_job(job_id int, config jsonb)
             LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'this job always fails'; END $$;
             SELECT add_job('kagoshima_test_failing_job', INTERVAL '1 hour', initial_start => now());",
        )
        .execute(db.pool())
        .await
        .expect("a failing job");
        kagoshima_tests::eventually("the job ran and failed", std::time::Duration::from_secs(30), || async {
            let failed: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM timescaledb_information.job_stats s
                   JOIN timescaledb_information.jobs j USING (job_id)
                  WHERE j.proc_name = 'kagoshima_test_failing_job' AND s.last_run_status = 'Failed'",
            )
            .fetch_one(db.pool())
            .await
            .expect("job stats");
            (failed > 0).then_some(())
        })
        .await;
    }
    let vehicle = unique("tram");
    let config = crate::support::config(&db, crate::support::filters_for(&[vehicle.as_str()]));
    let ingest = crate::support::TestIngest::spawn_with(db, config).await;
    let url = format!("http://{}/healthz", ingest.http);
    let (code, body) = crate::support::http_get(&url).await.expect("healthz");
    assert_eq!(code, 200, "{body}");
    let metrics = ingest.metrics().await;
    if timescale {
        assert!(body.contains("\"status\":\"degraded\""), "{body}");
        assert!(body.contains("database_jobs"), "{body}");
        assert!(body.contains("this job always fails"), "{body}");
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("kagoshima_database_job_failing{")
                    && l.contains("kagoshima_test_failing_job")
                    && l.ends_with(" 1")),
            "{metrics}"
        );
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("kagoshima_database_jobs_failing ") && !l.ends_with(" 0")),
            "{metrics}"
        );
    } else {
        assert!(body.contains("\"status\":\"ok\""), "{body}");
        assert!(
            metrics.contains("kagoshima_database_jobs_failing 0"),
            "{metrics}"
        );
    }
    ingest.stop().await;
}
