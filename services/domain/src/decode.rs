//! The one decoder of device messages: from an MQTT topic and payload to a
//! validated event, or to the reason it was refused. Ingest, location, the
//! simulators, tests and benchmarks all decode through [`decode`], so a
//! message is judged by one set of rules wherever it lands. Payloads are
//! protobuf, or proto3 JSON when they start with `{`.
use chrono::{DateTime, Utc};
use kagoshima_proto::{
    json,
    v1::{DeviceStatus, PassengerCount, Position, Tap},
};
use prost::Message;

use crate::{
    topic::{DeviceTopic, Kind, TopicError},
    validation::{Reason, Rejection, ValidEvent, Validator},
};

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
    // A card number anywhere in a tap is the reason that matters, even when the
    // rest of the payload does not parse.
    if topic.kind == Kind::Tap && crate::card_data::payload_has_card_number(payload) {
        return Err(refuse(Rejection::new(
            Reason::CardNumber,
            "the tap carries a card number (13-19 digits passing Luhn); devices must send the processor's token",
        )));
    }
    let event = match topic.kind {
        Kind::Position => {
            parse::<Position>(payload).and_then(|m| validator.position(&topic, m, now))
        }
        Kind::Tap => parse::<Tap>(payload).and_then(|m| validator.tap(&topic, m, now)),
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
        json::decode::<M>(payload).map_err(|e| match e {
            json::JsonError::Invalid(problems) => Rejection::all(
                problems
                    .into_iter()
                    .map(|p| Rejection::new(Reason::MalformedPayload, p))
                    .collect(),
            )
            .unwrap_or_else(|| Rejection::new(Reason::MalformedPayload, "invalid proto3 json")),
            other => Rejection::new(Reason::MalformedPayload, other.to_string()),
        })
    } else {
        M::decode(payload)
            .map_err(|e| Rejection::new(Reason::MalformedPayload, format!("invalid protobuf: {e}")))
    }
}

/// Property tests: every decoder takes any input without panicking, and what
/// it says about a refused message never carries a card number. CI runs the
/// default number of cases; `PROPTEST_CASES=200000 cargo test -p
/// kagoshima-domain --lib decode` is the long run (see SECURITY.md).
#[cfg(test)]
mod fuzz {
    use crate::{card_data::contains_card_number, validation::ValidationConfig};
    use chrono::Utc;
    use kagoshima_proto::{
        Timestamp,
        v1::{Position, Tap},
    };
    use proptest::prelude::*;

    use super::*;

    fn validator() -> Validator {
        Validator::new(ValidationConfig::default())
    }

    fn check(topic: &str, payload: &[u8]) {
        if let Err(refused) = decode(&validator(), topic, payload, Utc::now()) {
            assert!(!contains_card_number(refused.rejection.detail.as_bytes()));
        }
    }

    fn valid_payloads() -> Vec<(String, Vec<u8>)> {
        let now = Utc::now();
        let ts = Some(Timestamp {
            seconds: now.timestamp(),
            nanos: 0,
        });
        let position = Position {
            vehicle_id: "tram-101".into(),
            recorded_at: ts,
            lat: 31.59,
            lon: 130.55,
            ..Default::default()
        };
        let tap = Tap {
            event_id: "e1".into(),
            vehicle_id: "tram-101".into(),
            validator_id: "v1".into(),
            occurred_at: ts,
            action: 1,
            card_token: "ctok_abc".into(),
            medium: 1,
            rider_category: 1,
            num_riders: 1,
            fare_yen: 170,
            result: 1,
            ..Default::default()
        };
        let t = |kind| format!("kagoshima/v1/tram/tram-101/{kind}");
        vec![
            (t("position"), position.encode_to_vec()),
            (t("tap"), tap.encode_to_vec()),
            (t("position"), json::encode(&position).expect("json")),
            (t("tap"), json::encode(&tap).expect("json")),
        ]
    }

    proptest! {
        #[test]
        fn any_topic_and_payload(topic in ".{0,80}", payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            check(&topic, &payload);
        }

        #[test]
        fn any_bytes_on_every_kind(kind in "position|tap|passengers|status", payload in proptest::collection::vec(any::<u8>(), 0..512)) {
            check(&format!("kagoshima/v1/bus/bus-201/{kind}"), &payload);
        }

        #[test]
        fn json_like_text(kind in "position|tap|passengers|status", body in "\\{[\"a-zA-Z0-9:,. {}\\[\\]-]{0,200}") {
            check(&format!("kagoshima/v1/tram/tram-101/{kind}"), body.as_bytes());
        }

        #[test]
        fn mutated_valid_messages(which in 0usize..4, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            let (topic, mut payload) = valid_payloads().swap_remove(which);
            for (at, byte) in flips {
                let len = payload.len();
                payload[at % len] = byte;
            }
            let keep = cut % (payload.len() + 1);
            payload.truncate(keep);
            check(&topic, &payload);
        }
    }
}
