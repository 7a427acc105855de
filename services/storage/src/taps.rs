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

/// Approved and offline-approved taps in `[from, to)`, by card, medium,
/// time, action and event id (the order pairing needs).
pub async fn approved_with_vicinity(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    vicinity: Vicinity,
) -> Result<Vec<StoredTap>, sqlx::Error> {
    let rows = sqlx::query(
        r#"
        SELECT t.event_id, t.occurred_at, t.vehicle_id, t.mode, t.action, t.card_hash,
               t.medium, t.brand, t.issuer_country, t.rider_category, t.num_riders,
               t.fare_yen, t.stop_id, t.route_id, t.trip_id,
               sv.stop_id AS sv_stop_id, sv.stop_sequence AS sv_stop_sequence,
               sv.route_id AS sv_route_id, sv.trip_id AS sv_trip_id,
               sv.direction_id AS sv_direction_id,
               pos.lat AS pos_lat, pos.lon AS pos_lon, pos.trip_id AS pos_trip_id,
               pos.route_id AS pos_route_id
        FROM taps t
        LEFT JOIN LATERAL (
            SELECT s.stop_id, s.stop_sequence, s.route_id, s.trip_id, s.direction_id
            FROM stop_visits s
            WHERE s.vehicle_id = t.vehicle_id
              AND s.actual_arrival <= t.occurred_at + make_interval(secs => $3)
              AND coalesce(s.actual_departure, s.actual_arrival) + make_interval(secs => $3) >= t.occurred_at
              AND (t.stop_id IS NULL OR s.stop_id = t.stop_id)
            ORDER BY s.actual_arrival DESC
            LIMIT 1
        ) sv ON true
        LEFT JOIN LATERAL (
            SELECT p.lat, p.lon, p.trip_id, p.route_id
            FROM vehicle_positions p
            WHERE t.stop_id IS NULL AND sv.stop_id IS NULL
              AND p.vehicle_id = t.vehicle_id
              AND p.recorded_at BETWEEN t.occurred_at - make_interval(secs => $4)
                                    AND t.occurred_at + make_interval(secs => $4)
            ORDER BY abs(extract(epoch FROM p.recorded_at - t.occurred_at))
            LIMIT 1
        ) pos ON true
        WHERE t.occurred_at >= $1 AND t.occurred_at < $2
          AND t.result IN ('approved', 'offline_approved')
        ORDER BY t.card_hash, t.medium, t.occurred_at, t.action, t.event_id
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(vicinity.stop_visit_margin_s)
    .bind(vicinity.position_window_s)
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
        let position = match (
            r.try_get::<Option<f64>, _>("pos_lat")?,
            r.try_get::<Option<f64>, _>("pos_lon")?,
        ) {
            (Some(lat), Some(lon)) => Some(PositionAt {
                lat,
                lon,
                trip_id: r.try_get("pos_trip_id")?,
                route_id: r.try_get("pos_route_id")?,
            }),
            _ => None,
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
            position,
        });
    }
    Ok(taps)
}
