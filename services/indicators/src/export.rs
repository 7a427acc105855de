//! Exports for analysts: TIDES-shaped tables, and open data with small cells
//! suppressed. No card hash, token or pseudonym ever leaves: TIDES
//! `fare_transactions` is written without its optional `token_id` column.
use std::io::Write;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use kagoshima_domain::calendar::{YearMonth, jst_day_start};
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
            // Approved taps only carry money; declined taps are kept out.
            let rows = sqlx::query(
                "SELECT t.event_id, (t.occurred_at AT TIME ZONE 'Asia/Tokyo')::date AS d, t.occurred_at,
                        t.fare_yen, t.action, t.result, t.trip_id, t.stop_id, t.vehicle_id,
                        t.validator_id, t.medium, t.rider_category, t.num_riders,
                        r.transfer
                 FROM taps t
                 LEFT JOIN rides r ON r.ride_id = t.event_id AND r.board_at = t.occurred_at
                 WHERE t.occurred_at >= $1 AND t.occurred_at < $2
                 ORDER BY t.occurred_at, t.event_id",
            )
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for r in rows {
                let action: String = r.try_get("action")?;
                let result: String = r.try_get("result")?;
                let transfer: Option<bool> = r.try_get("transfer")?;
                let fare_action = match (action.as_str(), result.as_str(), transfer) {
                    (_, "declined" | "deny_listed", _) => "denied",
                    ("on", _, Some(true)) => "transfer",
                    ("on", _, _) => "enter",
                    _ => "exit",
                };
                let medium: String = r.try_get("medium")?;
                let d: NaiveDate = r.try_get("d")?;
                w.write_record([
                    r.try_get::<String, _>("event_id")?,
                    d.to_string(),
                    ts(r.try_get("occurred_at")?),
                    r.try_get::<i32, _>("fare_yen")?.to_string(),
                    fare_action.to_owned(),
                    o(r.try_get::<Option<String>, _>("trip_id")?),
                    String::new(),
                    o(r.try_get::<Option<String>, _>("stop_id")?),
                    r.try_get("vehicle_id")?,
                    r.try_get("validator_id")?,
                    if medium == "mobile" {
                        "mobile_nfc".to_owned()
                    } else {
                        "bank_card".to_owned()
                    },
                    r.try_get("rider_category")?,
                    "pay_as_you_go".to_owned(),
                    String::new(),
                    r.try_get::<i16, _>("num_riders")?.to_string(),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::StopVisits => {
            let rows = sqlx::query(
                "SELECT service_date, trip_id, stop_sequence, stop_id, vehicle_id, scheduled_arrival,
                        scheduled_departure, actual_arrival, actual_departure
                 FROM stop_visits WHERE service_date BETWEEN $1 AND $2
                 ORDER BY service_date, trip_id, stop_sequence",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            for r in rows {
                w.write_record([
                    r.try_get::<NaiveDate, _>("service_date")?.to_string(),
                    r.try_get("trip_id")?,
                    r.try_get::<i32, _>("stop_sequence")?.to_string(),
                    r.try_get("stop_id")?,
                    r.try_get("vehicle_id")?,
                    ts(r.try_get("scheduled_arrival")?),
                    ts(r.try_get("scheduled_departure")?),
                    ts(Some(r.try_get("actual_arrival")?)),
                    ts(r.try_get("actual_departure")?),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::VehicleLocations => {
            let rows = sqlx::query(
                "SELECT vehicle_id, recorded_at, (recorded_at AT TIME ZONE 'Asia/Tokyo')::date AS d,
                        trip_id, lat, lon, bearing, speed, accuracy
                 FROM vehicle_positions WHERE recorded_at >= $1 AND recorded_at < $2
                 ORDER BY recorded_at, vehicle_id",
            )
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for r in rows {
                let vehicle: String = r.try_get("vehicle_id")?;
                let at: DateTime<Utc> = r.try_get("recorded_at")?;
                w.write_record([
                    format!("{vehicle}-{}", at.timestamp_millis()),
                    r.try_get::<NaiveDate, _>("d")?.to_string(),
                    ts(Some(at)),
                    o(r.try_get::<Option<String>, _>("trip_id")?),
                    vehicle,
                    r.try_get::<f64, _>("lat")?.to_string(),
                    r.try_get::<f64, _>("lon")?.to_string(),
                    o(r.try_get::<Option<f32>, _>("bearing")?),
                    o(r.try_get::<Option<f32>, _>("speed")?),
                    o(r.try_get::<Option<f32>, _>("accuracy")?),
                ])
                .map_err(err)?;
                n += 1;
            }
        }
        TidesTable::PassengerEvents => {
            let rows = sqlx::query(
                "SELECT vehicle_id, recorded_at, (recorded_at AT TIME ZONE 'Asia/Tokyo')::date AS d,
                        trip_id, stop_id, boardings, alightings
                 FROM passenger_counts WHERE recorded_at >= $1 AND recorded_at < $2
                 ORDER BY recorded_at, vehicle_id, stop_id",
            )
            .bind(start)
            .bind(end)
            .fetch_all(pool)
            .await?;
            for r in rows {
                let vehicle: String = r.try_get("vehicle_id")?;
                let at: DateTime<Utc> = r.try_get("recorded_at")?;
                let stop: String = r.try_get("stop_id")?;
                let d: NaiveDate = r.try_get("d")?;
                let trip = o(r.try_get::<Option<String>, _>("trip_id")?);
                for (kind, col) in [
                    ("Passenger boarded", "boardings"),
                    ("Passenger alighted", "alightings"),
                ] {
                    let count: i32 = r.try_get(col)?;
                    if count == 0 {
                        continue;
                    }
                    w.write_record([
                        format!("{vehicle}-{}-{stop}-{col}", at.timestamp_millis()),
                        d.to_string(),
                        ts(Some(at)),
                        trip.clone(),
                        stop.clone(),
                        vehicle.clone(),
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
