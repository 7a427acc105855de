//! The core: a pure function from (feed, config) to the day's timestamped
//! device messages, sorted by publish instant, and the ground truth.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kagoshima_domain::topic::{DeviceTopic, Kind, Mode};
use kagoshima_proto::v1::{DeviceKind, DeviceStatus, PassengerCount, Position, Tap};
use kagoshima_proto::{Message as _, Timestamp, json};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::SimConfig;
use crate::fares;
use crate::feed::Feed;
use crate::motion::{self, Trajectory, Visit};
use crate::noise::{self, DeviceProfile};
use crate::projection::{Xy, to_latlon};
use crate::riders::{self, Ride};
use crate::schedule::{self, gtfs_instant};
use crate::truth::{Summary, Truth};

/// A device message.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Position(Position),
    Tap(Tap),
    Passengers(PassengerCount),
    Status(DeviceStatus),
}

/// How payloads go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Encoding {
    /// Protobuf binary (what devices send).
    #[default]
    Proto,
    /// Proto3 JSON.
    Json,
}

impl Payload {
    pub fn kind(&self) -> Kind {
        match self {
            Payload::Position(_) => Kind::Position,
            Payload::Tap(_) => Kind::Tap,
            Payload::Passengers(_) => Kind::Passengers,
            Payload::Status(_) => Kind::Status,
        }
    }

    pub fn encode(&self, encoding: Encoding) -> Vec<u8> {
        match encoding {
            Encoding::Proto => match self {
                Payload::Position(m) => m.encode_to_vec(),
                Payload::Tap(m) => m.encode_to_vec(),
                Payload::Passengers(m) => m.encode_to_vec(),
                Payload::Status(m) => m.encode_to_vec(),
            },
            Encoding::Json => match self {
                Payload::Position(m) => json::encode(m),
                Payload::Tap(m) => json::encode(m),
                Payload::Passengers(m) => json::encode(m),
                Payload::Status(m) => json::encode(m),
            }
            .expect("generated messages encode as proto3 json"),
        }
    }
}

/// One message to publish: when, where and what.
#[derive(Debug, Clone, PartialEq)]
pub struct SimEvent {
    /// The true instant the device publishes it.
    pub publish_at: DateTime<Utc>,
    pub topic: DeviceTopic,
    pub payload: Payload,
}

/// A simulated day: the messages in publish order, and what really happened.
#[derive(Debug, Clone)]
pub struct SimulatedDay {
    pub events: Vec<SimEvent>,
    pub truth: Truth,
}

fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

/// A seed of its own for each part of the run, so adding a vehicle does not
/// change the others (SplitMix64 of the run seed and a stream number).
pub fn sub_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FIRMWARE: &str = "kgs-obu 2.4.1";

/// Simulates one service day. Pure and deterministic for `(feed, config)`.
pub fn simulate_day(feed: &Feed, config: &SimConfig) -> SimulatedDay {
    let date = config.date;
    let mut plan = schedule::day_plan(feed, date, &config.vehicle_prefix);
    if let Some(max) = config.max_vehicles {
        plan.truncate(max);
    }
    let at = |s: f64| gtfs_instant(date, s);
    let mut trajectories = Vec::with_capacity(plan.len());
    let mut profiles = Vec::with_capacity(plan.len());
    for (i, v) in plan.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(sub_seed(config.seed, 1000 + i as u64));
        trajectories.push(motion::run_vehicle(feed, v, &config.motion, &mut rng));
        profiles.push(DeviceProfile::draw(&config.noise, &mut rng));
    }
    let mut rng = StdRng::seed_from_u64(sub_seed(config.seed, 1));
    let mut rides = riders::draw_rides(config, &trajectories, &mut rng);
    let mut rng = StdRng::seed_from_u64(sub_seed(config.seed, 2));
    let taps = fares::validate(config, &trajectories, &mut rides, &mut rng);

    let mut events = Vec::new();
    let mut summary = Summary {
        date: date.to_string(),
        seed: config.seed,
        vehicles: plan.len() as u64,
        ..Summary::default()
    };

    // Boardings and alightings per visit, from the rides.
    let mut counts: BTreeMap<(&str, &str, u32), (u32, u32)> = BTreeMap::new();
    for r in &rides {
        counts
            .entry((&r.vehicle_id, &r.trip_id, r.board_sequence))
            .or_default()
            .0 += r.num_riders;
        counts
            .entry((&r.vehicle_id, &r.trip_id, r.alight_sequence))
            .or_default()
            .1 += r.num_riders;
    }

    for (i, tr) in trajectories.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(sub_seed(config.seed, 500_000 + i as u64));
        let profile = profiles[i];
        let logged_out: Vec<bool> = tr
            .trips
            .iter()
            .map(|_| {
                profile.never_logs_in
                    || (config.noise.enabled
                        && rng.random_bool(config.noise.trip_not_logged_in_share.clamp(0.0, 1.0)))
            })
            .collect();
        let login = |t: f64| -> (String, String) {
            tr.trips
                .iter()
                .zip(&logged_out)
                .find(|(s, _)| s.start_s <= t && t <= s.end_s)
                .filter(|(_, out)| !**out)
                .map(|(s, _)| (s.trip_id.clone(), s.route_id.clone()))
                .unwrap_or_default()
        };
        let device_time = |t: f64| at(t + profile.clock_offset_s);
        let topic = |kind| DeviceTopic::new(tr.mode, tr.vehicle_id.clone(), kind);
        let mode_sum = summary
            .per_mode
            .entry(tr.mode.as_str().to_owned())
            .or_default();
        mode_sum.vehicles += 1;

        // Positions: regular reports plus one at each stop arrival and departure.
        let (mut times, gaps) = noise::report_times(&config.noise, tr.on_s, tr.off_s, &mut rng);
        for v in &tr.visits {
            for t in [v.arrival_s, v.departure_s] {
                if !gaps.iter().any(|g| g.0 < t && t < g.1) {
                    times.push(t);
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let mut last_ms = i64::MIN;
        for t in times {
            let recorded = device_time(t);
            let ms = recorded.timestamp_millis();
            if ms <= last_ms {
                continue;
            }
            last_ms = ms;
            let s = tr.state_at(t);
            let err = noise::position_error(&config.noise, &mut rng);
            let (lat, lon) = to_latlon(Xy {
                x: s.xy.x + err.x,
                y: s.xy.y + err.y,
            });
            let (trip_id, route_id) = login(t);
            let speed = if config.noise.enabled && s.speed > 0.0 {
                (s.speed + 0.3 * noise::normal(&mut rng)).max(0.0)
            } else {
                s.speed
            };
            let msg = Position {
                vehicle_id: tr.vehicle_id.clone(),
                recorded_at: ts(recorded),
                lat: (lat * 1e7).round() / 1e7,
                lon: (lon * 1e7).round() / 1e7,
                bearing: Some(((s.bearing * 10.0).round() / 10.0) as f32),
                speed: Some(((speed * 10.0).round() / 10.0) as f32),
                accuracy: Some(if config.noise.enabled {
                    config.noise.sigma_m as f32
                } else {
                    1.0
                }),
                trip_id,
                route_id,
                odometer: Some(s.odometer.round()),
            };
            events.push(SimEvent {
                publish_at: at(t),
                topic: topic(Kind::Position),
                payload: Payload::Position(msg),
            });
            mode_sum.positions += 1;
        }

        // Passenger counts at every stop served.
        for v in &tr.visits {
            let (b, a) = counts
                .get(&(v.vehicle_id.as_str(), v.trip_id.as_str(), v.stop_sequence))
                .copied()
                .unwrap_or((0, 0));
            let (trip_id, route_id) = login(v.departure_s);
            events.push(SimEvent {
                publish_at: at(v.departure_s),
                topic: topic(Kind::Passengers),
                payload: Payload::Passengers(PassengerCount {
                    vehicle_id: tr.vehicle_id.clone(),
                    recorded_at: ts(device_time(v.departure_s)),
                    stop_id: v.stop_id.clone(),
                    boardings: b,
                    alightings: a,
                    trip_id,
                    route_id,
                }),
            });
            mode_sum.passenger_counts += 1;
        }

        // Heartbeats every 60 s.
        let boot = tr.on_s - 300.0;
        let mut t = tr.on_s;
        while t <= tr.off_s {
            events.push(SimEvent {
                publish_at: at(t),
                topic: topic(Kind::Status),
                payload: Payload::Status(DeviceStatus {
                    vehicle_id: tr.vehicle_id.clone(),
                    recorded_at: ts(device_time(t)),
                    device_kind: DeviceKind::Onboard.into(),
                    firmware: FIRMWARE.into(),
                    uptime_s: (t - boot) as u64,
                    buffered: 0,
                }),
            });
            mode_sum.status += 1;
            t += 60.0;
        }
    }

    // Taps (validators keep processor time: no clock offset), with repeats.
    let mut rng = StdRng::seed_from_u64(sub_seed(config.seed, 3));
    for te in taps {
        let mode = DeviceTopic::new(Mode::Tram, te.tap.vehicle_id.clone(), Kind::Tap);
        let mode = trajectories
            .iter()
            .find(|t| t.vehicle_id == te.tap.vehicle_id)
            .map_or(mode.mode, |t| t.mode);
        let occurred = at(te.at_s);
        let mut tap = te.tap;
        tap.occurred_at = ts(occurred);
        let mode_sum = summary
            .per_mode
            .entry(mode.as_str().to_owned())
            .or_default();
        mode_sum.taps_distinct += 1;
        for k in 0..=te.repeats {
            let delay = if k == 0 {
                rng.random_range(0.2..2.0)
            } else {
                rng.random_range(5.0..60.0)
            };
            events.push(SimEvent {
                publish_at: at(te.at_s + delay),
                topic: DeviceTopic::new(mode, tap.vehicle_id.clone(), Kind::Tap),
                payload: Payload::Tap(tap.clone()),
            });
            mode_sum.taps_published += 1;
        }
    }

    events.sort_by_key(|e| e.publish_at);
    summary.finish(&rides, events.len() as u64);
    let visits: Vec<Visit> = trajectories.iter().flat_map(|t| t.visits.clone()).collect();
    SimulatedDay {
        events,
        truth: Truth {
            date,
            visits,
            rides,
            summary,
            trajectories,
        },
    }
}

/// The mode of a ride list entry, for summaries.
pub fn ride_mode(r: &Ride) -> Mode {
    r.mode
}

/// The trajectories by vehicle id, for tests and scoring.
pub fn by_vehicle(trajectories: &[Trajectory]) -> BTreeMap<&str, &Trajectory> {
    trajectories
        .iter()
        .map(|t| (t.vehicle_id.as_str(), t))
        .collect()
}
