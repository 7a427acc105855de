//! Reading `taps` back, with what storage knows of where each vehicle was
//! (its stop visit at that moment, else its position nearest in time), for
//! pairing taps into rides.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kagoshima_domain::fields::TapAction;
use sqlx::{PgPool, Row};

/// How far around a tap to look for where its vehicle was.
#[derive(Debug, Clone, Copy)]
pub struct Vicinity {
    /// A stop visit counts from `margin_s` before its arrival to `margin_s`
    /// after its departure.
    pub stop_visit_margin_s: f64,
    /// The position nearest in time, at most this far from the tap.
    pub position_window_s: f64,
}

/// The stop visit of the tap's vehicle at the tap's time.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitAt {
    pub stop_id: String,
    pub stop_sequence: i32,
    pub route_id: Option<String>,
    pub trip_id: String,
    pub direction_id: Option<i16>,
}

/// The position of the tap's vehicle nearest in time (only looked up when
/// the tap has no stop and no visit covers it).
#[derive(Debug, Clone, PartialEq)]
pub struct PositionAt {
    pub lat: f64,
    pub lon: f64,
    pub trip_id: Option<String>,
    pub route_id: Option<String>,
}

/// An approved tap as stored (card number never stored: only its keyed hash).
#[derive(Debug, Clone)]
pub struct StoredTap {
    pub event_id: String,
    pub at: DateTime<Utc>,
    pub vehicle_id: String,
    pub mode: String,
    pub action: TapAction,
    pub card_hash: Vec<u8>,
    pub medium: String,
    pub brand: Option<String>,
    pub issuer_country: Option<String>,
    pub rider_category: String,
    pub num_riders: i16,
    pub fare_yen: i32,
    pub stop_id: Option<String>,
    pub route_id: Option<String>,
    pub trip_id: Option<String>,
    pub visit: Option<VisitAt>,
    pub position: Option<PositionAt>,
}

/// A vehicle stands at one stop at most this long (seconds): a tap is matched
/// to visits that began at most this long (and the margin) before it. Without
/// this bound, a tap made between stops (no visit matches) walked back over
/// every visit of its vehicle that day (10.5 s for a day's taps with a month
/// of stop visits loaded, 0.4 s with it).
pub const LONGEST_DWELL_S: f64 = 3600.0;

/// Approved and offline-approved taps in `[from, to)`, by card, medium,
/// time, action and event id (the order pairing needs).
///
/// In two steps: the taps and the period's stop visits (read at once and
/// matched here, [`visit_at`]), then, for the few taps with neither a stop
/// nor a visit, the nearest positions. One query with a
/// lateral join on positions cost 6-8 s a day with two months loaded on
/// TimescaleDB, although the join never ran (every tap had a stop): the
/// executor set up a scan of every position chunk, compressed ones too, for
/// each call. Bounding the positions by the period's own times lets the
/// planner keep only its chunks.
pub async fn approved_with_vicinity(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    vicinity: Vicinity,
) -> Result<Vec<StoredTap>, sqlx::Error> {
    let margin = seconds(vicinity.stop_visit_margin_s);
    // Stop visits are partitioned by service date: bound them by dates so
    // that only the period's chunks are scanned.
    let first_day = kagoshima_domain::calendar::transit_service_day(from - margin)
        .pred_opt()
        .unwrap_or(chrono::NaiveDate::MIN);
    let last_day = kagoshima_domain::calendar::transit_service_day(to + margin)
        .succ_opt()
        .unwrap_or(chrono::NaiveDate::MAX);
    let taps = sqlx::query(
        "SELECT event_id, occurred_at, vehicle_id, mode, action, card_hash, medium, brand,
                issuer_country, rider_category, num_riders, fare_yen, stop_id, route_id, trip_id
           FROM taps
          WHERE occurred_at >= $1 AND occurred_at < $2
            AND result IN ('approved', 'offline_approved')
          ORDER BY card_hash, medium, occurred_at, action, event_id",
    )
    .bind(from)
    .bind(to)
    // Planned for each day's own times: after five executions on one
    // connection PostgreSQL may switch a prepared statement to a generic
    // plan that no longer knows which chunks a day needs (9 s a day instead
    // of 0.5 s with a month loaded on TimescaleDB).
    .persistent(false)
    .fetch_all(pool);
    // Every visit that may hold one of the period's taps, by vehicle and
    // arrival, matched below: a lateral probe per tap cost 1.0-1.2 s for a
    // day's 11,000 taps while a history loaded, two range scans a fraction.
    let visits = sqlx::query_as::<_, VisitRow>(
        "SELECT vehicle_id, actual_arrival, coalesce(actual_departure, actual_arrival) AS left_at,
                stop_id, stop_sequence, route_id, trip_id, direction_id
           FROM stop_visits
          WHERE service_date BETWEEN $1 AND $2
            AND actual_arrival >= $3 AND actual_arrival <= $4
          ORDER BY vehicle_id, actual_arrival",
    )
    .bind(first_day)
    .bind(last_day)
    .bind(from - margin - seconds(LONGEST_DWELL_S))
    .bind(to + margin)
    .persistent(false)
    .fetch_all(pool);
    let (rows, visits) = tokio::try_join!(taps, visits)?;
    let mut by_vehicle: HashMap<&str, &[VisitRow]> = HashMap::new();
    for run in visits.chunk_by(|a, b| a.vehicle_id == b.vehicle_id) {
        by_vehicle.insert(run[0].vehicle_id.as_str(), run);
    }
    let mut taps = Vec::with_capacity(rows.len());
    for r in rows {
        let action: String = r.try_get("action")?;
        let vehicle_id: String = r.try_get("vehicle_id")?;
        let at: DateTime<Utc> = r.try_get("occurred_at")?;
        let stop_id: Option<String> = r.try_get("stop_id")?;
        let visit = by_vehicle
            .get(vehicle_id.as_str())
            .and_then(|v| visit_at(v, at, stop_id.as_deref(), margin))
            .map(|v| VisitAt {
                stop_id: v.stop_id.clone(),
                stop_sequence: v.stop_sequence,
                route_id: v.route_id.clone(),
                trip_id: v.trip_id.clone(),
                direction_id: v.direction_id,
            });
        taps.push(StoredTap {
            event_id: r.try_get("event_id")?,
            at,
            vehicle_id,
            mode: r.try_get("mode")?,
            action: TapAction::from_code(&action).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "action".into(),
                source: format!("tap action {action:?} is neither on nor off").into(),
            })?,
            card_hash: r.try_get("card_hash")?,
            medium: r.try_get("medium")?,
            brand: r.try_get("brand")?,
            issuer_country: r.try_get("issuer_country")?,
            rider_category: r.try_get("rider_category")?,
            num_riders: r.try_get("num_riders")?,
            fare_yen: r.try_get("fare_yen")?,
            stop_id,
            route_id: r.try_get("route_id")?,
            trip_id: r.try_get("trip_id")?,
            visit,
            position: None,
        });
    }
    add_nearest_positions(pool, &mut taps, from, to, vicinity.position_window_s).await?;
    Ok(taps)
}

/// A stop visit as [`visit_at`] needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct VisitRow {
    vehicle_id: String,
    actual_arrival: DateTime<Utc>,
    /// The departure, or the arrival where none was seen.
    left_at: DateTime<Utc>,
    stop_id: String,
    stop_sequence: i32,
    route_id: Option<String>,
    trip_id: String,
    direction_id: Option<i16>,
}

fn seconds(s: f64) -> chrono::Duration {
    chrono::Duration::microseconds((s * 1e6).round() as i64)
}

/// The visit holding a tap at `at`: of one vehicle's visits (by arrival),
/// the latest begun at most `margin` after the tap (and at most
/// [`LONGEST_DWELL_S`] and the margin before it) and left at most `margin`
/// before it, at the tap's own stop when the tap names one.
fn visit_at<'v>(
    visits: &'v [VisitRow],
    at: DateTime<Utc>,
    stop_id: Option<&str>,
    margin: chrono::Duration,
) -> Option<&'v VisitRow> {
    let begun = visits.partition_point(|v| v.actual_arrival <= at + margin);
    let earliest = at - margin - seconds(LONGEST_DWELL_S);
    visits[..begun]
        .iter()
        .rev()
        .take_while(|v| v.actual_arrival >= earliest)
        .find(|v| v.left_at + margin >= at && stop_id.is_none_or(|s| s == v.stop_id))
}

/// Sets the nearest position (within `window_s`) of each tap that has
/// neither a stop nor a visit.
async fn add_nearest_positions(
    pool: &PgPool,
    taps: &mut [StoredTap],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    window_s: f64,
) -> Result<(), sqlx::Error> {
    let unplaced: Vec<usize> = (0..taps.len())
        .filter(|&i| taps[i].stop_id.is_none() && taps[i].visit.is_none())
        .collect();
    if unplaced.is_empty() {
        return Ok(());
    }
    let window = chrono::Duration::milliseconds((window_s * 1000.0) as i64);
    let rows = sqlx::query(
        r#"
        SELECT t.n, p.lat, p.lon, p.trip_id, p.route_id
        FROM UNNEST($1::int8[], $2::text[], $3::timestamptz[]) AS t(n, vehicle_id, occurred_at)
        CROSS JOIN LATERAL (
            SELECT p.lat, p.lon, p.trip_id, p.route_id
            FROM vehicle_positions p
            WHERE p.recorded_at >= $4 AND p.recorded_at <= $5
              AND p.vehicle_id = t.vehicle_id
              AND p.recorded_at BETWEEN t.occurred_at - make_interval(secs => $6)
                                    AND t.occurred_at + make_interval(secs => $6)
            ORDER BY abs(extract(epoch FROM p.recorded_at - t.occurred_at))
            LIMIT 1
        ) p
        "#,
    )
    .bind(unplaced.iter().map(|&i| i as i64).collect::<Vec<_>>())
    .bind(
        unplaced
            .iter()
            .map(|&i| taps[i].vehicle_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(unplaced.iter().map(|&i| taps[i].at).collect::<Vec<_>>())
    .bind(from - window)
    .bind(to + window)
    .bind(window_s)
    // As above: a plan for this period's chunks, never a generic one.
    .persistent(false)
    .fetch_all(pool)
    .await?;
    for r in rows {
        let n: i64 = r.try_get("n")?;
        if let Some(tap) = usize::try_from(n).ok().and_then(|n| taps.get_mut(n)) {
            tap.position = Some(PositionAt {
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
                trip_id: r.try_get("trip_id")?,
                route_id: r.try_get("route_id")?,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + s, 0).unwrap()
    }

    fn visit(stop: &str, arrival: i64, left: i64) -> VisitRow {
        VisitRow {
            vehicle_id: "tram-101".into(),
            actual_arrival: t(arrival),
            left_at: t(left),
            stop_id: stop.into(),
            stop_sequence: 1,
            route_id: None,
            trip_id: "t".into(),
            direction_id: None,
        }
    }

    #[test]
    fn a_tap_is_held_by_the_latest_visit_around_it_at_its_own_stop() {
        let visits = [
            visit("a", 0, 30),
            visit("b", 100, 130),
            visit("c", 200, 230),
            visit("d", 5000, 5030),
        ];
        let margin = seconds(20.0);
        let at = |s: i64, stop: Option<&str>| {
            visit_at(&visits, t(s), stop, margin).map(|v| v.stop_id.as_str())
        };
        assert_eq!(at(115, None), Some("b"));
        // Within the margin before the arrival and after the departure.
        assert_eq!(at(85, None), Some("b"));
        assert_eq!(at(145, None), Some("b"));
        // Between stops, beyond the margins: none.
        assert_eq!(at(165, None), None);
        // Where margins overlap, the latest visit; a tap naming its stop
        // takes that stop's.
        let close = [visit("a", 0, 30), visit("b", 45, 60)];
        assert_eq!(
            visit_at(&close, t(40), None, margin).map(|v| v.stop_id.as_str()),
            Some("b")
        );
        assert_eq!(
            visit_at(&close, t(40), Some("a"), margin).map(|v| v.stop_id.as_str()),
            Some("a")
        );
        assert_eq!(at(115, Some("x")), None);
        // A visit begun more than the longest dwell before is not looked at,
        // however long it was left open.
        let long = [visit("a", 0, 10_000)];
        assert_eq!(
            visit_at(&long, t(3000), None, margin).map(|v| v.stop_id.as_str()),
            Some("a")
        );
        assert!(visit_at(&long, t(3700), None, margin).is_none());
    }
}
