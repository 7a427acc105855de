//! `kagoshima-ingest validate`: a device vendor checks a payload file against
//! the device contract before publishing it, and sees every problem at once.
//! The same decoder and rules as the running service (`kagoshima_domain::decode`).
use std::fmt::Write;

use chrono::{DateTime, Utc};
use kagoshima_domain::{decode, topic::Kind, validation::Validator};

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
                "valid: {} from {} ({format}, {} bytes) at {}; the platform would store it\n",
                match topic.kind {
                    Kind::Position => "a position",
                    Kind::Tap => "a tap",
                    Kind::Passengers => "a passenger count",
                    Kind::Status => "a status report",
                },
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
            report.text.starts_with("valid: a position from tram-101"),
            "{}",
            report.text
        );
    }

    /// The README's examples (docs/examples): each JSON file, and each text
    /// protobuf encoded by protoc (which the build needs anyway), is valid.
    #[test]
    fn the_readme_examples_are_valid_in_json_and_protobuf() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let received = "2026-11-30T23:16:00Z".parse().expect("instant");
        let validator = Validator::new(ValidationConfig::default());
        let protoc = std::env::var("PROTOC").unwrap_or_else(|_| "protoc".into());
        for (kind, message) in [
            ("position", "Position"),
            ("tap", "Tap"),
            ("passengers", "PassengerCount"),
            ("status", "DeviceStatus"),
        ] {
            let topic = format!("kagoshima/v1/tram/tram-101/{kind}");
            let json =
                std::fs::read(root.join(format!("docs/examples/{kind}.json"))).expect("json");
            let report = check(&validator, &topic, &json, received);
            assert!(report.valid, "{kind}.json: {}", report.text);

            let text =
                std::fs::read(root.join(format!("docs/examples/{kind}.txtpb"))).expect("txtpb");
            let mut encode = std::process::Command::new(&protoc)
                .current_dir(&root)
                .args([
                    "-Iproto",
                    &format!("--encode=kagoshima.transit.v1.{message}"),
                    "proto/kagoshima/transit/v1/device.proto",
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("protoc runs (scripts/ensure-build-tools.sh installs it)");
            std::io::Write::write_all(&mut encode.stdin.take().expect("stdin"), &text)
                .expect("write");
            let out = encode.wait_with_output().expect("protoc");
            assert!(out.status.success(), "protoc could not encode {kind}.txtpb");
            let report = check(&validator, &topic, &out.stdout, received);
            assert!(report.valid, "{kind}.txtpb: {}", report.text);
            assert!(report.text.contains("(protobuf,"), "{}", report.text);
        }
    }
}
