//! The anonymous stop-search counters behind the plan's indicator No. 56 ①
//! (bus-stop searches for あいばす). The rule is in passenger.proto: each
//! SearchStops call adds 1 per stop returned to stop_search_counts(day,
//! stop_id), 1 to search_counts(day, 'all') and 1 to search_counts(day, mode)
//! for each mode serving a returned stop; GetStop and GetStopTimetable add 1
//! for their stop. The day is the JST date. No query text and nothing about
//! the client is stored. The counters themselves are storage's
//! ([`kagoshima_storage::usage`]).
//!
//! A failed counter update is logged and the answer still goes out: the
//! passenger is not refused because a statistic could not be written.
use std::collections::BTreeSet;

use chrono::NaiveDate;
use kagoshima_proto::v1::{Stop, TransitMode};
use sqlx::PgPool;

fn mode_key(mode: i32) -> Option<&'static str> {
    match TransitMode::try_from(mode).ok()? {
        TransitMode::Tram => Some("tram"),
        TransitMode::Bus => Some("bus"),
        TransitMode::CommunityBus => Some("community_bus"),
        TransitMode::Other => Some("other"),
        TransitMode::Unspecified => None,
    }
}

/// Counts one SearchStops call and the stops it returned.
pub async fn record_search(pool: &PgPool, day: NaiveDate, stops: &[Stop]) {
    let stop_ids: Vec<&str> = stops
        .iter()
        .map(|s| s.stop_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut modes: BTreeSet<&str> = stops
        .iter()
        .flat_map(|s| s.routes.iter().filter_map(|r| mode_key(r.mode)))
        .collect();
    modes.insert("all");
    let modes: Vec<&str> = modes.into_iter().collect();
    if let Err(e) = kagoshima_storage::usage::add_searches(pool, day, &modes, &stop_ids, 1).await {
        tracing::warn!(error = %e, "could not count a stop search");
    }
}

/// Counts one look at a stop (GetStop, GetStopTimetable).
pub async fn record_lookup(pool: &PgPool, day: NaiveDate, stop_id: &str) {
    if let Err(e) = kagoshima_storage::usage::add_lookup(pool, day, stop_id).await {
        tracing::warn!(error = %e, "could not count a stop lookup");
    }
}
