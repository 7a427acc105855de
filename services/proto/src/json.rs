//! proto3 JSON decoding (the canonical JSON mapping of protobuf), driven by the
//! project's own descriptors so JSON and binary payloads accept the same fields.
use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, EnumDescriptor, Kind, MessageDescriptor};

use crate::FILE_DESCRIPTOR_SET;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("the build embeds a valid descriptor set")
});

/// Why a JSON payload could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("unknown message type {0}")]
    UnknownType(String),
    /// Every problem found, each naming its field.
    #[error("invalid proto3 json: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl JsonError {
    fn one(problem: impl ToString) -> Self {
        JsonError::Invalid(vec![problem.to_string()])
    }
}

/// Decodes a proto3 JSON document into the generated message `M`.
///
/// Unknown fields are rejected, so a misspelt field is an error rather than a
/// silently missing value. Enum values may be given by their full name
/// (`TAP_ACTION_ON`), by the name without the enum's prefix in any case
/// (`ON`, `on`) or by number; a name that is none of these is refused with the
/// accepted names. Every unknown field and bad enum name is reported at once.
pub fn decode<M>(json: &[u8]) -> Result<M, JsonError>
where
    M: Message + Default + Name,
{
    let descriptor = POOL
        .get_message_by_name(M::FULL_NAME)
        .ok_or_else(|| JsonError::UnknownType(M::FULL_NAME.to_owned()))?;
    let mut value: serde_json::Value = serde_json::from_slice(json).map_err(JsonError::one)?;
    let mut problems = Vec::new();
    normalise(&descriptor, &mut value, "", &mut problems);
    if !problems.is_empty() {
        return Err(JsonError::Invalid(problems));
    }
    let dynamic = DynamicMessage::deserialize(descriptor, value).map_err(JsonError::one)?;
    dynamic.transcode_to::<M>().map_err(JsonError::one)
}

/// Checks the fields of one JSON object against its message and rewrites
/// short enum names to their full names, collecting every problem.
fn normalise(
    message: &MessageDescriptor,
    value: &mut serde_json::Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    // Well-known types (Timestamp) have JSON forms of their own.
    if message.package_name() != PACKAGE {
        return;
    }
    let Some(object) = value.as_object_mut() else {
        return; // the deserializer names the type error
    };
    for (key, field_value) in object.iter_mut() {
        let name = format!("{path}{key}");
        let Some(field) = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key))
        else {
            let known: Vec<_> = message.fields().map(|f| f.name().to_owned()).collect();
            problems.push(format!(
                "unknown field `{name}` in {} (known fields: {})",
                message.name(),
                known.join(", ")
            ));
            continue;
        };
        match field.kind() {
            Kind::Enum(e) => {
                if field.is_list() {
                    if let Some(items) = field_value.as_array_mut() {
                        for item in items {
                            enum_value(&e, item, &name, problems);
                        }
                    }
                } else {
                    enum_value(&e, field_value, &name, problems);
                }
            }
            Kind::Message(m) if !field.is_map() => {
                let nested = format!("{name}.");
                match field_value.as_array_mut() {
                    Some(items) if field.is_list() => {
                        for item in items {
                            normalise(&m, item, &nested, problems);
                        }
                    }
                    _ => normalise(&m, field_value, &nested, problems),
                }
            }
            _ => {}
        }
    }
}

const PACKAGE: &str = "kagoshima.transit.v1";

/// Rewrites a short enum name to its full name, or reports it with the
/// accepted names.
fn enum_value(
    e: &EnumDescriptor,
    value: &mut serde_json::Value,
    field: &str,
    problems: &mut Vec<String>,
) {
    let Some(given) = value.as_str() else {
        return; // numbers and null are the deserializer's to judge
    };
    if e.get_value_by_name(given).is_some() {
        return;
    }
    let prefix = enum_prefix(e);
    let full = format!(
        "{prefix}{}",
        given.trim().to_ascii_uppercase().replace('-', "_")
    );
    if e.get_value_by_name(&full).is_some() && !full.ends_with("_UNSPECIFIED") {
        *value = serde_json::Value::String(full);
        return;
    }
    let accepted: Vec<_> = e
        .values()
        .filter(|v| v.number() != 0)
        .map(|v| v.name().trim_start_matches(prefix.as_str()).to_owned())
        .collect();
    problems.push(format!(
        "`{field}`: {given:?} is not a {}; accepted: {} (or the full names such as {prefix}{})",
        e.name(),
        accepted.join(", "),
        accepted.first().map(String::as_str).unwrap_or_default(),
    ));
}

/// `TAP_ACTION_` for TapAction: the name of its zero value without `UNSPECIFIED`.
fn enum_prefix(e: &EnumDescriptor) -> String {
    e.values()
        .find(|v| v.number() == 0)
        .and_then(|v| v.name().strip_suffix("UNSPECIFIED").map(str::to_owned))
        .unwrap_or_default()
}

/// Encodes a generated message as proto3 JSON (for simulators and tools).
pub fn encode<M>(message: &M) -> Result<Vec<u8>, JsonError>
where
    M: Message + Name,
{
    let descriptor = POOL
        .get_message_by_name(M::FULL_NAME)
        .ok_or_else(|| JsonError::UnknownType(M::FULL_NAME.to_owned()))?;
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic.transcode_from(message).map_err(JsonError::one)?;
    serde_json::to_vec(&dynamic).map_err(JsonError::one)
}

/// The fully qualified protobuf name of a generated message.
pub trait Name {
    const FULL_NAME: &'static str;
}

macro_rules! names {
    ($($ty:ident),* $(,)?) => {
        $(impl Name for crate::v1::$ty {
            const FULL_NAME: &'static str = concat!("kagoshima.transit.v1.", stringify!($ty));
        })*
    };
}

names!(Position, Tap, PassengerCount, DeviceStatus, DeviceEvent);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{Tap, TapAction, TapResult};

    #[test]
    fn short_enum_names_in_any_case_are_the_full_names() {
        let tap: Tap = decode(br#"{"action": "off", "result": "OFFLINE_APPROVED", "medium": "MEDIUM_CARD", "riderCategory": 2}"#)
            .expect("decodes");
        assert_eq!(tap.action, TapAction::Off as i32);
        assert_eq!(tap.result, TapResult::OfflineApproved as i32);
        assert_eq!(tap.medium, 1);
        assert_eq!(tap.rider_category, 2);
    }

    #[test]
    fn every_unknown_field_and_bad_enum_name_is_reported_at_once() {
        let err = decode::<Tap>(
            br#"{"action": "onn", "fareYenn": 170, "result": "UNSPECIFIED", "cardToken": "t"}"#,
        )
        .expect_err("refused");
        let JsonError::Invalid(problems) = err else {
            panic!("not a json problem: {err}")
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("\"onn\" is not a TapAction; accepted: ON, OFF"),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("unknown field `fareYenn`")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`result`: \"UNSPECIFIED\"")),
            "{problems:?}"
        );
    }

    #[test]
    fn type_errors_and_trailing_text_are_still_refused() {
        assert!(decode::<Tap>(br#"{"fareYen": "a lot"}"#).is_err());
        assert!(decode::<Tap>(br#"{"fareYen": 170} x"#).is_err());
    }
}
