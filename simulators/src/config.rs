//! Everything a simulated day depends on. All of it is data (serde), so a run
//! can be described in a file and reproduced; fares live here, not in logic.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A simulated day's settings. `SimConfig::new(date)` gives the defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimConfig {
    /// The service date (JST).
    pub date: NaiveDate,
    pub seed: u64,
    /// Multiplies rider demand (1.0 ≈ 30,000 tram rides a day).
    pub scale: f64,
    /// Prepended to every vehicle id (`{prefix}-tram-101`), so runs on a shared
    /// broker or database never collide. Empty: plain ids.
    pub vehicle_prefix: String,
    /// Simulate at most this many vehicles (the first ones in id order).
    pub max_vehicles: Option<usize>,
    pub motion: MotionConfig,
    pub noise: NoiseConfig,
    pub demand: DemandConfig,
    pub payments: PaymentConfig,
    pub fares: FareConfig,
}

impl SimConfig {
    pub fn new(date: NaiveDate) -> SimConfig {
        SimConfig {
            date,
            seed: 1,
            scale: 1.0,
            vehicle_prefix: String::new(),
            max_vehicles: None,
            motion: MotionConfig::default(),
            noise: NoiseConfig::default(),
            demand: DemandConfig::default(),
            payments: PaymentConfig::default(),
            fares: FareConfig::default(),
        }
    }
}

/// How vehicles move against the timetable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MotionConfig {
    /// Running-time factor in the morning (07-09) and evening (17-19) rush.
    pub rush_factor: f64,
    /// Running-time factor early in the morning and late in the evening.
    pub quiet_factor: f64,
    /// Extra random variation of each segment's running time (± share).
    pub segment_jitter: f64,
    /// Dwell at intermediate stops, seconds (uniform).
    pub dwell_s: (u32, u32),
    /// Share of trips that start late, and by how much (seconds, uniform).
    pub late_start_share: f64,
    pub late_start_s: (u32, u32),
    /// Shortest layover at a terminal, seconds.
    pub min_layover_s: u32,
    /// Minutes the device is on before the first trip and after the last.
    pub device_on_before_s: u32,
    pub device_on_after_s: u32,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            rush_factor: 1.35,
            quiet_factor: 0.75,
            segment_jitter: 0.10,
            dwell_s: (10, 60),
            late_start_share: 0.05,
            late_start_s: (60, 300),
            min_layover_s: 60,
            device_on_before_s: 600,
            device_on_after_s: 300,
        }
    }
}

/// How the onboard GPS and its radio link differ from the truth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoiseConfig {
    /// Off: every report is the exact position at an exact instant.
    pub enabled: bool,
    /// Standard deviation of the horizontal error per axis, metres.
    pub sigma_m: f64,
    /// Share of reports that are outliers.
    pub outlier_share: f64,
    /// Largest outlier error, metres.
    pub outlier_max_m: f64,
    /// Seconds between reports (uniform).
    pub interval_s: (f64, f64),
    /// Share of reports after which the device goes silent for `gap_s`.
    pub gap_share: f64,
    pub gap_s: (f64, f64),
    /// Share of devices whose clock is off, and by at most how many seconds (±).
    pub clock_offset_share: f64,
    pub clock_offset_max_s: f64,
    /// Share of vehicles whose driver never logs in (no trip ids), and of trips not logged in.
    pub never_logged_in_share: f64,
    pub trip_not_logged_in_share: f64,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig {
            enabled: true,
            sigma_m: 10.0,
            outlier_share: 0.02,
            outlier_max_m: 300.0,
            interval_s: (5.0, 15.0),
            gap_share: 0.05,
            gap_s: (60.0, 180.0),
            clock_offset_share: 0.05,
            clock_offset_max_s: 90.0,
            never_logged_in_share: 0.05,
            trip_not_logged_in_share: 0.05,
        }
    }
}

impl NoiseConfig {
    /// Exact positions at the regular mid interval, every driver logged in.
    pub fn none() -> NoiseConfig {
        NoiseConfig {
            enabled: false,
            ..NoiseConfig::default()
        }
    }

    /// The largest error of a normal (non-outlier) report, metres: the
    /// Gaussian error is truncated at 4 σ (redrawn beyond).
    pub fn max_error_m(&self) -> f64 {
        if self.enabled {
            4.0 * self.sigma_m
        } else {
            0.0
        }
    }

    /// The largest error of any report, outliers included, metres.
    pub fn max_outlier_error_m(&self) -> f64 {
        if self.enabled {
            self.outlier_max_m.max(self.max_error_m())
        } else {
            0.0
        }
    }
}

/// Rider demand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemandConfig {
    /// Rides a day at scale 1.0, per mode.
    pub tram_rides_per_day: f64,
    pub bus_rides_per_day: f64,
    pub community_bus_rides_per_day: f64,
    /// Share of tram riders ending at a transfer stop who change to the other line.
    pub transfer_share: f64,
    /// Stops where tram riders change lines for free.
    pub transfer_stops: Vec<String>,
    /// Stops that attract more riders (weight 4 instead of 1).
    pub major_stops: Vec<String>,
}

impl Default for DemandConfig {
    fn default() -> Self {
        DemandConfig {
            tram_rides_per_day: 30_000.0,
            bus_rides_per_day: 6_000.0,
            community_bus_rides_per_day: 120.0,
            transfer_share: 0.25,
            transfer_stops: vec!["tram_korimoto".into(), "tram_takamibaba".into()],
            major_stops: [
                "tram_tenmonkan_dori",
                "tram_takamibaba",
                "tram_kagoshima_chuo_ekimae",
                "tram_kagoshima_ekimae",
                "tram_korimoto",
                "tram_taniyama",
                "tram_shiyakusho_mae",
                "bus_tenmonkan",
                "bus_kagoshima_chuo_eki",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// Who taps and with what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentConfig {
    /// Share of riders who pay by tap (where the vehicle has a validator).
    pub tap_share: f64,
    /// Trams have validators from this date, city buses from the next (never あいばす).
    pub tram_validators_from: NaiveDate,
    pub bus_validators_from: NaiveDate,
    pub forget_tap_off_share: f64,
    pub foreign_card_share: f64,
    pub foreign_countries: Vec<String>,
    /// (brand, weight).
    pub brands: Vec<(String, f64)>,
    pub mobile_share: f64,
    pub child_share: f64,
    /// Share of taps paying for two riders.
    pub group_share: f64,
    pub declined_share: f64,
    pub deny_listed_share: f64,
    pub offline_share: f64,
    /// Share of taps the validator publishes twice (same event id).
    pub repeat_publish_share: f64,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        PaymentConfig {
            tap_share: 0.15,
            tram_validators_from: ymd(2022, 11, 1),
            bus_validators_from: ymd(2024, 3, 1),
            forget_tap_off_share: 0.04,
            foreign_card_share: 0.10,
            foreign_countries: ["TW", "KR", "CN", "HK", "US", "AU", "SG", "TH", "GB", "FR"]
                .map(String::from)
                .to_vec(),
            brands: [
                ("visa", 0.45),
                ("mastercard", 0.2),
                ("jcb", 0.25),
                ("amex", 0.05),
                ("diners", 0.01),
                ("unionpay", 0.04),
            ]
            .map(|(b, w)| (b.to_owned(), w))
            .to_vec(),
            mobile_share: 0.3,
            child_share: 0.04,
            group_share: 0.03,
            declined_share: 0.01,
            deny_listed_share: 0.002,
            offline_share: 0.005,
            repeat_publish_share: 0.005,
        }
    }
}

/// Flat fares in yen (from payments-facts; change them here, not in code).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FareConfig {
    pub tram_adult: u32,
    pub tram_child: u32,
    pub bus_adult: u32,
    pub bus_child: u32,
    pub community_bus_adult: u32,
    pub community_bus_child: u32,
    /// Back-office ticket prices.
    pub one_day_ticket: u32,
    pub hours24_ticket: u32,
    pub night_ticket: u32,
}

impl Default for FareConfig {
    fn default() -> Self {
        FareConfig {
            tram_adult: 170,
            tram_child: 80,
            bus_adult: 230,
            bus_child: 120,
            community_bus_adult: 150,
            community_bus_child: 80,
            one_day_ticket: 600,
            hours24_ticket: 800,
            night_ticket: 300,
        }
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}
