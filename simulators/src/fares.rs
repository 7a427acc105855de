//! The fare validator: turns tap-paying rides into tap events (tap on at
//! boarding with the fare, tap off at alighting with fare 0; a free transfer
//! is a second tap on with fare 0), with foreign cards, card and mobile
//! media, declines, deny-listed cards and a few repeated publishes.
use std::collections::BTreeMap;

use kagoshima_domain::topic::Mode;
use kagoshima_proto::v1::{Medium, RiderCategory, Tap, TapAction, TapResult};
use rand::Rng;
use rand::rngs::StdRng;

use crate::config::{FareConfig, PaymentConfig, SimConfig};
use crate::motion::Trajectory;
use crate::riders::{Payment, Ride};
use crate::tokens;

/// A card as the processor sees it (one per rider).
#[derive(Debug, Clone)]
pub struct Card {
    pub token: String,
    pub medium: Medium,
    pub brand: String,
    pub issuer_country: String,
    /// The result this card gets when tapped on (declined / deny-listed cards pay otherwise).
    pub result: TapResult,
}

/// A tap as the validator publishes it, with its true instant and how many
/// extra times it is published.
#[derive(Debug, Clone)]
pub struct TapEvent {
    pub at_s: f64,
    pub tap: Tap,
    pub repeats: u32,
}

pub fn fare_for(fares: &FareConfig, mode: Mode, child: bool) -> u32 {
    match (mode, child) {
        (Mode::Tram, false) => fares.tram_adult,
        (Mode::Tram, true) => fares.tram_child,
        (Mode::Bus, false) => fares.bus_adult,
        (Mode::Bus, true) => fares.bus_child,
        (Mode::CommunityBus, false) => fares.community_bus_adult,
        (Mode::CommunityBus, true) => fares.community_bus_child,
    }
}

fn draw_card(p: &PaymentConfig, rng: &mut StdRng) -> Card {
    let foreign = rng.random_bool(p.foreign_card_share.clamp(0.0, 1.0));
    let issuer_country = if foreign && !p.foreign_countries.is_empty() {
        p.foreign_countries[rng.random_range(0..p.foreign_countries.len())].clone()
    } else {
        "JP".to_owned()
    };
    let total: f64 = p.brands.iter().map(|b| b.1).sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    let mut brand = p.brands.last().map_or("visa", |b| b.0.as_str()).to_owned();
    for (b, w) in &p.brands {
        if x < *w {
            brand = b.clone();
            break;
        }
        x -= w;
    }
    let r: f64 = rng.random();
    let result = if r < p.deny_listed_share {
        TapResult::DenyListed
    } else if r < p.deny_listed_share + p.declined_share {
        TapResult::Declined
    } else if r < p.deny_listed_share + p.declined_share + p.offline_share {
        TapResult::OfflineApproved
    } else {
        TapResult::Approved
    };
    Card {
        token: tokens::card_token(rng),
        medium: if rng.random_bool(p.mobile_share.clamp(0.0, 1.0)) {
            Medium::Mobile
        } else {
            Medium::Card
        },
        brand,
        issuer_country,
        result,
    }
}

/// Fills the tap fields of `rides` and returns the tap events, in ride order.
pub fn validate(
    cfg: &SimConfig,
    trajectories: &[Trajectory],
    rides: &mut [Ride],
    rng: &mut StdRng,
) -> Vec<TapEvent> {
    // Dwell windows, to place taps inside them: (vehicle, trip, stop seq) → (arr, dep).
    let mut dwell: BTreeMap<(&str, &str, u32), (f64, f64)> = BTreeMap::new();
    for tr in trajectories {
        for v in &tr.visits {
            dwell.insert(
                (&v.vehicle_id, &v.trip_id, v.stop_sequence),
                (v.arrival_s, v.departure_s),
            );
        }
    }
    let mut cards: BTreeMap<u64, Card> = BTreeMap::new();
    let mut events = Vec::new();
    let p = &cfg.payments;
    for ride in rides.iter_mut() {
        if ride.payment != Payment::Tap {
            continue;
        }
        let card = cards
            .entry(ride.rider_id)
            .or_insert_with(|| draw_card(p, rng))
            .clone();
        let result = if ride.transfer {
            // The first leg was approved, so the card is good.
            TapResult::Approved
        } else {
            card.result
        };
        let fare = if ride.transfer {
            0
        } else {
            fare_for(&cfg.fares, ride.mode, ride.child) * ride.num_riders
        };
        let ok = matches!(result, TapResult::Approved | TapResult::OfflineApproved);
        let (arr, dep) = dwell
            .get(&(
                ride.vehicle_id.as_str(),
                ride.trip_id.as_str(),
                ride.board_sequence,
            ))
            .copied()
            .unwrap_or((ride.board_s - 20.0, ride.board_s));
        let on_at = rng.random_range(arr.max(dep - 60.0)..=dep);
        let category = if ride.child {
            RiderCategory::Child
        } else {
            RiderCategory::Adult
        };
        let make = |rng: &mut StdRng, action: TapAction, stop: &str, fare: u32, result| Tap {
            event_id: tokens::event_id(rng),
            vehicle_id: ride.vehicle_id.clone(),
            validator_id: format!("{}-v1", ride.vehicle_id),
            occurred_at: None,
            action: action.into(),
            card_token: card.token.clone(),
            medium: card.medium.into(),
            brand: card.brand.clone(),
            issuer_country: card.issuer_country.clone(),
            rider_category: category.into(),
            num_riders: ride.num_riders,
            fare_yen: fare,
            result: TapResult::into(result),
            stop_id: stop.to_owned(),
            route_id: ride.route_id.clone(),
            trip_id: ride.trip_id.clone(),
        };
        let repeats =
            |rng: &mut StdRng| u32::from(rng.random_bool(p.repeat_publish_share.clamp(0.0, 1.0)));
        let on = make(
            rng,
            TapAction::On,
            &ride.board_stop,
            if ok { fare } else { 0 },
            result,
        );
        let r = repeats(rng);
        events.push(TapEvent {
            at_s: on_at,
            tap: on,
            repeats: r,
        });
        ride.card_token = card.token.clone();
        ride.tap_result = result
            .as_str_name()
            .trim_start_matches("TAP_RESULT_")
            .to_lowercase();
        if !ok {
            // Declined or deny-listed: the rider pays another way; no tap off.
            ride.payment = Payment::Other;
            ride.fare_yen = fare;
            continue;
        }
        ride.fare_yen = fare;
        if rng.random_bool(p.forget_tap_off_share.clamp(0.0, 1.0)) {
            ride.tapped_off = false;
            continue;
        }
        let (arr2, dep2) = dwell
            .get(&(
                ride.vehicle_id.as_str(),
                ride.trip_id.as_str(),
                ride.alight_sequence,
            ))
            .copied()
            .unwrap_or((ride.alight_s, ride.alight_s + 20.0));
        let off_at = rng.random_range(arr2..=dep2.min(arr2 + 30.0).max(arr2));
        let off = make(
            rng,
            TapAction::Off,
            &ride.alight_stop,
            0,
            TapResult::Approved,
        );
        let r = repeats(rng);
        events.push(TapEvent {
            at_s: off_at,
            tap: off,
            repeats: r,
        });
        ride.tapped_off = true;
    }
    events
}
