//! The rider demand model: boardings by hour (morning and evening peaks),
//! stop (major stops attract more) and direction, each rider on a true
//! vehicle departure from the origin to a later stop of the same trip, and
//! free transfers between tram lines at 郡元 and 高見馬場.
use std::collections::BTreeMap;

use kagoshima_domain::topic::Mode;
use rand::Rng;
use rand::rngs::StdRng;

use crate::config::SimConfig;
use crate::motion::{Trajectory, Visit};
use crate::noise::normal;

/// How a ride was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    /// Contactless card or phone at the validator.
    Tap,
    /// Cash, IC card, ticket or pass: not seen by the validators.
    Other,
}

/// One true ride (one leg; a transfer is a second ride of the same rider).
#[derive(Debug, Clone)]
pub struct Ride {
    pub ride_id: u64,
    pub rider_id: u64,
    pub mode: Mode,
    pub vehicle_id: String,
    pub trip_id: String,
    pub route_id: String,
    pub board_stop: String,
    pub board_sequence: u32,
    pub board_s: f64,
    pub alight_stop: String,
    pub alight_sequence: u32,
    pub alight_s: f64,
    pub num_riders: u32,
    pub child: bool,
    pub payment: Payment,
    /// Second leg of a free transfer.
    pub transfer: bool,
    /// Filled by the fare validator for tap rides.
    pub card_token: String,
    pub fare_yen: u32,
    pub tap_result: String,
    pub tapped_off: bool,
}

/// Boarding demand by local hour (relative weights): peaks 07-09 and 17-19.
pub fn hour_weight(secs: f64) -> f64 {
    const W: [f64; 25] = [
        0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.8, 2.0, 1.1, 0.8, 0.8, 0.9, 0.8, 0.8, 0.9, 1.1, 1.7,
        1.8, 1.1, 0.7, 0.5, 0.35, 0.2, 0.1,
    ];
    let h = (secs / 3600.0).clamp(0.0, 24.0);
    let i = h.floor() as usize;
    let f = h - i as f64;
    W[i.min(23)] * (1.0 - f) + W[(i + 1).min(24)] * f
}

fn stop_weight(cfg: &SimConfig, stop: &str) -> f64 {
    if cfg.demand.major_stops.iter().any(|s| s == stop) {
        4.0
    } else {
        1.0
    }
}

/// Poisson draw (exact for small means, normal approximation above 30).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let l = (-mean).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn pick_weighted(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// Draws the day's rides from the true stop visits.
pub fn draw_rides(cfg: &SimConfig, trajectories: &[Trajectory], rng: &mut StdRng) -> Vec<Ride> {
    // Visits per (vehicle, trip) in order, and the weight of each boarding opportunity.
    let mut mode_weight: BTreeMap<u8, f64> = BTreeMap::new();
    let mode_key = |m: Mode| m as u8;
    for tr in trajectories {
        for v in tr.visits.iter().filter(|v| !v.last) {
            *mode_weight.entry(mode_key(tr.mode)).or_default() +=
                hour_weight(v.departure_s) * stop_weight(cfg, &v.stop_id);
        }
    }
    let target = |m: Mode| {
        cfg.scale
            * match m {
                Mode::Tram => cfg.demand.tram_rides_per_day,
                Mode::Bus => cfg.demand.bus_rides_per_day,
                Mode::CommunityBus => cfg.demand.community_bus_rides_per_day,
            }
    };
    // Transfer index: tram visits by stop, sorted by departure.
    let mut at_stop: BTreeMap<&str, Vec<(f64, usize, usize)>> = BTreeMap::new();
    for (ti, tr) in trajectories.iter().enumerate() {
        if tr.mode != Mode::Tram {
            continue;
        }
        for (vi, v) in tr.visits.iter().enumerate() {
            if !v.last && cfg.demand.transfer_stops.contains(&v.stop_id) {
                at_stop
                    .entry(v.stop_id.as_str())
                    .or_default()
                    .push((v.departure_s, ti, vi));
            }
        }
    }
    for list in at_stop.values_mut() {
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    let mut rides = Vec::new();
    let mut next_rider = 1u64;
    let mut next_ride = 1u64;
    for tr in trajectories {
        let total_w = mode_weight.get(&mode_key(tr.mode)).copied().unwrap_or(1.0);
        let per_w = target(tr.mode) / total_w.max(f64::MIN_POSITIVE);
        for (vi, v) in tr.visits.iter().enumerate() {
            if v.last {
                continue;
            }
            let mean = per_w * hour_weight(v.departure_s) * stop_weight(cfg, &v.stop_id);
            let n = poisson(rng, mean);
            if n == 0 {
                continue;
            }
            let later = later_visits(&tr.visits, vi);
            if later.is_empty() {
                continue;
            }
            let weights: Vec<f64> = later
                .iter()
                .map(|&j| stop_weight(cfg, &tr.visits[j].stop_id))
                .collect();
            for _ in 0..n {
                let dest = &tr.visits[later[pick_weighted(rng, &weights)]];
                let rider = next_rider;
                next_rider += 1;
                let ride = new_ride(cfg, rng, tr.mode, next_ride, rider, v, dest, false);
                next_ride += 1;
                let transfer_here = tr.mode == Mode::Tram
                    && cfg.demand.transfer_stops.contains(&dest.stop_id)
                    && rng.random_bool(cfg.demand.transfer_share.clamp(0.0, 1.0));
                let (alight_s, alight_stop) = (ride.alight_s, ride.alight_stop.clone());
                let (num, child, payment) = (ride.num_riders, ride.child, ride.payment);
                rides.push(ride);
                if !transfer_here {
                    continue;
                }
                // The next departure of the other line from the same stop.
                let Some(list) = at_stop.get(alight_stop.as_str()) else {
                    continue;
                };
                let from = list.partition_point(|e| e.0 < alight_s + 60.0);
                let found = list[from..]
                    .iter()
                    .take_while(|e| e.0 <= alight_s + 1200.0)
                    .find(|e| trajectories[e.1].visits[e.2].route_id != v.route_id);
                if let Some(&(_, ti, vj)) = found {
                    let tr2 = &trajectories[ti];
                    let later2 = later_visits(&tr2.visits, vj);
                    if later2.is_empty() {
                        continue;
                    }
                    let w2: Vec<f64> = later2
                        .iter()
                        .map(|&j| stop_weight(cfg, &tr2.visits[j].stop_id))
                        .collect();
                    let dest2 = &tr2.visits[later2[pick_weighted(rng, &w2)]];
                    let mut second = new_ride(
                        cfg,
                        rng,
                        tr2.mode,
                        next_ride,
                        rider,
                        &tr2.visits[vj],
                        dest2,
                        true,
                    );
                    next_ride += 1;
                    second.num_riders = num;
                    second.child = child;
                    second.payment = payment;
                    rides.push(second);
                }
            }
        }
    }
    rides
}

/// Indices of the later visits of the same trip.
fn later_visits(visits: &[Visit], vi: usize) -> Vec<usize> {
    let trip = &visits[vi].trip_id;
    (vi + 1..visits.len())
        .take_while(|&j| &visits[j].trip_id == trip)
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn new_ride(
    cfg: &SimConfig,
    rng: &mut StdRng,
    mode: Mode,
    ride_id: u64,
    rider_id: u64,
    board: &Visit,
    alight: &Visit,
    transfer: bool,
) -> Ride {
    let p = &cfg.payments;
    let validators = match mode {
        Mode::Tram => cfg.date >= p.tram_validators_from,
        Mode::Bus => cfg.date >= p.bus_validators_from,
        Mode::CommunityBus => false,
    };
    let payment = if validators && rng.random_bool(p.tap_share.clamp(0.0, 1.0)) {
        Payment::Tap
    } else {
        Payment::Other
    };
    Ride {
        ride_id,
        rider_id,
        mode,
        vehicle_id: board.vehicle_id.clone(),
        trip_id: board.trip_id.clone(),
        route_id: board.route_id.clone(),
        board_stop: board.stop_id.clone(),
        board_sequence: board.stop_sequence,
        board_s: board.departure_s,
        alight_stop: alight.stop_id.clone(),
        alight_sequence: alight.stop_sequence,
        alight_s: alight.arrival_s,
        num_riders: if rng.random_bool(p.group_share.clamp(0.0, 1.0)) {
            2
        } else {
            1
        },
        child: rng.random_bool(p.child_share.clamp(0.0, 1.0)),
        payment,
        transfer,
        card_token: String::new(),
        fare_yen: 0,
        tap_result: String::new(),
        tapped_off: false,
    }
}
