//! How many riders a vehicle of each mode carries: one rule for live
//! crowding (location) and for crowded trips in timetable planning
//! (indicators).
use serde::{Deserialize, Serialize};

/// Riders a vehicle of each mode carries at most (seated and standing).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Capacity {
    pub tram: u32,
    pub bus: u32,
    pub community_bus: u32,
    /// Seats as a share of the capacity: below it there are seats.
    pub seated_share: f64,
}

impl Default for Capacity {
    fn default() -> Self {
        // Kagoshima's trams carry about 80 (the 7000 and 9500 series, 30-odd
        // seats); city buses about 70; the あいばす minibuses about 25.
        Capacity {
            tram: 80,
            bus: 70,
            community_bus: 25,
            seated_share: 0.4,
        }
    }
}

impl Capacity {
    /// The capacity of a vehicle of `mode` (`tram`, `bus`, `community_bus`).
    pub fn of(&self, mode: &str) -> u32 {
        match mode {
            "tram" => self.tram,
            "community_bus" => self.community_bus,
            _ => self.bus,
        }
    }
}
