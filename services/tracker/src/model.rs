//! The travel-time model learned from stop visits: the running time of each
//! stop-to-stop segment and the dwell at each stop, by day type and
//! half-hour of the day, as recency-weighted medians of recent visits,
//! with their spread (how far the 10th and 90th percentiles lie from the
//! median) for the predictions' ranges.
//!
//! Keys are stop ids (not trip ids), so routes sharing track (tram lines 1
//! and 2 up to 高見馬場) learn from each other, and the model survives a
//! feed reload.
use std::collections::HashMap;

use kagoshima_domain::calendar::DayType;

/// Half-hour bins.
pub const BINS: usize = 48;
const BIN_S: f64 = 86_400.0 / BINS as f64;
/// Samples kept per bin (the most recent).
const KEEP: usize = 40;
/// Half-life of a sample's weight, days.
const HALF_LIFE_DAYS: f64 = 7.0;

fn day_index(d: DayType) -> usize {
    match d {
        DayType::Weekday => 0,
        DayType::Saturday => 1,
        DayType::Holiday => 2,
    }
}

/// The bin of a time of day (seconds after 00:00 local, may pass 24 h).
pub fn bin_of(tod_s: f64) -> usize {
    ((tod_s.rem_euclid(86_400.0) / BIN_S) as usize).min(BINS - 1)
}

/// How far a learned time usually strays: seconds from the median down to
/// the 10th percentile and up to the 90th.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    pub below: f64,
    pub above: f64,
}

/// Percentiles the spread is taken at.
const SPREAD_LOW: f64 = 0.1;
const SPREAD_HIGH: f64 = 0.9;

#[derive(Debug, Clone, Default)]
struct Bin {
    /// (value seconds, when observed: unix seconds)
    samples: Vec<(f64, f64)>,
    median: Option<(f64, Spread)>,
}

#[derive(Debug, Clone)]
struct Profile {
    bins: Vec<Bin>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            bins: vec![Bin::default(); 3 * BINS],
        }
    }
}

impl Profile {
    fn add(&mut self, day: usize, bin: usize, value: f64, at: f64) {
        let b = &mut self.bins[day * BINS + bin];
        b.samples.push((value, at));
        if b.samples.len() > KEEP {
            b.samples.remove(0);
        }
        for k in [bin.wrapping_sub(1), bin, bin + 1] {
            if k < BINS {
                self.recompute(day, k);
            }
        }
    }

    /// Weighted median of a bin and its neighbours (half weight).
    fn recompute(&mut self, day: usize, bin: usize) {
        let mut pts: Vec<(f64, f64)> = Vec::new();
        let newest = (bin.saturating_sub(1)..=(bin + 1).min(BINS - 1))
            .flat_map(|k| self.bins[day * BINS + k].samples.iter().map(|s| s.1))
            .fold(f64::MIN, f64::max);
        for k in bin.saturating_sub(1)..=(bin + 1).min(BINS - 1) {
            let w0 = if k == bin { 1.0 } else { 0.5 };
            for (v, at) in &self.bins[day * BINS + k].samples {
                let age_days = ((newest - at) / 86_400.0).max(0.0);
                pts.push((*v, w0 * 0.5f64.powf(age_days / HALF_LIFE_DAYS)));
            }
        }
        self.bins[day * BINS + bin].median =
            weighted_quantiles(&mut pts, [SPREAD_LOW, 0.5, SPREAD_HIGH]).map(|[low, m, high]| {
                (
                    m,
                    Spread {
                        below: m - low,
                        above: high - m,
                    },
                )
            });
    }

    fn get(&self, day: usize, bin: usize) -> Option<(f64, Spread)> {
        if let Some(m) = self.bins[day * BINS + bin].median {
            return Some(m);
        }
        // Nearest bins of the same day type, then other day types.
        for r in 2..=6 {
            for k in [bin.wrapping_sub(r), bin + r] {
                if k < BINS
                    && let Some(m) = self.bins[day * BINS + k].median
                {
                    return Some(m);
                }
            }
        }
        (0..3)
            .filter(|d| *d != day)
            .find_map(|d| self.bins[d * BINS + bin].median)
    }
}

/// The weighted quantiles `qs` (ascending; 0.5: the median) of (value,
/// weight) pairs, sorted once.
pub fn weighted_quantiles<const N: usize>(
    pts: &mut [(f64, f64)],
    qs: [f64; N],
) -> Option<[f64; N]> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pts.iter().map(|p| p.1).sum();
    // Past the last weight (rounding): the largest value.
    let mut out = [pts.last()?.0; N];
    let (mut acc, mut k) = (0.0, 0);
    for p in pts.iter() {
        acc += p.1;
        while k < N && acc >= total * qs[k] {
            out[k] = p.0;
            k += 1;
        }
    }
    Some(out)
}

/// Running and dwell times learned from stop visits.
#[derive(Debug, Clone, Default)]
pub struct TravelModel {
    runs: HashMap<String, HashMap<String, Profile>>,
    dwells: HashMap<String, Profile>,
    samples: u64,
}

impl TravelModel {
    pub fn new() -> TravelModel {
        TravelModel::default()
    }

    /// Samples learned so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Learns the running time from departing `from` to arriving at `to`,
    /// starting at `tod_s` (local time of day) on a day of type `day`;
    /// `at` is the unix time of the observation.
    pub fn learn_run(
        &mut self,
        from: &str,
        to: &str,
        day: DayType,
        tod_s: f64,
        secs: f64,
        at: f64,
    ) {
        if !(1.0..7_200.0).contains(&secs) {
            return;
        }
        self.samples += 1;
        self.runs
            .entry(from.to_owned())
            .or_default()
            .entry(to.to_owned())
            .or_default()
            .add(day_index(day), bin_of(tod_s), secs, at);
    }

    /// Learns a dwell at `stop`.
    pub fn learn_dwell(&mut self, stop: &str, day: DayType, tod_s: f64, secs: f64, at: f64) {
        if !(0.0..1_800.0).contains(&secs) {
            return;
        }
        self.samples += 1;
        self.dwells.entry(stop.to_owned()).or_default().add(
            day_index(day),
            bin_of(tod_s),
            secs,
            at,
        );
    }

    /// The learned running time and its spread, if any sample exists for
    /// the segment.
    pub fn run(&self, from: &str, to: &str, day: DayType, tod_s: f64) -> Option<(f64, Spread)> {
        self.runs
            .get(from)
            .and_then(|m| m.get(to))
            .and_then(|p| p.get(day_index(day), bin_of(tod_s)))
    }

    /// The learned dwell and its spread, if any.
    pub fn dwell(&self, stop: &str, day: DayType, tod_s: f64) -> Option<(f64, Spread)> {
        self.dwells
            .get(stop)
            .and_then(|p| p.get(day_index(day), bin_of(tod_s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_medians_by_time_of_day() {
        let mut m = TravelModel::new();
        for (i, v) in [60.0, 62.0, 200.0, 61.0, 59.0].iter().enumerate() {
            m.learn_run("a", "b", DayType::Weekday, 8.0 * 3600.0, *v, i as f64);
        }
        m.learn_run("a", "b", DayType::Weekday, 13.0 * 3600.0, 40.0, 10.0);
        let median = |t| m.run("a", "b", DayType::Weekday, t).map(|r| r.0);
        assert_eq!(median(8.2 * 3600.0), Some(61.0));
        assert_eq!(median(13.1 * 3600.0), Some(40.0));
        // Saturday falls back to the weekday profile.
        assert_eq!(
            m.run("a", "b", DayType::Saturday, 13.1 * 3600.0)
                .map(|r| r.0),
            Some(40.0)
        );
        assert_eq!(m.run("a", "c", DayType::Weekday, 0.0), None);
    }

    #[test]
    fn spread_is_the_tenth_and_ninetieth_percentile_around_the_median() {
        let mut m = TravelModel::new();
        // 60..=69 s, all on the same day: equal weights.
        for k in 0..10 {
            m.learn_run(
                "a",
                "b",
                DayType::Weekday,
                8.0 * 3600.0,
                60.0 + k as f64,
                0.0,
            );
        }
        let (median, spread) = m.run("a", "b", DayType::Weekday, 8.0 * 3600.0).unwrap();
        assert_eq!(median, 64.0);
        assert_eq!(
            spread,
            Spread {
                below: 4.0,
                above: 4.0
            }
        );
        // A lone sample has no spread.
        m.learn_dwell("s", DayType::Weekday, 8.0 * 3600.0, 30.0, 0.0);
        let (_, lone) = m.dwell("s", DayType::Weekday, 8.0 * 3600.0).unwrap();
        assert_eq!(lone, Spread::default());
    }
}
