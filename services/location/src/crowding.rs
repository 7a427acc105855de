//! Live crowding: how many riders each vehicle carries, from its automatic
//! passenger counter (boardings minus alightings at each stop served, since
//! the start of its trip), against the capacity of its mode; published as
//! GTFS-Realtime's occupancy and on arrivals and vehicles.
//!
//! A load belongs to one trip: counts for another trip start it again from
//! zero (the counter's trip, else the trip the tracker gave the vehicle), and
//! a load not updated for [`LOAD_TTL_S`] is not shown.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, RwLock},
};

use kagoshima_proto::v1::Occupancy;

/// A load older than this (no count for 20 minutes) is unknown.
pub const LOAD_TTL_S: f64 = 20.0 * 60.0;

pub use kagoshima_domain::capacity::Capacity;

/// How full a vehicle of a mode is, as the passenger API and GTFS-Realtime
/// say it.
pub trait Crowding {
    /// The occupancy of `on_board` riders in a vehicle of `mode`, and the
    /// share of its capacity rounded to 10 %.
    fn occupancy(&self, mode: &str, on_board: u32) -> (Occupancy, u32);
}

impl Crowding for Capacity {
    /// The occupancy of `on_board` riders in a vehicle of `mode`, and the
    /// share of its capacity rounded to 10 % (GTFS-Realtime advises coarse
    /// figures so that no rider can be singled out).
    fn occupancy(&self, mode: &str, on_board: u32) -> (Occupancy, u32) {
        let capacity = f64::from(self.of(mode).max(1));
        let share = f64::from(on_board) / capacity;
        let seats = self.seated_share;
        let status = if on_board == 0 {
            Occupancy::Empty
        } else if share < seats * 0.5 {
            Occupancy::ManySeatsAvailable
        } else if share < seats {
            Occupancy::FewSeatsAvailable
        } else if share < 0.85 {
            Occupancy::StandingRoomOnly
        } else if share < 1.0 {
            Occupancy::CrushedStandingRoomOnly
        } else {
            Occupancy::Full
        };
        let percent = ((share * 10.0).round() * 10.0).min(200.0) as u32;
        (status, percent)
    }
}

#[derive(Debug, Clone)]
struct Load {
    trip_id: String,
    on_board: u32,
    at: f64,
}

/// Every vehicle's load, cheap to share.
#[derive(Debug, Default)]
pub struct Loads {
    by_vehicle: Mutex<HashMap<String, Load>>,
}

impl Loads {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Load>> {
        self.by_vehicle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One stop's counts of `vehicle` on `trip_id`, recorded at `at`.
    pub fn count(&self, vehicle: &str, trip_id: &str, boardings: u32, alightings: u32, at: f64) {
        let mut loads = self.lock();
        let load = loads.entry(vehicle.to_owned()).or_insert_with(|| Load {
            trip_id: trip_id.to_owned(),
            on_board: 0,
            at,
        });
        if load.trip_id != trip_id {
            *load = Load {
                trip_id: trip_id.to_owned(),
                on_board: 0,
                at,
            };
        }
        // Counts come in stop order; a late one for an earlier stop still
        // adds its riders (the order of additions does not matter).
        load.on_board = (load.on_board + boardings).saturating_sub(alightings);
        load.at = load.at.max(at);
    }

    /// Riders on board `vehicle` on `trip_id` at `now`; `None` when unknown
    /// (no counts, another trip, or too old).
    pub fn on_board(&self, vehicle: &str, trip_id: &str, now: f64) -> Option<u32> {
        let loads = self.lock();
        let load = loads.get(vehicle)?;
        (load.trip_id == trip_id && now - load.at <= LOAD_TTL_S).then_some(load.on_board)
    }

    /// Forgets loads not updated for [`LOAD_TTL_S`].
    pub fn sweep(&self, now: f64) {
        self.lock().retain(|_, l| now - l.at <= LOAD_TTL_S);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trip_load_is_boardings_minus_alightings_and_restarts_with_the_next_trip() {
        let loads = Loads::default();
        loads.count("tram-101", "t1", 12, 0, 100.0);
        loads.count("tram-101", "t1", 5, 3, 200.0);
        assert_eq!(loads.on_board("tram-101", "t1", 250.0), Some(14));
        // Never below zero, whatever a counter misses.
        loads.count("tram-101", "t1", 0, 40, 300.0);
        assert_eq!(loads.on_board("tram-101", "t1", 300.0), Some(0));
        // The next trip starts from its own counts.
        loads.count("tram-101", "t2", 7, 0, 400.0);
        assert_eq!(loads.on_board("tram-101", "t2", 400.0), Some(7));
        assert_eq!(loads.on_board("tram-101", "t1", 400.0), None);
        // Too old to tell.
        assert_eq!(
            loads.on_board("tram-101", "t2", 400.0 + LOAD_TTL_S + 1.0),
            None
        );
    }

    #[test]
    fn occupancy_follows_the_share_of_capacity_in_coarse_steps() {
        let c = Capacity::default();
        assert_eq!(c.occupancy("tram", 0), (Occupancy::Empty, 0));
        assert_eq!(c.occupancy("tram", 10).0, Occupancy::ManySeatsAvailable);
        assert_eq!(c.occupancy("tram", 30).0, Occupancy::FewSeatsAvailable);
        assert_eq!(c.occupancy("tram", 50), (Occupancy::StandingRoomOnly, 60));
        assert_eq!(
            c.occupancy("tram", 75).0,
            Occupancy::CrushedStandingRoomOnly
        );
        assert_eq!(c.occupancy("tram", 90).0, Occupancy::Full);
        // The same riders fill a minibus sooner.
        assert_eq!(
            c.occupancy("community_bus", 24).0,
            Occupancy::CrushedStandingRoomOnly
        );
    }
}

/// Days of passenger counts the usual loads are learned from.
pub const USUAL_WINDOW_DAYS: i64 = 28;
/// Runs of a trip needed before its usual load is shown.
pub const USUAL_MIN_RUNS: i64 = 3;

/// Expected crowding (what GTFS-Occupancies proposes): how full each trip
/// usually is leaving each stop, from the last [`USUAL_WINDOW_DAYS`] of
/// counts; shown where no live load is known.
#[derive(Debug, Clone, Default)]
pub struct Usual(Arc<RwLock<UsualLoads>>);

/// trip_id → stop_id → riders usually on board leaving it (nested, so that a
/// lookup by `&str` allocates nothing: it runs for arrivals rows).
type UsualLoads = HashMap<String, HashMap<String, u32>>;

impl Usual {
    /// Replaces the usual loads with those learned from at least
    /// [`USUAL_MIN_RUNS`] runs.
    pub fn set(&self, loads: Vec<kagoshima_storage::events::UsualLoad>) {
        let mut map = UsualLoads::new();
        for l in loads.into_iter().filter(|l| l.runs >= USUAL_MIN_RUNS) {
            map.entry(l.trip_id)
                .or_default()
                .insert(l.stop_id, l.load.round().max(0.0) as u32);
        }
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// Riders usually on board `trip_id` leaving `stop_id`.
    pub fn load(&self, trip_id: &str, stop_id: &str) -> Option<u32> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(trip_id)?
            .get(stop_id)
            .copied()
    }

    /// Learns from the database (the last [`USUAL_WINDOW_DAYS`] before today).
    pub async fn refresh(&self, pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
        let to = chrono::Utc::now();
        let from = to - chrono::Duration::days(USUAL_WINDOW_DAYS);
        let loads = kagoshima_storage::events::usual_loads(pool, from, to).await?;
        self.set(loads);
        Ok(self
            .0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(HashMap::len)
            .sum())
    }
}
