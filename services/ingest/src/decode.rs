//! From an MQTT topic and payload to a validated event, or to the reason it
//! was refused. Payloads are protobuf, or proto3 JSON when they start with `{`.
use chrono::{DateTime, Utc};
use kagoshima_domain::{
    topic::{DeviceTopic, Kind, TopicError},
    validation::{Reason, Rejection, ValidEvent, Validator},
};
use kagoshima_proto::{
    json,
    v1::{DeviceStatus, PassengerCount, Position, Tap},
};
use prost::Message;

/// A refused message: what could be learnt of its topic, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub topic: Option<DeviceTopic>,
    pub rejection: Rejection,
}

/// Decodes and validates one message.
pub fn decode(
    validator: &Validator,
    topic: &str,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Result<(DeviceTopic, ValidEvent), Refused> {
    let topic = DeviceTopic::parse(topic).map_err(|e| Refused {
        topic: None,
        rejection: match e {
            TopicError::UnknownKind(_) => Rejection::new(Reason::UnknownKind, e.to_string()),
            _ => Rejection::new(Reason::BadTopic, e.to_string()),
        },
    })?;
    let refuse = |rejection| Refused {
        topic: Some(topic.clone()),
        rejection,
    };
    let limit = validator.config().max_payload_bytes;
    if payload.len() > limit {
        return Err(refuse(Rejection::new(
            Reason::OversizedPayload,
            format!(
                "payload of {} bytes exceeds the limit of {limit}",
                payload.len()
            ),
        )));
    }
    let event = match topic.kind {
        Kind::Position => {
            parse::<Position>(payload).and_then(|m| validator.position(&topic, m, now))
        }
        Kind::Tap => parse::<Tap>(payload).and_then(|m| validator.tap(&topic, m, payload, now)),
        Kind::Passengers => {
            parse::<PassengerCount>(payload).and_then(|m| validator.passengers(&topic, m, now))
        }
        Kind::Status => {
            parse::<DeviceStatus>(payload).and_then(|m| validator.status(&topic, m, now))
        }
    };
    event.map(|e| (topic.clone(), e)).map_err(refuse)
}

/// True when a payload is proto3 JSON rather than protobuf binary.
pub fn is_json(payload: &[u8]) -> bool {
    payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn parse<M: Message + Default + json::Name>(payload: &[u8]) -> Result<M, Rejection> {
    if payload.is_empty() {
        return Err(Rejection::new(Reason::MalformedPayload, "empty payload"));
    }
    if is_json(payload) {
        json::decode::<M>(payload)
            .map_err(|e| Rejection::new(Reason::MalformedPayload, e.to_string()))
    } else {
        M::decode(payload)
            .map_err(|e| Rejection::new(Reason::MalformedPayload, format!("invalid protobuf: {e}")))
    }
}
