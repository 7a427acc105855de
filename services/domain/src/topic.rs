//! The device contract's MQTT topics: `kagoshima/v1/{mode}/{vehicle_id}/{kind}`.
use std::fmt;

/// The filter that matches every device topic.
pub const DEVICE_TOPIC_FILTER: &str = "kagoshima/v1/+/+/+";
const PREFIX: &str = "kagoshima/v1/";

/// The kind of vehicle a device rides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Tram,
    Bus,
    CommunityBus,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Tram, Mode::Bus, Mode::CommunityBus];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Tram => "tram",
            Mode::Bus => "bus",
            Mode::CommunityBus => "community_bus",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message on a topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Position,
    Tap,
    Passengers,
    Status,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Position, Kind::Tap, Kind::Passengers, Kind::Status];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Position => "position",
            Kind::Tap => "tap",
            Kind::Passengers => "passengers",
            Kind::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed device topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTopic {
    pub mode: Mode,
    pub vehicle_id: String,
    pub kind: Kind,
}

/// Why a topic is not a device topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic does not start with {PREFIX}")]
    WrongPrefix,
    #[error("topic must have the form kagoshima/v1/{{mode}}/{{vehicle_id}}/{{kind}}")]
    WrongShape,
    #[error("unknown mode {0:?} (expected tram, bus or community_bus)")]
    UnknownMode(String),
    #[error("unknown kind {0:?} (expected position, tap, passengers or status)")]
    UnknownKind(String),
    #[error("vehicle id {0:?} is not valid (1-64 of A-Z a-z 0-9 - _ .)")]
    BadVehicleId(String),
}

impl DeviceTopic {
    pub fn new(mode: Mode, vehicle_id: impl Into<String>, kind: Kind) -> Self {
        DeviceTopic {
            mode,
            vehicle_id: vehicle_id.into(),
            kind,
        }
    }

    pub fn parse(topic: &str) -> Result<DeviceTopic, TopicError> {
        let rest = topic.strip_prefix(PREFIX).ok_or(TopicError::WrongPrefix)?;
        let mut parts = rest.split('/');
        let (Some(mode), Some(vehicle), Some(kind), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TopicError::WrongShape);
        };
        let mode = Mode::parse(mode).ok_or_else(|| TopicError::UnknownMode(mode.to_owned()))?;
        let kind = Kind::parse(kind).ok_or_else(|| TopicError::UnknownKind(kind.to_owned()))?;
        if !is_valid_vehicle_id(vehicle) {
            return Err(TopicError::BadVehicleId(vehicle.to_owned()));
        }
        Ok(DeviceTopic::new(mode, vehicle, kind))
    }
}

impl fmt::Display for DeviceTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{}/{}", self.mode, self.vehicle_id, self.kind)
    }
}

/// Vehicle and device ids: short, printable, safe in topics, logs and file names.
pub fn is_valid_vehicle_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_topic() {
        let t = DeviceTopic::parse("kagoshima/v1/community_bus/aibus-3/tap").expect("valid");
        assert_eq!(t.mode, Mode::CommunityBus);
        assert_eq!(t.vehicle_id, "aibus-3");
        assert_eq!(t.kind, Kind::Tap);
        assert_eq!(t.to_string(), "kagoshima/v1/community_bus/aibus-3/tap");
    }

    #[test]
    fn rejects_bad_topics() {
        assert_eq!(
            DeviceTopic::parse("other/v1/tram/1/tap"),
            Err(TopicError::WrongPrefix)
        );
        assert_eq!(
            DeviceTopic::parse("kagoshima/v1/tram/1"),
            Err(TopicError::WrongShape)
        );
        assert_eq!(
            DeviceTopic::parse("kagoshima/v1/tram/1/tap/x"),
            Err(TopicError::WrongShape)
        );
        assert!(matches!(
            DeviceTopic::parse("kagoshima/v1/ferry/1/tap"),
            Err(TopicError::UnknownMode(_))
        ));
        assert!(matches!(
            DeviceTopic::parse("kagoshima/v1/tram/1/video"),
            Err(TopicError::UnknownKind(_))
        ));
        assert!(matches!(
            DeviceTopic::parse("kagoshima/v1/tram/a b/tap"),
            Err(TopicError::BadVehicleId(_))
        ));
    }
}
