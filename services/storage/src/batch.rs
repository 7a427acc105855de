//! One batch of device messages written in one transaction with array
//! parameters (`UNNEST`), never row by row. Repeats are no-ops (`ON CONFLICT DO
//! NOTHING`), and the outcome tells which rows were new.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use kagoshima_domain::fields::{DeviceKind, Medium, RiderCategory, TapAction, TapResult};
use sqlx::{Postgres, Transaction};

use crate::{DeadLetter, StorageError, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    pub vehicle_id: String,
    pub recorded_at: DateTime<Utc>,
    pub mode: &'static str,
    pub lat: f64,
    pub lon: f64,
    pub bearing: Option<f32>,
    pub speed: Option<f32>,
    pub accuracy: Option<f32>,
    pub trip_id: Option<String>,
    pub route_id: Option<String>,
    pub odometer: Option<f64>,
}

/// A tap as stored: the card is only its keyed hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TapRow {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub vehicle_id: String,
    pub mode: &'static str,
    pub validator_id: String,
    pub action: TapAction,
    pub card_hash: [u8; 32],
    pub medium: Medium,
    pub brand: Option<String>,
    pub issuer_country: Option<String>,
    pub rider_category: RiderCategory,
    pub num_riders: i16,
    pub fare_yen: i32,
    pub result: TapResult,
    pub stop_id: Option<String>,
    pub route_id: Option<String>,
    pub trip_id: Option<String>,
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PassengerRow {
    pub vehicle_id: String,
    pub recorded_at: DateTime<Utc>,
    pub mode: &'static str,
    pub stop_id: String,
    pub boardings: i32,
    pub alightings: i32,
    pub trip_id: Option<String>,
    pub route_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub vehicle_id: String,
    pub recorded_at: DateTime<Utc>,
    pub mode: &'static str,
    pub device_kind: DeviceKind,
    pub firmware: Option<String>,
    pub uptime_s: i64,
    pub buffered: i32,
}

/// A device seen in a batch, for the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSeen {
    pub vehicle_id: String,
    pub mode: &'static str,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Rows to write together.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    pub positions: Vec<PositionRow>,
    pub taps: Vec<TapRow>,
    pub passengers: Vec<PassengerRow>,
    pub statuses: Vec<StatusRow>,
    pub dead_letters: Vec<DeadLetter>,
}

/// Which rows of a batch were new (`true`) or repeats (`false`), in input order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub positions: Vec<bool>,
    pub taps: Vec<bool>,
    pub passengers: Vec<bool>,
    pub statuses: Vec<bool>,
}

impl BatchOutcome {
    pub fn stored(&self) -> usize {
        [
            &self.positions,
            &self.taps,
            &self.passengers,
            &self.statuses,
        ]
        .iter()
        .map(|v| v.iter().filter(|new| **new).count())
        .sum()
    }

    pub fn duplicates(&self) -> usize {
        [
            &self.positions,
            &self.taps,
            &self.passengers,
            &self.statuses,
        ]
        .iter()
        .map(|v| v.iter().filter(|new| !**new).count())
        .sum()
    }
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.positions.len()
            + self.taps.len()
            + self.passengers.len()
            + self.statuses.len()
            + self.dead_letters.len()
    }

    fn devices_seen(&self) -> Vec<DeviceSeen> {
        let all = self
            .positions
            .iter()
            .map(|p| (&p.vehicle_id, p.mode, p.recorded_at))
            .chain(
                self.taps
                    .iter()
                    .map(|t| (&t.vehicle_id, t.mode, t.occurred_at)),
            )
            .chain(
                self.passengers
                    .iter()
                    .map(|c| (&c.vehicle_id, c.mode, c.recorded_at)),
            )
            .chain(
                self.statuses
                    .iter()
                    .map(|s| (&s.vehicle_id, s.mode, s.recorded_at)),
            );
        let mut latest: HashMap<&str, DeviceSeen> = HashMap::new();
        for (vehicle_id, mode, at) in all {
            latest
                .entry(vehicle_id.as_str())
                .and_modify(|d| {
                    d.first = d.first.min(at);
                    d.last = d.last.max(at);
                })
                .or_insert_with(|| DeviceSeen {
                    vehicle_id: vehicle_id.clone(),
                    mode,
                    first: at,
                    last: at,
                });
        }
        latest.into_values().collect()
    }
}

impl Store {
    /// Writes a whole batch in one transaction: either every row is stored (or
    /// found to be a repeat) or nothing is.
    pub async fn write_batch(&self, batch: &Batch) -> Result<BatchOutcome, StorageError> {
        let mut tx = self.pool().begin().await?;
        let outcome = BatchOutcome {
            positions: insert_positions(&mut tx, &batch.positions).await?,
            taps: insert_taps(&mut tx, &batch.taps).await?,
            passengers: insert_passengers(&mut tx, &batch.passengers).await?,
            statuses: insert_statuses(&mut tx, &batch.statuses).await?,
        };
        insert_dead_letters(&mut tx, &batch.dead_letters).await?;
        upsert_devices(&mut tx, &batch.devices_seen(), &batch.statuses).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The part of a batch the history loader writes as the live path does: taps
/// (their keys claimed), dead letters and the device registry. Returns how
/// many taps were new.
pub(crate) async fn write_taps_and_devices(
    tx: &mut Transaction<'_, Postgres>,
    batch: &Batch,
) -> Result<usize, StorageError> {
    let taps = insert_taps(tx, &batch.taps).await?;
    insert_dead_letters(tx, &batch.dead_letters).await?;
    upsert_devices(tx, &batch.devices_seen(), &batch.statuses).await?;
    Ok(taps.into_iter().filter(|new| *new).count())
}

/// Marks each input key as new if the database returned it; a key repeated
/// inside the batch is new only the first time.
fn mark_new<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = K>,
    mut returned: HashSet<K>,
) -> Vec<bool> {
    keys.map(|k| returned.remove(&k)).collect()
}

async fn insert_positions(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[PositionRow],
) -> Result<Vec<bool>, StorageError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let returned: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "INSERT INTO vehicle_positions
            (vehicle_id, recorded_at, mode, lat, lon, bearing, speed, accuracy, trip_id, route_id, odometer)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::float8[], $5::float8[],
                              $6::float4[], $7::float4[], $8::float4[], $9::text[], $10::text[], $11::float8[])
         ON CONFLICT DO NOTHING
         RETURNING vehicle_id, recorded_at",
    )
    .bind(rows.iter().map(|r| r.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.mode).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lat).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.lon).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.bearing).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.speed).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.accuracy).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.trip_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.route_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.odometer).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(mark_new(
        rows.iter().map(|r| (r.vehicle_id.clone(), r.recorded_at)),
        returned.into_iter().collect(),
    ))
}

/// Taps written by one statement: a history's day (11,000 taps) in one
/// took 1.0-1.2 s and was logged as a slow statement; live batches are far
/// smaller. A repeat in a later part is not new (its key is claimed).
const TAPS_PER_STATEMENT: usize = 2_000;

/// Writes taps, [`TAPS_PER_STATEMENT`] at a time; marks each new one.
async fn insert_taps(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[TapRow],
) -> Result<Vec<bool>, StorageError> {
    let mut new = Vec::with_capacity(rows.len());
    for part in rows.chunks(TAPS_PER_STATEMENT) {
        new.extend(insert_tap_part(tx, part).await?);
    }
    Ok(new)
}

async fn insert_tap_part(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[TapRow],
) -> Result<Vec<bool>, StorageError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The tap's key is claimed in `tap_keys` first (one row per event_id on
    // both engines, see migration 5); only taps whose claim is new, the first
    // copy in input order, are stored.
    let returned: Vec<(String,)> = sqlx::query_as(
        "WITH input AS (
             SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
                                  $7::bytea[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int2[],
                                  $13::int4[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
                  WITH ORDINALITY
                  AS i(event_id, occurred_at, vehicle_id, mode, validator_id, action, card_hash, medium, brand,
                       issuer_country, rider_category, num_riders, fare_yen, result, stop_id, route_id, trip_id,
                       source, n)
         ),
         claimed AS (
             INSERT INTO tap_keys (event_id, occurred_at)
             SELECT DISTINCT ON (event_id) event_id, occurred_at FROM input ORDER BY event_id, n
             ON CONFLICT DO NOTHING
             RETURNING event_id, occurred_at
         )
         INSERT INTO taps
            (event_id, occurred_at, vehicle_id, mode, validator_id, action, card_hash, medium, brand,
             issuer_country, rider_category, num_riders, fare_yen, result, stop_id, route_id, trip_id, source)
         SELECT DISTINCT ON (i.event_id)
                i.event_id, i.occurred_at, i.vehicle_id, i.mode, i.validator_id, i.action, i.card_hash, i.medium,
                i.brand, i.issuer_country, i.rider_category, i.num_riders, i.fare_yen, i.result, i.stop_id,
                i.route_id, i.trip_id, i.source
           FROM input i JOIN claimed c USING (event_id, occurred_at)
          ORDER BY i.event_id, i.n
         ON CONFLICT DO NOTHING
         RETURNING event_id",
    )
    .bind(rows.iter().map(|r| r.event_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.occurred_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.mode).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.validator_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.action.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.card_hash.to_vec()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.medium.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.brand.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.issuer_country.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.rider_category.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.num_riders).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.fare_yen).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.result.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.stop_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.route_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.trip_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.source).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(mark_new(
        rows.iter().map(|r| r.event_id.clone()),
        returned.into_iter().map(|(id,)| id).collect(),
    ))
}

async fn insert_passengers(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[PassengerRow],
) -> Result<Vec<bool>, StorageError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let returned: Vec<(String, DateTime<Utc>, String)> = sqlx::query_as(
        "INSERT INTO passenger_counts
            (vehicle_id, recorded_at, mode, stop_id, boardings, alightings, trip_id, route_id)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::int4[], $6::int4[],
                              $7::text[], $8::text[])
         ON CONFLICT DO NOTHING
         RETURNING vehicle_id, recorded_at, stop_id",
    )
    .bind(rows.iter().map(|r| r.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.mode).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.stop_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.boardings).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.alightings).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.trip_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.route_id.clone()).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(mark_new(
        rows.iter()
            .map(|r| (r.vehicle_id.clone(), r.recorded_at, r.stop_id.clone())),
        returned.into_iter().collect(),
    ))
}

async fn insert_statuses(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[StatusRow],
) -> Result<Vec<bool>, StorageError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let returned: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "INSERT INTO device_status (vehicle_id, recorded_at, device_kind, firmware, uptime_s, buffered)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::int8[], $6::int4[])
         ON CONFLICT DO NOTHING
         RETURNING vehicle_id, recorded_at",
    )
    .bind(rows.iter().map(|r| r.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.device_kind.code()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.firmware.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.uptime_s).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.buffered).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(mark_new(
        rows.iter().map(|r| (r.vehicle_id.clone(), r.recorded_at)),
        returned.into_iter().collect(),
    ))
}

async fn insert_dead_letters(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[DeadLetter],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO dead_letters (received_at, source, topic, kind, vehicle_id, reason, detail, payload)
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::bytea[])",
    )
    .bind(rows.iter().map(|r| r.received_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.source).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.topic.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.reason).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.detail.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.payload.clone()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How far `devices.last_seen` may lag the newest message of its device.
pub const REGISTRY_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

async fn upsert_devices(
    tx: &mut Transaction<'_, Postgres>,
    seen: &[DeviceSeen],
    statuses: &[StatusRow],
) -> Result<(), StorageError> {
    if seen.is_empty() {
        return Ok(());
    }
    // Sorted so concurrent batches lock registry rows in the same order.
    let mut seen = seen.to_vec();
    seen.sort_by(|a, b| a.vehicle_id.cmp(&b.vehicle_id));
    // `last_seen` moves only once it is REGISTRY_RESOLUTION behind: a fleet
    // reporting every second would otherwise rewrite every registry row (a
    // new row version, mostly not HOT) in every batch, which cost as much as
    // storing the positions themselves (BENCHMARKS.md, "What bounds ingest").
    // Rows already close enough are filtered out before the upsert, so they
    // are not even locked. The exact times are in the message tables.
    sqlx::query(
        "INSERT INTO devices (vehicle_id, mode, first_seen, last_seen)
         SELECT s.v, s.m, s.f, s.l
           FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) AS s(v, m, f, l)
          WHERE NOT EXISTS (
                SELECT 1 FROM devices d
                 WHERE d.vehicle_id = s.v AND d.first_seen <= s.f
                   AND d.last_seen > s.l - $5::interval)
         ON CONFLICT (vehicle_id) DO UPDATE
            SET last_seen = GREATEST(devices.last_seen, EXCLUDED.last_seen),
                first_seen = LEAST(devices.first_seen, EXCLUDED.first_seen)",
    )
    .bind(
        seen.iter()
            .map(|d| d.vehicle_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(seen.iter().map(|d| d.mode).collect::<Vec<_>>())
    .bind(seen.iter().map(|d| d.first).collect::<Vec<_>>())
    .bind(seen.iter().map(|d| d.last).collect::<Vec<_>>())
    .bind(REGISTRY_RESOLUTION)
    .execute(&mut **tx)
    .await?;

    // The newest heartbeat of each device names its kind and firmware.
    let mut newest: HashMap<&str, &StatusRow> = HashMap::new();
    for s in statuses {
        newest
            .entry(s.vehicle_id.as_str())
            .and_modify(|cur| {
                if s.recorded_at > cur.recorded_at {
                    *cur = s;
                }
            })
            .or_insert(s);
    }
    if newest.is_empty() {
        return Ok(());
    }
    let mut newest: Vec<&StatusRow> = newest.into_values().collect();
    newest.sort_by(|a, b| a.vehicle_id.cmp(&b.vehicle_id));
    sqlx::query(
        "UPDATE devices d
            SET device_kind = s.k, firmware = s.f, last_status_at = s.t
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS s(v, k, f, t)
          WHERE d.vehicle_id = s.v AND (d.last_status_at IS NULL OR d.last_status_at <= s.t)",
    )
    .bind(
        newest
            .iter()
            .map(|s| s.vehicle_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        newest
            .iter()
            .map(|s| s.device_kind.code())
            .collect::<Vec<_>>(),
    )
    .bind(
        newest
            .iter()
            .map(|s| s.firmware.clone())
            .collect::<Vec<_>>(),
    )
    .bind(newest.iter().map(|s| s.recorded_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
