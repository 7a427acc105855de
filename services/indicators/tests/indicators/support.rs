//! Helpers the test modules share.
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use kagoshima_indicators::figures::Report;
use kagoshima_network::ImportOptions;
use kagoshima_tests::TestDb;

/// The instant the tests take as now (2026-11-24 12:00 JST).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap()
}

/// An indicator's value in a report, as text ("" when it has none).
pub fn value(r: &Report, id: &str) -> String {
    r.rows
        .iter()
        .find(|x| x.id == id)
        .and_then(|x| x.value)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// A fresh database with the sample network imported.
pub async fn db_with_sample_feed() -> TestDb {
    let db = TestDb::new().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulators/feed/kagoshima");
    let feed = kagoshima_network::feed::load(&path)
        .unwrap_or_else(|r| panic!("sample feed refused: {r:?}"));
    kagoshima_network::import(
        db.pool(),
        &feed,
        &ImportOptions::default(),
        &kagoshima_network::import::Quiet,
    )
    .await
    .unwrap();
    db
}
