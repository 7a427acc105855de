//! Ground truth: what really happened in a run, and the files it is written
//! to (`truth/stop_visits.csv`, `truth/rides.csv`, `truth/summary.json`).
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDate, SecondsFormat};
use serde::{Deserialize, Serialize};

use crate::motion::{Trajectory, Visit};
use crate::riders::{Payment, Ride};
use crate::schedule::gtfs_instant;

/// Everything true about a simulated day.
#[derive(Debug, Clone)]
pub struct Truth {
    pub date: NaiveDate,
    pub visits: Vec<Visit>,
    pub rides: Vec<Ride>,
    pub summary: Summary,
    /// True motion (the exact position of each vehicle at any instant).
    pub trajectories: Vec<Trajectory>,
}

/// Counts per mode; `*_published` count every message handed to the publisher.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeSummary {
    pub vehicles: u64,
    pub positions: u64,
    pub taps_published: u64,
    pub taps_distinct: u64,
    pub passenger_counts: u64,
    pub status: u64,
    pub rides: u64,
    pub tap_rides: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub date: String,
    pub seed: u64,
    pub vehicles: u64,
    pub messages: u64,
    pub positions: u64,
    pub taps_published: u64,
    pub taps_distinct: u64,
    pub passenger_counts: u64,
    pub status: u64,
    pub rides: u64,
    pub tap_rides: u64,
    pub transfers: u64,
    pub per_mode: BTreeMap<String, ModeSummary>,
}

impl Summary {
    pub(crate) fn finish(&mut self, rides: &[Ride], messages: u64) {
        for r in rides {
            let m = self.per_mode.entry(r.mode.as_str().to_owned()).or_default();
            m.rides += 1;
            if r.payment == Payment::Tap {
                m.tap_rides += 1;
            }
            if r.transfer {
                self.transfers += 1;
            }
        }
        let sum = |f: fn(&ModeSummary) -> u64| self.per_mode.values().map(f).sum::<u64>();
        self.positions = sum(|m| m.positions);
        self.taps_published = sum(|m| m.taps_published);
        self.taps_distinct = sum(|m| m.taps_distinct);
        self.passenger_counts = sum(|m| m.passenger_counts);
        self.status = sum(|m| m.status);
        self.rides = sum(|m| m.rides);
        self.tap_rides = sum(|m| m.tap_rides);
        self.messages = messages;
    }
}

impl Truth {
    /// Writes `dir/truth/{stop_visits.csv, rides.csv, summary.json}`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let dir = dir.join("truth");
        std::fs::create_dir_all(&dir)?;
        let t = |s: f64| gtfs_instant(self.date, s).to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut w = csv::Writer::from_path(dir.join("stop_visits.csv"))?;
        w.write_record([
            "vehicle_id",
            "trip_id",
            "route_id",
            "stop_id",
            "stop_sequence",
            "arrival_utc",
            "departure_utc",
        ])?;
        for v in &self.visits {
            w.write_record([
                v.vehicle_id.as_str(),
                &v.trip_id,
                &v.route_id,
                &v.stop_id,
                &v.stop_sequence.to_string(),
                &t(v.arrival_s),
                &t(v.departure_s),
            ])?;
        }
        w.flush()?;
        let mut w = csv::Writer::from_path(dir.join("rides.csv"))?;
        w.write_record([
            "ride_id",
            "rider_id",
            "card_token",
            "mode",
            "vehicle_id",
            "trip_id",
            "route_id",
            "board_stop_id",
            "board_stop_sequence",
            "board_utc",
            "alight_stop_id",
            "alight_stop_sequence",
            "alight_utc",
            "num_riders",
            "rider_category",
            "payment",
            "tap_result",
            "fare_yen",
            "tapped_off",
            "transfer",
        ])?;
        for r in &self.rides {
            w.write_record([
                r.ride_id.to_string(),
                r.rider_id.to_string(),
                r.card_token.clone(),
                r.mode.as_str().to_owned(),
                r.vehicle_id.clone(),
                r.trip_id.clone(),
                r.route_id.clone(),
                r.board_stop.clone(),
                r.board_sequence.to_string(),
                t(r.board_s),
                r.alight_stop.clone(),
                r.alight_sequence.to_string(),
                t(r.alight_s),
                r.num_riders.to_string(),
                if r.child { "child" } else { "adult" }.to_owned(),
                match r.payment {
                    Payment::Tap => "tap",
                    Payment::Other => "other",
                }
                .to_owned(),
                r.tap_result.clone(),
                r.fare_yen.to_string(),
                r.tapped_off.to_string(),
                r.transfer.to_string(),
            ])?;
        }
        w.flush()?;
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&self.summary)? + "\n",
        )?;
        Ok(())
    }
}
