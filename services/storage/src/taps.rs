//! Reading `taps` back, with what storage knows of where each vehicle was
//! (its stop visit at that moment, else its position nearest in time), for
//! pairing taps into rides.
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
/// In two steps: the taps with their stop visits, then, for the few taps
/// with neither a stop nor a visit, the nearest positions. One query with a
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
    let margin = chrono::Duration::milliseconds((vicinity.stop_visit_margin_s * 1000.0) as i64);
    // Stop visits are partitioned by service date: bound them by dates so
    // that only the period's chunks are scanned.
    let first_day = kagoshima_domain::calendar::transit_service_day(from - margin)
        .pred_opt()
        .unwrap_or(chrono::NaiveDate::MIN);
    let last_day = kagoshima_domain::calendar::transit_service_day(to + margin)
        .succ_opt()
        .unwrap_or(chrono::NaiveDate::MAX);
    let rows = sqlx::query(
        r#"
        SELECT t.event_id, t.occurred_at, t.vehicle_id, t.mode, t.action, t.card_hash,
               t.medium, t.brand, t.issuer_country, t.rider_category, t.num_riders,
               t.fare_yen, t.stop_id, t.route_id, t.trip_id,
               sv.stop_id AS sv_stop_id, sv.stop_sequence AS sv_stop_sequence,
               sv.route_id AS sv_route_id, sv.trip_id AS sv_trip_id,
               sv.direction_id AS sv_direction_id
        FROM taps t
        LEFT JOIN LATERAL (
            SELECT s.stop_id, s.stop_sequence, s.route_id, s.trip_id, s.direction_id
            FROM stop_visits s
            WHERE s.service_date BETWEEN $4 AND $5
              AND s.vehicle_id = t.vehicle_id
              AND s.actual_arrival <= t.occurred_at + make_interval(secs => $3)
              AND s.actual_arrival >= t.occurred_at - make_interval(secs => $3 + $6)
              AND coalesce(s.actual_departure, s.actual_arrival) + make_interval(secs => $3) >= t.occurred_at
              AND (t.stop_id IS NULL OR s.stop_id = t.stop_id)
            ORDER BY s.actual_arrival DESC
            LIMIT 1
        ) sv ON true
        WHERE t.occurred_at >= $1 AND t.occurred_at < $2
          AND t.result IN ('approved', 'offline_approved')
        ORDER BY t.card_hash, t.medium, t.occurred_at, t.action, t.event_id
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(vicinity.stop_visit_margin_s)
    .bind(first_day)
    .bind(last_day)
    .bind(LONGEST_DWELL_S)
    // Planned for each day's own dates and times: after five executions on
    // one connection PostgreSQL may switch a prepared statement to a generic
    // plan that no longer knows which chunks and times a day needs (9 s a day
    // instead of 0.5 s with a month loaded on TimescaleDB).
    .persistent(false)
    .fetch_all(pool)
    .await?;
    let mut taps = Vec::with_capacity(rows.len());
    for r in rows {
        let action: String = r.try_get("action")?;
        let visit = match r.try_get::<Option<String>, _>("sv_stop_id")? {
            Some(stop_id) => Some(VisitAt {
                stop_id,
                stop_sequence: r.try_get("sv_stop_sequence")?,
                route_id: r.try_get("sv_route_id")?,
                trip_id: r.try_get("sv_trip_id")?,
                direction_id: r.try_get("sv_direction_id")?,
            }),
            None => None,
        };
        taps.push(StoredTap {
            event_id: r.try_get("event_id")?,
            at: r.try_get("occurred_at")?,
            vehicle_id: r.try_get("vehicle_id")?,
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
            stop_id: r.try_get("stop_id")?,
            route_id: r.try_get("route_id")?,
            trip_id: r.try_get("trip_id")?,
            visit,
            position: None,
        });
    }
    add_nearest_positions(pool, &mut taps, from, to, vicinity.position_window_s).await?;
    Ok(taps)
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
