//! Questions a passenger asks of the active feed version, one query each:
//! routes, stops and the routes serving them, stop search, nearest stops,
//! a stop's departures on a set of services, and a route's geometry. The
//! rows come back as stored; the passenger API turns them into its messages.
use sqlx::PgPool;

/// The stops where a rider at each of `$2` boards, as `calling (asked, fv,
/// stop_id)` over the active versions `$1`: the stop, the same-named stops
/// of other feeds within `$3` degrees (of latitude, see
/// [`same_place_degrees`]), and the platforms of any of them that is a
/// station (the station row itself stays: it has no stop times).
const CALLING: &str = "asked AS (
        SELECT s.stop_id AS asked, s.feed_version_id AS fv, s.stop_id, s.name, s.lat, s.lon
          FROM network_stops s WHERE s.feed_version_id = ANY($1) AND s.stop_id = ANY($2)),
    places AS (
        SELECT asked, fv, stop_id FROM asked
        UNION
        SELECT a.asked, o.feed_version_id, o.stop_id FROM asked a
          JOIN network_stops o ON o.feed_version_id = ANY($1) AND o.feed_version_id <> a.fv
           AND o.name = a.name AND o.parent_station IS NULL AND o.location_type IN (0, 1)
           AND power(o.lat - a.lat, 2) + power((o.lon - a.lon) * cos(radians(a.lat)), 2) <= power($3, 2)),
    calling AS (
        SELECT asked, fv, stop_id FROM places
        UNION
        SELECT p.asked, p.fv, c.stop_id FROM places p
          JOIN network_stops c ON c.feed_version_id = p.fv AND c.parent_station = p.stop_id
           AND c.location_type = 0)";

/// [`kagoshima_tracker::network::SAME_PLACE_M`] in degrees of latitude.
fn same_place_degrees() -> f64 {
    kagoshima_tracker::network::SAME_PLACE_M / 111_320.0
}

/// The active feed version, ready to be asked.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: PgPool,
    /// The active version of every feed (see [`crate::namespace`]).
    versions: Vec<i64>,
}

/// One name of a thing (`kind` as in `network_names`: stop, route_short,
/// route_long, headsign) in one language.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NameRecord {
    pub key: String,
    pub lang: String,
    pub text: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RouteRecord {
    pub route_id: String,
    pub agency_id: Option<String>,
    pub short_name: Option<String>,
    pub long_name: Option<String>,
    /// As the importer classified it: tram, bus, community_bus, other.
    pub mode: String,
    pub color: Option<String>,
    pub text_color: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StopRecord {
    pub stop_id: String,
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// GTFS wheelchair_boarding (0 unknown, 1 yes, 2 no); a platform without
    /// its own value takes its station's.
    pub wheelchair_boarding: i16,
    /// GTFS location_type: 0 stop or platform, 1 station.
    pub location_type: i16,
    /// A platform's station.
    pub parent_station: Option<String>,
    pub platform_code: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepartureRecord {
    pub trip_id: String,
    /// Where it leaves from: the stop asked for or one of its platforms.
    pub stop_id: String,
    pub platform_code: Option<String>,
    /// A run of a frequency-based trip without exact times: its headway.
    pub headway_s: Option<i32>,
    pub route_id: String,
    /// stop_headsign, else trip_headsign.
    pub headsign: Option<String>,
    /// Seconds after noon minus 12 h of the service day (GTFS time).
    pub time_s: i32,
    pub direction_id: Option<i16>,
    pub mode: String,
    pub short_name: Option<String>,
}

/// A route's most common shape in one direction (-1: no direction_id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatternRecord {
    pub direction_id: i32,
    pub shape_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TripStopRecord {
    pub stop_id: String,
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub stop_sequence: i32,
    pub shape_dist: Option<f64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShapePointRecord {
    pub lat: f64,
    pub lon: f64,
    pub dist_m: Option<f64>,
    /// Drawn by the importer from the stops (the feed had no shape).
    pub derived: bool,
}

/// The dates a timetable covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePeriod {
    pub first: chrono::NaiveDate,
    pub last: chrono::NaiveDate,
}

impl ServicePeriod {
    /// Days before its end at which a timetable is said to be ending.
    pub const WARN_DAYS_BEFORE_END: i64 = 7;

    /// Days from `today` to the last date covered (negative once ended).
    pub fn days_left(&self, today: chrono::NaiveDate) -> i64 {
        (self.last - today).num_days()
    }

    /// Whether the timetable ends within [`Self::WARN_DAYS_BEFORE_END`] days.
    pub fn ending_soon(&self, today: chrono::NaiveDate) -> bool {
        self.contains(today) && self.days_left(today) < Self::WARN_DAYS_BEFORE_END
    }

    pub fn contains(&self, date: chrono::NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    /// Why `date` has no timetable, said so a rider or an operator knows
    /// what is wrong; `None` inside the period.
    pub fn outside(&self, date: chrono::NaiveDate) -> Option<String> {
        if date > self.last {
            Some(format!(
                "the timetable in force ended on {} ({date} is after it): the operator has to publish the next one",
                self.last
            ))
        } else if date < self.first {
            Some(format!(
                "the timetable in force starts on {} ({date} is before it)",
                self.first
            ))
        } else {
            None
        }
    }
}

impl Catalog {
    /// The active feed version; `None` before the first import.
    pub async fn active(pool: &PgPool) -> Result<Option<Catalog>, sqlx::Error> {
        let versions = crate::service_day::active_versions(pool).await?;
        Ok((!versions.is_empty()).then(|| Catalog {
            pool: pool.clone(),
            versions,
        }))
    }

    /// The active feed versions, the primary feed's first.
    pub fn versions(&self) -> &[i64] {
        &self.versions
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The names of `keys` of one kind in the given languages.
    pub async fn names(
        &self,
        kind: &str,
        keys: &[String],
        langs: &[&str],
    ) -> Result<Vec<NameRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT key, lang, text FROM network_names
              WHERE feed_version_id = ANY($1) AND kind = $2 AND key = ANY($3) AND lang = ANY($4)",
        )
        .bind(&self.versions)
        .bind(kind)
        .bind(keys)
        .bind(langs)
        .fetch_all(&self.pool)
        .await
    }

    /// Routes in the feed's order, all or only `only`, of one mode or any.
    pub async fn routes(
        &self,
        only: Option<&[String]>,
        mode: Option<&str>,
    ) -> Result<Vec<RouteRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT route_id, agency_id, short_name, long_name, mode, color, text_color
               FROM network_routes
              WHERE feed_version_id = ANY($1)
                AND ($2::text[] IS NULL OR route_id = ANY($2))
                AND ($3::text IS NULL OR mode = $3)
              ORDER BY sort_order NULLS LAST, route_type, route_id",
        )
        .bind(&self.versions)
        .bind(only)
        .bind(mode)
        .fetch_all(&self.pool)
        .await
    }

    pub async fn route_exists(&self, route_id: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM network_routes WHERE feed_version_id = ANY($1) AND route_id = $2)",
        )
        .bind(&self.versions)
        .bind(route_id)
        .fetch_one(&self.pool)
        .await
    }

    pub async fn agency_exists(&self, agency_id: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM network_agencies WHERE feed_version_id = ANY($1) AND agency_id = $2)",
        )
        .bind(&self.versions)
        .bind(agency_id)
        .fetch_one(&self.pool)
        .await
    }

    pub async fn trip_exists(&self, trip_id: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM network_trips WHERE feed_version_id = ANY($1) AND trip_id = $2)",
        )
        .bind(&self.versions)
        .bind(trip_id)
        .fetch_one(&self.pool)
        .await
    }

    /// The stops with these ids (in no particular order).
    pub async fn stops(&self, ids: &[String]) -> Result<Vec<StopRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT s.stop_id, s.name, s.lat, s.lon,
                    CASE WHEN s.wheelchair_boarding = 0 THEN coalesce(p.wheelchair_boarding, 0)
                         ELSE s.wheelchair_boarding END::int2 AS wheelchair_boarding,
                    s.location_type, s.parent_station, s.platform_code
               FROM network_stops s
               LEFT JOIN network_stops p
                 ON p.feed_version_id = s.feed_version_id AND p.stop_id = s.parent_station
              WHERE s.feed_version_id = ANY($1) AND s.stop_id = ANY($2)",
        )
        .bind(&self.versions)
        .bind(ids)
        .fetch_all(&self.pool)
        .await
    }

    /// `(stop_id, route_id)` for every route with a trip calling at one of
    /// `ids` (at a station: at one of its platforms).
    pub async fn routes_serving(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH {CALLING}
             SELECT DISTINCT c.asked, t.route_id
               FROM calling c
               JOIN network_stop_times st ON st.feed_version_id = c.fv AND st.stop_id = c.stop_id
               JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id"
        )))
        .bind(&self.versions)
        .bind(ids)
        .bind(same_place_degrees())
        .fetch_all(&self.pool)
        .await
    }

    /// `(asked, stop_id)`: for each of `ids`, every stop where a rider there
    /// boards (see [`CALLING`]), itself included.
    pub async fn calling_points(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH {CALLING} SELECT asked, stop_id FROM calling ORDER BY asked, fv, stop_id"
        )))
        .bind(&self.versions)
        .bind(ids)
        .bind(same_place_degrees())
        .fetch_all(&self.pool)
        .await
    }

    /// Stops and stations whose search keys contain `key` (already
    /// normalised with [`crate::search::normalize`]), best first: exact, then
    /// prefix, then anywhere; shorter names first, the city's feed first. A
    /// platform that matches is found as its station, once.
    pub async fn search_stop_ids(&self, key: &str, limit: u32) -> Result<Vec<String>, sqlx::Error> {
        // Keys hold letters and digits only, so LIKE needs no escaping.
        sqlx::query_scalar(
            "SELECT coalesce(p.stop_id, s.stop_id) AS found
               FROM network_stop_search_keys k
               JOIN network_stops s ON s.feed_version_id = k.feed_version_id AND s.stop_id = k.stop_id
               LEFT JOIN network_stops p
                 ON s.location_type = 0 AND p.feed_version_id = s.feed_version_id
                AND p.stop_id = s.parent_station AND p.location_type = 1
               JOIN feed_versions f ON f.id = k.feed_version_id
              WHERE k.feed_version_id = ANY($1) AND k.key LIKE '%' || $2 || '%' AND s.location_type IN (0, 1)
              GROUP BY found, coalesce(p.name, s.name), f.feed_id
              ORDER BY min(CASE WHEN k.key = $2 THEN 0 WHEN k.key LIKE $2 || '%' THEN 1 ELSE 2 END),
                       length(coalesce(p.name, s.name)), f.feed_id, found
              LIMIT $3",
        )
        .bind(&self.versions)
        .bind(key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    /// Stations and stand-alone stops within `radius_m` of a place, nearest
    /// first, with their distance in metres (platforms are found through
    /// their station).
    pub async fn stops_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: u32,
        limit: u32,
    ) -> Result<Vec<(String, f64)>, sqlx::Error> {
        // A box around the place first (an index-friendly filter), then the
        // equirectangular distance, exact enough at a few kilometres.
        let dlat = f64::from(radius_m) / 111_320.0;
        let dlon = dlat / lat.to_radians().cos().max(0.01);
        sqlx::query_as(
            "SELECT stop_id, dist FROM (
                SELECT stop_id,
                       6371000 * sqrt(power(radians(lat - $2), 2)
                           + power(radians(lon - $3) * cos(radians($2)), 2)) AS dist
                  FROM network_stops
                 WHERE feed_version_id = ANY($1) AND lat BETWEEN $2 - $4 AND $2 + $4
                   AND lon BETWEEN $3 - $5 AND $3 + $5
                   AND (location_type = 1 OR (location_type = 0 AND parent_station IS NULL))
             ) s WHERE dist <= $6 ORDER BY dist, stop_id LIMIT $7",
        )
        .bind(&self.versions)
        .bind(lat)
        .bind(lon)
        .bind(dlat)
        .bind(dlon)
        .bind(f64::from(radius_m))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    /// Departures from a stop on the given services (see
    /// [`crate::service_day::services_on`]), by time: a trip's last stop and
    /// stops where no one may board are not departures. A station's are its
    /// platforms', and other feeds' stops at the same place add theirs.
    pub async fn departures(
        &self,
        stop_id: &str,
        service_ids: &[String],
        route_id: Option<&str>,
    ) -> Result<Vec<DepartureRecord>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH {CALLING}
             SELECT st.trip_id, st.stop_id, s.platform_code, t.route_id,
                    CASE WHEN NOT t.run_exact_times THEN t.run_headway_s END AS headway_s,
                    coalesce(st.stop_headsign, t.headsign) AS headsign,
                    coalesce(st.departure_s, st.arrival_s) AS time_s, t.direction_id, r.mode, r.short_name
               FROM calling c
               JOIN network_stops s ON s.feed_version_id = c.fv AND s.stop_id = c.stop_id
               JOIN network_stop_times st ON st.feed_version_id = s.feed_version_id AND st.stop_id = s.stop_id
               JOIN network_trips t ON t.feed_version_id = st.feed_version_id AND t.trip_id = st.trip_id
               JOIN network_routes r ON r.feed_version_id = t.feed_version_id AND r.route_id = t.route_id
              WHERE t.service_id = ANY($4)
                AND NOT st.last_stop AND st.pickup_type <> 1
                AND coalesce(st.departure_s, st.arrival_s) IS NOT NULL
                AND ($5::text IS NULL OR t.route_id = $5)
              ORDER BY time_s, t.route_id, st.trip_id"
        )))
        .bind(&self.versions)
        .bind([stop_id])
        .bind(same_place_degrees())
        .bind(service_ids)
        .bind(route_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The most common shape of each direction of a route (or of one).
    pub async fn route_patterns(
        &self,
        route_id: &str,
        direction_id: Option<i32>,
    ) -> Result<Vec<PatternRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT DISTINCT ON (direction_id) direction_id, shape_id
               FROM (SELECT coalesce(direction_id, -1)::int AS direction_id, shape_id, count(*) AS n
                       FROM network_trips
                      WHERE feed_version_id = ANY($1) AND route_id = $2
                        AND ($3::int IS NULL OR direction_id = $3)
                      GROUP BY 1, 2) p
              ORDER BY direction_id, n DESC, shape_id NULLS LAST",
        )
        .bind(&self.versions)
        .bind(route_id)
        .bind(direction_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The trip of a pattern with the most stops: `(trip_id, headsign)`.
    pub async fn longest_trip(
        &self,
        route_id: &str,
        pattern: &PatternRecord,
    ) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT t.trip_id, t.headsign
               FROM network_trips t
              WHERE t.feed_version_id = ANY($1) AND t.route_id = $2
                AND coalesce(t.direction_id, -1) = $3 AND t.shape_id IS NOT DISTINCT FROM $4
              ORDER BY (SELECT count(*) FROM network_stop_times st
                         WHERE st.feed_version_id = t.feed_version_id AND st.trip_id = t.trip_id) DESC,
                       t.trip_id
              LIMIT 1",
        )
        .bind(&self.versions)
        .bind(route_id)
        .bind(pattern.direction_id)
        .bind(&pattern.shape_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// A trip's stops in order.
    pub async fn trip_stops(&self, trip_id: &str) -> Result<Vec<TripStopRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT st.stop_id, s.name, s.lat, s.lon, st.stop_sequence, st.shape_dist
               FROM network_stop_times st
               JOIN network_stops s ON s.feed_version_id = st.feed_version_id AND s.stop_id = st.stop_id
              WHERE st.feed_version_id = ANY($1) AND st.trip_id = $2
              ORDER BY st.stop_sequence",
        )
        .bind(&self.versions)
        .bind(trip_id)
        .fetch_all(&self.pool)
        .await
    }

    /// A shape's points in order.
    pub async fn shape(&self, shape_id: &str) -> Result<Vec<ShapePointRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT lat, lon, dist_m, derived FROM network_shapes
              WHERE feed_version_id = ANY($1) AND shape_id = $2 ORDER BY seq",
        )
        .bind(&self.versions)
        .bind(shape_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The first and last dates on which the active timetable runs any
    /// service (calendar ranges and added dates); `None` for a feed with no
    /// service at all.
    pub async fn service_period(&self) -> Result<Option<ServicePeriod>, sqlx::Error> {
        let (first, last): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) = sqlx::query_as(
            "SELECT min(d0), max(d1) FROM (
                     SELECT start_date AS d0, end_date AS d1 FROM network_calendars
                      WHERE feed_version_id = ANY($1)
                     UNION ALL
                     SELECT date, date FROM network_calendar_dates
                      WHERE feed_version_id = ANY($1) AND exception_type = 1
                 ) ranges",
        )
        .bind(&self.versions)
        .fetch_one(&self.pool)
        .await?;
        Ok(first
            .zip(last)
            .map(|(first, last)| ServicePeriod { first, last }))
    }

    /// The services running on a date (with the holiday rule).
    pub async fn services_on(
        &self,
        date: chrono::NaiveDate,
    ) -> Result<crate::ServiceDay, sqlx::Error> {
        crate::service_day::services_on_all(&self.pool, &self.versions, date).await
    }
}
