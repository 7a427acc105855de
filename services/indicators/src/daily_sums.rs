//! The ridership sums of each JST date, kept for settled dates in
//! `ridership_daily_sums` (this module owns it). A fiscal year's indicators
//! and its monthly chart then add up a row a day rather than a year of
//! hourly rollups (about 200 ms of a late month's report at 12 months,
//! BENCHMARKS.md "A fiscal year of the city").
//!
//! A cached date is used only while neither service date its hours fall on
//! (the date and the one before: the service day runs to 03:00) has been
//! recomputed since it was cached (`rides_recomputed`, stamped once the
//! rides and every rollup of the date are rewritten), so no figure is stale;
//! the dates not yet settled are always summed from the rollups.
use std::collections::BTreeMap;
use std::ops::AddAssign;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::jst_day_start;
use sqlx::PgPool;

use crate::error::IndicatorError;

/// The last settled JST date as of `today`: rides of yesterday and today
/// still change with every tap (their counts are never cached).
pub fn settled_through(today: NaiveDate) -> NaiveDate {
    today - Duration::days(2)
}

/// Tap ridership over some JST dates, from the hourly rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RidershipSums {
    /// Hourly rollup rows (0: no tap at all, which is not zero uses).
    pub rollup_rows: i64,
    pub uses: i64,
    pub boardings: i64,
    pub transfers: i64,
    pub not_tapped_off: i64,
    /// Uses by cards not issued in Japan (or of unknown issuer).
    pub inbound_uses: i64,
}

impl AddAssign for RidershipSums {
    fn add_assign(&mut self, o: Self) {
        self.rollup_rows += o.rollup_rows;
        self.uses += o.uses;
        self.boardings += o.boardings;
        self.transfers += o.transfers;
        self.not_tapped_off += o.not_tapped_off;
        self.inbound_uses += o.inbound_uses;
    }
}

/// The sums over JST dates `[from, to]`.
pub async fn total(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<RidershipSums, IndicatorError> {
    let mut sum = RidershipSums::default();
    for s in by_date(pool, from, to, today).await?.into_values() {
        sum += s;
    }
    Ok(sum)
}

/// The sums of each JST date in `[from, to]` that had any rollup row.
pub async fn by_date(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Result<BTreeMap<NaiveDate, RidershipSums>, IndicatorError> {
    let settled_to = to.min(settled_through(today));
    let mut out = BTreeMap::new();
    if settled_to >= from {
        out = settled(pool, from, settled_to).await?;
    }
    let recent_from = from.max(settled_to + Duration::days(1));
    if recent_from <= to {
        out.extend(summed(pool, recent_from, to).await?);
    }
    out.retain(|_, s| s.rollup_rows > 0);
    Ok(out)
}

/// Settled dates: the cached rows still valid, the others summed and cached.
async fn settled(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, RidershipSums>, IndicatorError> {
    let cached: Vec<Row> = sqlx::query_as(
        "SELECT c.jst_date, c.rollup_rows, c.uses, c.boardings, c.transfers,
                c.not_tapped_off, c.inbound_uses
           FROM ridership_daily_sums c
          WHERE c.jst_date BETWEEN $1 AND $2
            AND c.computed_at >= coalesce((SELECT max(r.recomputed_at) FROM rides_recomputed r
                                            WHERE r.service_date BETWEEN c.jst_date - 1 AND c.jst_date),
                                          '-infinity')",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut out: BTreeMap<NaiveDate, RidershipSums> = cached.into_iter().map(from_row).collect();
    let missing = missing_runs(&out, from, to);
    if missing.is_empty() {
        return Ok(out);
    }
    // Stamped before summing: a date recomputed meanwhile is newer.
    let started: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await?;
    for (a, b) in missing {
        let found = summed(pool, a, b).await?;
        let days: Vec<NaiveDate> = a.iter_days().take_while(|d| *d <= b).collect();
        let sums: Vec<RidershipSums> = days
            .iter()
            .map(|d| found.get(d).copied().unwrap_or_default())
            .collect();
        let column = |f: fn(&RidershipSums) -> i64| sums.iter().map(f).collect::<Vec<i64>>();
        // Dates in order, so that two reports caching at once lock rows in
        // the same order.
        sqlx::query(
            "INSERT INTO ridership_daily_sums (jst_date, rollup_rows, uses, boardings, transfers,
                                               not_tapped_off, inbound_uses, computed_at)
             SELECT *, $8 FROM UNNEST($1::date[], $2::bigint[], $3::bigint[], $4::bigint[],
                                      $5::bigint[], $6::bigint[], $7::bigint[])
             ON CONFLICT (jst_date) DO UPDATE
                SET rollup_rows = EXCLUDED.rollup_rows, uses = EXCLUDED.uses,
                    boardings = EXCLUDED.boardings, transfers = EXCLUDED.transfers,
                    not_tapped_off = EXCLUDED.not_tapped_off,
                    inbound_uses = EXCLUDED.inbound_uses, computed_at = EXCLUDED.computed_at",
        )
        .bind(&days)
        .bind(column(|s| s.rollup_rows))
        .bind(column(|s| s.uses))
        .bind(column(|s| s.boardings))
        .bind(column(|s| s.transfers))
        .bind(column(|s| s.not_tapped_off))
        .bind(column(|s| s.inbound_uses))
        .bind(started)
        .execute(pool)
        .await?;
        out.extend(days.into_iter().zip(sums));
    }
    Ok(out)
}

/// The runs of consecutive dates in `[from, to]` missing from `have`.
fn missing_runs<V>(
    have: &BTreeMap<NaiveDate, V>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        if have.contains_key(&d) {
            continue;
        }
        match runs.last_mut() {
            Some((_, end)) if *end + Duration::days(1) == d => *end = d,
            _ => runs.push((d, d)),
        }
    }
    runs
}

/// The sums of each JST date in `[from, to]` from the hourly rollups (the
/// hours of JST dates are whole UTC hours). A JST date's hours are on its
/// service date and the one before (00:00-03:00 belongs to the night's
/// service day).
async fn summed(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, RidershipSums>, IndicatorError> {
    let rows: Vec<Row> = sqlx::query_as(
        "WITH route AS (
             SELECT (hour_start AT TIME ZONE 'Asia/Tokyo')::date AS jst_date, count(*) AS rollup_rows,
                    coalesce(sum(uses), 0)::bigint AS uses, coalesce(sum(boardings), 0)::bigint AS boardings,
                    coalesce(sum(transfers), 0)::bigint AS transfers,
                    coalesce(sum(not_tapped_off), 0)::bigint AS not_tapped_off
               FROM ridership_route_hour
              WHERE hour_start >= $1 AND hour_start < $2 AND service_date BETWEEN $3 AND $4
              GROUP BY 1
         ), inbound AS (
             SELECT (hour_start AT TIME ZONE 'Asia/Tokyo')::date AS jst_date,
                    coalesce(sum(uses), 0)::bigint AS uses
               FROM ridership_shares
              WHERE hour_start >= $1 AND hour_start < $2 AND service_date BETWEEN $3 AND $4
                AND issuer_country <> 'JP'
              GROUP BY 1
         )
         SELECT jst_date, coalesce(r.rollup_rows, 0), coalesce(r.uses, 0), coalesce(r.boardings, 0),
                coalesce(r.transfers, 0), coalesce(r.not_tapped_off, 0), coalesce(i.uses, 0)
           FROM route r FULL JOIN inbound i USING (jst_date)",
    )
    .bind(jst_day_start(from))
    .bind(jst_day_start(to) + Duration::days(1))
    .bind(from - Duration::days(1))
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// A date and its sums, as both queries above return them.
type Row = (NaiveDate, i64, i64, i64, i64, i64, i64);

fn from_row(
    (d, rollup_rows, uses, boardings, transfers, not_tapped_off, inbound_uses): Row,
) -> (NaiveDate, RidershipSums) {
    (
        d,
        RidershipSums {
            rollup_rows,
            uses,
            boardings,
            transfers,
            not_tapped_off,
            inbound_uses,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 4, d).unwrap()
    }

    #[test]
    fn missing_dates_come_in_runs() {
        let have: BTreeMap<NaiveDate, ()> = [2, 3, 6].into_iter().map(|d| (day(d), ())).collect();
        assert_eq!(
            missing_runs(&have, day(1), day(8)),
            vec![(day(1), day(1)), (day(4), day(5)), (day(7), day(8))]
        );
        assert!(missing_runs(&have, day(2), day(3)).is_empty());
    }
}
