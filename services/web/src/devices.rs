//! Device diagnostics for the dashboard, from IngestService with the
//! caller's bureau token:
//! - `GET /api/bureau/devices?hours=24`: every device heard from, what it
//!   sent by kind and how much was refused; dead letters by reason and device
//! - `GET /api/bureau/devices/{vehicle_id}?hours=24`: one device's refusals by
//!   reason with the latest refused payload (card numbers masked at ingest)
use axum::{
    Json,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use chrono::DateTime;
use kagoshima_proto::{
    Timestamp,
    v1::{DeviceSummary, GetDeviceDiagnosticsRequest, ListDevicesRequest},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{app::AppState, bureau::with_token, error::ApiError, passenger::param};

#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    #[serde(default)]
    hours: String,
}

impl WindowQuery {
    /// The window asked for; 0 (absent) lets IngestService choose its default.
    fn hours(&self) -> Result<u32, ApiError> {
        Ok(param("hours", &self.hours, "a number of hours from 1 to 744")?.unwrap_or(0))
    }
}

fn time(t: Option<Timestamp>) -> Value {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map_or(Value::Null, |at| json!(at.to_rfc3339()))
}

fn device_json(d: DeviceSummary) -> Value {
    let stored: serde_json::Map<String, Value> = d
        .stored
        .into_iter()
        .map(|m| (m.kind, json!(m.count)))
        .collect();
    json!({
        "vehicle_id": d.vehicle_id,
        "mode": d.mode,
        "device_kind": d.device_kind,
        "firmware": d.firmware,
        "last_seen": time(d.last_seen),
        "stored": stored,
        "refused": d.refused,
        "last_refused_at": time(d.last_refused_at),
    })
}

pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let r = s
        .upstream
        .ingest
        .clone()
        .list_devices(with_token(
            ListDevicesRequest {
                window_hours: q.hours()?,
            },
            &headers,
        ))
        .await?
        .into_inner();
    let dead_letters: Vec<Value> = r
        .dead_letters
        .into_iter()
        .map(|d| json!({ "reason": d.reason, "vehicle_id": d.vehicle_id, "count": d.count }))
        .collect();
    Ok(Json(json!({
        "window_hours": r.window_hours,
        "devices": r.devices.into_iter().map(device_json).collect::<Vec<_>>(),
        "dead_letters": dead_letters,
    }))
    .into_response())
}

pub async fn one(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(vehicle_id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let r = s
        .upstream
        .ingest
        .clone()
        .get_device_diagnostics(with_token(
            GetDeviceDiagnosticsRequest {
                vehicle_id,
                window_hours: q.hours()?,
            },
            &headers,
        ))
        .await?
        .into_inner();
    let refusals: Vec<Value> = r
        .refusals
        .into_iter()
        .map(|x| {
            json!({
                "reason": x.reason,
                "count": x.count,
                "latest_at": time(x.latest_at),
                "latest_detail": x.latest_detail,
                "latest_topic": x.latest_topic,
                "latest_payload": x.latest_payload,
                "latest_payload_encoding": x.latest_payload_encoding,
                "latest_payload_truncated": x.latest_payload_truncated,
            })
        })
        .collect();
    Ok(Json(json!({
        "window_hours": r.window_hours,
        "device": r.device.map(device_json),
        "refusals": refusals,
    }))
    .into_response())
}
