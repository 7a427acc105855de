//! Device diagnostics over IngestService: a device vendor (or the bureau's
//! dashboard) sees what each device sent and why messages were refused,
//! without database access. Card numbers were masked before the dead letters
//! were stored; payloads are shown as stored.
use chrono::{DateTime, Duration, Utc};
use kagoshima_proto::{
    Timestamp,
    v1::{
        DeadLetterCount, DeviceDiagnostics, DeviceSummary, ListDevicesResponse, MessageCount,
        Refusal,
    },
};
use kagoshima_runtime::auth::DeviceScope;
use kagoshima_storage::{DeviceActivity, RefusalGroup, Store};
use tonic::Status;

/// The default window, in hours.
pub const DEFAULT_WINDOW_HOURS: u32 = 24;
/// The longest window: a month, as dead letters and registry rows allow.
pub const MAX_WINDOW_HOURS: u32 = 31 * 24;
/// How much of a refused payload is shown.
pub const PAYLOAD_SHOWN_BYTES: usize = 4096;

/// The window asked for: 0 is the default; beyond the limits is refused.
pub fn window_hours(asked: u32) -> Result<u32, Status> {
    match asked {
        0 => Ok(DEFAULT_WINDOW_HOURS),
        1..=MAX_WINDOW_HOURS => Ok(asked),
        _ => Err(Status::invalid_argument(format!(
            "window_hours must be 1 to {MAX_WINDOW_HOURS} (or 0 for {DEFAULT_WINDOW_HOURS}); got {asked}"
        ))),
    }
}

fn since(now: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
    now - Duration::hours(i64::from(hours))
}

fn unavailable(e: kagoshima_storage::StorageError) -> Status {
    tracing::warn!(error = %e, "device diagnostics unavailable");
    Status::unavailable("the database is unavailable; try again shortly")
}

/// Every device heard from in the window that `scope` lets the caller see.
pub async fn list(
    store: &Store,
    scope: &DeviceScope,
    asked_hours: u32,
) -> Result<ListDevicesResponse, Status> {
    let hours = window_hours(asked_hours)?;
    let from = since(Utc::now(), hours);
    let (devices, dead_letters) = tokio::try_join!(
        store.device_activity(from, None),
        store.dead_letters_by_reason_and_device(from)
    )
    .map_err(unavailable)?;
    Ok(ListDevicesResponse {
        window_hours: hours,
        devices: devices
            .into_iter()
            .filter(|d| scope.allows(&d.vehicle_id))
            .map(summary)
            .collect(),
        // A scoped client sees no dead letter whose topic named no device.
        dead_letters: dead_letters
            .into_iter()
            .filter(|d| match &d.vehicle_id {
                Some(v) => scope.allows(v),
                None => scope.0.is_empty(),
            })
            .map(|d| DeadLetterCount {
                reason: d.reason,
                vehicle_id: d.vehicle_id.unwrap_or_default(),
                count: u64::try_from(d.count).unwrap_or_default(),
            })
            .collect(),
    })
}

pub async fn device(
    store: &Store,
    scope: &DeviceScope,
    vehicle_id: &str,
    asked_hours: u32,
) -> Result<DeviceDiagnostics, Status> {
    let vehicle_id = vehicle_id.trim();
    if vehicle_id.is_empty() {
        return Err(Status::invalid_argument(
            "vehicle_id is required (the id in the device's MQTT topic)",
        ));
    }
    if !scope.allows(vehicle_id) {
        return Err(Status::permission_denied(format!(
            "this token sees only devices starting with {}; ask the bureau to extend its `devices`",
            scope.0.join(", ")
        )));
    }
    let hours = window_hours(asked_hours)?;
    let from = since(Utc::now(), hours);
    let (activity, refusals) = tokio::try_join!(
        store.device_activity(from, Some(vehicle_id)),
        store.device_refusals(vehicle_id, from)
    )
    .map_err(unavailable)?;
    let Some(activity) = activity.into_iter().next() else {
        return Err(Status::not_found(format!(
            "nothing came from vehicle {vehicle_id:?} in the last {hours} h; check the vehicle id in the device's topic (kagoshima/v1/<mode>/<vehicle_id>/<kind>) and that it reaches the broker"
        )));
    };
    Ok(DeviceDiagnostics {
        window_hours: hours,
        device: Some(summary(activity)),
        refusals: refusals.into_iter().map(refusal).collect(),
    })
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

fn summary(d: DeviceActivity) -> DeviceSummary {
    DeviceSummary {
        vehicle_id: d.vehicle_id,
        mode: d.mode,
        device_kind: d.device_kind.unwrap_or_default(),
        firmware: d.firmware.unwrap_or_default(),
        last_seen: d.last_seen.map(timestamp),
        stored: d
            .stored
            .into_iter()
            .map(|(kind, count)| MessageCount {
                kind,
                count: u64::try_from(count).unwrap_or_default(),
            })
            .collect(),
        refused: u64::try_from(d.refused).unwrap_or_default(),
        last_refused_at: d.last_refused_at.map(timestamp),
    }
}

fn refusal(g: RefusalGroup) -> Refusal {
    let (payload, encoding, truncated) = shown_payload(&g.latest_payload);
    Refusal {
        reason: g.reason,
        count: u64::try_from(g.count).unwrap_or_default(),
        latest_at: Some(timestamp(g.latest_at)),
        latest_detail: g.latest_detail,
        latest_topic: g.latest_topic.unwrap_or_default(),
        latest_payload: payload,
        latest_payload_encoding: encoding.into(),
        latest_payload_truncated: truncated,
    }
}

/// A stored payload for people: text when it is UTF-8 without control
/// characters (JSON), hexadecimal otherwise (protobuf); cut to
/// [`PAYLOAD_SHOWN_BYTES`].
pub fn shown_payload(payload: &[u8]) -> (String, &'static str, bool) {
    let truncated = payload.len() > PAYLOAD_SHOWN_BYTES;
    let shown = &payload[..payload.len().min(PAYLOAD_SHOWN_BYTES)];
    match std::str::from_utf8(shown) {
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => {
            (text.to_owned(), "text", truncated)
        }
        _ => (hex::encode(shown), "hex", truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_shown_as_text_and_protobuf_as_hex() {
        assert_eq!(
            shown_payload(br#"{"action": "onn"}"#),
            (r#"{"action": "onn"}"#.to_owned(), "text", false)
        );
        assert_eq!(
            shown_payload(&[0x0a, 0x02, 0x41]),
            ("0a0241".to_owned(), "hex", false)
        );
        let long = vec![b'a'; PAYLOAD_SHOWN_BYTES + 1];
        let (text, _, truncated) = shown_payload(&long);
        assert!(truncated && text.len() == PAYLOAD_SHOWN_BYTES);
    }

    #[test]
    fn the_window_has_limits_that_say_so() {
        assert_eq!(window_hours(0).expect("default"), 24);
        assert_eq!(window_hours(744).expect("a month"), 744);
        let refused = window_hours(745).expect_err("too long");
        assert!(refused.message().contains("1 to 744"));
    }
}
