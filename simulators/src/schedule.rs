//! The day plan: which blocks run on a service date, and the vehicle that
//! runs each one (one vehicle per GTFS block).
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::jst_day_start;
use kagoshima_domain::topic::Mode;

use crate::feed::Feed;

/// One vehicle of the day and the trips of its block, in running order.
#[derive(Debug, Clone)]
pub struct PlannedVehicle {
    pub vehicle_id: String,
    pub mode: Mode,
    pub block_id: String,
    pub trip_ids: Vec<String>,
}

/// The instant of a GTFS time (seconds after the service date's noon minus
/// 12 h, which in Japan, without daylight saving time, is 00:00 JST).
pub fn gtfs_instant(date: NaiveDate, secs: f64) -> DateTime<Utc> {
    jst_day_start(date) + Duration::milliseconds((secs * 1000.0).round() as i64)
}

/// The id prefix and first number of each mode's vehicles.
fn id_base(mode: Mode) -> (&'static str, usize) {
    match mode {
        Mode::Tram => ("tram", 101),
        Mode::Bus => ("bus", 201),
        Mode::CommunityBus => ("aibus", 301),
    }
}

/// A vehicle id with the optional run prefix.
pub fn vehicle_id(prefix: &str, base: &str) -> String {
    if prefix.is_empty() {
        base.to_owned()
    } else {
        format!("{prefix}-{base}")
    }
}

/// The vehicles running on `date`, sorted by mode then by first departure.
pub fn day_plan(feed: &Feed, date: NaiveDate, prefix: &str) -> Vec<PlannedVehicle> {
    let services = feed.services_on(date);
    let mut blocks: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for trip in feed.trips.values() {
        if services.contains(&trip.service_id) {
            blocks
                .entry(trip.block_id.clone())
                .or_default()
                .push((trip.start_s(), trip.id.clone()));
        }
    }
    let mut by_mode: BTreeMap<u8, Vec<(u32, String, Vec<String>)>> = BTreeMap::new();
    for (block_id, mut trips) in blocks {
        trips.sort();
        let first = &feed.trips[&trips[0].1];
        let mode = feed.mode_of(&first.route_id);
        by_mode.entry(mode_order(mode)).or_default().push((
            trips[0].0,
            block_id,
            trips.into_iter().map(|(_, id)| id).collect(),
        ));
    }
    let mut out = Vec::new();
    for (order, mut blocks) in by_mode {
        blocks.sort();
        let mode = Mode::ALL[order as usize];
        let (name, first) = id_base(mode);
        for (i, (_, block_id, trip_ids)) in blocks.into_iter().enumerate() {
            out.push(PlannedVehicle {
                vehicle_id: vehicle_id(prefix, &format!("{name}-{}", first + i)),
                mode,
                block_id,
                trip_ids,
            });
        }
    }
    out
}

fn mode_order(mode: Mode) -> u8 {
    match mode {
        Mode::Tram => 0,
        Mode::Bus => 1,
        Mode::CommunityBus => 2,
    }
}
