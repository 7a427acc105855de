//! Loading history in bulk: a past period's device events (a simulated
//! fiscal year, or an export from another system) written with `COPY`, about
//! a third faster than the live writer's `INSERT ... UNNEST` and without
//! its per-row answer (BENCHMARKS.md, "database alone").
//!
//! `COPY` has no `ON CONFLICT`, so the unit of loading is a period that holds
//! nothing yet: [`Store::period_holds_events`] tells whether it does, and
//! [`Store::load_history`] writes a whole batch in one transaction (a
//! repeated row refuses the whole batch, never half of it). Taps still go
//! through the live writer: their key is claimed in `tap_keys` so a tap is
//! stored once whatever the path, and they are a few percent of the rows.
use std::{collections::HashSet, fmt::Write as _};

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Postgres, Transaction};

use crate::batch::{self, Batch, PassengerRow, PositionRow, StatusRow};
use crate::{StorageError, Store};

/// What one history batch stored.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub positions: usize,
    pub taps: usize,
    pub passengers: usize,
    pub statuses: usize,
}

impl Loaded {
    pub fn rows(&self) -> usize {
        self.positions + self.taps + self.passengers + self.statuses
    }
}

impl std::ops::AddAssign for Loaded {
    fn add_assign(&mut self, other: Loaded) {
        self.positions += other.positions;
        self.taps += other.taps;
        self.passengers += other.passengers;
        self.statuses += other.statuses;
    }
}

impl Store {
    /// Whether any device event (position, tap, passenger count, status) was
    /// recorded in `[from, to)`.
    pub async fn period_holds_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM vehicle_positions WHERE recorded_at >= $1 AND recorded_at < $2)
                 OR EXISTS (SELECT 1 FROM taps WHERE occurred_at >= $1 AND occurred_at < $2)
                 OR EXISTS (SELECT 1 FROM passenger_counts WHERE recorded_at >= $1 AND recorded_at < $2)
                 OR EXISTS (SELECT 1 FROM device_status WHERE recorded_at >= $1 AND recorded_at < $2)",
        )
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?)
    }

    /// Writes a batch of past events in one transaction, positions, counts
    /// and statuses by `COPY`. Meant for a period that
    /// [`period_holds_events`](Self::period_holds_events) found empty: a row
    /// already stored refuses the whole batch (unique violation), and nothing
    /// of it is kept.
    /// A row repeated inside the batch (a device that sent it twice) is
    /// stored once, as the live writer would.
    pub async fn load_history(&self, batch: &Batch) -> Result<Loaded, StorageError> {
        let positions = first_of_each(&batch.positions, |r| (r.vehicle_id.as_str(), r.recorded_at));
        let passengers = first_of_each(&batch.passengers, |r| {
            (r.vehicle_id.as_str(), r.recorded_at, r.stop_id.as_str())
        });
        let statuses = first_of_each(&batch.statuses, |r| (r.vehicle_id.as_str(), r.recorded_at));
        let mut tx = self.pool().begin().await?;
        copy_positions(&mut tx, &positions).await?;
        copy_passengers(&mut tx, &passengers).await?;
        copy_statuses(&mut tx, &statuses).await?;
        let taps = batch::write_taps_and_devices(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(Loaded {
            positions: positions.len(),
            taps,
            passengers: passengers.len(),
            statuses: statuses.len(),
        })
    }
}

/// The first row of each key, in input order.
fn first_of_each<'a, T, K: std::hash::Hash + Eq>(
    rows: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<&'a T> {
    let mut seen = HashSet::with_capacity(rows.len());
    rows.iter().filter(|r| seen.insert(key(r))).collect()
}

/// Rows in PostgreSQL's COPY text format: tab-separated, `\N` for NULL.
#[derive(Default)]
struct CopyText {
    buf: String,
    first: bool,
}

impl CopyText {
    fn row(&mut self) -> &mut Self {
        if !self.buf.is_empty() {
            self.buf.push('\n');
        }
        self.first = true;
        self
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.push('\t');
        }
        self.first = false;
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        for c in s.chars() {
            match c {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
        self
    }

    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn value(&mut self, v: impl std::fmt::Display) -> &mut Self {
        self.sep();
        let _ = write!(self.buf, "{v}");
        self
    }

    fn opt_value(&mut self, v: Option<impl std::fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.value(v),
            None => self.null(),
        }
    }

    fn time(&mut self, t: DateTime<Utc>) -> &mut Self {
        self.sep();
        self.buf
            .push_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true));
        self
    }

    fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.push_str("\\N");
        self
    }
}

async fn copy(
    tx: &mut Transaction<'_, Postgres>,
    statement: &str,
    rows: CopyText,
) -> Result<(), StorageError> {
    let mut copy = tx.copy_in_raw(statement).await?;
    let mut data = rows.buf.into_bytes();
    data.push(b'\n');
    if let Err(e) = copy.send(data).await {
        let _ = copy.abort("sending the rows failed").await;
        return Err(e.into());
    }
    copy.finish().await?;
    Ok(())
}

async fn copy_positions(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[&PositionRow],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = CopyText::default();
    for r in rows {
        out.row()
            .text(&r.vehicle_id)
            .time(r.recorded_at)
            .text(r.mode)
            .value(r.lat)
            .value(r.lon)
            .opt_value(r.bearing)
            .opt_value(r.speed)
            .opt_value(r.accuracy)
            .opt_text(r.trip_id.as_deref())
            .opt_text(r.route_id.as_deref())
            .opt_value(r.odometer);
    }
    copy(
        tx,
        "COPY vehicle_positions (vehicle_id, recorded_at, mode, lat, lon, bearing, speed, accuracy,
                                 trip_id, route_id, odometer) FROM STDIN",
        out,
    )
    .await
}

async fn copy_passengers(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[&PassengerRow],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = CopyText::default();
    for r in rows {
        out.row()
            .text(&r.vehicle_id)
            .time(r.recorded_at)
            .text(r.mode)
            .text(&r.stop_id)
            .value(r.boardings)
            .value(r.alightings)
            .opt_text(r.trip_id.as_deref())
            .opt_text(r.route_id.as_deref());
    }
    copy(
        tx,
        "COPY passenger_counts (vehicle_id, recorded_at, mode, stop_id, boardings, alightings,
                                trip_id, route_id) FROM STDIN",
        out,
    )
    .await
}

async fn copy_statuses(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[&StatusRow],
) -> Result<(), StorageError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = CopyText::default();
    for r in rows {
        out.row()
            .text(&r.vehicle_id)
            .time(r.recorded_at)
            .text(r.device_kind.code())
            .opt_text(r.firmware.as_deref())
            .value(r.uptime_s)
            .value(r.buffered);
    }
    copy(
        tx,
        "COPY device_status (vehicle_id, recorded_at, device_kind, firmware, uptime_s, buffered)
         FROM STDIN",
        out,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_missing_values_are_null() {
        let mut out = CopyText::default();
        out.row().text("a\tb\\c\nd").opt_text(None).value(1.5);
        out.row().text("x").opt_value(None::<i32>).value(2);
        assert_eq!(out.buf, "a\\tb\\\\c\\nd\t\\N\t1.5\nx\t\\N\t2");
    }
}
