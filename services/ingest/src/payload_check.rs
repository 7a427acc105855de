//! `kagoshima-ingest validate`: a device vendor checks a payload file against
//! the device contract before publishing it, and sees every problem at once.
//! The same decoder and rules as the running service (`kagoshima_domain::decode`).
use std::fmt::Write;

use chrono::{DateTime, Utc};
use kagoshima_domain::{decode, validation::Validator};

/// What `validate` found: printable, and whether the payload passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub valid: bool,
    pub text: String,
}

/// Checks one payload as if it arrived on `topic` at `now`.
pub fn check(
    validator: &Validator,
    topic: &str,
    payload: &[u8],
    now: DateTime<Utc>,
) -> CheckReport {
    let format = if decode::is_json(payload) {
        "proto3 JSON"
    } else {
        "protobuf"
    };
    match decode::decode(validator, topic, payload, now) {
        Ok((topic, event)) => CheckReport {
            valid: true,
            text: format!(
                "valid: a {} of {} ({format}, {} bytes) at {}; the platform would store it\n",
                topic.kind.as_str(),
                topic.vehicle_id,
                payload.len(),
                event.at().to_rfc3339()
            ),
        },
        Err(refused) => {
            let problems = &refused.rejection.problems;
            let mut text = format!(
                "refused ({format}, {} bytes): {} problem{}\n",
                payload.len(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems {
                let _ = writeln!(text, "  {}: {}", p.reason.code(), p.detail);
            }
            text.push_str(
                "Each line is a dead-letter reason the service would store; the contract is in the README, \"The device contract\".\n",
            );
            CheckReport { valid: false, text }
        }
    }
}

#[cfg(test)]
mod tests {
    use kagoshima_domain::validation::ValidationConfig;

    use super::*;

    #[test]
    fn lists_every_problem_of_a_json_tap() {
        let now = Utc::now();
        let payload = format!(
            r#"{{"vehicleId": "tram-101", "validatorId": "v1", "occurredAt": "{}", "action": "ON", "medium": "card", "riderCategory": "adult", "result": "approved", "fareYen": 170}}"#,
            now.to_rfc3339()
        );
        let report = check(
            &Validator::new(ValidationConfig::default()),
            "kagoshima/v1/tram/tram-101/tap",
            payload.as_bytes(),
            now,
        );
        assert!(!report.valid);
        assert!(report.text.contains("2 problems"), "{}", report.text);
        assert!(
            report.text.contains("missing_field: event_id is missing"),
            "{}",
            report.text
        );
        assert!(
            report.text.contains("missing_field: card_token is missing"),
            "{}",
            report.text
        );
    }

    #[test]
    fn a_good_payload_says_what_would_be_stored() {
        let now = Utc::now();
        let payload = format!(
            r#"{{"vehicleId": "tram-101", "recordedAt": "{}", "lat": 31.5912, "lon": 130.5571}}"#,
            now.to_rfc3339()
        );
        let report = check(
            &Validator::new(ValidationConfig::default()),
            "kagoshima/v1/tram/tram-101/position",
            payload.as_bytes(),
            now,
        );
        assert!(report.valid, "{}", report.text);
        assert!(
            report.text.starts_with("valid: a position of tram-101"),
            "{}",
            report.text
        );
    }
}
