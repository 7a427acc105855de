//! What to do about a trip that is crowded day after day: move a
//! neighbouring trip, move the trip itself, or add one.
//!
//! A trip is crowded again and again when its load passed the vehicle's
//! capacity on at least [`RECURRING_SHARE`] of the days it ran (and on at
//! least [`MIN_DAYS`]); one bad day is not a timetable problem. Loads are
//! the trips' design loads: the [`DESIGN_PERCENTILE`] of their daily peak
//! loads (an ordinary busy day, not the mean, which hides the crowded days,
//! nor the worst day). Riders are
//! taken to reach a stop evenly in time, so a trip's load grows with the
//! gap before it (the usual first-order model of headway-based loading):
//! moving the trip before it later by `d` takes `load × d / gap` riders off
//! it. The move that evens the two loads is `d = gap × (L − L_prev) / 2L`;
//! it is suggested when both trips then stay under [`TARGET_SHARE`] of the
//! capacity. Moving the trip itself earlier gives its riders to the trip
//! after it in the same way. When neither neighbour has the room, a trip is
//! added halfway into the gap before it, which takes about half the load.
use std::collections::{BTreeMap, HashMap};

use kagoshima_network::read::schedule::TripDeparture;
use serde::Serialize;

use super::analysis::TripLoad;

/// Crowded on at least this share of the days the trip ran.
pub const RECURRING_SHARE: f64 = 0.25;
/// ... and on at least this many days.
pub const MIN_DAYS: i64 = 2;
/// The percentile of a trip's daily peak loads it is planned for.
pub const DESIGN_PERCENTILE: f64 = 0.85;
/// A move must leave both trips under this share of the capacity.
pub const TARGET_SHARE: f64 = 0.9;
/// Moves are whole minutes, at least one.
const MINUTE: f64 = 60.0;

/// What to do.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Run the trip before the crowded one later (to `new_departure`).
    MovePreviousLater,
    /// Run the crowded trip itself earlier (to `new_departure`).
    MoveEarlier,
    /// Add a trip departing at `new_departure`.
    AddTrip,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::MovePreviousLater => "move_previous_later",
            Action::MoveEarlier => "move_earlier",
            Action::AddTrip => "add_trip",
        }
    }
}

/// One suggestion for one trip crowded again and again.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suggestion {
    pub route_id: String,
    pub direction_id: i16,
    pub trip_id: String,
    /// Its first departure, GTFS seconds.
    pub departure_s: i32,
    pub days: i64,
    pub crowded_days: i64,
    /// Mean of its daily peak loads.
    pub mean_peak_load: f64,
    /// Its design load: the [`DESIGN_PERCENTILE`] of its daily peak loads.
    pub design_load: f64,
    pub capacity: u32,
    pub action: Action,
    /// The trip that moves (the crowded one, or the one before it); none
    /// for an added trip.
    pub moved_trip_id: Option<String>,
    /// The moved trip's new first departure, or the added trip's.
    pub new_departure_s: i32,
    /// The crowded trip's expected design load afterwards.
    pub expected_load: f64,
}

impl Suggestion {
    /// The suggestion in words, Japanese then English.
    pub fn text(&self) -> String {
        let at = |s: i32| kagoshima_domain::calendar::gtfs_time(s.max(0) as u32);
        let after = self.expected_load.round();
        match self.action {
            Action::MovePreviousLater => format!(
                "前の便 {} を {} 発に繰り下げ（この便の混雑日の乗車は約{after} 人に）/ run the trip before it ({}) at {} (this one's busy-day load then about {after})",
                self.moved_trip_id.as_deref().unwrap_or(""),
                at(self.new_departure_s),
                self.moved_trip_id.as_deref().unwrap_or(""),
                at(self.new_departure_s),
            ),
            Action::MoveEarlier => format!(
                "この便を {} 発に繰り上げ（混雑日の乗車は約{after} 人に）/ run it earlier, at {} (its busy-day load then about {after})",
                at(self.new_departure_s),
                at(self.new_departure_s),
            ),
            Action::AddTrip => format!(
                "{} 発の便を増発（この便の混雑日の乗車は約{after} 人に）/ add a trip at {} (this one's busy-day load then about {after})",
                at(self.new_departure_s),
                at(self.new_departure_s),
            ),
        }
    }
}

/// The suggestions for the trips of `trips` crowded again and again, given
/// every trip's first departure in the timetable. Neighbours are the trips
/// of the same route, direction and service (a weekday trip's neighbours are
/// weekday trips).
pub fn suggestions(trips: &[TripLoad], timetable: &[TripDeparture]) -> Vec<Suggestion> {
    // Per trip: crowded days, capacity, daily peak loads.
    let mut seen: BTreeMap<&str, (i64, u32, Vec<i64>)> = BTreeMap::new();
    for t in trips {
        let e = seen
            .entry(&t.trip_id)
            .or_insert((0, t.capacity, Vec::new()));
        e.0 += i64::from(t.crowded);
        e.1 = e.1.max(t.capacity);
        e.2.push(t.peak_load);
    }
    for (_, _, peaks) in seen.values_mut() {
        peaks.sort_unstable();
    }
    let design = |id: &str| {
        seen.get(id).map(|(_, _, peaks)| {
            let values: Vec<f64> = peaks.iter().map(|&p| p as f64).collect();
            super::visits::percentile_cont(&values, DESIGN_PERCENTILE)
        })
    };
    let mut siblings: HashMap<(&str, i16, &str), Vec<&TripDeparture>> = HashMap::new();
    for d in timetable {
        siblings
            .entry((&d.route_id, d.direction_id, &d.service_id))
            .or_default()
            .push(d);
    }
    for list in siblings.values_mut() {
        list.sort_by_key(|d| (d.departure_s, d.trip_id.as_str()));
    }
    let mut out = Vec::new();
    for d in timetable {
        let Some((crowded_days, capacity, peaks)) = seen.get(d.trip_id.as_str()) else {
            continue;
        };
        let (crowded_days, capacity, days) = (*crowded_days, *capacity, peaks.len() as i64);
        if crowded_days < MIN_DAYS || (crowded_days as f64) < RECURRING_SHARE * days as f64 {
            continue;
        }
        let mean_peak_load = peaks.iter().sum::<i64>() as f64 / days as f64;
        let load = design(&d.trip_id).unwrap_or(0.0);
        let list = &siblings[&(d.route_id.as_str(), d.direction_id, d.service_id.as_str())];
        let at = list
            .iter()
            .position(|x| x.trip_id == d.trip_id)
            .unwrap_or(0);
        let previous = at.checked_sub(1).map(|i| list[i]);
        let next = list.get(at + 1).copied();
        let target = TARGET_SHARE * f64::from(capacity);
        // Evening out with a neighbour over the gap before this trip:
        // (minutes moved, this trip's load after, the neighbour's after).
        let even = |other: Option<&TripDeparture>| {
            let (previous, other) = (previous?, other?);
            let gap = f64::from(d.departure_s - previous.departure_s);
            let other_load = design(&other.trip_id)?;
            if gap < 2.0 * MINUTE || load <= other_load {
                return None;
            }
            let shift = (gap * (load - other_load) / (2.0 * load) / MINUTE).round() * MINUTE;
            let after = load * (gap - shift) / gap;
            let other_after = other_load + load * shift / gap;
            (shift >= MINUTE && after <= target && other_after <= target).then_some((
                shift,
                after,
                other_after,
            ))
        };
        let base = Suggestion {
            route_id: d.route_id.clone(),
            direction_id: d.direction_id,
            trip_id: d.trip_id.clone(),
            departure_s: d.departure_s,
            days,
            crowded_days,
            mean_peak_load,
            design_load: load,
            capacity,
            action: Action::AddTrip,
            moved_trip_id: None,
            new_departure_s: 0,
            expected_load: load / 2.0,
        };
        let by_previous = even(previous);
        let by_next = even(next);
        let better = |a: Option<(f64, f64, f64)>, b: Option<(f64, f64, f64)>| match (a, b) {
            (Some(x), Some(y)) => x.1.max(x.2) <= y.1.max(y.2),
            (Some(_), None) => true,
            _ => false,
        };
        let suggestion = if let (true, Some((shift, after, _)), Some(p)) =
            (better(by_previous, by_next), by_previous, previous)
        {
            Suggestion {
                action: Action::MovePreviousLater,
                moved_trip_id: Some(p.trip_id.clone()),
                new_departure_s: p.departure_s + shift as i32,
                expected_load: after,
                ..base
            }
        } else if let Some((shift, after, _)) = by_next {
            Suggestion {
                action: Action::MoveEarlier,
                moved_trip_id: Some(d.trip_id.clone()),
                new_departure_s: d.departure_s - shift as i32,
                expected_load: after,
                ..base
            }
        } else {
            // Halfway into the gap before it (or ten minutes before the
            // first trip of the day).
            let gap = previous.map_or(1200, |p| d.departure_s - p.departure_s);
            let new = d.departure_s - (gap / 2 / 60) * 60;
            Suggestion {
                new_departure_s: new,
                ..base
            }
        };
        out.push(suggestion);
    }
    out.sort_by(|a, b| {
        (&a.route_id, a.direction_id, a.departure_s, &a.trip_id).cmp(&(
            &b.route_id,
            b.direction_id,
            b.departure_s,
            &b.trip_id,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::planning::bands::Band;

    fn departure(trip: &str, s: i32) -> TripDeparture {
        TripDeparture {
            trip_id: trip.into(),
            route_id: "r".into(),
            direction_id: 0,
            service_id: "weekday".into(),
            departure_s: s,
        }
    }

    fn day(trip: &str, d: u32, peak: i64) -> TripLoad {
        TripLoad {
            service_date: NaiveDate::from_ymd_opt(2026, 10, d).unwrap(),
            trip_id: trip.into(),
            route_id: "r".into(),
            direction_id: 0,
            mode: "tram".into(),
            band: Band::AmPeak,
            boardings: peak,
            peak_load: peak,
            peak_stop_id: "s".into(),
            capacity: 80,
            crowded: peak > 80,
            source: "taps",
            profile: Vec::new(),
        }
    }

    fn loads(list: &[(&str, [i64; 4])]) -> Vec<TripLoad> {
        list.iter()
            .flat_map(|(trip, peaks)| {
                peaks
                    .iter()
                    .enumerate()
                    .map(|(d, &p)| day(trip, d as u32 + 1, p))
            })
            .collect()
    }

    #[test]
    fn the_trip_before_moves_later_when_it_has_room() {
        let timetable = [
            departure("a", 7 * 3600),
            departure("b", 7 * 3600 + 600),
            departure("c", 7 * 3600 + 1200),
        ];
        let s = suggestions(
            &loads(&[("a", [10; 4]), ("b", [100; 4]), ("c", [60; 4])]),
            &timetable,
        );
        assert_eq!(s.len(), 1);
        let s = &s[0];
        // gap 600 s × (100 − 10) / 200 = 270 s, rounded to 5 minutes.
        assert_eq!(
            (s.action, s.moved_trip_id.as_deref(), s.new_departure_s),
            (Action::MovePreviousLater, Some("a"), 7 * 3600 + 300)
        );
        assert_eq!((s.days, s.crowded_days, s.expected_load), (4, 4, 50.0));
        assert!(s.text().contains("07:05:00"), "{}", s.text());
    }

    #[test]
    fn a_trip_moves_earlier_when_only_the_one_after_has_room() {
        let timetable = [
            departure("a", 7 * 3600),
            departure("b", 7 * 3600 + 600),
            departure("c", 7 * 3600 + 1200),
        ];
        let s = suggestions(
            &loads(&[("a", [75; 4]), ("b", [100; 4]), ("c", [10; 4])]),
            &timetable,
        );
        assert_eq!(
            (s[0].action, s[0].new_departure_s),
            (Action::MoveEarlier, 7 * 3600 + 300)
        );
    }

    #[test]
    fn a_trip_is_added_when_no_neighbour_has_room_and_one_bad_day_is_not_enough() {
        let timetable = [
            departure("a", 7 * 3600),
            departure("b", 7 * 3600 + 600),
            departure("c", 7 * 3600 + 1200),
        ];
        let s = suggestions(
            &loads(&[("a", [70; 4]), ("b", [120; 4]), ("c", [90, 10, 10, 10])]),
            &timetable,
        );
        assert_eq!(s.len(), 1, "c was crowded on one day of four: {s:?}");
        assert_eq!(
            (s[0].action, s[0].new_departure_s, s[0].expected_load),
            (Action::AddTrip, 7 * 3600 + 300, 60.0)
        );
    }
}
