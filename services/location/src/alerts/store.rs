//! `service_alerts`, owned by the location service: the alerts as written,
//! created, updated and ended.
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;

use super::draft::Draft;

/// An alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    pub draft: Draft,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

type Row = (
    String,
    Json<Draft>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

fn alert((id, Json(draft), created_at, updated_at, ended_at): Row) -> Alert {
    Alert {
        id,
        draft,
        created_at,
        updated_at,
        ended_at,
    }
}

pub async fn insert(pool: &PgPool, draft: &Draft) -> Result<Alert, sqlx::Error> {
    let row: Row = sqlx::query_as(
        "INSERT INTO service_alerts (alert_id, content) VALUES ($1, $2)
         RETURNING alert_id, content, created_at, updated_at, ended_at",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(Json(draft))
    .fetch_one(pool)
    .await?;
    Ok(alert(row))
}

/// Replaces the content of an alert that has not ended; `None` when there is
/// no such alert in force.
pub async fn update(pool: &PgPool, id: &str, draft: &Draft) -> Result<Option<Alert>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "UPDATE service_alerts SET content = $2, updated_at = now()
          WHERE alert_id = $1 AND ended_at IS NULL
         RETURNING alert_id, content, created_at, updated_at, ended_at",
    )
    .bind(id)
    .bind(Json(draft))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(alert))
}

/// Ends an alert now (or returns it as it was if already ended).
pub async fn end(pool: &PgPool, id: &str) -> Result<Option<Alert>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "UPDATE service_alerts SET ended_at = coalesce(ended_at, now()),
                updated_at = CASE WHEN ended_at IS NULL THEN now() ELSE updated_at END
          WHERE alert_id = $1
         RETURNING alert_id, content, created_at, updated_at, ended_at",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(alert))
}

pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Alert>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT alert_id, content, created_at, updated_at, ended_at FROM service_alerts
          WHERE alert_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(alert))
}

/// Alerts not ended, and with `ended_since` those ended after it; newest first.
pub async fn list(
    pool: &PgPool,
    ended_since: Option<DateTime<Utc>>,
) -> Result<Vec<Alert>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT alert_id, content, created_at, updated_at, ended_at FROM service_alerts
          WHERE ended_at IS NULL OR ended_at >= $1
          ORDER BY created_at DESC, alert_id",
    )
    .bind(ended_since)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(alert).collect())
}
