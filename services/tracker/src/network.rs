//! The network model the tracker runs on, built once from the active feed:
//! trips with their stop times and shapes projected to metres, blocks, and
//! which services run on a date. Ids are interned to indices.
use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Weekday};
use kagoshima_domain::calendar::{is_holiday, jst_day_start};

use crate::geo::{Polyline, Projection, Xy};

/// Plain feed data to build a [`Network`] from (the location service fills
/// it from the database, the accuracy report from GTFS files).
#[derive(Debug, Clone, Default)]
pub struct NetworkInput {
    pub stops: Vec<StopInput>,
    pub routes: Vec<RouteInput>,
    pub trips: Vec<TripInput>,
    pub stop_times: Vec<StopTimeInput>,
    pub shapes: Vec<ShapePointInput>,
    pub calendars: Vec<CalendarInput>,
    pub calendar_dates: Vec<CalendarDateInput>,
}

#[derive(Debug, Clone)]
pub struct StopInput {
    pub stop_id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// A platform's station (GTFS parent_station of a location_type 0 stop).
    pub parent_station: Option<String>,
    /// GTFS platform_code ("B"), as posted at the stop.
    pub platform_code: Option<String>,
    /// The feed (version) it comes from: stops of different feeds with the
    /// same name at the same place share a rider's board.
    pub feed: i64,
}

/// Stops of different feeds (operators) with the same name within this
/// distance are one place for a rider: a board at one shows all of them.
pub const SAME_PLACE_M: f64 = 150.0;

/// What makes a trip one run of a frequency-based trip of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOf {
    /// The trip of trips.txt it repeats; GTFS-Realtime names the run by it
    /// and by `start_s`.
    pub template: String,
    /// When it leaves its first stop, seconds after the service day's start.
    pub start_s: u32,
    pub headway_s: u32,
    /// GTFS exact_times 1; with 0 its times are an estimate.
    pub exact_times: bool,
}

#[derive(Debug, Clone)]
pub struct RouteInput {
    pub route_id: String,
    /// The operator (GTFS agency_id); `None` in a one-agency feed.
    pub agency_id: Option<String>,
    pub short_name: String,
    /// `tram`, `bus`, `community_bus`, ...
    pub mode: String,
}

#[derive(Debug, Clone)]
pub struct TripInput {
    pub trip_id: String,
    /// A run of a frequency-based trip (GTFS frequencies.txt).
    pub run: Option<RunOf>,
    pub route_id: String,
    /// GTFS wheelchair_accessible: 0 unknown, 1 step-free, 2 not.
    pub wheelchair_accessible: u8,
    pub service_id: String,
    pub headsign: String,
    pub direction_id: Option<u8>,
    pub block_id: Option<String>,
    pub shape_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StopTimeInput {
    pub trip_id: String,
    pub stop_sequence: u32,
    pub stop_id: String,
    /// GTFS seconds after the service day's noon minus 12 h.
    pub arrival_s: Option<i32>,
    pub departure_s: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct ShapePointInput {
    pub shape_id: String,
    pub seq: u32,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone)]
pub struct CalendarInput {
    pub service_id: String,
    /// Monday first.
    pub days: [bool; 7],
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct CalendarDateInput {
    pub service_id: String,
    pub date: NaiveDate,
    /// 1 added, 2 removed.
    pub exception_type: u8,
}

#[derive(Debug, Clone)]
pub struct Stop {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub xy: Xy,
    pub platform_code: Option<String>,
    /// The platforms of a station (empty for any other stop).
    pub platforms: Vec<u32>,
    /// Stops of other feeds at the same place (see [`SAME_PLACE_M`]).
    pub same_place: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub id: String,
    pub agency_id: Option<String>,
    pub short_name: String,
    pub mode: String,
}

/// One stop of a trip.
#[derive(Debug, Clone, Copy)]
pub struct TripStop {
    pub stop: u32,
    pub seq: u32,
    /// GTFS seconds.
    pub arr: i32,
    pub dep: i32,
    /// Distance along the trip's shape, metres.
    pub dist: f64,
}

#[derive(Debug, Clone)]
pub struct Trip {
    pub id: String,
    pub route: u32,
    pub service: u32,
    pub headsign: String,
    pub direction: Option<u8>,
    /// GTFS wheelchair_accessible: 0 unknown, 1 step-free, 2 not.
    pub wheelchair_accessible: u8,
    /// Index into [`Network::blocks`].
    pub block: Option<u32>,
    pub shape: u32,
    pub stops: Vec<TripStop>,
    pub run: Option<RunOf>,
}

impl Trip {
    pub fn start(&self) -> i32 {
        self.stops.first().map_or(0, |s| s.dep)
    }
    pub fn end(&self) -> i32 {
        self.stops.last().map_or(0, |s| s.arr)
    }

    /// The timetable time (GTFS seconds) at distance `d`, interpolated
    /// between stops (departure of the stop before, arrival of the next).
    pub fn scheduled_at(&self, d: f64) -> f64 {
        let s = &self.stops;
        let j = s.partition_point(|x| x.dist <= d);
        if j == 0 {
            return f64::from(s[0].dep);
        }
        if j >= s.len() {
            return f64::from(s[s.len() - 1].arr);
        }
        let (a, b) = (s[j - 1], s[j]);
        let span = (b.dist - a.dist).max(1e-6);
        let f = ((d - a.dist) / span).clamp(0.0, 1.0);
        f64::from(a.dep) + f * f64::from(b.arr - a.dep)
    }
}

/// The network in metres, ready for matching and prediction.
#[derive(Debug, Clone)]
pub struct Network {
    pub projection: Projection,
    pub stops: Vec<Stop>,
    pub routes: Vec<Route>,
    pub shapes: Vec<Polyline>,
    pub trips: Vec<Trip>,
    /// Trips of each block (block id and service), by first departure.
    pub blocks: Vec<Vec<u32>>,
    pub services: Vec<String>,
    /// (trip, index in trip) of every trip serving each stop.
    pub stop_trips: Vec<Vec<(u32, u16)>>,
    stop_index: HashMap<String, u32>,
    route_index: HashMap<String, u32>,
    trip_index: HashMap<String, u32>,
    /// The runs of each frequency-based trip, by start.
    runs_of: HashMap<String, Vec<u32>>,
    calendars: Vec<CalendarInput>,
    dates: HashMap<(u32, NaiveDate), u8>,
    mentioned: std::collections::HashSet<NaiveDate>,
}

/// Why a network could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkError(pub String);

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NetworkError {}

impl Network {
    /// Builds the model. Trips without usable stop times are skipped; a trip
    /// without a shape gets the polyline through its stops.
    pub fn build(input: NetworkInput) -> Result<Network, NetworkError> {
        let located: Vec<&StopInput> = input
            .stops
            .iter()
            .filter(|s| s.lat != 0.0 || s.lon != 0.0)
            .collect();
        if located.is_empty() {
            return Err(NetworkError("the feed has no located stops".into()));
        }
        let n = located.len() as f64;
        let lat0 = located.iter().map(|s| s.lat).sum::<f64>() / n;
        let lon0 = located.iter().map(|s| s.lon).sum::<f64>() / n;
        let projection = Projection::new(lat0, lon0);

        let mut stops = Vec::new();
        let mut stop_index = HashMap::new();
        for s in &input.stops {
            stop_index.insert(s.stop_id.clone(), stops.len() as u32);
            stops.push(Stop {
                id: s.stop_id.clone(),
                name: s.name.clone(),
                lat: s.lat,
                lon: s.lon,
                xy: projection.to_xy(s.lat, s.lon),
                platform_code: s.platform_code.clone().filter(|c| !c.is_empty()),
                platforms: Vec::new(),
                same_place: Vec::new(),
            });
        }
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in input.stops.iter().enumerate() {
            if s.parent_station.is_none() {
                by_name.entry(s.name.as_str()).or_default().push(i);
            }
        }
        for group in by_name.values().filter(|g| g.len() > 1) {
            for &a in group {
                for &b in group {
                    let (sa, sb) = (&input.stops[a], &input.stops[b]);
                    if sa.feed != sb.feed && stops[a].xy.dist(stops[b].xy) <= SAME_PLACE_M {
                        stops[a].same_place.push(b as u32);
                    }
                }
            }
        }
        for (i, s) in input.stops.iter().enumerate() {
            if let Some(station) = s.parent_station.as_deref().and_then(|p| stop_index.get(p)) {
                stops[*station as usize].platforms.push(i as u32);
            }
        }
        let mut routes = Vec::new();
        let mut route_index = HashMap::new();
        for r in &input.routes {
            route_index.insert(r.route_id.clone(), routes.len() as u32);
            routes.push(Route {
                id: r.route_id.clone(),
                agency_id: r.agency_id.clone(),
                short_name: r.short_name.clone(),
                mode: r.mode.clone(),
            });
        }

        // Shapes.
        let mut shape_pts: HashMap<&str, Vec<(u32, f64, f64)>> = HashMap::new();
        for p in &input.shapes {
            shape_pts
                .entry(p.shape_id.as_str())
                .or_default()
                .push((p.seq, p.lat, p.lon));
        }
        let mut shapes = Vec::new();
        let mut shape_index: HashMap<String, u32> = HashMap::new();
        let mut shape_ids: Vec<&str> = shape_pts.keys().copied().collect();
        shape_ids.sort_unstable();
        for id in shape_ids {
            let mut pts = shape_pts.remove(id).unwrap_or_default();
            pts.sort_by_key(|p| p.0);
            if pts.len() < 2 {
                continue;
            }
            shape_index.insert(id.to_owned(), shapes.len() as u32);
            shapes.push(Polyline::new(
                pts.iter()
                    .map(|(_, lat, lon)| projection.to_xy(*lat, *lon))
                    .collect(),
            ));
        }

        // Stop times by trip.
        let mut by_trip: HashMap<&str, Vec<&StopTimeInput>> = HashMap::new();
        for st in &input.stop_times {
            by_trip.entry(st.trip_id.as_str()).or_default().push(st);
        }
        let mut services: Vec<String> = Vec::new();
        let mut service_index: HashMap<String, u32> = HashMap::new();
        let mut intern_service = |s: &str, services: &mut Vec<String>| -> u32 {
            *service_index.entry(s.to_owned()).or_insert_with(|| {
                services.push(s.to_owned());
                services.len() as u32 - 1
            })
        };
        let mut trips: Vec<Trip> = Vec::new();
        let mut trip_index = HashMap::new();
        let mut block_keys: HashMap<(String, u32), u32> = HashMap::new();
        let mut blocks: Vec<Vec<u32>> = Vec::new();
        let mut derived: HashMap<Vec<u32>, u32> = HashMap::new();
        for t in &input.trips {
            let Some(route) = route_index.get(&t.route_id).copied() else {
                continue;
            };
            let Some(mut sts) = by_trip.remove(t.trip_id.as_str()) else {
                continue;
            };
            sts.sort_by_key(|s| s.stop_sequence);
            let mut tstops: Vec<TripStop> = Vec::with_capacity(sts.len());
            for st in sts {
                let Some(stop) = stop_index.get(&st.stop_id).copied() else {
                    continue;
                };
                let arr = st.arrival_s.or(st.departure_s);
                let dep = st.departure_s.or(st.arrival_s);
                let (Some(arr), Some(dep)) = (arr, dep) else {
                    continue; // untimed stops are interpolated below
                };
                tstops.push(TripStop {
                    stop,
                    seq: st.stop_sequence,
                    arr,
                    dep: dep.max(arr),
                    dist: 0.0,
                });
            }
            if tstops.len() < 2 {
                continue;
            }
            let shape = match t.shape_id.as_ref().and_then(|s| shape_index.get(s)) {
                Some(s) => *s,
                None => {
                    let key: Vec<u32> = tstops.iter().map(|s| s.stop).collect();
                    *derived.entry(key).or_insert_with(|| {
                        shapes.push(Polyline::new(
                            tstops.iter().map(|s| stops[s.stop as usize].xy).collect(),
                        ));
                        shapes.len() as u32 - 1
                    })
                }
            };
            // Stop distances: each stop projected forward of the previous one.
            let line = &shapes[shape as usize];
            let mut prev = 0.0;
            let mut prev_xy: Option<Xy> = None;
            for ts in &mut tstops {
                let xy = stops[ts.stop as usize].xy;
                let reach = prev_xy.map_or(line.length(), |p| 2000.0 + 3.0 * p.dist(xy));
                let pr = line.project_window(xy, prev, prev + reach);
                ts.dist = pr.along.max(prev);
                prev = ts.dist;
                prev_xy = Some(xy);
            }
            let service = intern_service(&t.service_id, &mut services);
            let idx = trips.len() as u32;
            let block = t.block_id.as_ref().filter(|b| !b.is_empty()).map(|b| {
                *block_keys.entry((b.clone(), service)).or_insert_with(|| {
                    blocks.push(Vec::new());
                    blocks.len() as u32 - 1
                })
            });
            if let Some(b) = block {
                blocks[b as usize].push(idx);
            }
            trip_index.insert(t.trip_id.clone(), idx);
            trips.push(Trip {
                id: t.trip_id.clone(),
                route,
                service,
                headsign: t.headsign.clone(),
                direction: t.direction_id,
                wheelchair_accessible: t.wheelchair_accessible,
                block,
                shape,
                stops: tstops,
                run: t.run.clone(),
            });
        }
        if trips.is_empty() {
            return Err(NetworkError("the feed has no trips with stop times".into()));
        }
        for b in &mut blocks {
            b.sort_by_key(|t| (trips[*t as usize].start(), *t));
        }
        let mut stop_trips = vec![Vec::new(); stops.len()];
        for (ti, t) in trips.iter().enumerate() {
            for (k, s) in t.stops.iter().enumerate() {
                stop_trips[s.stop as usize].push((ti as u32, k as u16));
            }
        }
        let mut dates = HashMap::new();
        let mut mentioned = std::collections::HashSet::new();
        for d in &input.calendar_dates {
            mentioned.insert(d.date);
            let s = intern_service(&d.service_id, &mut services);
            dates.insert((s, d.date), d.exception_type);
        }
        let calendars = input.calendars.clone();
        for c in &calendars {
            intern_service(&c.service_id, &mut services);
        }
        let mut runs_of: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, t) in trips.iter().enumerate() {
            if let Some(run) = &t.run {
                runs_of
                    .entry(run.template.clone())
                    .or_default()
                    .push(i as u32);
            }
        }
        for runs in runs_of.values_mut() {
            runs.sort_by_key(|&t| trips[t as usize].start());
        }
        Ok(Network {
            runs_of,
            projection,
            stops,
            routes,
            shapes,
            trips,
            blocks,
            services,
            stop_trips,
            stop_index,
            route_index,
            trip_index,
            calendars,
            dates,
            mentioned,
        })
    }

    pub fn stop(&self, id: &str) -> Option<u32> {
        self.stop_index.get(id).copied()
    }
    /// Where vehicles call for a rider at `stop`: a station's platforms, or
    /// the stop itself; and the same of every other feed's stop at the same
    /// place.
    pub fn calling_points(&self, stop: u32) -> Vec<u32> {
        let own = |s: u32| match &self.stops[s as usize].platforms {
            p if p.is_empty() => vec![s],
            p => p.clone(),
        };
        let mut points = own(stop);
        for &other in &self.stops[stop as usize].same_place {
            points.extend(own(other));
        }
        points
    }
    pub fn route(&self, id: &str) -> Option<u32> {
        self.route_index.get(id).copied()
    }
    pub fn trip(&self, id: &str) -> Option<u32> {
        self.trip_index.get(id).copied()
    }
    /// The runs of a frequency-based trip (by start), named by its
    /// template's trip_id; empty for any other ID.
    pub fn runs_of(&self, template: &str) -> &[u32] {
        self.runs_of.get(template).map_or(&[], Vec::as_slice)
    }

    /// The last date the feed schedules any service (its calendars' end or a
    /// date it adds), for feed-expiry alerting. None for a feed without dates.
    pub fn last_service_date(&self) -> Option<NaiveDate> {
        let added = self
            .dates
            .iter()
            .filter(|(_, kind)| **kind == 1)
            .map(|((_, date), _)| *date);
        self.calendars.iter().map(|c| c.end).chain(added).max()
    }

    /// The services running on `date` (same rule as the network crate's
    /// `service_day`: a weekday national holiday the feed does not mention
    /// runs the Sunday services).
    pub fn services_on(&self, date: NaiveDate) -> Vec<bool> {
        let holiday = is_holiday(date);
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let fallback = holiday && weekday && !self.mentioned.contains(&date);
        let col = if fallback {
            6
        } else {
            date.weekday().num_days_from_monday() as usize
        };
        let mut on = vec![false; self.services.len()];
        for (i, name) in self.services.iter().enumerate() {
            let base = self
                .calendars
                .iter()
                .any(|c| &c.service_id == name && c.days[col] && c.start <= date && date <= c.end);
            on[i] = match self.dates.get(&(i as u32, date)) {
                Some(1) => true,
                Some(2) => false,
                _ => base,
            };
        }
        on
    }

    /// The trip after `trip` in its block, if any.
    pub fn next_in_block(&self, trip: u32) -> Option<u32> {
        let b = self.trips[trip as usize].block?;
        let list = &self.blocks[b as usize];
        let i = list.iter().position(|t| *t == trip)?;
        list.get(i + 1).copied()
    }

    /// The trip before `trip` in its block, if any.
    pub fn previous_in_block(&self, trip: u32) -> Option<u32> {
        let b = self.trips[trip as usize].block?;
        let list = &self.blocks[b as usize];
        let i = list.iter().position(|t| *t == trip)?;
        i.checked_sub(1).map(|i| list[i])
    }

    pub fn shape_of(&self, trip: u32) -> &Polyline {
        &self.shapes[self.trips[trip as usize].shape as usize]
    }
}

/// Unix seconds of 00:00 JST on `date` (GTFS times count from here: Japan
/// has no daylight saving time).
pub fn day_start(date: NaiveDate) -> f64 {
    jst_day_start(date).timestamp() as f64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A straight east-west line of `n` stops 400 m apart from the origin,
    /// one route, trips every 10 minutes from 06:00 both ways, blocks pairing
    /// an outbound trip with the next inbound one.
    pub fn line_network(n: usize) -> Network {
        let p = Projection::new(31.59, 130.55);
        let mut input = NetworkInput::default();
        for i in 0..n {
            let (lat, lon) = p.to_latlon(Xy {
                x: 400.0 * i as f64,
                y: 0.0,
            });
            input.stops.push(StopInput {
                stop_id: format!("s{i}"),
                name: format!("Stop {i}"),
                lat,
                lon,
                parent_station: None,
                platform_code: None,
                feed: 0,
            });
        }
        input.routes.push(RouteInput {
            route_id: "r".into(),
            agency_id: None,
            short_name: "R".into(),
            mode: "tram".into(),
        });
        for (dir, sid) in [(0u8, "out"), (1, "in")] {
            let pts: Vec<(f64, f64)> = (0..=(n - 1) * 4)
                .map(|k| {
                    p.to_latlon(Xy {
                        x: 100.0 * k as f64,
                        y: 0.0,
                    })
                })
                .collect();
            let pts: Vec<_> = if dir == 0 {
                pts
            } else {
                pts.into_iter().rev().collect()
            };
            for (k, (lat, lon)) in pts.into_iter().enumerate() {
                input.shapes.push(ShapePointInput {
                    shape_id: sid.into(),
                    seq: k as u32,
                    lat,
                    lon,
                });
            }
        }
        for k in 0..20 {
            for dir in 0..2u8 {
                let start = 6 * 3600 + k * 600 + i32::from(dir) * 1800;
                let id = format!("t{k}-{dir}");
                input.trips.push(TripInput {
                    trip_id: id.clone(),
                    run: None,
                    route_id: "r".into(),
                    wheelchair_accessible: 0,
                    service_id: "all".into(),
                    headsign: if dir == 0 {
                        "East".into()
                    } else {
                        "West".into()
                    },
                    direction_id: Some(dir),
                    block_id: Some(format!("b{k}")),
                    shape_id: Some(if dir == 0 { "out" } else { "in" }.into()),
                });
                for i in 0..n {
                    let stop = if dir == 0 { i } else { n - 1 - i };
                    let t = start + 90 * i as i32;
                    input.stop_times.push(StopTimeInput {
                        trip_id: id.clone(),
                        stop_sequence: i as u32 + 1,
                        stop_id: format!("s{stop}"),
                        arrival_s: Some(t),
                        departure_s: Some(t),
                    });
                }
            }
        }
        input.calendars.push(CalendarInput {
            service_id: "all".into(),
            days: [true; 7],
            start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2030, 1, 1).expect("date"),
        });
        Network::build(input).expect("network builds")
    }

    #[test]
    fn builds_stop_distances_and_blocks() {
        let net = line_network(6);
        let t = &net.trips[net.trip("t0-0").expect("trip") as usize];
        let d: Vec<f64> = t.stops.iter().map(|s| s.dist.round()).collect();
        assert_eq!(d, vec![0.0, 400.0, 800.0, 1200.0, 1600.0, 2000.0]);
        let next = net
            .next_in_block(net.trip("t0-0").expect("trip"))
            .expect("next");
        assert_eq!(net.trips[next as usize].id, "t0-1");
        assert!((t.scheduled_at(200.0) - f64::from(6 * 3600 + 45)).abs() < 1e-6);
    }
}
