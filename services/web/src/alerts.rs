//! The bureau's service alerts on the dashboard, over the location
//! service's AlertService (the bureau token is forwarded):
//!
//! - `GET /api/bureau/alerts`: current, scheduled and recently ended alerts
//! - `POST /api/bureau/alerts`: publish one (JSON, see [`AlertForm`])
//! - `PUT /api/bureau/alerts/{id}`: replace its content
//! - `POST /api/bureau/alerts/{id}/end`: end it now
use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::HeaderMap,
};
use chrono::{DateTime, Utc};
use kagoshima_proto::Timestamp;
use kagoshima_proto::v1::{
    ActivePeriod, AlertCause, AlertDraft, AlertEffect, AlertText, CreateAlertRequest,
    EndAlertRequest, InformedEntity, ListAllAlertsRequest, ServiceAlert, UpdateAlertRequest,
};
use serde::{Deserialize, Serialize};

use crate::{app::AppState, bureau::with_token, error::ApiError};

/// An alert as the dashboard writes it: `cause` and `effect` are
/// GTFS-Realtime's names in lower case (`weather`, `no_service`), texts by
/// language, times RFC 3339.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertForm {
    pub cause: String,
    pub effect: String,
    pub header: BTreeMap<String, String>,
    pub description: BTreeMap<String, String>,
    pub entities: Vec<EntityForm>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EntityForm {
    pub agency_id: String,
    pub route_id: String,
    pub stop_id: String,
    pub trip_id: String,
}

/// An alert as the dashboard lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRow {
    pub id: String,
    #[serde(flatten)]
    pub form: AlertForm,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

fn lower(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// An AlertCause number as the pages name it (`weather`).
pub fn cause_name(cause: i32) -> String {
    lower(
        AlertCause::try_from(cause)
            .unwrap_or(AlertCause::Unspecified)
            .as_str_name(),
        "ALERT_CAUSE_",
    )
}

/// An AlertEffect number as the pages name it (`no_service`).
pub fn effect_name(effect: i32) -> String {
    lower(
        AlertEffect::try_from(effect)
            .unwrap_or(AlertEffect::Unspecified)
            .as_str_name(),
        "ALERT_EFFECT_",
    )
}

fn cause(name: &str) -> Result<AlertCause, ApiError> {
    if name.is_empty() {
        return Ok(AlertCause::Unspecified);
    }
    AlertCause::from_str_name(&format!("ALERT_CAUSE_{}", name.to_ascii_uppercase())).ok_or_else(
        || {
            ApiError::BadRequest(format!(
                "cause {name:?} is unknown: use other, technical_problem, strike, demonstration, \
                 accident, holiday, weather, maintenance, construction, police_activity or \
                 medical_emergency"
            ))
        },
    )
}

fn effect(name: &str) -> Result<AlertEffect, ApiError> {
    AlertEffect::from_str_name(&format!("ALERT_EFFECT_{}", name.to_ascii_uppercase()))
        .filter(|e| *e != AlertEffect::Unspecified)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "effect {name:?} is unknown: use no_service, reduced_service, significant_delays, \
                 detour, additional_service, modified_service, other, stop_moved, no_effect or \
                 accessibility_issue"
            ))
        })
}

fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

fn to_utc(t: Option<Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

impl AlertForm {
    fn draft(self) -> Result<AlertDraft, ApiError> {
        let texts = |m: BTreeMap<String, String>| {
            m.into_iter()
                .map(|(lang, text)| AlertText { lang, text })
                .collect()
        };
        Ok(AlertDraft {
            cause: cause(&self.cause)?.into(),
            effect: effect(&self.effect)?.into(),
            header: texts(self.header),
            description: texts(self.description),
            informed_entities: self
                .entities
                .into_iter()
                .map(|e| InformedEntity {
                    agency_id: e.agency_id,
                    route_id: e.route_id,
                    stop_id: e.stop_id,
                    trip_id: e.trip_id,
                })
                .collect(),
            active_periods: if self.start.is_none() && self.end.is_none() {
                Vec::new()
            } else {
                vec![ActivePeriod {
                    start: self.start.map(timestamp),
                    end: self.end.map(timestamp),
                }]
            },
            url: self.url,
        })
    }
}

fn row(a: ServiceAlert) -> AlertRow {
    let d = a.alert.unwrap_or_default();
    let texts = |v: Vec<AlertText>| v.into_iter().map(|t| (t.lang, t.text)).collect();
    let period = d.active_periods.into_iter().next();
    AlertRow {
        id: a.alert_id,
        form: AlertForm {
            cause: cause_name(d.cause),
            effect: effect_name(d.effect),
            header: texts(d.header),
            description: texts(d.description),
            entities: d
                .informed_entities
                .into_iter()
                .map(|e| EntityForm {
                    agency_id: e.agency_id,
                    route_id: e.route_id,
                    stop_id: e.stop_id,
                    trip_id: e.trip_id,
                })
                .collect(),
            start: period.as_ref().and_then(|p| to_utc(p.start)),
            end: period.and_then(|p| to_utc(p.end)),
            url: d.url,
        },
        created_at: to_utc(a.created_at),
        updated_at: to_utc(a.updated_at),
        ended_at: to_utc(a.ended_at),
    }
}

fn body(form: Result<Json<AlertForm>, JsonRejection>) -> Result<AlertForm, ApiError> {
    form.map(|Json(f)| f).map_err(|e| {
        ApiError::BadRequest(format!(
            "the alert is not valid JSON of the expected shape: {e}"
        ))
    })
}

pub async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<AlertRow>>, ApiError> {
    let answer = s
        .upstream
        .alerts
        .clone()
        .list_all_alerts(with_token(
            ListAllAlertsRequest {
                include_ended: true,
            },
            &headers,
        ))
        .await?
        .into_inner();
    Ok(Json(answer.alerts.into_iter().map(row).collect()))
}

pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Json<AlertForm>, JsonRejection>,
) -> Result<Json<AlertRow>, ApiError> {
    let alert = body(form)?.draft()?;
    let created = s
        .upstream
        .alerts
        .clone()
        .create_alert(with_token(
            CreateAlertRequest { alert: Some(alert) },
            &headers,
        ))
        .await?
        .into_inner();
    Ok(Json(row(created)))
}

pub async fn update(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Json<AlertForm>, JsonRejection>,
) -> Result<Json<AlertRow>, ApiError> {
    let alert = body(form)?.draft()?;
    let updated = s
        .upstream
        .alerts
        .clone()
        .update_alert(with_token(
            UpdateAlertRequest {
                alert_id: id,
                alert: Some(alert),
            },
            &headers,
        ))
        .await?
        .into_inner();
    Ok(Json(row(updated)))
}

pub async fn end(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<AlertRow>, ApiError> {
    let ended = s
        .upstream
        .alerts
        .clone()
        .end_alert(with_token(EndAlertRequest { alert_id: id }, &headers))
        .await?
        .into_inner();
    Ok(Json(row(ended)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_names_causes_and_effects_as_gtfs_realtime_does_in_lower_case() {
        for e in [
            AlertEffect::NoService,
            AlertEffect::Detour,
            AlertEffect::StopMoved,
        ] {
            assert_eq!(effect(&effect_name(e as i32)).unwrap(), e);
        }
        assert_eq!(cause_name(AlertCause::Weather as i32), "weather");
        assert_eq!(cause("").unwrap(), AlertCause::Unspecified);
        let Err(ApiError::BadRequest(m)) = effect("flood") else {
            panic!("an unknown effect is refused");
        };
        assert!(m.contains("no_service"), "{m}");
        assert!(
            effect("unspecified").is_err(),
            "an alert must say its effect"
        );
    }

    #[test]
    fn a_form_without_times_applies_until_ended() {
        let form = AlertForm {
            effect: "no_service".into(),
            entities: vec![EntityForm {
                agency_id: "kagoshima-kotsu".into(),
                ..EntityForm::default()
            }],
            ..AlertForm::default()
        };
        let draft = form.clone().draft().unwrap();
        assert!(draft.active_periods.is_empty());
        let dated = AlertForm {
            end: Some("2026-12-03T00:00:00Z".parse().unwrap()),
            ..form
        }
        .draft()
        .unwrap();
        assert_eq!(dated.active_periods[0].end.unwrap().seconds, 1_796_256_000);
    }
}
