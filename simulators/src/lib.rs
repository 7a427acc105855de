//! Simulators for the Kagoshima transit platform: a service day of trams,
//! city buses and あいばす publishing over MQTT exactly as the device contract
//! says (positions, taps, passenger counts, heartbeats), with the ground truth
//! of what really happened; back-office files (かごりん bike-share trips,
//! 1-day ticket sales); replay of recordings; and a load generator.
//!
//! The core is pure: [`simulate_day`] turns a [`Feed`] and a [`SimConfig`]
//! into a [`SimulatedDay`]: every device message with its publish instant,
//! sorted, and the [`Truth`]. It is deterministic for a given seed. Publishing
//! is a separate layer ([`publish`]).
//!
//! ```no_run
//! use kagoshima_sim::{Feed, SimConfig, simulate_day};
//! let feed = Feed::sample()?;
//! let mut config = SimConfig::new(chrono::NaiveDate::from_ymd_opt(2025, 6, 10).unwrap());
//! config.seed = 42;
//! config.scale = 0.1;
//! let day = simulate_day(&feed, &config);
//! for e in &day.events {
//!     let _bytes = e.payload.encode(kagoshima_sim::Encoding::Proto);
//!     println!("{} {}", e.publish_at, e.topic);
//! }
//! println!("{:?}", day.truth.summary);
//! day.truth.write(std::path::Path::new("out"))?; // truth/stop_visits.csv, rides.csv, summary.json
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! Modules: [`feed`] (network model), [`check`] (feed validation),
//! [`schedule`] (day plan: one vehicle per block), [`motion`] (vehicle
//! motion), [`noise`] (GPS and reporting), [`riders`] (demand), [`fares`]
//! (validator), [`day`] (the whole day), [`truth`] (ground truth files),
//! [`publish`] (MQTT, recordings, pacing), [`load`] (load mode),
//! [`backoffice`] (bike-share and ticket-sale files).

pub mod backoffice;
pub mod check;
pub mod config;
pub mod day;
pub mod fares;
pub mod feed;
pub mod load;
pub mod motion;
pub mod noise;
pub mod projection;
pub mod publish;
pub mod riders;
pub mod schedule;
pub mod tokens;
pub mod truth;

pub use config::{FareConfig, NoiseConfig, SimConfig};
pub use day::{Encoding, Payload, SimEvent, SimulatedDay, simulate_day};
pub use feed::Feed;
pub use truth::{Summary, Truth};
