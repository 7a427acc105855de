//! Device events read back by period: what the indicators measure
//! (availability of the location system, signage alive) and the TIDES
//! export. Written only by [`crate::Store::write_batch`].
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

/// Whether any position of `modes` was recorded in `[from, to)`.
pub async fn any_position(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    modes: &[String],
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM vehicle_positions p
                         WHERE p.recorded_at >= $1 AND p.recorded_at < $2 AND p.mode = ANY($3))",
    )
    .bind(from)
    .bind(to)
    .bind(modes)
    .fetch_one(pool)
    .await
}

/// For each minute `m` after `start` (minute m ends at `start` plus m
/// minutes), the vehicles of `modes` with a position at most `fresh_s` old
/// at some moment of it; over 36 hours, enough for a GTFS service day.
pub async fn fresh_vehicles_by_minute(
    pool: &PgPool,
    start: DateTime<Utc>,
    fresh_s: f64,
    modes: &[String],
) -> Result<Vec<(i32, i64)>, sqlx::Error> {
    // A position at t seconds after `start` keeps its vehicle fresh in
    // minutes ceil(t / 60) to ceil((t + fresh_s) / 60) - 1. Of the positions
    // of one vehicle whose first minute is the same, the latest reaches
    // furthest, so each (vehicle, first minute) is reduced to its latest
    // position before the minutes are expanded: the same counts from a
    // quarter of the rows (a day's expansion of every position took
    // 1.0-1.4 s on TimescaleDB).
    sqlx::query_as(
        "SELECT m, count(DISTINCT r.vehicle_id)
           FROM (SELECT p.vehicle_id,
                        ceil(extract(epoch FROM p.recorded_at - $1) / 60.0)::int AS first_m,
                        max(extract(epoch FROM p.recorded_at - $1)) AS t
                   FROM vehicle_positions p
                  WHERE p.recorded_at >= $1 - make_interval(secs => $2)
                    AND p.recorded_at < $1 + INTERVAL '36 hours'
                    AND p.mode = ANY($3)
                  GROUP BY 1, 2) r,
                generate_series(r.first_m, (ceil((r.t + $2) / 60.0) - 1)::int) AS m
          GROUP BY m ORDER BY m",
    )
    .bind(start)
    .bind(fresh_s)
    .bind(modes)
    .fetch_all(pool)
    .await
}

/// Signage units: `(alive, seen)` = those with a status since `alive_since`
/// (and before `to`), and all those that published in `[from, to)`. A unit
/// is a device whose latest status says `signage` in the registry.
///
/// The registry answers most of it: a unit first or last seen inside the
/// period published in it. Only units seen both before and after the period
/// (a past period) are looked for in `device_status`, and a city without
/// signage reads no status at all. Asking `device_status` for a fiscal year
/// cost 115 ms of planning over its 52 chunks and 45 ms of JIT on every
/// report, although the year held no unit (BENCHMARKS.md, "A fiscal year of
/// the city").
pub async fn signage_units(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    alive_since: DateTime<Utc>,
) -> Result<(i64, i64), sqlx::Error> {
    let units: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT vehicle_id, first_seen, last_seen FROM devices
          WHERE device_kind = 'signage' AND first_seen < $2 AND last_seen >= $1
          ORDER BY vehicle_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    if units.is_empty() {
        return Ok((0, 0));
    }
    let (inside, around): (Vec<_>, Vec<_>) = units
        .iter()
        .partition(|(_, first, last)| *first >= from || *last < to);
    let with_status = |ids: Vec<String>, since: DateTime<Utc>| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM UNNEST($1::text[]) AS u(vehicle_id)
              WHERE EXISTS (SELECT 1 FROM device_status s
                             WHERE s.vehicle_id = u.vehicle_id AND s.device_kind = 'signage'
                               AND s.recorded_at >= $2 AND s.recorded_at < $3)",
        )
        .bind(ids)
        .bind(since)
        .bind(to)
        .fetch_one(pool)
        .await
    };
    let seen_around = if around.is_empty() {
        0
    } else {
        with_status(around.iter().map(|u| u.0.clone()).collect(), from).await?
    };
    let alive = with_status(
        units.iter().map(|u| u.0.clone()).collect(),
        from.max(alive_since),
    )
    .await?;
    Ok((alive, inside.len() as i64 + seen_around))
}

/// A tap as the TIDES fare_transactions table needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TapRecord {
    pub event_id: String,
    /// The JST date of the tap.
    pub jst_date: NaiveDate,
    pub occurred_at: DateTime<Utc>,
    pub fare_yen: i32,
    pub action: String,
    pub result: String,
    pub trip_id: Option<String>,
    pub stop_id: Option<String>,
    pub vehicle_id: String,
    pub validator_id: String,
    pub medium: String,
    pub rider_category: String,
    pub num_riders: i16,
}

/// Every tap (approved or not) in `[from, to)`, by time.
pub async fn taps_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TapRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT event_id, (occurred_at AT TIME ZONE 'Asia/Tokyo')::date AS jst_date, occurred_at,
                fare_yen, action, result, trip_id, stop_id, vehicle_id, validator_id, medium,
                rider_category, num_riders
           FROM taps WHERE occurred_at >= $1 AND occurred_at < $2
          ORDER BY occurred_at, event_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PositionRecord {
    pub vehicle_id: String,
    pub recorded_at: DateTime<Utc>,
    pub jst_date: NaiveDate,
    pub trip_id: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub bearing: Option<f32>,
    pub speed: Option<f32>,
    pub accuracy: Option<f32>,
}

/// Every position in `[from, to)`, by time and vehicle.
pub async fn positions_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<PositionRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT vehicle_id, recorded_at, (recorded_at AT TIME ZONE 'Asia/Tokyo')::date AS jst_date,
                trip_id, lat, lon, bearing, speed, accuracy
           FROM vehicle_positions WHERE recorded_at >= $1 AND recorded_at < $2
          ORDER BY recorded_at, vehicle_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CountRecord {
    pub vehicle_id: String,
    pub recorded_at: DateTime<Utc>,
    pub jst_date: NaiveDate,
    pub trip_id: Option<String>,
    pub stop_id: String,
    pub boardings: i32,
    pub alightings: i32,
}

/// Every passenger count in `[from, to)`, by time, vehicle and stop.
pub async fn passenger_counts_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CountRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT vehicle_id, recorded_at, (recorded_at AT TIME ZONE 'Asia/Tokyo')::date AS jst_date,
                trip_id, stop_id, boardings, alightings
           FROM passenger_counts WHERE recorded_at >= $1 AND recorded_at < $2
          ORDER BY recorded_at, vehicle_id, stop_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// A passenger count placed on a trip and route.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TripCount {
    pub recorded_at: DateTime<Utc>,
    pub trip_id: String,
    pub route_id: String,
    pub mode: String,
    pub stop_id: String,
    pub boardings: i32,
    pub alightings: i32,
}

/// The counts in `[from, to)` placed on a trip and route (of one route, or
/// all), by trip and time.
pub async fn trip_counts_between(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    route_id: Option<&str>,
) -> Result<Vec<TripCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT recorded_at, trip_id, route_id, mode, stop_id, boardings, alightings
           FROM passenger_counts
          WHERE recorded_at >= $1 AND recorded_at < $2
            AND trip_id IS NOT NULL AND route_id IS NOT NULL
            AND ($3::text IS NULL OR route_id = $3)
          ORDER BY trip_id, recorded_at",
    )
    .bind(from)
    .bind(to)
    .bind(route_id)
    .fetch_all(pool)
    .await
}

/// How full a trip usually is leaving a stop: the median, over its runs in
/// `[from, to)`, of the riders on board after the stop (the counter's
/// boardings minus alightings since the trip's first count that day).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UsualLoad {
    pub trip_id: String,
    pub stop_id: String,
    pub load: f64,
    /// The runs it is the median of.
    pub runs: i64,
}

pub async fn usual_loads(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsualLoad>, sqlx::Error> {
    // A run is one vehicle on one trip on one day; days are cut at 03:00
    // JST, when no trip runs, so a run after midnight stays whole.
    sqlx::query_as(
        "WITH counted AS (
             SELECT trip_id, stop_id,
                    sum(boardings - alightings) OVER (
                        PARTITION BY vehicle_id, trip_id,
                                     ((recorded_at AT TIME ZONE 'Asia/Tokyo') - INTERVAL '3 hours')::date
                        ORDER BY recorded_at, stop_id) AS on_board
               FROM passenger_counts
              WHERE recorded_at >= $1 AND recorded_at < $2 AND trip_id IS NOT NULL)
         SELECT trip_id, stop_id,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(on_board, 0))::float8 AS load,
                count(*) AS runs
           FROM counted GROUP BY trip_id, stop_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}
