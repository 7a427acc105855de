//! The database alone: the same rows written straight into
//! `vehicle_positions`, with binary `COPY` (the fastest way in) and with the
//! `UNNEST` batch insert ingest itself uses.
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use kagoshima_storage::{Batch, PositionRow, Store};
use sqlx::PgPool;

const COPY: &str = "COPY vehicle_positions
    (vehicle_id, recorded_at, mode, lat, lon, bearing, speed, accuracy, trip_id, route_id, odometer)
    FROM STDIN (FORMAT binary)";

/// Writes `rows` with one binary COPY per `chunk` rows (each its own
/// transaction, like ingest's batches) on one connection; returns the time.
pub async fn copy_rows(
    pool: &PgPool,
    rows: &[PositionRow],
    chunk: usize,
) -> anyhow::Result<Duration> {
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    for part in rows.chunks(chunk.max(1)) {
        let data = binary_copy(part);
        let mut copy = conn.copy_in_raw(COPY).await?;
        copy.send(data).await?;
        let n = copy.finish().await?;
        anyhow::ensure!(
            n == part.len() as u64,
            "COPY stored {n} of {} rows",
            part.len()
        );
    }
    Ok(started.elapsed())
}

/// Writes `rows` with ingest's own batch writer (`UNNEST ... ON CONFLICT DO
/// NOTHING RETURNING`, plus the device registry upsert) in batches of
/// `chunk`, one after another as ingest's writer does; returns the time.
pub async fn unnest_rows(
    store: &Store,
    rows: &[PositionRow],
    chunk: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for part in rows.chunks(chunk.max(1)) {
        let batch = Batch {
            positions: part.to_vec(),
            ..Batch::default()
        };
        let outcome = store.write_batch(&batch).await?;
        anyhow::ensure!(
            outcome.stored() == part.len(),
            "UNNEST stored {} of {} rows",
            outcome.stored(),
            part.len()
        );
    }
    Ok(started.elapsed())
}

/// PostgreSQL's binary COPY format for position rows.
pub fn binary_copy(rows: &[PositionRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(19 + rows.len() * 160 + 2);
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension
    for r in rows {
        out.extend_from_slice(&11i16.to_be_bytes());
        text(&mut out, Some(&r.vehicle_id));
        timestamp(&mut out, r.recorded_at);
        text(&mut out, Some(r.mode));
        field(&mut out, Some(&r.lat.to_be_bytes()));
        field(&mut out, Some(&r.lon.to_be_bytes()));
        field(
            &mut out,
            r.bearing.map(f32::to_be_bytes).as_ref().map(|b| &b[..]),
        );
        field(
            &mut out,
            r.speed.map(f32::to_be_bytes).as_ref().map(|b| &b[..]),
        );
        field(
            &mut out,
            r.accuracy.map(f32::to_be_bytes).as_ref().map(|b| &b[..]),
        );
        text(&mut out, r.trip_id.as_deref());
        text(&mut out, r.route_id.as_deref());
        field(
            &mut out,
            r.odometer.map(f64::to_be_bytes).as_ref().map(|b| &b[..]),
        );
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

fn field(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) => {
            out.extend_from_slice(&i32::try_from(v.len()).unwrap_or(i32::MAX).to_be_bytes());
            out.extend_from_slice(v);
        }
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn text(out: &mut Vec<u8>, value: Option<&str>) {
    field(out, value.map(str::as_bytes));
}

/// timestamptz: microseconds since 2000-01-01 UTC.
fn timestamp(out: &mut Vec<u8>, at: DateTime<Utc>) {
    let epoch = Utc
        .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let micros = (at - epoch).num_microseconds().unwrap_or(i64::MAX);
    field(out, Some(&micros.to_be_bytes()));
}

/// Diagnostics: ingest's position `INSERT ... UNNEST` alone, with or without
/// its `RETURNING`, without the device registry, one batch per transaction.
pub async fn unnest_insert_only(
    pool: &PgPool,
    rows: &[PositionRow],
    chunk: usize,
    returning: bool,
) -> anyhow::Result<Duration> {
    let sql = format!(
        "INSERT INTO vehicle_positions
            (vehicle_id, recorded_at, mode, lat, lon, bearing, speed, accuracy, trip_id, route_id, odometer)
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::float8[], $5::float8[],
                              $6::float4[], $7::float4[], $8::float4[], $9::text[], $10::text[], $11::float8[])
         ON CONFLICT DO NOTHING {}",
        if returning { "RETURNING vehicle_id, recorded_at" } else { "" }
    );
    let started = Instant::now();
    for part in rows.chunks(chunk.max(1)) {
        let q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(
                part.iter()
                    .map(|r| r.vehicle_id.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(part.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.mode).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.lat).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.lon).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.bearing).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.speed).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.accuracy).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.trip_id.clone()).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.route_id.clone()).collect::<Vec<_>>())
            .bind(part.iter().map(|r| r.odometer).collect::<Vec<_>>());
        if returning {
            q.fetch_all(pool).await?;
        } else {
            q.execute(pool).await?;
        }
    }
    Ok(started.elapsed())
}

/// Diagnostics: ingest's batch writer on `writers` connections at once.
pub async fn unnest_parallel(
    store: &Store,
    rows: &[PositionRow],
    chunk: usize,
    writers: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let parts: Vec<Vec<PositionRow>> = rows.chunks(chunk.max(1)).map(<[_]>::to_vec).collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(parts.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..writers.max(1) {
        let (store, queue) = (store.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .next();
                let Some(part) = next else {
                    return anyhow::Ok(());
                };
                store
                    .write_batch(&Batch {
                        positions: part,
                        ..Batch::default()
                    })
                    .await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}
