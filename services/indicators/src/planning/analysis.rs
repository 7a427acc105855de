//! The analysis of a period: what the stop visits and the rides say about
//! the timetable. The stop visits are read once ([`super::visits`]), each
//! part of the rides is one query over the period; the rules (bands,
//! on-time window, sample sizes, the percentile recommended) are the
//! constants below.
use std::collections::BTreeMap;

use chrono::NaiveDate;
use kagoshima_domain::capacity::Capacity;
use serde::Serialize;
use sqlx::PgPool;

use super::{
    bands::Band,
    loads::{LoadProfile, profiles},
    suggest::{Suggestion, suggestions},
};

/// A departure more than this early is early (seconds).
pub const EARLY_S: f64 = 60.0;
/// A departure more than this late is late (seconds): on time is from 1
/// minute early to 5 minutes late, the window of the Transit Capacity and
/// Quality of Service Manual (TCQSM, 3rd ed.).
pub const LATE_S: f64 = 300.0;
/// Fewer observed runs than this leave a running time as scheduled.
pub const MIN_RUNS: i64 = 5;
/// The percentile of observed trip running times a recommended timetable
/// takes: a trip then runs on time or early 85 % of the time without long
/// layovers at the terminus (TCRP Report 113 and common practice); the
/// trip's total is spread over its segments in proportion to their medians,
/// since segment percentiles do not add up to the trip's.
pub const RECOMMENDED_PERCENTILE: f64 = 0.85;
/// A headway shorter than this share of the scheduled one is bunching.
pub const BUNCHED_SHARE: f64 = 0.5;

/// What to analyse.
#[derive(Debug, Clone)]
pub struct PlanningRequest {
    /// First and last service day (inclusive).
    pub from: NaiveDate,
    pub until: NaiveDate,
    /// One route, or all.
    pub route_id: Option<String>,
    pub capacity: Capacity,
}

/// Observed running time between two consecutive stops in one band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentTimes {
    pub route_id: String,
    pub direction_id: i16,
    pub from_stop: String,
    pub to_stop: String,
    pub band: Band,
    pub runs: i64,
    /// Mean scheduled running time, seconds.
    pub scheduled_s: f64,
    pub p10_s: f64,
    pub p50_s: f64,
    pub p85_s: f64,
    pub p95_s: f64,
}

/// Observed running time of whole trips of one pattern (first and last
/// stop) in one band: what a timetable's trip time is set from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TripTimes {
    pub route_id: String,
    pub direction_id: i16,
    pub first_stop: String,
    pub last_stop: String,
    pub band: Band,
    pub runs: i64,
    pub scheduled_s: f64,
    pub p50_s: f64,
    pub p85_s: f64,
    pub p95_s: f64,
    /// The recommended trip time (the [`RECOMMENDED_PERCENTILE`]), or the
    /// scheduled one when fewer than [`MIN_RUNS`] runs were seen.
    pub recommended_s: f64,
}

/// How long vehicles stand at a stop in one band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DwellTimes {
    pub route_id: String,
    pub stop_id: String,
    pub band: Band,
    pub visits: i64,
    pub p50_s: f64,
    pub p85_s: f64,
}

/// Departures early, on time and late ([`EARLY_S`], [`LATE_S`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Adherence {
    pub route_id: String,
    pub band: Band,
    pub departures: i64,
    pub early_share: f64,
    pub on_time_share: f64,
    pub late_share: f64,
}

/// Regularity of the intervals between vehicles at the stops of a route.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headways {
    pub route_id: String,
    pub direction_id: i16,
    pub band: Band,
    pub intervals: i64,
    pub scheduled_mean_s: f64,
    pub actual_mean_s: f64,
    /// Coefficient of variation of the actual intervals (0: perfectly even).
    pub cv: f64,
    /// Share of intervals under [`BUNCHED_SHARE`] of the scheduled one.
    pub bunched_share: f64,
}

/// One stop of a trip's load profile.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadPoint {
    pub stop_sequence: i32,
    pub stop_id: String,
    pub boardings: i64,
    pub alightings: i64,
    /// On board leaving the stop.
    pub load: i64,
}

/// The riders of one trip on one day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TripLoad {
    pub service_date: NaiveDate,
    pub trip_id: String,
    pub route_id: String,
    pub direction_id: i16,
    pub mode: String,
    pub band: Band,
    pub boardings: i64,
    pub peak_load: i64,
    /// Where the load is highest (leaving that stop).
    pub peak_stop_id: String,
    pub capacity: u32,
    pub crowded: bool,
    /// `counters` (the automatic passenger counters, which count every
    /// rider) or `taps` (card riders only: a floor where others pay cash).
    pub source: &'static str,
    pub profile: Vec<LoadPoint>,
}

/// Rides from one stop to another in one band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OdCell {
    pub band: Band,
    pub from_stop: String,
    pub to_stop: String,
    pub rides: i64,
}

/// The share of rides paid with cards issued abroad (or of unknown issuer).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InboundShare {
    pub route_id: String,
    /// The boarding stop, or `None` for the whole route.
    pub stop_id: Option<String>,
    pub rides: i64,
    pub inbound: i64,
    pub share: f64,
}

/// The whole analysis of a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Analysis {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub route_id: Option<String>,
    /// Service days with at least one stop visit.
    pub days_observed: i64,
    /// Why there is nothing to show, when there is not.
    pub empty_reason: Option<String>,
    pub segments: Vec<SegmentTimes>,
    pub trip_times: Vec<TripTimes>,
    pub dwells: Vec<DwellTimes>,
    pub adherence: Vec<Adherence>,
    pub headways: Vec<Headways>,
    pub trips: Vec<TripLoad>,
    pub od: Vec<OdCell>,
    pub inbound: Vec<InboundShare>,
    /// The load along each route and direction by band (from `trips`).
    pub load_profiles: Vec<LoadProfile>,
    /// What to do about the trips crowded again and again.
    pub suggestions: Vec<Suggestion>,
    /// The names of the stops and routes the analysis mentions (active feeds).
    pub stop_names: BTreeMap<String, String>,
    pub route_names: BTreeMap<String, String>,
}

impl Analysis {
    /// The trips whose load passed their vehicle's capacity.
    pub fn crowded(&self) -> impl Iterator<Item = &TripLoad> {
        self.trips.iter().filter(|t| t.crowded)
    }

    /// A stop's name, or its ID when the active feeds do not know it.
    pub fn stop_name(&self, stop_id: &str) -> String {
        self.stop_names
            .get(stop_id)
            .cloned()
            .unwrap_or_else(|| stop_id.to_owned())
    }

    /// A route's name (short name, else long name), or its ID.
    pub fn route_name(&self, route_id: &str) -> String {
        self.route_names
            .get(route_id)
            .cloned()
            .unwrap_or_else(|| route_id.to_owned())
    }

    /// Fills the stop and route names of every ID the analysis mentions.
    async fn name_things(&mut self, pool: &PgPool) -> Result<(), sqlx::Error> {
        use kagoshima_network::read::schedule;
        let mut stops: std::collections::BTreeSet<&str> = Default::default();
        let mut routes: std::collections::BTreeSet<&str> = Default::default();
        for s in &self.segments {
            stops.extend([s.from_stop.as_str(), s.to_stop.as_str()]);
            routes.insert(&s.route_id);
        }
        for t in &self.trip_times {
            stops.extend([t.first_stop.as_str(), t.last_stop.as_str()]);
            routes.insert(&t.route_id);
        }
        for d in &self.dwells {
            stops.insert(&d.stop_id);
        }
        for t in &self.trips {
            routes.insert(&t.route_id);
            stops.extend(t.profile.iter().map(|p| p.stop_id.as_str()));
        }
        for c in &self.od {
            stops.extend([c.from_stop.as_str(), c.to_stop.as_str()]);
        }
        let stops: Vec<String> = stops.into_iter().map(str::to_owned).collect();
        let routes: Vec<String> = routes.into_iter().map(str::to_owned).collect();
        self.stop_names = schedule::stop_names(pool, &stops)
            .await?
            .into_iter()
            .collect();
        self.route_names = schedule::route_names(pool, &routes)
            .await?
            .into_iter()
            .filter_map(|(id, short, long)| {
                [short, long]
                    .into_iter()
                    .find(|n| !n.is_empty())
                    .map(|n| (id, n))
            })
            .collect();
        Ok(())
    }
}

/// A query of the period: `$1` and `$2` its first and last service day,
/// `$3` the route or NULL for every route.
fn of_period<'q, O>(
    sql: String,
    req: &'q PlanningRequest,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(req.from)
        .bind(req.until)
        .bind(req.route_id.as_deref())
}

fn band(name: &str) -> Band {
    Band::parse(name).unwrap_or(Band::Midday)
}

/// Analyses the period: one scan of its stop visits ([`super::visits`])
/// beside the queries of its rides, at once on the pool's connections.
pub async fn analyse(pool: &PgPool, req: &PlanningRequest) -> Result<Analysis, sqlx::Error> {
    let route = req.route_id.as_deref();
    let (visits, trips, od, inbound) = tokio::try_join!(
        super::visits::scan(pool, req),
        trip_loads(pool, req),
        od(pool, req),
        inbound(pool, req),
    )?;
    let super::visits::VisitFigures {
        days_observed,
        segments,
        trip_times,
        dwells,
        adherence,
        headways,
    } = visits;
    let mut analysis = Analysis {
        from: req.from,
        until: req.until,
        route_id: req.route_id.clone(),
        days_observed,
        empty_reason: None,
        load_profiles: profiles(&trips),
        suggestions: Vec::new(),
        segments,
        trip_times,
        dwells,
        adherence,
        headways,
        trips,
        od,
        inbound,
        stop_names: BTreeMap::new(),
        route_names: BTreeMap::new(),
    };
    analysis.name_things(pool).await?;
    let crowded_routes: Vec<String> = analysis
        .crowded()
        .map(|t| t.route_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !crowded_routes.is_empty() {
        let timetable =
            kagoshima_network::read::schedule::trip_departures(pool, &crowded_routes).await?;
        analysis.suggestions = suggestions(&analysis.trips, &timetable);
    }
    // Bands in the order of the day, not of their names.
    analysis.trip_times.sort_by(|a, b| {
        (
            &a.route_id,
            a.direction_id,
            &a.first_stop,
            &a.last_stop,
            a.band,
        )
            .cmp(&(
                &b.route_id,
                b.direction_id,
                &b.first_stop,
                &b.last_stop,
                b.band,
            ))
    });
    analysis
        .adherence
        .sort_by(|a, b| (&a.route_id, a.band).cmp(&(&b.route_id, b.band)));
    analysis.headways.sort_by(|a, b| {
        (&a.route_id, a.direction_id, a.band).cmp(&(&b.route_id, b.direction_id, b.band))
    });
    if days_observed == 0 && analysis.trips.is_empty() {
        analysis.empty_reason = Some(format!(
            "no stop visits and no rides from {} to {}{}: nothing to plan from (are the location and indicators services running, and the dates right?)",
            req.from,
            req.until,
            route.map_or(String::new(), |r| format!(" on route {r}"))
        ));
    }
    Ok(analysis)
}

/// The load of every trip-day: from the passenger counters where the trip
/// had them (they count every rider), else from the rides.
async fn trip_loads(pool: &PgPool, req: &PlanningRequest) -> Result<Vec<TripLoad>, sqlx::Error> {
    let mut loads = counter_loads(pool, req).await?;
    let counted: std::collections::HashSet<(NaiveDate, String)> = loads
        .iter()
        .map(|t| (t.service_date, t.trip_id.clone()))
        .collect();
    loads.extend(
        ride_loads(pool, req)
            .await?
            .into_iter()
            .filter(|t| !counted.contains(&(t.service_date, t.trip_id.clone()))),
    );
    loads.sort_by(|a, b| (a.service_date, &a.trip_id).cmp(&(b.service_date, &b.trip_id)));
    Ok(loads)
}

/// Loads from the automatic passenger counters: boardings and alightings
/// at each stop a vehicle served on a trip, in the order it served them.
async fn counter_loads(pool: &PgPool, req: &PlanningRequest) -> Result<Vec<TripLoad>, sqlx::Error> {
    use kagoshima_domain::calendar::{to_jst, transit_service_day, transit_service_day_start};
    let start = transit_service_day_start(req.from);
    let end = transit_service_day_start(req.until.succ_opt().unwrap_or(req.until));
    let rows =
        kagoshima_storage::events::trip_counts_between(pool, start, end, req.route_id.as_deref())
            .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let index = kagoshima_network::read::schedule::TripIndex::active(pool).await?;
    let mut trips: BTreeMap<(NaiveDate, String), TripLoad> = BTreeMap::new();
    for kagoshima_storage::events::TripCount {
        recorded_at: at,
        trip_id,
        route_id,
        mode,
        stop_id,
        boardings: on,
        alightings: off,
    } in rows
    {
        let date = transit_service_day(at);
        let capacity = req.capacity.of(&mode);
        let t = trips
            .entry((date, trip_id.clone()))
            .or_insert_with(|| TripLoad {
                service_date: date,
                direction_id: index.trip(&trip_id).and_then(|(_, d)| d).unwrap_or(0),
                band: Band::of_hour(chrono::Timelike::hour(&to_jst(at))),
                trip_id: trip_id.clone(),
                route_id,
                mode,
                boardings: 0,
                peak_load: 0,
                peak_stop_id: String::new(),
                capacity,
                crowded: false,
                source: "counters",
                profile: Vec::new(),
            });
        let sequence = index
            .sequence_of(&trip_id, &stop_id)
            .unwrap_or(t.profile.len() as i32 + 1);
        add_stop(t, sequence, stop_id, i64::from(on), i64::from(off));
    }
    Ok(trips
        .into_values()
        .map(|mut t| {
            t.crowded = t.peak_load > i64::from(t.capacity);
            t
        })
        .collect())
}

/// Adds a stop to a trip's load profile.
fn add_stop(t: &mut TripLoad, stop_sequence: i32, stop_id: String, on: i64, off: i64) {
    let before = t.profile.last().map_or(0, |p| p.load);
    let load = (before + on - off).max(0);
    t.boardings += on;
    if load > t.peak_load {
        t.peak_load = load;
        t.peak_stop_id = stop_id.clone();
    }
    t.profile.push(LoadPoint {
        stop_sequence,
        stop_id,
        boardings: on,
        alightings: off,
        load,
    });
}

/// Boardings and alightings per trip and stop from the rides; a ride whose
/// alighting is unknown (no tap off) alights at the trip's last stop seen,
/// so loads are upper bounds where riders skip tapping off.
async fn ride_loads(pool: &PgPool, req: &PlanningRequest) -> Result<Vec<TripLoad>, sqlx::Error> {
    type Row = (
        NaiveDate,
        String,
        String,
        i16,
        String,
        i32,
        String,
        Option<i32>,
        Option<String>,
        i64,
        chrono::DateTime<chrono::Utc>,
    );
    // One plain scan of the period's rides; the profile is built here (a
    // query joining the rides to their trips twice cost minutes on plain
    // PostgreSQL for a week of one line).
    let rows: Vec<Row> = of_period(
        "SELECT service_date, trip_id, route_id, coalesce(direction_id, 0)::int2, mode,
                board_stop_sequence, coalesce(board_stop_id, ''), alight_stop_sequence,
                alight_stop_id, num_riders::int8, board_at
           FROM rides
          WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR route_id = $3)
            AND trip_id IS NOT NULL AND route_id IS NOT NULL AND board_stop_sequence IS NOT NULL
          ORDER BY service_date, trip_id, board_at"
            .to_owned(),
        req,
    )
    .fetch_all(pool)
    .await?;
    // (on, off, stop) per trip-day and stop sequence.
    type Stops = BTreeMap<i32, (i64, i64, String)>;
    let mut trips: BTreeMap<(NaiveDate, String), (TripLoad, Stops, Vec<i64>)> = BTreeMap::new();
    for (
        date,
        trip_id,
        route_id,
        direction_id,
        mode,
        board_seq,
        board_stop,
        alight_seq,
        alight_stop,
        riders,
        at,
    ) in rows
    {
        let capacity = req.capacity.of(&mode);
        let (_, stops, unknown_off) = trips.entry((date, trip_id.clone())).or_insert_with(|| {
            (
                TripLoad {
                    service_date: date,
                    trip_id,
                    route_id,
                    direction_id,
                    band: Band::of_hour(chrono::Timelike::hour(
                        &kagoshima_domain::calendar::to_jst(at),
                    )),
                    boardings: 0,
                    peak_load: 0,
                    peak_stop_id: String::new(),
                    capacity,
                    crowded: false,
                    source: "taps",
                    profile: Vec::new(),
                    mode,
                },
                Stops::new(),
                Vec::new(),
            )
        });
        stops.entry(board_seq).or_insert((0, 0, board_stop)).0 += riders;
        match (alight_seq, alight_stop) {
            (Some(seq), Some(stop)) => stops.entry(seq).or_insert((0, 0, stop)).1 += riders,
            // No tap off: alights at the trip's last stop seen (below).
            _ => unknown_off.push(riders),
        }
    }
    Ok(trips
        .into_values()
        .map(|(mut t, mut stops, unknown_off)| {
            let last = stops.keys().next_back().copied().unwrap_or(0);
            for riders in unknown_off {
                stops.entry(last).or_insert((0, 0, String::new())).1 += riders;
            }
            for (seq, (on, off, stop)) in stops {
                add_stop(&mut t, seq, stop, on, off);
            }
            t.crowded = t.peak_load > i64::from(t.capacity);
            t
        })
        .collect())
}

async fn od(pool: &PgPool, req: &PlanningRequest) -> Result<Vec<OdCell>, sqlx::Error> {
    type Row = (String, String, String, i64);
    let sql = format!(
        "SELECT {band} AS band, board_stop_id, alight_stop_id, sum(num_riders)::int8
           FROM rides
          WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR route_id = $3)
            AND board_stop_id IS NOT NULL AND alight_stop_id IS NOT NULL
          GROUP BY band, board_stop_id, alight_stop_id
          ORDER BY band, 4 DESC, board_stop_id, alight_stop_id",
        band = Band::sql_of("board_at")
    );
    let rows: Vec<Row> = of_period(sql, req).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(b, from_stop, to_stop, rides)| OdCell {
            band: band(&b),
            from_stop,
            to_stop,
            rides,
        })
        .collect())
}

async fn inbound(pool: &PgPool, req: &PlanningRequest) -> Result<Vec<InboundShare>, sqlx::Error> {
    type Row = (String, Option<String>, i64, i64);
    // Inbound as everywhere in the indicators (figures, ridership, open
    // data): a card not issued in Japan, or of unknown issuer.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT route_id, CASE WHEN grouping(board_stop_id) = 0 THEN coalesce(board_stop_id, '') END,
                sum(num_riders)::int8,
                coalesce(sum(num_riders) FILTER (WHERE coalesce(issuer_country, '??') <> 'JP'), 0)::int8
           FROM rides
          WHERE service_date BETWEEN $1 AND $2 AND ($3::text IS NULL OR route_id = $3)
            AND route_id IS NOT NULL
          GROUP BY GROUPING SETS ((route_id), (route_id, board_stop_id))
          ORDER BY route_id, board_stop_id NULLS FIRST",
    )
    .bind(req.from)
    .bind(req.until)
    .bind(req.route_id.as_deref())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(route_id, stop_id, rides, inbound)| InboundShare {
            route_id,
            stop_id,
            rides,
            inbound,
            share: inbound as f64 / rides.max(1) as f64,
        })
        .collect())
}
