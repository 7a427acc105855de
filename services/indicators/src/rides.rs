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
use kagoshima_domain::fields::TapAction;
use kagoshima_network::read::schedule::{self, TripIndex};
use kagoshima_storage::taps::{StoredTap, Vicinity};
use sqlx::PgPool;
use tracing::info;

use crate::config::RidesConfig;
use crate::error::IndicatorError;
use crate::rollups;

/// A tap as read for pairing, placed on the network: its `stop_id`,
/// `route_id` and `trip_id` are the resolved ones (see [`placed`]).
#[derive(Debug, Clone)]
struct TapIn {
    tap: StoredTap,
    stop_sequence: Option<i32>,
    /// Where the stop came from: tap, stop_visit, position or unknown.
    stop_source: &'static str,
    direction_id: Option<i16>,
}

impl std::ops::Deref for TapIn {
    type Target = StoredTap;
    fn deref(&self) -> &StoredTap {
        &self.tap
    }
}

impl TapIn {
    fn is_on(&self) -> bool {
        self.tap.action == TapAction::On
    }
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
    if marks.is_empty() {
        return Ok(done);
    }
    // The network's part, read once for every date of the refresh.
    let index = TripIndex::active(pool).await?;
    let groups = transfer_groups(pool, config).await?;
    for (date, generation) in marks {
        let outcome = recompute_with(pool, config, &index, &groups, date).await?;
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
    let index = TripIndex::active(pool).await?;
    let groups = transfer_groups(pool, config).await?;
    recompute_with(pool, config, &index, &groups, date).await
}

async fn recompute_with(
    pool: &PgPool,
    config: &RidesConfig,
    index: &TripIndex,
    groups: &HashMap<String, String>,
    date: NaiveDate,
) -> Result<DateOutcome, IndicatorError> {
    // Rides follow the timetable's service day (03:00 to 03:00 JST), so a
    // ride belongs to the trip that carried it: see kagoshima_domain::calendar.
    let day_start = transit_service_day_start(date);
    let day_end = day_start + Duration::days(1);
    let read_from = day_start - Duration::minutes(config.transfer_window_min.max(0) + 60);
    let read_to = day_end + Duration::minutes(config.pair_window_min.max(0));
    let vicinity = Vicinity {
        stop_visit_margin_s: config.stop_visit_margin_s as f64,
        position_window_s: config.position_window_s as f64,
    };
    let taps: Vec<TapIn> =
        kagoshima_storage::taps::approved_with_vicinity(pool, read_from, read_to, vicinity)
            .await?
            .into_iter()
            .map(|t| placed(t, index, config.max_stop_distance_m))
            .collect();
    let rides = pair(&taps, config, groups, day_start, day_end);
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
    rollups::rebuild_tables(&mut tx, date, &rollups::loads(&rides, index), timescale).await?;
    stamp_recomputed(&mut *tx, date).await?;
    tx.commit().await?;
    if timescale {
        rollups::refresh_continuous(pool, day_start, day_end).await?;
        // Again once the continuous aggregates hold the date: a count cached
        // between the commit and the refresh read the old rollups.
        stamp_recomputed(pool, date).await?;
    }
    Ok(outcome)
}

/// Invalidates every cached count covering `date` (figures::distinct_cards,
/// daily_sums).
async fn stamp_recomputed<'e>(
    db: impl sqlx::PgExecutor<'e>,
    date: NaiveDate,
) -> Result<(), IndicatorError> {
    sqlx::query(
        "INSERT INTO rides_recomputed (service_date, recomputed_at) VALUES ($1, clock_timestamp())
         ON CONFLICT (service_date) DO UPDATE SET recomputed_at = EXCLUDED.recomputed_at",
    )
    .bind(date)
    .execute(db)
    .await?;
    Ok(())
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
    let rows = schedule::stops_of_mode(pool, "tram").await?;
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

/// A stored tap placed on the network: its stop, sequence, trip and
/// direction from (in order) the tap itself, the vehicle's stop visit at that
/// moment, or the stop nearest to its position closest in time.
fn placed(t: StoredTap, index: &TripIndex, max_stop_distance_m: f64) -> TapIn {
    let near = t
        .position
        .as_ref()
        .and_then(|p| index.nearest_stop(p.lat, p.lon, max_stop_distance_m));
    let visit = t.visit.as_ref();
    let stop_id = t
        .stop_id
        .clone()
        .or_else(|| visit.map(|v| v.stop_id.clone()))
        .or_else(|| near.map(str::to_owned));
    let stop_source = match (&t.stop_id, visit, near) {
        (Some(_), _, _) => "tap",
        (None, Some(_), _) => "stop_visit",
        (None, None, Some(_)) => "position",
        _ => "unknown",
    };
    // A position's trip and route count only when it placed the tap at a stop.
    let position = t.position.as_ref().filter(|_| near.is_some());
    let trip_id = t
        .trip_id
        .clone()
        .or_else(|| visit.map(|v| v.trip_id.clone()))
        .or_else(|| position.and_then(|p| p.trip_id.clone()));
    let scheduled = trip_id.as_deref().and_then(|trip| index.trip(trip));
    let route_id = t
        .route_id
        .clone()
        .or_else(|| visit.and_then(|v| v.route_id.clone()))
        .or_else(|| position.and_then(|p| p.route_id.clone()))
        .or_else(|| scheduled.map(|(route, _)| route.to_owned()));
    let direction_id = visit
        .and_then(|v| v.direction_id)
        .or_else(|| scheduled.and_then(|(_, direction)| direction));
    let stop_sequence = visit
        .map(|v| v.stop_sequence)
        .or_else(|| index.sequence_of(trip_id.as_deref()?, stop_id.as_deref()?));
    let mut tap = t;
    tap.stop_id = stop_id;
    tap.route_id = route_id;
    tap.trip_id = trip_id;
    TapIn {
        tap,
        stop_sequence,
        stop_source,
        direction_id,
    }
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
            if tap.is_on() {
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
        board_stop_source: tap.stop_source.to_owned(),
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

#[cfg(test)]
mod tests {
    use kagoshima_storage::taps::{PositionAt, VisitAt};

    use super::*;

    fn index() -> TripIndex {
        TripIndex::new(
            vec![
                ("tenmonkan".into(), 31.5910, 130.5555),
                ("izuro".into(), 31.5930, 130.5570),
            ],
            vec![("trip-1".into(), "route-2".into(), Some(1))],
            vec![
                ("trip-1".into(), 4, "tenmonkan".into()),
                ("trip-1".into(), 5, "izuro".into()),
            ],
        )
    }

    fn tap() -> StoredTap {
        StoredTap {
            event_id: "ev".into(),
            at: "2026-06-01T01:00:00Z".parse().unwrap(),
            vehicle_id: "tram-101".into(),
            mode: "tram".into(),
            action: TapAction::On,
            card_hash: vec![1; 32],
            medium: "card".into(),
            brand: None,
            issuer_country: None,
            rider_category: "adult".into(),
            num_riders: 1,
            fare_yen: 170,
            stop_id: None,
            route_id: None,
            trip_id: None,
            visit: None,
            position: None,
        }
    }

    #[test]
    fn a_tap_is_placed_by_its_own_stop_then_the_visit_then_the_position() {
        let ix = index();
        let mut own = tap();
        own.stop_id = Some("izuro".into());
        own.trip_id = Some("trip-1".into());
        let placed_own = placed(own, &ix, 300.0);
        assert_eq!(placed_own.stop_source, "tap");
        assert_eq!(placed_own.stop_sequence, Some(5));
        // The trip gives the route and direction the tap lacked.
        assert_eq!(placed_own.route_id.as_deref(), Some("route-2"));
        assert_eq!(placed_own.direction_id, Some(1));

        let mut visited = tap();
        visited.visit = Some(VisitAt {
            stop_id: "tenmonkan".into(),
            stop_sequence: 4,
            route_id: Some("route-2".into()),
            trip_id: "trip-1".into(),
            direction_id: Some(1),
        });
        let v = placed(visited, &ix, 300.0);
        assert_eq!(
            (v.stop_source, v.stop_id.as_deref(), v.stop_sequence),
            ("stop_visit", Some("tenmonkan"), Some(4))
        );

        let mut near = tap();
        near.position = Some(PositionAt {
            lat: 31.5929,
            lon: 130.5570,
            trip_id: Some("trip-1".into()),
            route_id: None,
        });
        let p = placed(near, &ix, 300.0);
        assert_eq!(
            (p.stop_source, p.stop_id.as_deref(), p.stop_sequence),
            ("position", Some("izuro"), Some(5))
        );
        assert_eq!(p.trip_id.as_deref(), Some("trip-1"));
    }

    #[test]
    fn a_position_far_from_every_stop_places_nothing_not_even_its_trip() {
        let mut far = tap();
        far.position = Some(PositionAt {
            lat: 31.70,
            lon: 130.70,
            trip_id: Some("trip-1".into()),
            route_id: Some("route-2".into()),
        });
        let p = placed(far, &index(), 300.0);
        assert_eq!(p.stop_source, "unknown");
        assert_eq!(
            (
                p.stop_id.as_deref(),
                p.trip_id.as_deref(),
                p.route_id.as_deref()
            ),
            (None, None, None)
        );
    }
}
