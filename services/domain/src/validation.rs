//! Validation of device messages against the device contract. A message that
//! fails becomes a dead letter carrying one of these reasons.
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use kagoshima_proto::v1::{DeviceStatus, PassengerCount, Position, Tap};
use serde::{Deserialize, Serialize};

use crate::{
    card_data,
    fields::{DeviceKind, Medium, RiderCategory, TapAction, TapFields, TapResult},
    service_area::ServiceArea,
    topic::DeviceTopic,
};

/// Machine-readable reasons, stored in the dead-letter table and returned by
/// the upload API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    BadTopic,
    UnknownKind,
    OversizedPayload,
    MalformedPayload,
    VehicleMismatch,
    MissingField,
    InvalidField,
    InvalidCoordinates,
    OutsideServiceArea,
    TimestampInFuture,
    TimestampTooOld,
    CardNumber,
    /// Passed validation but the database refused the row (a value it cannot
    /// store); kept as a dead letter instead of blocking the batch.
    StorageRejected,
}

impl Reason {
    pub const ALL: [Reason; 13] = [
        Reason::BadTopic,
        Reason::UnknownKind,
        Reason::OversizedPayload,
        Reason::MalformedPayload,
        Reason::VehicleMismatch,
        Reason::MissingField,
        Reason::InvalidField,
        Reason::InvalidCoordinates,
        Reason::OutsideServiceArea,
        Reason::TimestampInFuture,
        Reason::TimestampTooOld,
        Reason::CardNumber,
        Reason::StorageRejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::BadTopic => "bad_topic",
            Reason::UnknownKind => "unknown_kind",
            Reason::OversizedPayload => "oversized_payload",
            Reason::MalformedPayload => "malformed_payload",
            Reason::VehicleMismatch => "vehicle_mismatch",
            Reason::MissingField => "missing_field",
            Reason::InvalidField => "invalid_field",
            Reason::InvalidCoordinates => "invalid_coordinates",
            Reason::OutsideServiceArea => "outside_service_area",
            Reason::TimestampInFuture => "timestamp_in_future",
            Reason::TimestampTooOld => "timestamp_too_old",
            Reason::CardNumber => "card_number",
            Reason::StorageRejected => "storage_rejected",
        }
    }
}

/// A message that failed validation: the reason and a detail for people.
/// When a message has several problems, `reason` is the first one's and
/// `detail` lists them all; `problems` keeps them apart (for `validate`).
/// The detail never holds a card number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.code())]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
    pub problems: Vec<Problem>,
}

/// One thing wrong with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub reason: Reason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        let detail = card_data::mask_str(&detail.into());
        Rejection {
            reason,
            problems: vec![Problem {
                reason,
                detail: detail.clone(),
            }],
            detail,
        }
    }

    /// All of `rejections` as one; `None` when there are none.
    pub fn all(rejections: Vec<Rejection>) -> Option<Self> {
        let first = rejections.first()?.reason;
        let problems: Vec<Problem> = rejections.into_iter().flat_map(|r| r.problems).collect();
        Some(Rejection {
            reason: first,
            detail: problems
                .iter()
                .map(|p| p.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            problems,
        })
    }
}

/// Collects every problem of a message rather than stopping at the first,
/// so a device vendor sees them all in one go.
#[derive(Default)]
struct Problems(Vec<Rejection>);

impl Problems {
    fn check(&mut self, result: Checked<()>) {
        if let Err(e) = result {
            self.0.push(e);
        }
    }

    fn take<T>(&mut self, result: Checked<T>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// The value when nothing was wrong. A `None` value always comes with a
    /// problem, since only [`take`](Self::take) makes one.
    fn finish<T>(self, value: Option<T>) -> Checked<T> {
        match (Rejection::all(self.0), value) {
            (Some(rejection), _) => Err(rejection),
            (None, Some(value)) => Ok(value),
            (None, None) => Err(Rejection::new(Reason::InvalidField, "invalid message")),
        }
    }
}

/// Limits a message must respect; all configurable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationConfig {
    pub service_area: ServiceArea,
    /// How far ahead of the server's clock a device time may be.
    #[serde(with = "secs")]
    pub max_future: Duration,
    /// How old a message may be (devices buffer while offline; back offices upload late).
    #[serde(with = "secs")]
    pub max_age: Duration,
    /// Largest accepted payload.
    pub max_payload_bytes: usize,
}

impl Default for ValidationConfig {
    fn default() -> Self {
        ValidationConfig {
            service_area: ServiceArea::default(),
            max_future: Duration::from_secs(5 * 60),
            max_age: Duration::from_secs(31 * 24 * 3600),
            max_payload_bytes: 64 * 1024,
        }
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// A device message that passed validation, with its times parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidEvent {
    Position {
        at: DateTime<Utc>,
        msg: Position,
    },
    Tap {
        at: DateTime<Utc>,
        msg: Tap,
        fields: TapFields,
    },
    Passengers {
        at: DateTime<Utc>,
        msg: PassengerCount,
    },
    Status {
        at: DateTime<Utc>,
        msg: DeviceStatus,
        device_kind: DeviceKind,
    },
}

impl ValidEvent {
    pub fn vehicle_id(&self) -> &str {
        match self {
            ValidEvent::Position { msg, .. } => &msg.vehicle_id,
            ValidEvent::Tap { msg, .. } => &msg.vehicle_id,
            ValidEvent::Passengers { msg, .. } => &msg.vehicle_id,
            ValidEvent::Status { msg, .. } => &msg.vehicle_id,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ValidEvent::Position { at, .. }
            | ValidEvent::Tap { at, .. }
            | ValidEvent::Passengers { at, .. }
            | ValidEvent::Status { at, .. } => *at,
        }
    }
}

/// Checks messages against the contract, with `now` passed in so tests control time.
#[derive(Debug, Clone)]
pub struct Validator {
    config: ValidationConfig,
}

type Checked<T> = Result<T, Rejection>;

impl Validator {
    pub fn new(config: ValidationConfig) -> Self {
        Validator { config }
    }

    pub fn config(&self) -> &ValidationConfig {
        &self.config
    }

    pub fn position(
        &self,
        topic: &DeviceTopic,
        msg: Position,
        now: DateTime<Utc>,
    ) -> Checked<ValidEvent> {
        let mut p = Problems::default();
        p.check(same_vehicle(topic, &msg.vehicle_id));
        let at = p.take(self.instant("recorded_at", msg.recorded_at.as_ref(), now));
        p.check(self.coordinates(msg.lat, msg.lon));
        if let Some(b) = msg.bearing {
            p.check(in_range("bearing", f64::from(b), 0.0, 360.0));
        }
        if let Some(s) = msg.speed {
            p.check(in_range("speed", f64::from(s), 0.0, 60.0));
        }
        if let Some(a) = msg.accuracy {
            p.check(in_range("accuracy", f64::from(a), 0.0, 10_000.0));
        }
        if let Some(o) = msg.odometer {
            p.check(in_range("odometer", o, 0.0, 1e10));
        }
        p.check(text("trip_id", &msg.trip_id, 0, 128));
        p.check(text("route_id", &msg.route_id, 0, 128));
        let at = p.finish(at)?;
        Ok(ValidEvent::Position { at, msg })
    }

    /// Checks the tap's own fields for card numbers; a payload's unknown
    /// fields are the decoder's to scan (see `card_data::payload_has_card_number`).
    pub fn tap(
        &self,
        topic: &DeviceTopic,
        mut msg: Tap,
        now: DateTime<Utc>,
    ) -> Checked<ValidEvent> {
        let fields = [
            &msg.event_id,
            &msg.vehicle_id,
            &msg.validator_id,
            &msg.card_token,
            &msg.brand,
            &msg.issuer_country,
            &msg.stop_id,
            &msg.route_id,
            &msg.trip_id,
        ];
        if fields
            .iter()
            .any(|f| card_data::contains_card_number(f.as_bytes()))
        {
            return Err(Rejection::new(
                Reason::CardNumber,
                "the tap carries a card number (13-19 digits passing Luhn); devices must send the processor's token",
            ));
        }
        let mut p = Problems::default();
        p.check(same_vehicle(topic, &msg.vehicle_id));
        p.check(text("event_id", &msg.event_id, 1, 128));
        p.check(text("validator_id", &msg.validator_id, 1, 64));
        p.check(text("card_token", &msg.card_token, 1, 256));
        p.check(text("brand", &msg.brand, 0, 32));
        p.check(text("stop_id", &msg.stop_id, 0, 128));
        p.check(text("route_id", &msg.route_id, 0, 128));
        p.check(text("trip_id", &msg.trip_id, 0, 128));
        let at = p.take(self.instant("occurred_at", msg.occurred_at.as_ref(), now));
        let action = p.take(enum_set("action", msg.action, TapAction::from_proto));
        let medium = p.take(enum_set("medium", msg.medium, Medium::from_proto));
        let rider_category = p.take(enum_set(
            "rider_category",
            msg.rider_category,
            RiderCategory::from_proto,
        ));
        let result = p.take(enum_set("result", msg.result, TapResult::from_proto));
        let country_ok = msg.issuer_country.is_empty()
            || (msg.issuer_country.len() == 2
                && msg.issuer_country.bytes().all(|b| b.is_ascii_uppercase()));
        if !country_ok {
            p.check(Err(Rejection::new(
                Reason::InvalidField,
                format!(
                    "issuer_country {:?} is not an ISO 3166 alpha-2 code such as JP",
                    msg.issuer_country
                ),
            )));
        }
        // proto3 cannot tell an omitted num_riders from 0: omitted means one rider.
        if msg.num_riders == 0 {
            msg.num_riders = 1;
        }
        p.check(in_range("num_riders", f64::from(msg.num_riders), 1.0, 50.0));
        p.check(in_range(
            "fare_yen",
            f64::from(msg.fare_yen),
            0.0,
            100_000.0,
        ));
        let fields = (|| {
            Some(TapFields {
                action: action?,
                medium: medium?,
                rider_category: rider_category?,
                result: result?,
            })
        })();
        let (at, fields) = p.finish(at.zip(fields))?;
        msg.brand = msg.brand.to_ascii_lowercase();
        Ok(ValidEvent::Tap { at, msg, fields })
    }

    pub fn passengers(
        &self,
        topic: &DeviceTopic,
        msg: PassengerCount,
        now: DateTime<Utc>,
    ) -> Checked<ValidEvent> {
        let mut p = Problems::default();
        p.check(same_vehicle(topic, &msg.vehicle_id));
        let at = p.take(self.instant("recorded_at", msg.recorded_at.as_ref(), now));
        p.check(text("stop_id", &msg.stop_id, 1, 128));
        p.check(text("trip_id", &msg.trip_id, 0, 128));
        p.check(text("route_id", &msg.route_id, 0, 128));
        p.check(in_range("boardings", f64::from(msg.boardings), 0.0, 500.0));
        p.check(in_range(
            "alightings",
            f64::from(msg.alightings),
            0.0,
            500.0,
        ));
        let at = p.finish(at)?;
        Ok(ValidEvent::Passengers { at, msg })
    }

    pub fn status(
        &self,
        topic: &DeviceTopic,
        msg: DeviceStatus,
        now: DateTime<Utc>,
    ) -> Checked<ValidEvent> {
        let mut p = Problems::default();
        p.check(same_vehicle(topic, &msg.vehicle_id));
        let at = p.take(self.instant("recorded_at", msg.recorded_at.as_ref(), now));
        p.check(text("firmware", &msg.firmware, 0, 64));
        let device_kind = p.take(DeviceKind::from_proto(msg.device_kind).ok_or_else(|| {
            Rejection::new(
                Reason::InvalidField,
                format!(
                    "device_kind {} is unknown; accepted: {}",
                    msg.device_kind,
                    names_of(DeviceKind::ALL, |k| k.to_proto(), |k| k.code())
                ),
            )
        }));
        let (at, device_kind) = p.finish(at.zip(device_kind))?;
        Ok(ValidEvent::Status {
            at,
            msg,
            device_kind,
        })
    }

    fn instant(
        &self,
        field: &str,
        ts: Option<&kagoshima_proto::Timestamp>,
        now: DateTime<Utc>,
    ) -> Checked<DateTime<Utc>> {
        let ts =
            ts.ok_or_else(|| Rejection::new(Reason::MissingField, format!("{field} is missing")))?;
        let at = u32::try_from(ts.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
            // The database keeps microseconds: truncate here so keys compare equal.
            .map(|at| at.trunc_subsecs(6))
            .ok_or_else(|| {
                Rejection::new(
                    Reason::InvalidField,
                    format!("{field} is not a valid instant"),
                )
            })?;
        let ahead = (at - now).to_std().unwrap_or_default();
        if ahead > self.config.max_future {
            return Err(Rejection::new(
                Reason::TimestampInFuture,
                format!(
                    "{field} {at} is {}s ahead of the server clock (limit {}s)",
                    ahead.as_secs(),
                    self.config.max_future.as_secs()
                ),
            ));
        }
        let age = (now - at).to_std().unwrap_or_default();
        if age > self.config.max_age {
            return Err(Rejection::new(
                Reason::TimestampTooOld,
                format!(
                    "{field} {at} is {}s old (limit {}s)",
                    age.as_secs(),
                    self.config.max_age.as_secs()
                ),
            ));
        }
        Ok(at)
    }

    fn coordinates(&self, lat: f64, lon: f64) -> Checked<()> {
        if !lat.is_finite()
            || !lon.is_finite()
            || !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
        {
            return Err(Rejection::new(
                Reason::InvalidCoordinates,
                format!("lat {lat}, lon {lon} is not a place on earth"),
            ));
        }
        if lat == 0.0 && lon == 0.0 {
            return Err(Rejection::new(
                Reason::InvalidCoordinates,
                "lat 0, lon 0 (a receiver without a fix)",
            ));
        }
        if !self.config.service_area.contains(lat, lon) {
            return Err(Rejection::new(
                Reason::OutsideServiceArea,
                format!("lat {lat}, lon {lon} is outside the service area"),
            ));
        }
        Ok(())
    }
}

fn same_vehicle(topic: &DeviceTopic, payload_vehicle: &str) -> Checked<()> {
    if payload_vehicle.is_empty() {
        return Err(Rejection::new(
            Reason::MissingField,
            "vehicle_id is missing",
        ));
    }
    if payload_vehicle != topic.vehicle_id {
        return Err(Rejection::new(
            Reason::VehicleMismatch,
            format!(
                "payload vehicle_id {payload_vehicle:?} differs from the topic's {:?}",
                topic.vehicle_id
            ),
        ));
    }
    Ok(())
}

fn in_range(field: &str, value: f64, min: f64, max: f64) -> Checked<()> {
    if value.is_finite() && value >= min && value <= max {
        Ok(())
    } else {
        Err(Rejection::new(
            Reason::InvalidField,
            format!("{field} {value} is outside {min}..={max}"),
        ))
    }
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Checked<()> {
    if value.len() < min {
        return Err(Rejection::new(
            Reason::MissingField,
            format!("{field} is missing"),
        ));
    }
    if value.len() > max {
        return Err(Rejection::new(
            Reason::InvalidField,
            format!("{field} is longer than {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Rejection::new(
            Reason::InvalidField,
            format!("{field} holds control characters"),
        ));
    }
    Ok(())
}

/// A required enumerated field: unset is missing, an unknown number invalid.
fn enum_set<E: Copy + EnumNames>(
    field: &str,
    value: i32,
    from_proto: fn(i32) -> Option<E>,
) -> Checked<E> {
    match from_proto(value) {
        Some(e) => Ok(e),
        None if value == 0 => Err(Rejection::new(
            Reason::MissingField,
            format!("{field} is missing"),
        )),
        None => Err(Rejection::new(
            Reason::InvalidField,
            format!(
                "{field} {value} is not a known value; accepted: {}",
                E::accepted()
            ),
        )),
    }
}

/// The accepted values of an enumerated field, for error messages.
trait EnumNames {
    fn accepted() -> String;
}

macro_rules! enum_names {
    ($($ty:ident),*) => {
        $(impl EnumNames for $ty {
            fn accepted() -> String {
                names_of($ty::ALL, |v| v.to_proto(), |v| v.code())
            }
        })*
    };
}

enum_names!(TapAction, Medium, RiderCategory, TapResult);

/// `1 (on), 2 (off)`: each value's number and name.
fn names_of<E: Copy>(all: &[E], number: fn(E) -> i32, name: fn(E) -> &'static str) -> String {
    all.iter()
        .map(|v| format!("{} ({})", number(*v), name(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::{Kind, Mode};

    #[test]
    fn a_tap_with_several_problems_lists_them_all() {
        let topic = DeviceTopic::new(Mode::Tram, "tram-101", Kind::Tap);
        let now = Utc::now();
        let tap = Tap {
            vehicle_id: "tram-101".into(),
            validator_id: "v1".into(),
            occurred_at: Some(kagoshima_proto::Timestamp {
                seconds: now.timestamp(),
                nanos: 0,
            }),
            action: 9,
            medium: 1,
            rider_category: 1,
            result: 1,
            fare_yen: 1_000_000,
            ..Default::default()
        };
        let rejection = Validator::new(ValidationConfig::default())
            .tap(&topic, tap, now)
            .expect_err("refused");
        let details: Vec<&str> = rejection
            .problems
            .iter()
            .map(|p| p.detail.as_str())
            .collect();
        assert_eq!(
            details,
            [
                "event_id is missing",
                "card_token is missing",
                "action 9 is not a known value; accepted: 1 (on), 2 (off)",
                "fare_yen 1000000 is outside 0..=100000",
            ]
        );
        assert_eq!(rejection.reason, Reason::MissingField);
        assert_eq!(rejection.detail, details.join("; "));
    }
}
