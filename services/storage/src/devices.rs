//! What each device sent and what was refused, for device vendors and the
//! bureau: read from the message tables, the registry and the dead letters
//! this crate writes (no counters of its own, so nothing to keep in step).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::{StorageError, Store};

/// One device over a window: what it sent by kind and how much was refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceActivity {
    pub vehicle_id: String,
    /// Empty for a device known only from refused messages.
    pub mode: String,
    pub device_kind: Option<String>,
    pub firmware: Option<String>,
    /// The newest message time the registry holds (to within
    /// [`REGISTRY_RESOLUTION`](crate::REGISTRY_RESOLUTION)).
    pub last_seen: Option<DateTime<Utc>>,
    /// Stored messages by kind (position, tap, passengers, status).
    pub stored: BTreeMap<String, i64>,
    pub refused: i64,
    pub last_refused_at: Option<DateTime<Utc>>,
}

/// A device's refusals of one reason, with the latest such message.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct RefusalGroup {
    pub reason: String,
    pub count: i64,
    pub latest_at: DateTime<Utc>,
    pub latest_detail: String,
    pub latest_topic: Option<String>,
    pub latest_kind: Option<String>,
    /// As stored: card numbers already masked.
    pub latest_payload: Vec<u8>,
}

/// Dead letters of one reason and device (None: the topic named none).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DeadLetterCount {
    pub reason: String,
    pub vehicle_id: Option<String>,
    pub count: i64,
}

#[derive(FromRow)]
struct Registered {
    vehicle_id: String,
    mode: String,
    device_kind: Option<String>,
    firmware: Option<String>,
    last_seen: DateTime<Utc>,
}

#[derive(FromRow)]
struct KindCount {
    kind: String,
    vehicle_id: String,
    count: i64,
}

#[derive(FromRow)]
struct RefusedCount {
    vehicle_id: String,
    count: i64,
    latest: DateTime<Utc>,
}

impl Store {
    /// Every device that sent anything since `since` (stored or refused),
    /// or only `vehicle_id` when given; sorted by vehicle.
    pub async fn device_activity(
        &self,
        since: DateTime<Utc>,
        vehicle_id: Option<&str>,
    ) -> Result<Vec<DeviceActivity>, StorageError> {
        let mut devices: BTreeMap<String, DeviceActivity> = BTreeMap::new();
        let registered: Vec<Registered> = sqlx::query_as(
            "SELECT vehicle_id, mode, device_kind, firmware, last_seen FROM devices
              WHERE last_seen >= $1 AND ($2::text IS NULL OR vehicle_id = $2)",
        )
        .bind(since)
        .bind(vehicle_id)
        .fetch_all(self.pool())
        .await?;
        for r in registered {
            devices.insert(
                r.vehicle_id.clone(),
                DeviceActivity {
                    vehicle_id: r.vehicle_id,
                    mode: r.mode,
                    device_kind: r.device_kind,
                    firmware: r.firmware,
                    last_seen: Some(r.last_seen),
                    ..Default::default()
                },
            );
        }
        let counts: Vec<KindCount> = sqlx::query_as(
            "SELECT 'position' AS kind, vehicle_id, count(*) AS count FROM vehicle_positions
              WHERE recorded_at >= $1 AND ($2::text IS NULL OR vehicle_id = $2) GROUP BY vehicle_id
             UNION ALL
             SELECT 'tap', vehicle_id, count(*) FROM taps
              WHERE occurred_at >= $1 AND ($2::text IS NULL OR vehicle_id = $2) GROUP BY vehicle_id
             UNION ALL
             SELECT 'passengers', vehicle_id, count(*) FROM passenger_counts
              WHERE recorded_at >= $1 AND ($2::text IS NULL OR vehicle_id = $2) GROUP BY vehicle_id
             UNION ALL
             SELECT 'status', vehicle_id, count(*) FROM device_status
              WHERE recorded_at >= $1 AND ($2::text IS NULL OR vehicle_id = $2) GROUP BY vehicle_id",
        )
        .bind(since)
        .bind(vehicle_id)
        .fetch_all(self.pool())
        .await?;
        for c in counts {
            devices
                .entry(c.vehicle_id.clone())
                .or_insert_with(|| DeviceActivity {
                    vehicle_id: c.vehicle_id,
                    ..Default::default()
                })
                .stored
                .insert(c.kind, c.count);
        }
        let refused: Vec<RefusedCount> = sqlx::query_as(
            "SELECT vehicle_id, count(*) AS count, max(received_at) AS latest FROM dead_letters
              WHERE received_at >= $1 AND vehicle_id IS NOT NULL
                AND ($2::text IS NULL OR vehicle_id = $2)
              GROUP BY vehicle_id",
        )
        .bind(since)
        .bind(vehicle_id)
        .fetch_all(self.pool())
        .await?;
        for r in refused {
            let d = devices
                .entry(r.vehicle_id.clone())
                .or_insert_with(|| DeviceActivity {
                    vehicle_id: r.vehicle_id,
                    ..Default::default()
                });
            d.refused = r.count;
            d.last_refused_at = Some(r.latest);
        }
        Ok(devices.into_values().collect())
    }

    /// A device's refusals since `since` by reason, most frequent first, each
    /// with its latest message.
    pub async fn device_refusals(
        &self,
        vehicle_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<RefusalGroup>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT g.reason, g.count, l.received_at AS latest_at, l.detail AS latest_detail,
                    l.topic AS latest_topic, l.kind AS latest_kind, l.payload AS latest_payload
               FROM (SELECT reason, count(*) AS count, max(id) AS latest_id FROM dead_letters
                      WHERE vehicle_id = $1 AND received_at >= $2 GROUP BY reason) g
               JOIN dead_letters l ON l.id = g.latest_id
              ORDER BY g.count DESC, g.reason",
        )
        .bind(vehicle_id)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    /// Dead letters since `since` by reason and device, most frequent first.
    pub async fn dead_letters_by_reason_and_device(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DeadLetterCount>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT reason, vehicle_id, count(*) AS count FROM dead_letters
              WHERE received_at >= $1 GROUP BY reason, vehicle_id
              ORDER BY count DESC, reason, vehicle_id",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }
}
