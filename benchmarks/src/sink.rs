//! The database side of a run: when every message is queryable, how many
//! rows there are, and how long messages took to become queryable.
use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::publish::Key;

pub async fn count_rows(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM vehicle_positions")
        .fetch_one(pool)
        .await?)
}

async fn keys_present(pool: &PgPool, keys: &[Key]) -> anyhow::Result<bool> {
    if keys.is_empty() {
        return Ok(true);
    }
    let ids: Vec<String> = keys.iter().map(|(v, _)| v.to_string()).collect();
    let ats: Vec<DateTime<Utc>> = keys.iter().map(|(_, t)| *t).collect();
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM vehicle_positions p
           JOIN UNNEST($1::text[], $2::timestamptz[]) AS k(v, t)
             ON p.vehicle_id = k.v AND p.recorded_at = k.t",
    )
    .bind(ids)
    .bind(ats)
    .fetch_one(pool)
    .await?;
    Ok(found >= i64::try_from(keys.len())?)
}

/// When the rows were all there.
#[derive(Debug, Clone, Copy)]
pub struct Stored {
    /// Rows found at the end (published minus this is what was lost).
    pub rows: i64,
    /// From `since` to the moment every row was queryable (or the timeout).
    pub elapsed: Duration,
    pub complete: bool,
}

/// Polls until `total` rows are queryable: first cheaply (the last message
/// of every publisher connection, by primary key, every 5 ms), then with a
/// full count. Gives up after `timeout`.
pub async fn wait_stored(
    pool: &PgPool,
    last_keys: &[Key],
    total: i64,
    since: Instant,
    timeout: Duration,
) -> anyhow::Result<Stored> {
    let deadline = since + timeout;
    while !keys_present(pool, last_keys).await? {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    loop {
        let at = since.elapsed();
        let rows = count_rows(pool).await?;
        if rows >= total || Instant::now() > deadline {
            return Ok(Stored {
                rows,
                elapsed: at,
                complete: rows >= total,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publish→row delay of every row as the database saw it: `received_at`
/// (the inserting transaction's start, `now()`) minus `recorded_at` (set by
/// the publisher the moment it published), in milliseconds, sorted.
pub async fn row_delays_ms(pool: &PgPool) -> anyhow::Result<Vec<f64>> {
    let mut delays: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM received_at - recorded_at)::float8 * 1000 FROM vehicle_positions",
    )
    .fetch_all(pool)
    .await?;
    delays.sort_by(f64::total_cmp);
    Ok(delays)
}

/// Publish→queryable delay of the probe vehicles' reports: a reader polls
/// the database every `every` for the reports announced on `rx` and times
/// each from its `recorded_at` (the publish instant) to the start of the
/// first query that saw it, in milliseconds, sorted. An upper bound by at
/// most `every` plus one query. Stops once `rx` is closed and every report
/// was seen, or at `deadline`.
pub async fn watch_probes(
    pool: PgPool,
    probes: Arc<std::collections::HashSet<Arc<str>>>,
    mut rx: mpsc::UnboundedReceiver<Key>,
    every: Duration,
    deadline: Instant,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let ids: Vec<String> = probes.iter().map(|v| v.to_string()).collect();
    let mut outstanding: BTreeSet<(DateTime<Utc>, Arc<str>)> = BTreeSet::new();
    let mut delays = Vec::new();
    let mut open = true;
    loop {
        while open {
            match rx.try_recv() {
                Ok((v, at)) => {
                    outstanding.insert((at, v));
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if (!open && outstanding.is_empty()) || Instant::now() > deadline {
            return Ok((sorted(delays), outstanding.len()));
        }
        if let Some((lo, _)) = outstanding.first() {
            let asked = Utc::now();
            let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT vehicle_id, recorded_at FROM vehicle_positions
                  WHERE vehicle_id = ANY($1) AND recorded_at >= $2",
            )
            .bind(&ids)
            .bind(*lo)
            .fetch_all(&pool)
            .await?;
            for (v, at) in rows {
                if outstanding.remove(&(at, Arc::from(v.as_str()))) {
                    delays
                        .push((asked - at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0);
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}
