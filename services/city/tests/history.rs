//! The simulated city's past (`kagoshima-city history`): a day filled by COPY
//! holds every family of device events, the same seed fills the same events
//! in another database, a second fill skips what is there, and a bulk batch
//! that repeats a stored row is refused whole.
use chrono::NaiveDate;
use kagoshima_city::history::{self, HistoryPlan};
use kagoshima_domain::validation::{ValidationConfig, Validator};
use kagoshima_ingest::pipeline::Pipeline;
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_tests::TestDb;

const CARD_KEY: &str = "9e1f0c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0f";

fn feed_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulators/feed/kagoshima")
}

fn plan(seed: u64) -> HistoryPlan {
    let from = NaiveDate::from_ymd_opt(2026, 5, 11).unwrap();
    HistoryPlan {
        from,
        until: from.succ_opt().unwrap(),
        seed,
        scale: 0.2,
        positions_from: from,
        newest_first: false,
    }
}

async fn fill(db: &TestDb, plan: &HistoryPlan) -> history::HistoryOutcome {
    let dir = std::env::temp_dir().join(kagoshima_tests::unique("history-backoffice"));
    history::fill(
        &db.store,
        &feed_dir(),
        &dir,
        CARD_KEY,
        plan,
        &indicatif::ProgressBar::hidden(),
        &Shutdown::new(),
    )
    .await
    .expect("the history fill succeeds")
}

/// Row counts and a digest of what was stored, family by family.
async fn fingerprint(db: &TestDb) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*), md5(string_agg(vehicle_id || recorded_at::text || lat::text || lon::text, ',' ORDER BY vehicle_id, recorded_at)) FROM vehicle_positions",
        "SELECT count(*), md5(string_agg(event_id || encode(card_hash, 'hex') || fare_yen::text, ',' ORDER BY event_id)) FROM taps",
        "SELECT count(*), md5(string_agg(vehicle_id || recorded_at::text || stop_id || boardings::text, ',' ORDER BY vehicle_id, recorded_at, stop_id)) FROM passenger_counts",
        "SELECT count(*), md5(string_agg(vehicle_id || recorded_at::text || uptime_s::text, ',' ORDER BY vehicle_id, recorded_at)) FROM device_status",
        "SELECT count(*), md5(string_agg(trip_id, ',' ORDER BY trip_id)) FROM bikeshare_trips",
        "SELECT count(*), md5(string_agg(sale_id, ',' ORDER BY sale_id)) FROM ticket_sales",
    ] {
        let (n, digest): (i64, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await
            .unwrap();
        out.push((n, digest.unwrap_or_default()));
    }
    out
}

#[tokio::test]
async fn a_filled_day_is_complete_deterministic_per_seed_and_filled_once() {
    let (a, b, other) = (
        TestDb::new().await,
        TestDb::new().await,
        TestDb::new().await,
    );
    let first = fill(&a, &plan(7)).await;
    assert_eq!((first.days_filled, first.days_skipped), (1, 0));
    assert!(first.rows.positions > 10_000, "{first:?}");
    assert!(first.rows.taps > 100 && first.rows.passengers > 100 && first.rows.statuses > 100);
    // The stop visits location would have found, for planning and predictions.
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM stop_visits")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert!(visits > 1_000, "{visits}");
    assert_eq!(visits as u64, first.stop_visits);
    let stored = fingerprint(&a).await;
    for (family, (n, _)) in ["positions", "taps", "counts", "statuses", "bikes", "sales"]
        .iter()
        .zip(&stored)
    {
        assert!(*n > 0, "no {family} stored");
    }
    assert_eq!(stored[0].0 as usize, first.rows.positions);
    assert_eq!(stored[1].0 as usize, first.rows.taps);
    // The simulator publishes some taps twice: each is stored once.
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT event_id) FROM taps")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(distinct, stored[1].0);

    // Same seed, another database: the same events, row for row.
    fill(&b, &plan(7)).await;
    assert_eq!(fingerprint(&b).await, stored);
    // Another seed: another day.
    fill(&other, &plan(8)).await;
    assert_ne!(fingerprint(&other).await[1], stored[1]);

    // Again: the day holds events, so nothing is written twice.
    let again = fill(&a, &plan(7)).await;
    assert_eq!((again.days_filled, again.days_skipped), (0, 1));
    assert_eq!(fingerprint(&a).await, stored);

    // The taps marked their day: the rides follow.
    let done = kagoshima_indicators::rides::refresh_dirty(a.pool(), &Default::default())
        .await
        .unwrap();
    assert!(
        done.iter().any(|(d, o)| *d == plan(7).from && o.rides > 0),
        "{done:?}"
    );
}

#[tokio::test]
async fn a_bulk_batch_that_repeats_a_stored_row_is_refused_whole() {
    let db = TestDb::new().await;
    let feed = kagoshima_sim::Feed::load(feed_dir()).unwrap();
    let pipeline = Pipeline::new(
        Validator::new(ValidationConfig::default()),
        kagoshima_ingest::app::card_hasher(CARD_KEY).unwrap(),
    );
    let (batch, _) = history::simulated_batch(&feed, &pipeline, &plan(3), plan(3).from);
    let loaded = db.store.load_history(&batch).await.unwrap();
    let before = fingerprint(&db).await;
    assert_eq!(before[0].0 as usize, loaded.positions);

    // The same day again (its positions repeat): an error, and nothing of
    // the second batch is kept, not even its taps.
    let err = db.store.load_history(&batch).await.unwrap_err();
    assert!(err.is_data_error(), "{err}");
    assert_eq!(fingerprint(&db).await, before);
}
