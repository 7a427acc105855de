//! The indicators service's configuration: built-in defaults, then a TOML
//! file (`--config`), then `KAGOSHIMA_<SECTION>__<KEY>` variables and
//! `DATABASE_URL` (see `kagoshima_runtime::config`).
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use kagoshima_runtime::settings::{AuthConfig, DatabaseConfig, ListenConfig, LogConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IndicatorsConfig {
    pub database: DatabaseConfig,
    pub grpc: ListenConfig,
    pub http: ListenConfig,
    pub auth: AuthConfig,
    pub rides: RidesConfig,
    pub fare_cap: FareCapConfig,
    pub open_data: OpenDataConfig,
    pub tickets: TicketsConfig,
    pub availability: AvailabilityConfig,
    pub refresh: RefreshConfig,
    /// Riders per vehicle by mode, for crowded trips in timetable planning
    /// (`[capacity]`, the same figures as location's `[live.capacity]`).
    pub capacity: kagoshima_domain::capacity::Capacity,
    /// Plan file; the embedded data/plan/dx-plan-targets.toml when unset.
    pub plan: Option<PathBuf>,
    pub log: LogConfig,
}

impl Default for IndicatorsConfig {
    fn default() -> Self {
        IndicatorsConfig {
            database: DatabaseConfig::default(),
            grpc: ListenConfig::on("127.0.0.1:50053"),
            http: ListenConfig::on("127.0.0.1:9093"),
            auth: AuthConfig::default(),
            rides: RidesConfig::default(),
            fare_cap: FareCapConfig::default(),
            open_data: OpenDataConfig::default(),
            tickets: TicketsConfig::default(),
            availability: AvailabilityConfig::default(),
            refresh: RefreshConfig::default(),
            capacity: kagoshima_domain::capacity::Capacity::default(),
            plan: None,
            log: LogConfig::default(),
        }
    }
}

/// How taps become rides (see README "Rides from taps").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RidesConfig {
    /// A tap off pairs with a tap on at most this long before it.
    pub pair_window_min: i64,
    /// A tap on at a transfer stop at most this long after a tap off there
    /// on the other tram line is a free transfer.
    pub transfer_window_min: i64,
    /// Transfer stops, by the name of the stop in the active feed (a stop
    /// whose name starts with it, such as 郡元(南側), belongs to it).
    pub transfer_stop_names: Vec<String>,
    /// Transfer stops by id, for taps whose stops are not in the feed:
    /// (stop_id, the name of its group).
    pub transfer_stop_ids: BTreeMap<String, String>,
    /// A tap without a stop belongs to a stop visit of its vehicle when it
    /// falls between arrival − margin and departure + margin.
    pub stop_visit_margin_s: i64,
    /// Else the vehicle's nearest position within this many seconds ...
    pub position_window_s: i64,
    /// ... and the stop of the active feed nearest to it within this distance.
    pub max_stop_distance_m: f64,
}

impl Default for RidesConfig {
    fn default() -> Self {
        RidesConfig {
            pair_window_min: 180,
            transfer_window_min: 30,
            transfer_stop_names: vec!["郡元".into(), "高見馬場".into()],
            transfer_stop_ids: [
                ("tram_korimoto", "郡元"),
                ("tram_korimoto_minamigawa", "郡元"),
                ("tram_takamibaba", "高見馬場"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
            stop_visit_margin_s: 60,
            position_window_s: 120,
            max_stop_distance_m: 300.0,
        }
    }
}

/// Fares and the monthly cap (payments-facts.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct FareCapConfig {
    /// Monthly cap per card and medium, trams and buses together (¥9,660).
    pub cap_yen: i64,
    /// One fare per paid boarding, by mode and rider category; modes missing
    /// here (あいばす) do not count toward the cap.
    pub fares: Vec<FareEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FareEntry {
    pub mode: String,
    pub rider_category: String,
    pub fare_yen: i32,
}

impl Default for FareCapConfig {
    fn default() -> Self {
        let f = |mode: &str, cat: &str, fare_yen| FareEntry {
            mode: mode.into(),
            rider_category: cat.into(),
            fare_yen,
        };
        FareCapConfig {
            cap_yen: 9660,
            fares: vec![
                f("tram", "adult", 170),
                f("tram", "child", 80),
                f("bus", "adult", 230),
                f("bus", "child", 120),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenDataConfig {
    /// A cell counting fewer distinct cards than this is suppressed.
    pub k: u32,
}

impl Default for OpenDataConfig {
    fn default() -> Self {
        OpenDataConfig { k: 10 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketsConfig {
    /// Ticket types that count as 1-day tickets for No. 65.
    pub one_day_types: Vec<String>,
    /// The channel that is mobile.
    pub mobile_channel: String,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            one_day_types: vec!["one_day".into()],
            mobile_channel: "mobile".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AvailabilityConfig {
    /// A position is fresh when younger than this.
    pub fresh_s: i64,
    /// A minute is available when at least this share of the scheduled
    /// vehicles had a fresh position.
    pub vehicle_share: f64,
    /// Modes whose vehicles count (the location system of No. 66).
    pub modes: Vec<String>,
}

impl Default for AvailabilityConfig {
    fn default() -> Self {
        AvailabilityConfig {
            fresh_s: 90,
            vehicle_share: 0.95,
            modes: vec!["tram".into(), "bus".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshConfig {
    /// How often `serve` recomputes dirty dates.
    pub interval_s: u64,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        RefreshConfig { interval_s: 30 }
    }
}
