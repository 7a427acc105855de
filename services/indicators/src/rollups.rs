//! Ridership rollups, rebuilt per service date from `rides`.
//!
//! `ridership_stop_hour` (boardings and alightings per stop and hour) and
//! `ridership_load` (on-board load leaving each stop) are ordinary tables on
//! every platform. `ridership_route_hour`, `ridership_od` and
//! `ridership_shares` are continuous aggregates over the rides hypertable on
//! TimescaleDB and ordinary tables elsewhere, with the same columns, so the
//! queries in [`crate::figures`] read either.
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::IndicatorError;

/// Group-by rollups that are continuous aggregates on TimescaleDB.
pub const CONTINUOUS: [&str; 3] = ["ridership_route_hour", "ridership_od", "ridership_shares"];

/// Rebuilds the rollup tables of one date inside the rides transaction.
pub async fn rebuild_tables(
    tx: &mut Transaction<'_, Postgres>,
    date: NaiveDate,
    timescale: bool,
) -> Result<(), IndicatorError> {
    let mut statements: Vec<&str> = vec![
        "DELETE FROM ridership_stop_hour WHERE service_date = $1",
        "INSERT INTO ridership_stop_hour
         SELECT service_date, hour_start, day_type, mode, route_id, direction_id, stop_id,
                sum(b), sum(a)
         FROM (
             SELECT service_date, date_trunc('hour', board_at) AS hour_start, day_type, mode,
                    coalesce(route_id, '') AS route_id, coalesce(direction_id, -1::smallint) AS direction_id,
                    coalesce(board_stop_id, '') AS stop_id, num_riders AS b, 0 AS a
             FROM rides WHERE service_date = $1
             UNION ALL
             SELECT service_date, date_trunc('hour', alight_at), day_type, mode,
                    coalesce(route_id, ''), coalesce(direction_id, -1::smallint),
                    coalesce(alight_stop_id, ''), 0, num_riders
             FROM rides WHERE service_date = $1 AND alight_at IS NOT NULL
         ) x
         GROUP BY 1, 2, 3, 4, 5, 6, 7",
        "DELETE FROM ridership_load WHERE service_date = $1",
        "INSERT INTO ridership_load
         SELECT r.service_date, date_trunc('hour', r.board_at), r.day_type, r.route_id,
                coalesce(r.direction_id, -1::smallint), st.stop_sequence, min(st.stop_id),
                sum(r.num_riders)
         FROM rides r
         JOIN network_stop_times st
           ON st.feed_version_id = (SELECT id FROM feed_versions WHERE active)
          AND st.trip_id = r.trip_id
          AND st.stop_sequence >= r.board_stop_sequence
          AND st.stop_sequence < r.alight_stop_sequence
         WHERE r.service_date = $1 AND r.route_id IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5, 6",
    ];
    if !timescale {
        statements.extend([
            "DELETE FROM ridership_route_hour WHERE service_date = $1",
            "INSERT INTO ridership_route_hour
             SELECT service_date, date_trunc('hour', board_at), day_type, mode,
                    coalesce(route_id, ''), coalesce(direction_id, -1::smallint),
                    sum(num_riders) FILTER (WHERE NOT transfer),
                    sum(num_riders), sum(num_riders) FILTER (WHERE transfer),
                    count(*) FILTER (WHERE alight_at IS NULL)
             FROM rides WHERE service_date = $1 GROUP BY 1, 2, 3, 4, 5, 6",
            "DELETE FROM ridership_od WHERE service_date = $1",
            "INSERT INTO ridership_od
             SELECT service_date, date_trunc('hour', board_at), day_type, mode,
                    coalesce(route_id, ''), coalesce(direction_id, -1::smallint),
                    coalesce(board_stop_id, ''), coalesce(alight_stop_id, ''), sum(num_riders)
             FROM rides WHERE service_date = $1 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
            "DELETE FROM ridership_shares WHERE service_date = $1",
            "INSERT INTO ridership_shares
             SELECT service_date, date_trunc('hour', board_at), mode, coalesce(brand, 'unknown'),
                    medium, coalesce(issuer_country, '??'),
                    sum(num_riders) FILTER (WHERE NOT transfer)
             FROM rides WHERE service_date = $1 GROUP BY 1, 2, 3, 4, 5, 6",
        ]);
    }
    for sql in statements {
        sqlx::query(sql).bind(date).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Refreshes the continuous aggregates over `[from, to)` (TimescaleDB only;
/// must run outside a transaction).
pub async fn refresh_continuous(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(), IndicatorError> {
    for view in CONTINUOUS {
        sqlx::query("CALL refresh_continuous_aggregate($1::regclass, $2, $3)")
            .bind(view)
            .bind(from)
            .bind(to)
            .execute(pool)
            .await?;
    }
    Ok(())
}
