//! Imports of back-office files in the simulator's formats
//! (simulators/README.md): かごりん trip records and 1-day ticket sales.
//! Re-importing a file is a no-op (the ids are keys); a bad line stops the
//! import with its line number and nothing is stored.
use std::io::Read;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use sqlx::PgPool;

use crate::error::IndicatorError;

#[derive(Debug, Deserialize)]
struct BikeTrip {
    trip_id: String,
    bike_id: Option<String>,
    // member_id is read past and never stored.
    start_port_id: Option<String>,
    start_time: String,
    end_port_id: Option<String>,
    end_time: Option<String>,
    duration_s: Option<i32>,
    plan: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Sale {
    sale_id: String,
    sold_at: String,
    channel: String,
    ticket_type: String,
    price_yen: i32,
    quantity: i32,
    amount_yen: i32,
    sales_point: Option<String>,
}

fn instant(text: &str, line: u64) -> Result<DateTime<Utc>, IndicatorError> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| IndicatorError::Import(format!("line {line}: bad time {text:?}: {e}")))
}

/// Rows written by one statement: a year of sales (325,000 rows) in one took
/// 3 s and was logged as a slow statement. The parts share one transaction,
/// so an import is still all or nothing.
const ROWS_PER_STATEMENT: usize = 20_000;

/// Imports かごりん trips; returns (rows read, rows new).
pub async fn import_bikeshare(
    pool: &PgPool,
    input: impl Read,
) -> Result<(u64, u64), IndicatorError> {
    let mut reader = csv::Reader::from_reader(input);
    let mut trips = Vec::new();
    for (i, rec) in reader.deserialize::<BikeTrip>().enumerate() {
        let line = i as u64 + 2;
        let t = rec.map_err(|e| IndicatorError::Import(format!("line {line}: {e}")))?;
        let start = instant(&t.start_time, line)?;
        let end = match t.end_time.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(instant(s, line)?),
            None => None,
        };
        trips.push((t, start, end));
    }
    let mut tx = pool.begin().await?;
    let mut new = 0i64;
    for part in trips.chunks(ROWS_PER_STATEMENT) {
        let text = |f: fn(&BikeTrip) -> Option<&String>| {
            part.iter().map(|(t, ..)| f(t).cloned()).collect::<Vec<_>>()
        };
        // The new trips counted into their JST dates in the same statement.
        new += sqlx::query_scalar::<_, i64>(
            "WITH new AS (
                 INSERT INTO bikeshare_trips (trip_id, bike_id, start_port_id, end_port_id, start_time, end_time, duration_s, plan)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::int[], $8::text[])
                 ON CONFLICT (trip_id) DO NOTHING
                 RETURNING start_time
             ), daily AS (
                 INSERT INTO bikeshare_daily (jst_date, trips)
                 SELECT (start_time AT TIME ZONE 'Asia/Tokyo')::date, count(*) FROM new GROUP BY 1
                 ON CONFLICT (jst_date) DO UPDATE SET trips = bikeshare_daily.trips + EXCLUDED.trips
             )
             SELECT count(*) FROM new",
        )
        .bind(part.iter().map(|(t, ..)| t.trip_id.clone()).collect::<Vec<_>>())
        .bind(text(|t| t.bike_id.as_ref()))
        .bind(text(|t| t.start_port_id.as_ref()))
        .bind(text(|t| t.end_port_id.as_ref()))
        .bind(part.iter().map(|(_, start, _)| *start).collect::<Vec<_>>())
        .bind(part.iter().map(|(.., end)| *end).collect::<Vec<_>>())
        .bind(part.iter().map(|(t, ..)| t.duration_s).collect::<Vec<_>>())
        .bind(text(|t| t.plan.as_ref()))
        .fetch_one(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((trips.len() as u64, new as u64))
}

/// Imports ticket sales; returns (rows read, rows new).
pub async fn import_ticket_sales(
    pool: &PgPool,
    input: impl Read,
) -> Result<(u64, u64), IndicatorError> {
    let mut reader = csv::Reader::from_reader(input);
    let mut sales = Vec::new();
    for (i, rec) in reader.deserialize::<Sale>().enumerate() {
        let line = i as u64 + 2;
        let s = rec.map_err(|e| IndicatorError::Import(format!("line {line}: {e}")))?;
        if s.quantity < 0 {
            return Err(IndicatorError::Import(format!(
                "line {line}: negative quantity"
            )));
        }
        let at = instant(&s.sold_at, line)?;
        sales.push((s, at));
    }
    let mut tx = pool.begin().await?;
    let mut new = 0i64;
    for part in sales.chunks(ROWS_PER_STATEMENT) {
        let text =
            |f: fn(&Sale) -> &String| part.iter().map(|(s, _)| f(s).clone()).collect::<Vec<_>>();
        let int = |f: fn(&Sale) -> i32| part.iter().map(|(s, _)| f(s)).collect::<Vec<_>>();
        // The new sales added into their JST dates in the same statement.
        new += sqlx::query_scalar::<_, i64>(
            "WITH new AS (
                 INSERT INTO ticket_sales (sale_id, sold_at, channel, ticket_type, price_yen, quantity, amount_yen, sales_point)
                 SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[])
                 ON CONFLICT (sale_id) DO NOTHING
                 RETURNING sold_at, ticket_type, channel, quantity
             ), daily AS (
                 INSERT INTO ticket_sales_daily (jst_date, ticket_type, channel, quantity)
                 SELECT (sold_at AT TIME ZONE 'Asia/Tokyo')::date, ticket_type, channel, sum(quantity)
                   FROM new GROUP BY 1, 2, 3
                 ON CONFLICT (jst_date, ticket_type, channel)
                 DO UPDATE SET quantity = ticket_sales_daily.quantity + EXCLUDED.quantity
             )
             SELECT count(*) FROM new",
        )
        .bind(text(|s| &s.sale_id))
        .bind(part.iter().map(|(_, at)| *at).collect::<Vec<_>>())
        .bind(text(|s| &s.channel))
        .bind(text(|s| &s.ticket_type))
        .bind(int(|s| s.price_yen))
        .bind(int(|s| s.quantity))
        .bind(int(|s| s.amount_yen))
        .bind(part.iter().map(|(s, _)| s.sales_point.clone()).collect::<Vec<_>>())
        .fetch_one(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((sales.len() as u64, new as u64))
}

/// Sets a survey result (or another figure counted by hand) for a fiscal year.
pub async fn set_survey(
    pool: &PgPool,
    plan: &crate::plan::Plan,
    fiscal_year: kagoshima_domain::calendar::FiscalYear,
    indicator_id: &str,
    value: &str,
    note: Option<&str>,
    entered_by: &str,
) -> Result<(), IndicatorError> {
    if plan.indicator(indicator_id).is_none() {
        return Err(IndicatorError::UnknownIndicator(indicator_id.to_owned()));
    }
    let v: crate::progress::Decimal = value
        .parse()
        .map_err(|e| IndicatorError::Invalid(format!("value {value:?}: {e}")))?;
    sqlx::query(
        "INSERT INTO survey_results (fiscal_year, indicator_id, value, note, entered_by)
         VALUES ($1, $2, $3::numeric, $4, $5)
         ON CONFLICT (fiscal_year, indicator_id) DO UPDATE
         SET value = EXCLUDED.value, note = EXCLUDED.note, entered_by = EXCLUDED.entered_by, entered_at = now()",
    )
    .bind(fiscal_year.year())
    .bind(indicator_id)
    .bind(v.to_string())
    .bind(note)
    .bind(entered_by)
    .execute(pool)
    .await?;
    Ok(())
}
