//! Ridership rollups, rebuilt per service date from `rides`.
//!
//! `ridership_stop_hour` (boardings and alightings per stop and hour),
//! `ridership_load` (on-board load leaving each stop) and
//! `ridership_card_days` (the cards boarding each JST date, for distinct
//! cards) are ordinary tables on every platform. `ridership_route_hour`, `ridership_od` and
//! `ridership_shares` are continuous aggregates over the rides hypertable on
//! TimescaleDB and ordinary tables elsewhere, with the same columns, so the
//! queries in [`crate::figures`] read either.
use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use kagoshima_network::read::schedule::TripIndex;
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::IndicatorError;
use crate::rides::Ride;

/// The on-board load leaving one stop of a trip's route in one hour of
/// boarding: a row of `ridership_load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRow {
    pub hour_start: DateTime<Utc>,
    pub route_id: String,
    /// -1 when the feed gives none.
    pub direction_id: i16,
    pub stop_sequence: i32,
    pub stop_id: String,
    pub load: i64,
}

/// Every rider counts on each stop of their trip from the one they boarded
/// at up to (not including) the one they alighted at; rides without a
/// route, trip or both stops carry no load.
pub fn loads(rides: &[Ride], index: &TripIndex) -> Vec<LoadRow> {
    type Key = (DateTime<Utc>, String, i16, i32);
    let mut sums: BTreeMap<Key, (String, i64)> = BTreeMap::new();
    for r in rides {
        let (Some(route), Some(trip), Some(from), Some(to)) = (
            &r.route_id,
            &r.trip_id,
            r.board_stop_sequence,
            r.alight_stop_sequence,
        ) else {
            continue;
        };
        let hour = r
            .board_at
            .duration_trunc(TimeDelta::hours(1))
            .unwrap_or(r.board_at);
        for (seq, stop) in index.calls_between(trip, from, to) {
            let key = (hour, route.clone(), r.direction_id.unwrap_or(-1), seq);
            let entry = sums.entry(key).or_insert_with(|| (stop.to_owned(), 0));
            if stop < entry.0.as_str() {
                entry.0 = stop.to_owned();
            }
            entry.1 += i64::from(r.num_riders);
        }
    }
    sums.into_iter()
        .map(
            |((hour_start, route_id, direction_id, stop_sequence), (stop_id, load))| LoadRow {
                hour_start,
                route_id,
                direction_id,
                stop_sequence,
                stop_id,
                load,
            },
        )
        .collect()
}

/// Group-by rollups that are continuous aggregates on TimescaleDB.
pub const CONTINUOUS: [&str; 3] = ["ridership_route_hour", "ridership_od", "ridership_shares"];

/// Rebuilds the rollup tables of one date inside the rides transaction.
pub async fn rebuild_tables(
    tx: &mut Transaction<'_, Postgres>,
    date: NaiveDate,
    loads: &[LoadRow],
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
        "DELETE FROM ridership_card_days WHERE service_date = $1",
        "INSERT INTO ridership_card_days (card_hash, medium, jst_date, service_date)
         SELECT DISTINCT card_hash, medium, (board_at AT TIME ZONE 'Asia/Tokyo')::date, service_date
         FROM rides WHERE service_date = $1",
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
    sqlx::query(
        "INSERT INTO ridership_load
         SELECT $1, u.hour_start, $2, u.route_id, u.direction_id, u.stop_sequence, u.stop_id, u.load
         FROM UNNEST($3::timestamptz[], $4::text[], $5::smallint[], $6::int[], $7::text[],
                     $8::bigint[]) AS u(hour_start, route_id, direction_id, stop_sequence, stop_id, load)",
    )
    .bind(date)
    .bind(kagoshima_domain::calendar::day_type(date).as_str())
    .bind(loads.iter().map(|l| l.hour_start).collect::<Vec<_>>())
    .bind(loads.iter().map(|l| l.route_id.clone()).collect::<Vec<_>>())
    .bind(loads.iter().map(|l| l.direction_id).collect::<Vec<_>>())
    .bind(loads.iter().map(|l| l.stop_sequence).collect::<Vec<_>>())
    .bind(loads.iter().map(|l| l.stop_id.clone()).collect::<Vec<_>>())
    .bind(loads.iter().map(|l| l.load).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ride(id: &str, board: &str, from: i32, to: Option<i32>, riders: i16) -> Ride {
        Ride {
            ride_id: id.into(),
            service_date: "2026-06-01".parse().unwrap(),
            board_at: board.parse().unwrap(),
            alight_at: None,
            off_event_id: None,
            card_hash: vec![0; 32],
            medium: "card".into(),
            brand: None,
            issuer_country: None,
            rider_category: "adult".into(),
            num_riders: riders,
            fare_yen: 170,
            mode: "tram".into(),
            vehicle_id: "tram-101".into(),
            route_id: Some("route-2".into()),
            trip_id: Some("trip-1".into()),
            direction_id: Some(0),
            board_stop_id: None,
            board_stop_sequence: Some(from),
            board_stop_source: "tap".into(),
            alight_stop_id: None,
            alight_stop_sequence: to,
            transfer: false,
        }
    }

    #[test]
    fn riders_load_every_stop_from_boarding_up_to_alighting() {
        let index = TripIndex::new(
            Vec::new(),
            Vec::new(),
            (1..=4)
                .map(|seq| ("trip-1".to_owned(), seq, format!("s{seq}")))
                .collect(),
        );
        let rides = [
            ride("a", "2026-06-01T00:10:00Z", 1, Some(3), 1),
            ride("b", "2026-06-01T00:50:00Z", 2, Some(4), 2),
            // Not tapped off: no load.
            ride("c", "2026-06-01T00:20:00Z", 1, None, 1),
        ];
        let rows = loads(&rides, &index);
        let got: Vec<(i32, &str, i64)> = rows
            .iter()
            .map(|r| (r.stop_sequence, r.stop_id.as_str(), r.load))
            .collect();
        assert_eq!(got, vec![(1, "s1", 1), (2, "s2", 3), (3, "s3", 2)]);
        assert!(
            rows.iter()
                .all(|r| r.hour_start == "2026-06-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap())
        );
    }
}
