//! What the indicators need of the active timetable: the trips' stops for
//! placing taps and loads ([`TripIndex`]), the stops a mode serves, and the
//! vehicles scheduled in service ([`vehicle_spans`]).
use std::collections::HashMap;

use sqlx::PgPool;

/// The active feed's trips and stops, held in memory while rides are built:
/// a tap's nearest stop, a trip's route and direction, and the stops a trip
/// calls at in order.
#[derive(Debug, Clone, Default)]
pub struct TripIndex {
    /// Stops (not stations) with coordinates: id, lat, lon.
    stops: Vec<(String, f64, f64)>,
    /// trip_id → (route_id, direction_id).
    trips: HashMap<String, (String, Option<i16>)>,
    /// trip_id → (stop_sequence, stop_id), by sequence.
    calls: HashMap<String, Vec<(i32, String)>>,
}

impl TripIndex {
    /// The active feed version's index; empty before the first import.
    pub async fn active(pool: &PgPool) -> Result<TripIndex, sqlx::Error> {
        let fv = crate::service_day::active_versions(pool).await?;
        let Some(_) = fv.first() else {
            return Ok(TripIndex::default());
        };
        let stops: Vec<(String, f64, f64)> = sqlx::query_as(
            "SELECT stop_id, lat, lon FROM network_stops
              WHERE feed_version_id = ANY($1) AND location_type = 0 AND lat IS NOT NULL AND lon IS NOT NULL
              ORDER BY stop_id",
        )
        .bind(&fv)
        .fetch_all(pool)
        .await?;
        let trips: Vec<(String, String, Option<i16>)> = sqlx::query_as(
            "SELECT trip_id, route_id, direction_id FROM network_trips WHERE feed_version_id = ANY($1)",
        )
        .bind(&fv)
        .fetch_all(pool)
        .await?;
        let rows: Vec<(String, i32, String)> = sqlx::query_as(
            "SELECT trip_id, stop_sequence, stop_id FROM network_stop_times
              WHERE feed_version_id = ANY($1)",
        )
        .bind(&fv)
        .fetch_all(pool)
        .await?;
        Ok(TripIndex::new(stops, trips, rows))
    }

    /// An index of stops `(id, lat, lon)`, trips `(id, route, direction)` and
    /// calls `(trip, stop_sequence, stop)`.
    pub fn new(
        stops: Vec<(String, f64, f64)>,
        trips: Vec<(String, String, Option<i16>)>,
        calls: Vec<(String, i32, String)>,
    ) -> TripIndex {
        let mut by_trip: HashMap<String, Vec<(i32, String)>> = HashMap::new();
        for (trip, seq, stop) in calls {
            by_trip.entry(trip).or_default().push((seq, stop));
        }
        for list in by_trip.values_mut() {
            list.sort();
        }
        TripIndex {
            stops,
            trips: trips
                .into_iter()
                .map(|(trip, route, direction)| (trip, (route, direction)))
                .collect(),
            calls: by_trip,
        }
    }

    /// The stop nearest to a place within `max_m` metres (equirectangular
    /// distance, exact enough at a few hundred metres); ties by stop id.
    pub fn nearest_stop(&self, lat: f64, lon: f64, max_m: f64) -> Option<&str> {
        let k = lat.to_radians().cos();
        self.stops
            .iter()
            .map(|(id, slat, slon)| {
                let dy = (slat - lat).to_radians();
                let dx = (slon - lon).to_radians() * k;
                (id, 6_371_000.0 * (dx * dx + dy * dy).sqrt())
            })
            .filter(|(_, d)| *d <= max_m)
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)))
            .map(|(id, _)| id.as_str())
    }

    /// A trip's route and direction.
    pub fn trip(&self, trip_id: &str) -> Option<(&str, Option<i16>)> {
        self.trips.get(trip_id).map(|(r, d)| (r.as_str(), *d))
    }

    /// The first sequence at which a trip calls at a stop.
    pub fn sequence_of(&self, trip_id: &str, stop_id: &str) -> Option<i32> {
        self.calls
            .get(trip_id)?
            .iter()
            .filter(|(_, s)| s == stop_id)
            .map(|(seq, _)| *seq)
            .min()
    }

    /// The calls of a trip from sequence `from` (included) to `to` (excluded):
    /// the stops a rider who boarded at `from` and alighted at `to` rode from.
    pub fn calls_between(
        &self,
        trip_id: &str,
        from: i32,
        to: i32,
    ) -> impl Iterator<Item = (i32, &str)> {
        self.calls
            .get(trip_id)
            .into_iter()
            .flatten()
            .filter(move |(seq, _)| *seq >= from && *seq < to)
            .map(|(seq, stop)| (*seq, stop.as_str()))
    }
}

/// The stops of the active feed that trips of `mode` call at: (id, name).
pub async fn stops_of_mode(
    pool: &PgPool,
    mode: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        // Per stop, one call by a trip of the mode is enough (an index probe
        // each), rather than joining every stop time of the feed.
        "SELECT s.stop_id, s.name FROM network_stops s
         JOIN feed_versions f ON f.id = s.feed_version_id AND f.active
         WHERE EXISTS (
             SELECT 1 FROM network_stop_times st
             JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id
             JOIN network_routes r ON r.feed_version_id = t.feed_version_id AND r.route_id = t.route_id
             WHERE st.feed_version_id = f.id AND st.stop_id = s.stop_id AND r.mode = $1)",
    )
    .bind(mode)
    .fetch_all(pool)
    .await
}

/// Whether the active feed has a route with this id.
pub async fn active_route_exists(pool: &PgPool, route_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM network_routes nr JOIN feed_versions fv
             ON fv.id = nr.feed_version_id AND fv.active WHERE nr.route_id = $1)",
    )
    .bind(route_id)
    .fetch_one(pool)
    .await
}

/// The short and long names (as in the feed, empty when absent) of the
/// active feed's routes among `route_ids`: (id, short, long).
pub async fn route_names(
    pool: &PgPool,
    route_ids: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT nr.route_id, coalesce(nr.short_name, ''), coalesce(nr.long_name, '')
         FROM network_routes nr JOIN feed_versions fv ON fv.id = nr.feed_version_id AND fv.active
         WHERE nr.route_id = ANY($1)",
    )
    .bind(route_ids)
    .fetch_all(pool)
    .await
}

/// One trip's time in service, for counting the vehicles scheduled.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VehicleSpan {
    /// The vehicle that runs it: its block, or `trip:<trip_id>` without one.
    pub vehicle: String,
    pub mode: String,
    /// First departure and last arrival, GTFS seconds of the service day.
    pub first_s: i64,
    pub last_s: i64,
}

/// The trips of the active feed on `service_ids` of the given modes, with
/// the vehicle each takes and its first and last time.
pub async fn vehicle_spans(
    pool: &PgPool,
    service_ids: &[String],
    modes: &[String],
) -> Result<Vec<VehicleSpan>, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(t.block_id, 'trip:' || t.trip_id) AS vehicle, r.mode,
                min(coalesce(st.departure_s, st.arrival_s))::bigint AS first_s,
                max(coalesce(st.arrival_s, st.departure_s))::bigint AS last_s
           FROM network_trips t
           JOIN feed_versions fv ON fv.id = t.feed_version_id AND fv.active
           JOIN network_routes r ON r.feed_version_id = t.feed_version_id AND r.route_id = t.route_id
           JOIN network_stop_times st ON st.feed_version_id = t.feed_version_id AND st.trip_id = t.trip_id
          WHERE t.service_id = ANY($1) AND r.mode = ANY($2)
          GROUP BY t.trip_id, t.block_id, r.mode
          ORDER BY vehicle, first_s",
    )
    .bind(service_ids)
    .bind(modes)
    .fetch_all(pool)
    .await
}

/// The services of the active feed running on `date` (the holiday rule of
/// [`crate::service_day`]); empty before the first import.
pub async fn services_on(
    pool: &PgPool,
    date: chrono::NaiveDate,
) -> Result<crate::ServiceDay, sqlx::Error> {
    match crate::service_day::active_versions(pool).await? {
        fv if !fv.is_empty() => crate::service_day::services_on_all(pool, &fv, date).await,
        _ => Ok(crate::ServiceDay::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> TripIndex {
        TripIndex::new(
            vec![("a".into(), 31.590, 130.560), ("b".into(), 31.591, 130.560)],
            vec![("t1".into(), "r1".into(), Some(0))],
            vec![
                ("t1".into(), 3, "a".into()),
                ("t1".into(), 1, "a".into()),
                ("t1".into(), 2, "b".into()),
            ],
        )
    }

    #[test]
    fn the_nearest_stop_is_within_the_limit() {
        let ix = index();
        // 0.0009° north of a is ~100 m from a and ~11 m from b.
        assert_eq!(ix.nearest_stop(31.5909, 130.560, 50.0), Some("b"));
        assert_eq!(ix.nearest_stop(31.5800, 130.560, 200.0), None);
    }

    #[test]
    fn a_loop_trip_takes_its_first_call_and_rides_between_calls() {
        let ix = index();
        assert_eq!(ix.sequence_of("t1", "a"), Some(1));
        assert_eq!(ix.sequence_of("t1", "x"), None);
        let rode: Vec<_> = ix.calls_between("t1", 1, 3).collect();
        assert_eq!(rode, vec![(1, "a"), (2, "b")]);
        assert_eq!(ix.trip("t1"), Some(("r1", Some(0))));
    }
}

/// The .txt files (name → bytes) of the city's own active feed (feed ID
/// empty) as published; `None` when it was imported before the platform
/// kept them (import it again).
pub async fn active_feed_files(
    pool: &PgPool,
) -> Result<Option<std::collections::BTreeMap<String, Vec<u8>>>, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT f.name, f.content
           FROM network_feed_files f
           JOIN feed_versions fv ON fv.id = f.feed_version_id AND fv.active AND fv.feed_id = ''",
    )
    .fetch_all(pool)
    .await?;
    Ok((!rows.is_empty()).then(|| rows.into_iter().collect()))
}

/// The names of the active feeds' stops among `stop_ids`: (id, name).
pub async fn stop_names(
    pool: &PgPool,
    stop_ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT DISTINCT ON (ns.stop_id) ns.stop_id, ns.name
           FROM network_stops ns JOIN feed_versions fv ON fv.id = ns.feed_version_id AND fv.active
          WHERE ns.stop_id = ANY($1)
          ORDER BY ns.stop_id, fv.id DESC",
    )
    .bind(stop_ids)
    .fetch_all(pool)
    .await
}

/// A trip of the active feeds with its first departure.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TripDeparture {
    pub trip_id: String,
    pub route_id: String,
    pub direction_id: i16,
    pub service_id: String,
    /// GTFS seconds of the service day.
    pub departure_s: i32,
}

/// Every trip of the active feeds on `route_ids` with its first departure.
pub async fn trip_departures(
    pool: &PgPool,
    route_ids: &[String],
) -> Result<Vec<TripDeparture>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.trip_id, t.route_id, coalesce(t.direction_id, 0)::int2 AS direction_id,
                t.service_id, min(coalesce(st.departure_s, st.arrival_s)) AS departure_s
           FROM network_trips t
           JOIN feed_versions fv ON fv.id = t.feed_version_id AND fv.active
           JOIN network_stop_times st
             ON st.feed_version_id = t.feed_version_id AND st.trip_id = t.trip_id
          WHERE t.route_id = ANY($1)
          GROUP BY t.trip_id, t.route_id, t.direction_id, t.service_id
         HAVING min(coalesce(st.departure_s, st.arrival_s)) IS NOT NULL",
    )
    .bind(route_ids)
    .fetch_all(pool)
    .await
}
