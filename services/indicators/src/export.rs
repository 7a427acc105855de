//! Exports for analysts: TIDES-shaped tables, and open data with small cells
//! suppressed. No card hash, token or pseudonym ever leaves: TIDES
//! `fare_transactions` is written without its optional `token_id` column.
use std::collections::HashSet;
use std::io::Write;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use kagoshima_domain::calendar::{YearMonth, jst_day_start};
use kagoshima_storage::events;
use sqlx::{PgPool, Row};

use crate::error::IndicatorError;

/// The TIDES tables this service writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TidesTable {
    FareTransactions,
    StopVisits,
    VehicleLocations,
    PassengerEvents,
}

impl TidesTable {
    pub fn name(self) -> &'static str {
        match self {
            TidesTable::FareTransactions => "fare_transactions",
            TidesTable::StopVisits => "stop_visits",
            TidesTable::VehicleLocations => "vehicle_locations",
            TidesTable::PassengerEvents => "passenger_events",
        }
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            TidesTable::FareTransactions => &[
                "transaction_id",
                "service_date",
                "event_timestamp",
                "amount",
                "fare_action",
                "trip_id_performed",
                "stop_sequence",
                "stop_id",
                "vehicle_id",
                "device_id",
                "fare_media_id",
                "rider_category",
                "fare_product",
                "fare_capped",
                "num_riders",
            ],
            TidesTable::StopVisits => &[
                "service_date",
                "trip_id_performed",
                "stop_sequence",
                "stop_id",
                "vehicle_id",
                "schedule_arrival_time",
                "schedule_departure_time",
                "actual_arrival_time",
                "actual_departure_time",
            ],
            TidesTable::VehicleLocations => &[
                "location_ping_id",
                "service_date",
                "event_timestamp",
                "trip_id_performed",
                "vehicle_id",
                "latitude",
                "longitude",
                "heading",
                "speed",
                "gps_quality",
            ],
            TidesTable::PassengerEvents => &[
                "passenger_event_id",
                "service_date",
                "event_timestamp",
                "trip_id_performed",
                "stop_id",
                "vehicle_id",
                "event_type",
                "event_count",
            ],
        }
    }
}

fn ts(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn o<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes one TIDES table for the JST dates `[from, to]` as CSV; returns rows.
pub async fn tides(
    pool: &PgPool,
    table: TidesTable,
    from: NaiveDate,
    to: NaiveDate,
    out: impl Write,
) -> Result<u64, IndicatorError> {
    let start = jst_day_start(from);
    let end = jst_day_start(to) + Duration::days(1);
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| IndicatorError::Report(e.to_string());
    w.write_record(table.columns()).map_err(err)?;
    let mut n = 0u64;
    match table {
        TidesTable::FareTransactions => {
            let transfers = transfer_boardings(pool, start, end).await?;
            for t in events::taps_between(pool, start, end).await? {
                // Approved taps carry money; declined taps are denied.
                let fare_action = match (t.action.as_str(), t.result.as_str()) {
                    (_, "declined" | "deny_listed") => "denied",
                    ("on", _) if transfers.contains(&(t.event_id.clone(), t.occurred_at)) => {
                        "transfer"
                    }
                    ("on", _) => "enter",
                    _ => "exit",
                };
                w.write_record([
                    t.event_id,
                    t.jst_date.to_string(),
                    ts(Some(t.occurred_at)),
                    t.fare_yen.to_string(),
                    fare_action.to_owned(),
                    o(t.trip_id),
                    String::new(),
                    o(t.stop_id),
                    t.vehicle_id,
                    t.validator_id,
                    if t.medium == "mobile" {
                        "mobile_nfc".to_owned()
                    } else {
                        "bank_card".to_owned()
                    },
                    t.rider_category,
                    "pay_as_you_go".to_owned(),
                    String::new(),
                    t.num_riders.to_string(),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::StopVisits => {
            for v in kagoshima_storage::stop_visits::between(pool, from, to).await? {
                w.write_record([
                    v.service_date.to_string(),
                    v.trip_id,
                    v.stop_sequence.to_string(),
                    v.stop_id,
                    v.vehicle_id,
                    ts(v.scheduled_arrival),
                    ts(v.scheduled_departure),
                    ts(Some(v.actual_arrival)),
                    ts(v.actual_departure),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::VehicleLocations => {
            for p in events::positions_between(pool, start, end).await? {
                w.write_record([
                    format!("{}-{}", p.vehicle_id, p.recorded_at.timestamp_millis()),
                    p.jst_date.to_string(),
                    ts(Some(p.recorded_at)),
                    o(p.trip_id),
                    p.vehicle_id,
                    p.lat.to_string(),
                    p.lon.to_string(),
                    o(p.bearing),
                    o(p.speed),
                    o(p.accuracy),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::PassengerEvents => {
            for c in events::passenger_counts_between(pool, start, end).await? {
                let trip = o(c.trip_id.clone());
                for (kind, col, count) in [
                    ("Passenger boarded", "boardings", c.boardings),
                    ("Passenger alighted", "alightings", c.alightings),
                ] {
                    if count == 0 {
                        continue;
                    }
                    w.write_record([
                        format!(
                            "{}-{}-{}-{col}",
                            c.vehicle_id,
                            c.recorded_at.timestamp_millis(),
                            c.stop_id
                        ),
                        c.jst_date.to_string(),
                        ts(Some(c.recorded_at)),
                        trip.clone(),
                        c.stop_id.clone(),
                        c.vehicle_id.clone(),
                        kind.to_owned(),
                        count.to_string(),
                    ])
                    .map_err(err)?;
                    n += 1;
                }
            }
        }
    }
    w.flush()
        .map_err(|e| IndicatorError::Report(e.to_string()))?;
    Ok(n)
}

/// The rides in `[from, to)` that are free transfers: (ride id = its tap on's
/// event id, boarding time).
async fn transfer_boardings(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashSet<(String, DateTime<Utc>)>, IndicatorError> {
    let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT ride_id, board_at FROM rides WHERE transfer AND board_at >= $1 AND board_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Open data for a month: uses per route and boarding stop, per route, day
/// type and JST hour, and per issuer group (domestic / inbound). A cell
/// counting fewer than `k` distinct cards shows no number (`suppressed` = 1).
/// Returns (cells, suppressed cells).
pub async fn open_data(
    pool: &PgPool,
    month: YearMonth,
    k: u32,
    out: impl Write,
) -> Result<(u64, u64), IndicatorError> {
    let rows = sqlx::query(
        "SELECT * FROM (
             SELECT 'route_stop' AS cell, coalesce(route_id, '') AS route_id,
                    coalesce(board_stop_id, '') AS stop_id, '' AS day_type, NULL::int AS hour, '' AS issuer,
                    sum(num_riders) FILTER (WHERE NOT transfer) AS uses,
                    count(DISTINCT (card_hash, medium)) AS cards
             FROM rides WHERE service_date BETWEEN $1 AND $2
             GROUP BY 2, 3
             UNION ALL
             SELECT 'route_daytype_hour', coalesce(route_id, ''), '', day_type,
                    extract(hour FROM board_at AT TIME ZONE 'Asia/Tokyo')::int, '',
                    sum(num_riders) FILTER (WHERE NOT transfer),
                    count(DISTINCT (card_hash, medium))
             FROM rides WHERE service_date BETWEEN $1 AND $2
             GROUP BY 2, 4, 5
             UNION ALL
             SELECT 'issuer', '', '', '',
                    NULL::int, CASE WHEN issuer_country = 'JP' THEN 'domestic' ELSE 'inbound' END,
                    sum(num_riders) FILTER (WHERE NOT transfer),
                    count(DISTINCT (card_hash, medium))
             FROM rides WHERE service_date BETWEEN $1 AND $2
             GROUP BY 6
         ) x ORDER BY cell, route_id, stop_id, day_type, hour, issuer",
    )
    .bind(month.first_day())
    .bind(month.last_day())
    .fetch_all(pool)
    .await?;
    let mut w = csv::Writer::from_writer(out);
    let err = |e: csv::Error| IndicatorError::Report(e.to_string());
    w.write_record([
        "month",
        "cell",
        "route_id",
        "stop_id",
        "day_type",
        "hour_jst",
        "issuer",
        "uses",
        "suppressed",
    ])
    .map_err(err)?;
    let (mut cells, mut suppressed) = (0u64, 0u64);
    for r in rows {
        let cards: i64 = r.try_get("cards")?;
        let uses: Option<i64> = r.try_get("uses")?;
        let hide = cards < i64::from(k);
        cells += 1;
        suppressed += u64::from(hide);
        w.write_record([
            month.to_string(),
            r.try_get("cell")?,
            r.try_get("route_id")?,
            r.try_get("stop_id")?,
            r.try_get("day_type")?,
            o(r.try_get::<Option<i32>, _>("hour")?),
            r.try_get("issuer")?,
            if hide {
                String::new()
            } else {
                uses.unwrap_or(0).to_string()
            },
            u8::from(hide).to_string(),
        ])
        .map_err(err)?;
    }
    w.flush()
        .map_err(|e| IndicatorError::Report(e.to_string()))?;
    Ok((cells, suppressed))
}
