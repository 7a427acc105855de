//! `stop_visits`: when each vehicle was at each stop of its trip, written by
//! the location service's tracker and read back for learning running times.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use kagoshima_domain::stop_visit::StopVisit;
use sqlx::PgPool;

/// Stop visits of the last `days` days, in trip and stop order.
pub async fn recent(pool: &PgPool, days: u32) -> Result<Vec<StopVisit>, sqlx::Error> {
    type Row = (
        NaiveDate,
        String,
        i32,
        String,
        Option<String>,
        Option<i16>,
        String,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT service_date, trip_id, stop_sequence, stop_id, route_id, direction_id, vehicle_id,
                scheduled_arrival, scheduled_departure, actual_arrival, actual_departure, method
           FROM stop_visits
          WHERE service_date >= (now() AT TIME ZONE 'Asia/Tokyo')::date - $1::int
          ORDER BY service_date, trip_id, stop_sequence",
    )
    .bind(i32::try_from(days).unwrap_or(28))
    .fetch_all(pool)
    .await?;
    let secs = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    Ok(rows
        .into_iter()
        .map(|r| StopVisit {
            service_date: r.0,
            trip_id: r.1,
            stop_sequence: u32::try_from(r.2).unwrap_or(0),
            stop_id: r.3,
            route_id: r.4.unwrap_or_default(),
            direction_id: r.5.and_then(|d| u8::try_from(d).ok()),
            vehicle_id: r.6,
            scheduled_arrival: r.7.map_or(0.0, secs),
            scheduled_departure: r.8.map_or(0.0, secs),
            arrival: secs(r.9),
            departure: r.10.map(secs),
            observed: r.11 == "observed",
        })
        .collect())
}

/// Upserts stop visits in one statement (UNNEST arrays).
pub async fn upsert(pool: &PgPool, visits: &[StopVisit]) -> Result<(), sqlx::Error> {
    // One row per key (a statement may not update a row twice).
    let mut latest: HashMap<(NaiveDate, &str, u32), &StopVisit> = HashMap::new();
    for v in visits {
        latest.insert((v.service_date, v.trip_id.as_str(), v.stop_sequence), v);
    }
    let rows: Vec<&StopVisit> = latest.into_values().collect();
    let at = |t: f64| DateTime::<Utc>::from_timestamp_millis((t * 1000.0).round() as i64);
    sqlx::query(
        "INSERT INTO stop_visits (service_date, trip_id, stop_sequence, stop_id, route_id, direction_id,
                                  vehicle_id, scheduled_arrival, scheduled_departure, actual_arrival,
                                  actual_departure, method, updated_at)
         SELECT u.*, now() FROM UNNEST($1::date[], $2::text[], $3::int[], $4::text[], $5::text[],
                                       $6::smallint[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                                       $10::timestamptz[], $11::timestamptz[], $12::text[]) AS u
         ON CONFLICT (service_date, trip_id, stop_sequence) DO UPDATE SET
             stop_id = EXCLUDED.stop_id, route_id = EXCLUDED.route_id,
             direction_id = EXCLUDED.direction_id, vehicle_id = EXCLUDED.vehicle_id,
             scheduled_arrival = EXCLUDED.scheduled_arrival,
             scheduled_departure = EXCLUDED.scheduled_departure,
             actual_arrival = EXCLUDED.actual_arrival,
             actual_departure = coalesce(EXCLUDED.actual_departure, stop_visits.actual_departure),
             method = EXCLUDED.method, updated_at = now()",
    )
    .bind(rows.iter().map(|v| v.service_date).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.trip_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.stop_sequence as i32).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.stop_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.route_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.direction_id.map(i16::from)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.vehicle_id.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.scheduled_arrival)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.scheduled_departure)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| at(v.arrival)).collect::<Vec<_>>())
    .bind(rows.iter().map(|v| v.departure.and_then(at)).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|v| if v.observed { "observed" } else { "interpolated" })
            .collect::<Vec<_>>(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// A stop visit as stored, for exports (times absent stay absent).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitRecord {
    pub service_date: NaiveDate,
    pub trip_id: String,
    pub stop_sequence: i32,
    pub stop_id: String,
    pub vehicle_id: String,
    pub scheduled_arrival: Option<DateTime<Utc>>,
    pub scheduled_departure: Option<DateTime<Utc>>,
    pub actual_arrival: DateTime<Utc>,
    pub actual_departure: Option<DateTime<Utc>>,
}

/// A stop visit as the timetable planning reads it: times as Unix seconds,
/// what the table leaves empty as `None`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TimedVisit {
    pub service_date: NaiveDate,
    pub trip_id: String,
    pub stop_sequence: i32,
    pub stop_id: String,
    pub route_id: Option<String>,
    pub direction_id: Option<i16>,
    pub scheduled_arrival: Option<f64>,
    pub scheduled_departure: Option<f64>,
    pub actual_arrival: f64,
    pub actual_departure: Option<f64>,
}

const TIMED: &str = "SELECT service_date, trip_id, stop_sequence, stop_id, route_id, direction_id,
        extract(epoch FROM scheduled_arrival)::float8 AS scheduled_arrival,
        extract(epoch FROM scheduled_departure)::float8 AS scheduled_departure,
        extract(epoch FROM actual_arrival)::float8 AS actual_arrival,
        extract(epoch FROM actual_departure)::float8 AS actual_departure
   FROM stop_visits";

/// The visits of the service dates `[from, until]`, of one route or all, in
/// trip and stop order, as they are read (a quarter of the city is millions
/// of rows: the reader keeps what it needs).
pub fn stream_period<'a>(
    pool: &'a PgPool,
    from: NaiveDate,
    until: NaiveDate,
    route_id: Option<&'a str>,
) -> futures::stream::BoxStream<'a, Result<TimedVisit, sqlx::Error>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TIMED} WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR route_id = $3)
          ORDER BY service_date, trip_id, stop_sequence"
    )))
    .bind(from)
    .bind(until)
    .bind(route_id)
    .fetch(pool)
}

/// The scheduled visits of one route and direction (none counts as 0) on
/// one service date, in trip and stop order.
pub async fn of_route_day(
    pool: &PgPool,
    date: NaiveDate,
    route_id: &str,
    direction_id: i16,
) -> Result<Vec<TimedVisit>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{TIMED} WHERE service_date = $1 AND route_id = $2 AND coalesce(direction_id, 0) = $3
            AND scheduled_arrival IS NOT NULL
          ORDER BY trip_id, stop_sequence"
    )))
    .bind(date)
    .bind(route_id)
    .bind(direction_id)
    .fetch_all(pool)
    .await
}

/// The visits of the service dates `[from, to]`, in trip and stop order.
pub async fn between(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<VisitRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service_date, trip_id, stop_sequence, stop_id, vehicle_id, scheduled_arrival,
                scheduled_departure, actual_arrival, actual_departure
         FROM stop_visits WHERE service_date BETWEEN $1 AND $2
         ORDER BY service_date, trip_id, stop_sequence",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}
