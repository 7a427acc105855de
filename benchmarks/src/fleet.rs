//! The messages every system under test receives: synthetic buses circling
//! 天文館 (the simulator's load mode positions), as protobuf or proto3 JSON.
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use kagoshima_proto::{Message as _, v1::Position};
use kagoshima_storage::PositionRow;

/// How payloads go on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// Protobuf, what devices send.
    Proto,
    /// proto3 JSON, what the peers decode.
    Json,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Proto => "protobuf",
            Encoding::Json => "JSON",
        }
    }
}

/// One vehicle of the synthetic fleet.
#[derive(Debug, Clone)]
pub struct Vehicle {
    pub index: usize,
    pub id: Arc<str>,
    pub topic: Arc<str>,
}

/// `n` buses named `{prefix}-{index}`.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub vehicles: Vec<Vehicle>,
}

impl Fleet {
    pub fn new(prefix: &str, n: usize) -> Fleet {
        let vehicles = (0..n)
            .map(|index| {
                let id = format!("{prefix}-{index:06}");
                let topic = format!("kagoshima/v1/bus/{id}/position");
                Vehicle {
                    index,
                    id: id.into(),
                    topic: topic.into(),
                }
            })
            .collect();
        Fleet { vehicles }
    }

    pub fn len(&self) -> usize {
        self.vehicles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vehicles.is_empty()
    }
}

/// The database keeps microseconds: so do the keys the harness compares.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// The position of `vehicle` at `at` (microsecond precision).
pub fn position(vehicle: &Vehicle, at: DateTime<Utc>) -> Position {
    let at = to_micros(at);
    let mut p = kagoshima_sim::load::load_position(&vehicle.id, vehicle.index, at);
    p.recorded_at = Some(kagoshima_proto::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_micros()).unwrap_or(0) * 1000,
    });
    p
}

pub fn encode(p: &Position, encoding: Encoding) -> Bytes {
    match encoding {
        Encoding::Proto => p.encode_to_vec().into(),
        Encoding::Json => kagoshima_proto::json::encode(p)
            .expect("a position always has a JSON form")
            .into(),
    }
}

/// The row ingest stores for `p` (for the database-alone limits).
pub fn row(p: &Position, at: DateTime<Utc>) -> PositionRow {
    PositionRow {
        vehicle_id: p.vehicle_id.clone(),
        recorded_at: at,
        mode: "bus",
        lat: p.lat,
        lon: p.lon,
        bearing: p.bearing,
        speed: p.speed,
        accuracy: p.accuracy,
        trip_id: None,
        route_id: None,
        odometer: p.odometer,
    }
}

/// A message ready to publish in either encoding, with the key of the row it
/// must become.
#[derive(Debug, Clone)]
pub struct WireMessage {
    pub topic: Arc<str>,
    pub proto: Bytes,
    pub json: Bytes,
    pub vehicle: Arc<str>,
    pub recorded_at: DateTime<Utc>,
}

/// A fixed set of messages: `ticks` reports of every vehicle one second
/// apart, ending `lag` before now, split by vehicle over `connections`
/// (so each vehicle's reports stay in order on one connection).
impl WireMessage {
    pub fn payload(&self, encoding: Encoding) -> Bytes {
        match encoding {
            Encoding::Proto => self.proto.clone(),
            Encoding::Json => self.json.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessageSet {
    pub per_connection: Vec<Vec<WireMessage>>,
    pub rows: Vec<PositionRow>,
}

impl MessageSet {
    pub fn build(fleet: &Fleet, ticks: usize, connections: usize) -> Self {
        let connections = connections.max(1);
        let start = to_micros(Utc::now()) - TimeDelta::seconds(ticks as i64 + 30);
        let mut per_connection = vec![Vec::new(); connections];
        let mut rows = Vec::with_capacity(fleet.len() * ticks);
        for tick in 0..ticks {
            for v in &fleet.vehicles {
                // Vehicles report spread over the second, as real ones do.
                let phase = TimeDelta::microseconds(
                    (v.index as i64 * 1_000_000 / fleet.len().max(1) as i64) % 1_000_000,
                );
                let at = start + TimeDelta::seconds(tick as i64) + phase;
                let p = position(v, at);
                rows.push(row(&p, at));
                per_connection[v.index % connections].push(WireMessage {
                    topic: v.topic.clone(),
                    proto: encode(&p, Encoding::Proto),
                    json: encode(&p, Encoding::Json),
                    vehicle: v.id.clone(),
                    recorded_at: at,
                });
            }
        }
        MessageSet {
            per_connection,
            rows,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The key of the last message on each connection: once all are stored,
    /// (almost) everything is.
    pub fn last_keys(&self) -> Vec<(Arc<str>, DateTime<Utc>)> {
        self.per_connection
            .iter()
            .filter_map(|c| c.last())
            .map(|m| (m.vehicle.clone(), m.recorded_at))
            .collect()
    }
}
