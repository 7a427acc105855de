//! Rides from taps, rebuilt one service date (JST calendar date of the
//! boarding) at a time.
//!
//! Rules (also in the crate README):
//! * Only approved and offline-approved taps count; declined and deny-listed
//!   taps are never rides.
//! * A tap on opens a ride for its card (card_hash + medium). The next tap off
//!   of that card on the same vehicle or the same trip, after the tap on and
//!   within `pair_window_min`, closes it. A second tap on before any tap off
//!   leaves the first ride without a destination (kept, alight unknown); a tap
//!   off that closes nothing is ignored.
//! * A tap on a tram at 郡元 or 高見馬場 within `transfer_window_min` after the
//!   same card tapped off there from the other tram line is a free transfer:
//!   a boarding (in boardings, OD and load) but not a new use and no fare
//!   toward the cap.
//! * num_riders > 1: the ride stands for that many riders in every count; it
//!   is one fare toward the cap.
//! * A tap without a stop gets the stop its vehicle was at: the stop visit of
//!   the vehicle with arrival − margin ≤ tap ≤ departure + margin (latest
//!   arrival first), else the active feed's stop nearest to the vehicle's
//!   position closest in time (within the window and distance configured).
//!
//! Dates are recomputed whole (delete, insert, rollups) in one transaction,
//! so recomputing twice changes nothing; a trigger on `taps` marks the dates
//! that new or late taps touch.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::{day_type, transit_service_day, transit_service_day_start};
use sqlx::{PgPool, Row};
use tracing::info;

use crate::config::RidesConfig;
use crate::error::IndicatorError;
use crate::rollups;

/// A tap as read for pairing, with its stop resolved.
#[derive(Debug, Clone)]
struct TapIn {
    event_id: String,
    at: DateTime<Utc>,
    vehicle_id: String,
    mode: String,
    on: bool,
    card_hash: Vec<u8>,
    medium: String,
    brand: Option<String>,
    issuer_country: Option<String>,
    rider_category: String,
    num_riders: i16,
    fare_yen: i32,
    stop_id: Option<String>,
    stop_sequence: Option<i32>,
    stop_source: String,
    route_id: Option<String>,
    trip_id: Option<String>,
    direction_id: Option<i16>,
}

/// A derived ride, as stored in `rides`.
#[derive(Debug, Clone)]
pub struct Ride {
    pub ride_id: String,
    pub service_date: NaiveDate,
    pub board_at: DateTime<Utc>,
    pub alight_at: Option<DateTime<Utc>>,
    pub off_event_id: Option<String>,
    pub card_hash: Vec<u8>,
    pub medium: String,
    pub brand: Option<String>,
    pub issuer_country: Option<String>,
    pub rider_category: String,
    pub num_riders: i16,
    pub fare_yen: i32,
    pub mode: String,
    pub vehicle_id: String,
    pub route_id: Option<String>,
    pub trip_id: Option<String>,
    pub direction_id: Option<i16>,
    pub board_stop_id: Option<String>,
    pub board_stop_sequence: Option<i32>,
    pub board_stop_source: String,
    pub alight_stop_id: Option<String>,
    pub alight_stop_sequence: Option<i32>,
    pub transfer: bool,
}

/// What one recompute did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateOutcome {
    pub rides: usize,
    pub transfers: usize,
    pub not_tapped_off: usize,
}

/// Recomputes every date marked dirty; returns the dates done and their outcome.
pub async fn refresh_dirty(
    pool: &PgPool,
    config: &RidesConfig,
) -> Result<Vec<(NaiveDate, DateOutcome)>, IndicatorError> {
    let marks: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT service_date, generation FROM indicator_dirty_dates ORDER BY service_date",
    )
    .fetch_all(pool)
    .await?;
    let mut done = Vec::new();
    for (date, generation) in marks {
        let outcome = recompute_date(pool, config, date).await?;
        sqlx::query(
            "DELETE FROM indicator_dirty_dates WHERE service_date = $1 AND generation = $2",
        )
        .bind(date)
        .bind(generation)
        .execute(pool)
        .await?;
        info!(%date, rides = outcome.rides, transfers = outcome.transfers, "rides recomputed");
        done.push((date, outcome));
    }
    Ok(done)
}

/// How many service dates wait for a refresh.
pub async fn dirty_count(pool: &PgPool) -> Result<i64, IndicatorError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM indicator_dirty_dates")
            .fetch_one(pool)
            .await?,
    )
}

/// Marks every date from `from` to `to` dirty (for `refresh --from --to`).
pub async fn mark_dirty(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), IndicatorError> {
    sqlx::query(
        "INSERT INTO indicator_dirty_dates (service_date, generation)
         SELECT d::date, nextval('indicator_dirty_generation')
         FROM generate_series($1::date, $2::date, INTERVAL '1 day') AS d
         ON CONFLICT (service_date) DO UPDATE SET generation = EXCLUDED.generation",
    )
    .bind(from)
    .bind(to)
    .execute(pool)
    .await?;
    Ok(())
}

/// Rebuilds the rides and rollups of one service date.
pub async fn recompute_date(
    pool: &PgPool,
    config: &RidesConfig,
    date: NaiveDate,
) -> Result<DateOutcome, IndicatorError> {
    // Rides follow the timetable's service day (03:00 to 03:00 JST), so a
    // ride belongs to the trip that carried it: see kagoshima_domain::calendar.
    let day_start = transit_service_day_start(date);
    let day_end = day_start + Duration::days(1);
    let read_from = day_start - Duration::minutes(config.transfer_window_min.max(0) + 60);
    let read_to = day_end + Duration::minutes(config.pair_window_min.max(0));
    let taps = load_taps(pool, config, read_from, read_to).await?;
    let groups = transfer_groups(pool, config).await?;
    let rides = pair(&taps, config, &groups, day_start, day_end);
    let outcome = DateOutcome {
        rides: rides.len(),
        transfers: rides.iter().filter(|r| r.transfer).count(),
        not_tapped_off: rides.iter().filter(|r| r.alight_at.is_none()).count(),
    };
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM rides WHERE service_date = $1")
        .bind(date)
        .execute(&mut *tx)
        .await?;
    insert_rides(&mut tx, &rides).await?;
    let timescale: bool = sqlx::query_scalar("SELECT kagoshima_timescale_enabled()")
        .fetch_one(&mut *tx)
        .await?;
    rollups::rebuild_tables(&mut tx, date, timescale).await?;
    tx.commit().await?;
    if timescale {
        rollups::refresh_continuous(pool, day_start, day_end).await?;
    }
    Ok(outcome)
}

/// Stop name group of each transfer stop id: the configured ids, plus the
/// active feed's stops whose names start with a configured name.
async fn transfer_groups(
    pool: &PgPool,
    config: &RidesConfig,
) -> Result<HashMap<String, String>, IndicatorError> {
    let mut groups: HashMap<String, String> = config
        .transfer_stop_ids
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.stop_id, s.name FROM network_stops s
         JOIN feed_versions f ON f.id = s.feed_version_id AND f.active
         WHERE s.stop_id IN (
             SELECT st.stop_id FROM network_stop_times st
             JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id
             JOIN network_routes r ON r.feed_version_id = t.feed_version_id AND r.route_id = t.route_id
             WHERE st.feed_version_id = f.id AND r.mode = 'tram')",
    )
    .fetch_all(pool)
    .await?;
    for (stop_id, name) in rows {
        if let Some(group) = config
            .transfer_stop_names
            .iter()
            .find(|n| name.starts_with(n.as_str()))
        {
            groups.insert(stop_id, group.clone());
        }
    }
    Ok(groups)
}

async fn load_taps(
    pool: &PgPool,
    config: &RidesConfig,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<TapIn>, IndicatorError> {
    // The stop, its sequence, the trip and its direction, from (in order) the
    // tap itself, the vehicle's stop visit at that moment, or its nearest
    // position's nearest stop.
    let rows = sqlx::query(
        r#"
        WITH fv AS (SELECT id FROM feed_versions WHERE active)
        SELECT t.event_id, t.occurred_at, t.vehicle_id, t.mode, t.action, t.card_hash,
               t.medium, t.brand, t.issuer_country, t.rider_category, t.num_riders,
               t.fare_yen,
               coalesce(t.stop_id, sv.stop_id, ps.stop_id) AS stop_id,
               CASE WHEN t.stop_id IS NOT NULL THEN 'tap'
                    WHEN sv.stop_id IS NOT NULL THEN 'stop_visit'
                    WHEN ps.stop_id IS NOT NULL THEN 'position'
                    ELSE 'unknown' END AS stop_source,
               coalesce(t.route_id, sv.route_id, ps.route_id, nt.route_id) AS route_id,
               coalesce(t.trip_id, sv.trip_id, ps.trip_id) AS trip_id,
               coalesce(sv.direction_id, nt.direction_id) AS direction_id,
               coalesce(CASE WHEN sv.stop_id = coalesce(t.stop_id, sv.stop_id) THEN sv.stop_sequence END,
                        seq.stop_sequence) AS stop_sequence
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
        LEFT JOIN LATERAL (
            SELECT x.stop_id, pos.trip_id, pos.route_id FROM (
                SELECT ns.stop_id,
                       6371000 * sqrt(power(radians(ns.lat - pos.lat), 2)
                           + power(radians(ns.lon - pos.lon) * cos(radians(pos.lat)), 2)) AS dist
                FROM network_stops ns, fv
                WHERE ns.feed_version_id = fv.id AND ns.lat IS NOT NULL AND ns.location_type = 0
            ) x
            WHERE pos.lat IS NOT NULL AND x.dist <= $5
            ORDER BY x.dist
            LIMIT 1
        ) ps ON true
        LEFT JOIN LATERAL (
            SELECT tr.route_id, tr.direction_id FROM network_trips tr, fv
            WHERE tr.feed_version_id = fv.id AND tr.trip_id = coalesce(t.trip_id, sv.trip_id, ps.trip_id)
        ) nt ON true
        LEFT JOIN LATERAL (
            SELECT min(st.stop_sequence) AS stop_sequence FROM network_stop_times st, fv
            WHERE st.feed_version_id = fv.id
              AND st.trip_id = coalesce(t.trip_id, sv.trip_id, ps.trip_id)
              AND st.stop_id = coalesce(t.stop_id, sv.stop_id, ps.stop_id)
        ) seq ON true
        WHERE t.occurred_at >= $1 AND t.occurred_at < $2
          AND t.result IN ('approved', 'offline_approved')
        ORDER BY t.card_hash, t.medium, t.occurred_at, t.action, t.event_id
        "#,
    )
    .bind(from)
    .bind(to)
    .bind(config.stop_visit_margin_s as f64)
    .bind(config.position_window_s as f64)
    .bind(config.max_stop_distance_m)
    .fetch_all(pool)
    .await?;
    let mut taps = Vec::with_capacity(rows.len());
    for r in rows {
        let action: String = r.try_get("action")?;
        taps.push(TapIn {
            event_id: r.try_get("event_id")?,
            at: r.try_get("occurred_at")?,
            vehicle_id: r.try_get("vehicle_id")?,
            mode: r.try_get("mode")?,
            on: action == "on",
            card_hash: r.try_get("card_hash")?,
            medium: r.try_get("medium")?,
            brand: r.try_get("brand")?,
            issuer_country: r.try_get("issuer_country")?,
            rider_category: r.try_get("rider_category")?,
            num_riders: r.try_get("num_riders")?,
            fare_yen: r.try_get("fare_yen")?,
            stop_id: r.try_get("stop_id")?,
            stop_sequence: r.try_get("stop_sequence")?,
            stop_source: r.try_get("stop_source")?,
            route_id: r.try_get("route_id")?,
            trip_id: r.try_get("trip_id")?,
            direction_id: r.try_get("direction_id")?,
        });
    }
    Ok(taps)
}

fn same_journey(on: &TapIn, off: &TapIn) -> bool {
    on.vehicle_id == off.vehicle_id
        || matches!((&on.trip_id, &off.trip_id), (Some(a), Some(b)) if a == b)
}

/// Pairs taps (sorted by card, medium, time) into rides boarding in
/// `[day_start, day_end)`.
fn pair(
    taps: &[TapIn],
    config: &RidesConfig,
    groups: &HashMap<String, String>,
    day_start: DateTime<Utc>,
    day_end: DateTime<Utc>,
) -> Vec<Ride> {
    let window = Duration::minutes(config.pair_window_min);
    let transfer_window = Duration::minutes(config.transfer_window_min);
    let mut by_card: BTreeMap<(&[u8], &str), Vec<&TapIn>> = BTreeMap::new();
    for t in taps {
        by_card
            .entry((t.card_hash.as_slice(), t.medium.as_str()))
            .or_default()
            .push(t);
    }
    let mut rides = Vec::new();
    for card_taps in by_card.values() {
        // Rides of this card in time order (including those boarding before
        // the day, needed to recognise transfers just after midnight).
        let mut card_rides: Vec<Ride> = Vec::new();
        let mut open: Option<usize> = None;
        for tap in card_taps {
            if tap.on {
                let transfer = card_rides
                    .last()
                    .is_some_and(|prev| is_transfer(prev, tap, groups, transfer_window));
                card_rides.push(ride_from_on(tap, transfer));
                open = Some(card_rides.len() - 1);
            } else if let Some(i) = open {
                let ride = &mut card_rides[i];
                let on = card_taps
                    .iter()
                    .find(|t| t.event_id == ride.ride_id)
                    .expect("the open ride's tap on");
                if tap.at >= ride.board_at
                    && tap.at - ride.board_at <= window
                    && same_journey(on, tap)
                {
                    ride.alight_at = Some(tap.at);
                    ride.off_event_id = Some(tap.event_id.clone());
                    ride.alight_stop_id = tap.stop_id.clone();
                    ride.alight_stop_sequence = tap.stop_sequence;
                    if ride.route_id.is_none() {
                        ride.route_id = tap.route_id.clone();
                    }
                    if ride.trip_id.is_none() {
                        ride.trip_id = tap.trip_id.clone();
                    }
                    if ride.direction_id.is_none() {
                        ride.direction_id = tap.direction_id;
                    }
                    open = None;
                }
            }
        }
        rides.extend(
            card_rides
                .into_iter()
                .filter(|r| r.board_at >= day_start && r.board_at < day_end),
        );
    }
    rides.sort_by(|a, b| a.board_at.cmp(&b.board_at).then(a.ride_id.cmp(&b.ride_id)));
    rides
}

fn is_transfer(
    prev: &Ride,
    on: &TapIn,
    groups: &HashMap<String, String>,
    window: Duration,
) -> bool {
    if prev.mode != "tram" || on.mode != "tram" {
        return false;
    }
    let (Some(alight_at), Some(alight_stop), Some(board_stop)) = (
        prev.alight_at,
        prev.alight_stop_id.as_ref(),
        on.stop_id.as_ref(),
    ) else {
        return false;
    };
    let (Some(g_off), Some(g_on)) = (groups.get(alight_stop), groups.get(board_stop)) else {
        return false;
    };
    let other_line = match (&prev.route_id, &on.route_id) {
        (Some(a), Some(b)) => a != b,
        _ => prev.vehicle_id != on.vehicle_id,
    };
    g_off == g_on && other_line && on.at >= alight_at && on.at - alight_at <= window
}

fn ride_from_on(tap: &TapIn, transfer: bool) -> Ride {
    let date = transit_service_day(tap.at);
    Ride {
        ride_id: tap.event_id.clone(),
        service_date: date,
        board_at: tap.at,
        alight_at: None,
        off_event_id: None,
        card_hash: tap.card_hash.clone(),
        medium: tap.medium.clone(),
        brand: tap.brand.clone(),
        issuer_country: tap.issuer_country.clone(),
        rider_category: tap.rider_category.clone(),
        num_riders: tap.num_riders,
        fare_yen: tap.fare_yen,
        mode: tap.mode.clone(),
        vehicle_id: tap.vehicle_id.clone(),
        route_id: tap.route_id.clone(),
        trip_id: tap.trip_id.clone(),
        direction_id: tap.direction_id,
        board_stop_id: tap.stop_id.clone(),
        board_stop_sequence: tap.stop_sequence,
        board_stop_source: tap.stop_source.clone(),
        alight_stop_id: None,
        alight_stop_sequence: None,
        transfer,
    }
}

async fn insert_rides(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    rides: &[Ride],
) -> Result<(), IndicatorError> {
    for chunk in rides.chunks(5000) {
        macro_rules! col {
            ($f:ident) => {
                chunk.iter().map(|r| r.$f.clone()).collect::<Vec<_>>()
            };
        }
        let day_types: Vec<String> = chunk
            .iter()
            .map(|r| day_type(r.service_date).as_str().to_owned())
            .collect();
        sqlx::query(
            "INSERT INTO rides (ride_id, service_date, day_type, board_at, alight_at, off_event_id,
                card_hash, medium, brand, issuer_country, rider_category, num_riders, fare_yen,
                mode, vehicle_id, route_id, trip_id, direction_id, board_stop_id,
                board_stop_sequence, board_stop_source, alight_stop_id, alight_stop_sequence, transfer)
             SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::timestamptz[],
                $5::timestamptz[], $6::text[], $7::bytea[], $8::text[], $9::text[], $10::text[],
                $11::text[], $12::smallint[], $13::int[], $14::text[], $15::text[], $16::text[],
                $17::text[], $18::smallint[], $19::text[], $20::int[], $21::text[], $22::text[],
                $23::int[], $24::bool[])",
        )
        .bind(col!(ride_id))
        .bind(col!(service_date))
        .bind(day_types)
        .bind(col!(board_at))
        .bind(col!(alight_at))
        .bind(col!(off_event_id))
        .bind(col!(card_hash))
        .bind(col!(medium))
        .bind(col!(brand))
        .bind(col!(issuer_country))
        .bind(col!(rider_category))
        .bind(col!(num_riders))
        .bind(col!(fare_yen))
        .bind(col!(mode))
        .bind(col!(vehicle_id))
        .bind(col!(route_id))
        .bind(col!(trip_id))
        .bind(col!(direction_id))
        .bind(col!(board_stop_id))
        .bind(col!(board_stop_sequence))
        .bind(col!(board_stop_source))
        .bind(col!(alight_stop_id))
        .bind(col!(alight_stop_sequence))
        .bind(col!(transfer))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
