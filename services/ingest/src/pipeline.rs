//! Turns decoded messages into the rows of one batch, remembering where each
//! message went so its outcome can be read back after the write.
use chrono::{DateTime, Utc};
use kagoshima_domain::{
    card_data::CardTokenHasher,
    decode::{self, Refused},
    topic::{DeviceTopic, Mode},
    validation::{Rejection, ValidEvent, Validator},
};
use kagoshima_storage::{
    Batch, BatchOutcome, DeadLetter, PassengerRow, PositionRow, StatusRow, TapRow,
};

/// Where the message went in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Position(usize),
    Tap(usize),
    Passengers(usize),
    Status(usize),
    DeadLetter(&'static str),
}

/// What became of a message once its batch was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Stored,
    Duplicate,
    DeadLettered,
}

impl Slot {
    pub fn fate(self, outcome: &BatchOutcome) -> Fate {
        let new = match self {
            Slot::Position(i) => outcome.positions[i],
            Slot::Tap(i) => outcome.taps[i],
            Slot::Passengers(i) => outcome.passengers[i],
            Slot::Status(i) => outcome.statuses[i],
            Slot::DeadLetter(_) => return Fate::DeadLettered,
        };
        if new { Fate::Stored } else { Fate::Duplicate }
    }

    /// The metric label of the message's kind.
    pub fn kind(self) -> &'static str {
        match self {
            Slot::Position(_) => "position",
            Slot::Tap(_) => "tap",
            Slot::Passengers(_) => "passengers",
            Slot::Status(_) => "status",
            Slot::DeadLetter(_) => "invalid",
        }
    }
}

/// Validation and card-token hashing: the pure part of ingest.
#[derive(Debug, Clone)]
pub struct Pipeline {
    validator: Validator,
    hasher: CardTokenHasher,
}

impl Pipeline {
    pub fn new(validator: Validator, hasher: CardTokenHasher) -> Self {
        Pipeline { validator, hasher }
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// Adds one MQTT message to the batch.
    pub fn add_mqtt(
        &self,
        batch: &mut Batch,
        topic: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Slot {
        match decode::decode(&self.validator, topic, payload, now) {
            Ok((topic, event)) => self.add_valid(batch, &topic, event, "mqtt"),
            Err(Refused {
                topic: parsed,
                rejection,
            }) => {
                let mut letter =
                    DeadLetter::new("mqtt", &rejection, payload, now).with_topic(topic);
                if let Some(t) = parsed {
                    letter = letter
                        .with_kind(t.kind.as_str())
                        .with_vehicle(&t.vehicle_id);
                }
                add_dead_letter(batch, letter, &rejection)
            }
        }
    }

    /// Adds a validated event to the batch.
    pub fn add_valid(
        &self,
        batch: &mut Batch,
        topic: &DeviceTopic,
        event: ValidEvent,
        source: &'static str,
    ) -> Slot {
        let mode = topic.mode.as_str();
        match event {
            ValidEvent::Position { at, msg } => {
                batch.positions.push(PositionRow {
                    vehicle_id: msg.vehicle_id,
                    recorded_at: at,
                    mode,
                    lat: msg.lat,
                    lon: msg.lon,
                    bearing: msg.bearing,
                    speed: msg.speed,
                    accuracy: msg.accuracy,
                    trip_id: non_empty(msg.trip_id),
                    route_id: non_empty(msg.route_id),
                    odometer: msg.odometer,
                });
                Slot::Position(batch.positions.len() - 1)
            }
            ValidEvent::Tap { at, msg, fields } => {
                batch.taps.push(TapRow {
                    card_hash: self.hasher.hash(&msg.card_token),
                    event_id: msg.event_id,
                    occurred_at: at,
                    vehicle_id: msg.vehicle_id,
                    mode,
                    validator_id: msg.validator_id,
                    action: fields.action,
                    medium: fields.medium,
                    brand: non_empty(msg.brand),
                    issuer_country: non_empty(msg.issuer_country),
                    rider_category: fields.rider_category,
                    num_riders: i16::try_from(msg.num_riders).unwrap_or(i16::MAX),
                    fare_yen: i32::try_from(msg.fare_yen).unwrap_or(i32::MAX),
                    result: fields.result,
                    stop_id: non_empty(msg.stop_id),
                    route_id: non_empty(msg.route_id),
                    trip_id: non_empty(msg.trip_id),
                    source,
                });
                Slot::Tap(batch.taps.len() - 1)
            }
            ValidEvent::Passengers { at, msg } => {
                batch.passengers.push(PassengerRow {
                    vehicle_id: msg.vehicle_id,
                    recorded_at: at,
                    mode,
                    stop_id: msg.stop_id,
                    boardings: i32::try_from(msg.boardings).unwrap_or(i32::MAX),
                    alightings: i32::try_from(msg.alightings).unwrap_or(i32::MAX),
                    trip_id: non_empty(msg.trip_id),
                    route_id: non_empty(msg.route_id),
                });
                Slot::Passengers(batch.passengers.len() - 1)
            }
            ValidEvent::Status {
                at,
                msg,
                device_kind,
            } => {
                batch.statuses.push(StatusRow {
                    vehicle_id: msg.vehicle_id,
                    recorded_at: at,
                    mode,
                    device_kind,
                    firmware: non_empty(msg.firmware),
                    uptime_s: i64::try_from(msg.uptime_s).unwrap_or(i64::MAX),
                    buffered: i32::try_from(msg.buffered).unwrap_or(i32::MAX),
                });
                Slot::Status(batch.statuses.len() - 1)
            }
        }
    }
}

pub fn add_dead_letter(batch: &mut Batch, letter: DeadLetter, rejection: &Rejection) -> Slot {
    batch.dead_letters.push(letter);
    Slot::DeadLetter(rejection.reason.code())
}

/// The mode named in an upload, as in MQTT topics.
pub fn parse_mode(mode: &str) -> Option<Mode> {
    Mode::parse(mode)
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}
