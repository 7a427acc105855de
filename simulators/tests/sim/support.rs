use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use kagoshima_domain::calendar::jst_day_start;
use kagoshima_sim::{Feed, SimConfig};

pub fn feed() -> &'static Feed {
    static FEED: OnceLock<Feed> = OnceLock::new();
    FEED.get_or_init(|| Feed::sample().expect("the sample feed loads"))
}

/// A weekday inside the feed's calendar.
pub fn weekday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 10).expect("date")
}

/// A small day: a few vehicles, a fraction of the riders.
pub fn small_config(seed: u64, vehicles: usize) -> SimConfig {
    let mut c = SimConfig::new(weekday());
    c.seed = seed;
    c.scale = 0.2;
    c.max_vehicles = Some(vehicles);
    c
}

/// Seconds after 00:00 JST of `date` (the simulator's clock).
pub fn secs_of(date: NaiveDate, t: DateTime<Utc>) -> f64 {
    (t - jst_day_start(date)).num_milliseconds() as f64 / 1000.0
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(kagoshima_tests::unique(name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
