//! The network model: a GTFS / GTFS-JP feed read with `gtfs-structures` and
//! turned into plain, sorted structures in metres, ready to simulate.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use gtfs_structures::{Exception, RouteType};
use kagoshima_domain::topic::Mode;

use crate::projection::{Xy, to_latlon, to_xy};

/// Where the shipped sample feed lives, relative to the workspace root.
pub const SAMPLE_FEED_DIR: &str = "simulators/feed/kagoshima";

/// The shipped sample feed's folder, absolute (for tests and the default CLI).
pub fn sample_feed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feed/kagoshima")
}

/// Why a feed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read the gtfs feed at {path}: {source}")]
    Read {
        path: String,
        source: gtfs_structures::Error,
    },
    #[error("invalid feed: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone)]
pub struct Stop {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub xy: Xy,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub id: String,
    pub agency_id: String,
    pub short_name: String,
    pub mode: Mode,
}

/// A polyline in metres with the cumulative distance of every point.
#[derive(Debug, Clone)]
pub struct Shape {
    pub id: String,
    pub points: Vec<Xy>,
    /// Cumulative distance along the polyline (computed in the projection), metres.
    pub cum: Vec<f64>,
}

impl Shape {
    pub fn new(id: String, points: Vec<Xy>) -> Shape {
        let mut cum = Vec::with_capacity(points.len());
        let mut d = 0.0;
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                d += p.dist(points[i - 1]);
            }
            cum.push(d);
        }
        Shape { id, points, cum }
    }

    pub fn length(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// The point at distance `d` along the shape and the direction there
    /// (the unit segment it lies on, as a pair of points).
    pub fn at(&self, d: f64) -> (Xy, (Xy, Xy)) {
        let n = self.points.len();
        if n == 1 {
            return (self.points[0], (self.points[0], self.points[0]));
        }
        let d = d.clamp(0.0, self.length());
        let i = match self.cum.binary_search_by(|c| c.total_cmp(&d)) {
            Ok(i) => i.min(n - 2),
            Err(i) => i.saturating_sub(1).min(n - 2),
        };
        let (a, b) = (self.points[i], self.points[i + 1]);
        let seg = self.cum[i + 1] - self.cum[i];
        let f = if seg > 0.0 {
            (d - self.cum[i]) / seg
        } else {
            0.0
        };
        (
            Xy {
                x: a.x + (b.x - a.x) * f,
                y: a.y + (b.y - a.y) * f,
            },
            (a, b),
        )
    }

    /// Distance along the shape of the point nearest to `p`, and how far `p` is from it.
    pub fn project(&self, p: Xy) -> (f64, f64) {
        let mut best = (0.0, f64::INFINITY);
        for i in 0..self.points.len().saturating_sub(1) {
            let (a, b) = (self.points[i], self.points[i + 1]);
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let q = Xy {
                x: a.x + dx * t,
                y: a.y + dy * t,
            };
            let off = q.dist(p);
            if off < best.1 {
                best = (self.cum[i] + t * len2.sqrt(), off);
            }
        }
        if self.points.len() == 1 {
            best = (0.0, self.points[0].dist(p));
        }
        best
    }
}

/// One stop of a trip: seconds since the service day's noon-minus-12h (GTFS time).
#[derive(Debug, Clone)]
pub struct StopTime {
    pub stop_id: String,
    pub stop_sequence: u32,
    pub arrival_s: u32,
    pub departure_s: u32,
    /// Distance along the trip's shape, metres (recomputed by projecting the stop).
    pub dist_m: f64,
}

#[derive(Debug, Clone)]
pub struct Trip {
    pub id: String,
    pub route_id: String,
    pub service_id: String,
    pub block_id: String,
    pub shape_id: String,
    pub direction_id: u8,
    pub headsign: String,
    pub stop_times: Vec<StopTime>,
}

impl Trip {
    pub fn start_s(&self) -> u32 {
        self.stop_times.first().map_or(0, |s| s.departure_s)
    }
    pub fn end_s(&self) -> u32 {
        self.stop_times.last().map_or(0, |s| s.arrival_s)
    }
}

#[derive(Debug, Clone)]
struct ServiceCalendar {
    weekdays: [bool; 7],
    start: NaiveDate,
    end: NaiveDate,
}

/// A loaded feed: every map is a `BTreeMap`, so iteration order is stable.
#[derive(Debug, Clone)]
pub struct Feed {
    pub stops: BTreeMap<String, Stop>,
    pub routes: BTreeMap<String, Route>,
    pub shapes: BTreeMap<String, Shape>,
    pub trips: BTreeMap<String, Trip>,
    calendars: BTreeMap<String, ServiceCalendar>,
    /// (service_id, date) → added (true) or removed (false).
    exceptions: BTreeMap<(String, NaiveDate), bool>,
}

/// The agency whose routes are the community bus あいばす.
pub const COMMUNITY_BUS_AGENCY: &str = "kagoshima-aibus";

impl Feed {
    /// Reads a GTFS folder or zip file.
    pub fn load(path: impl AsRef<Path>) -> Result<Feed, FeedError> {
        let path = path.as_ref();
        let gtfs = gtfs_structures::Gtfs::from_path(path).map_err(|source| FeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Feed::from_gtfs(&gtfs)
    }

    /// The shipped sample feed.
    pub fn sample() -> Result<Feed, FeedError> {
        Feed::load(sample_feed_dir())
    }

    pub fn from_gtfs(gtfs: &gtfs_structures::Gtfs) -> Result<Feed, FeedError> {
        let mut stops = BTreeMap::new();
        for (id, s) in &gtfs.stops {
            let (Some(lat), Some(lon)) = (s.latitude, s.longitude) else {
                continue;
            };
            stops.insert(
                id.clone(),
                Stop {
                    id: id.clone(),
                    name: s.name.clone().unwrap_or_default(),
                    lat,
                    lon,
                    xy: to_xy(lat, lon),
                },
            );
        }
        let mut routes = BTreeMap::new();
        for (id, r) in &gtfs.routes {
            let agency_id = r.agency_id.clone().unwrap_or_default();
            let mode = if agency_id == COMMUNITY_BUS_AGENCY {
                Mode::CommunityBus
            } else if matches!(r.route_type, RouteType::Tramway | RouteType::Rail) {
                Mode::Tram
            } else {
                Mode::Bus
            };
            routes.insert(
                id.clone(),
                Route {
                    id: id.clone(),
                    agency_id,
                    short_name: r.short_name.clone().unwrap_or_default(),
                    mode,
                },
            );
        }
        let mut shapes = BTreeMap::new();
        for (id, pts) in &gtfs.shapes {
            let mut pts = pts.clone();
            pts.sort_by_key(|p| p.sequence);
            let points = pts.iter().map(|p| to_xy(p.latitude, p.longitude)).collect();
            shapes.insert(id.clone(), Shape::new(id.clone(), points));
        }
        let mut trips = BTreeMap::new();
        for (id, t) in &gtfs.trips {
            let shape_id = t.shape_id.clone().unwrap_or_default();
            let shape = shapes.get(&shape_id);
            let mut sts = Vec::with_capacity(t.stop_times.len());
            let mut last_dist = 0.0f64;
            for st in &t.stop_times {
                let (Some(arr), Some(dep)) = (
                    st.arrival_time.or(st.departure_time),
                    st.departure_time.or(st.arrival_time),
                ) else {
                    return Err(FeedError::Invalid(format!(
                        "trip {id}: stop {} has no time (timepoints only are not supported)",
                        st.stop.id
                    )));
                };
                // Project onto the shape, never backwards (loops pass a stop twice).
                let dist_m = match (shape, stops.get(&st.stop.id)) {
                    (Some(shape), Some(stop)) => {
                        project_forward(shape, stop.xy, last_dist, st.shape_dist_traveled)
                    }
                    _ => last_dist,
                };
                last_dist = dist_m;
                sts.push(StopTime {
                    stop_id: st.stop.id.clone(),
                    stop_sequence: st.stop_sequence,
                    arrival_s: arr,
                    departure_s: dep,
                    dist_m,
                });
            }
            sts.sort_by_key(|s| s.stop_sequence);
            trips.insert(
                id.clone(),
                Trip {
                    id: id.clone(),
                    route_id: t.route_id.clone(),
                    service_id: t.service_id.clone(),
                    block_id: t.block_id.clone().unwrap_or_else(|| format!("trip:{id}")),
                    shape_id,
                    direction_id: match t.direction_id {
                        Some(gtfs_structures::DirectionType::Inbound) => 1,
                        _ => 0,
                    },
                    headsign: t.trip_headsign.clone().unwrap_or_default(),
                    stop_times: sts,
                },
            );
        }
        let mut calendars = BTreeMap::new();
        for (id, c) in &gtfs.calendar {
            calendars.insert(
                id.clone(),
                ServiceCalendar {
                    weekdays: [
                        c.monday,
                        c.tuesday,
                        c.wednesday,
                        c.thursday,
                        c.friday,
                        c.saturday,
                        c.sunday,
                    ],
                    start: naive(c.start_date),
                    end: naive(c.end_date),
                },
            );
        }
        let mut exceptions = BTreeMap::new();
        for (id, dates) in &gtfs.calendar_dates {
            for d in dates {
                exceptions.insert(
                    (id.clone(), naive(d.date)),
                    matches!(d.exception_type, Exception::Added),
                );
            }
        }
        Ok(Feed {
            stops,
            routes,
            shapes,
            trips,
            calendars,
            exceptions,
        })
    }

    /// The service ids running on `date` (calendar plus calendar_dates).
    pub fn services_on(&self, date: NaiveDate) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let wd = date.weekday().num_days_from_monday() as usize;
        for (id, c) in &self.calendars {
            if c.start <= date && date <= c.end && c.weekdays[wd] {
                out.insert(id.clone());
            }
        }
        for ((id, d), added) in &self.exceptions {
            if *d == date {
                if *added {
                    out.insert(id.clone());
                } else {
                    out.remove(id);
                }
            }
        }
        out
    }

    /// The mode of a route (tram unless known otherwise).
    pub fn mode_of(&self, route_id: &str) -> Mode {
        self.routes.get(route_id).map_or(Mode::Bus, |r| r.mode)
    }

    pub fn stop_latlon(&self, stop_id: &str) -> Option<(f64, f64)> {
        self.stops.get(stop_id).map(|s| (s.lat, s.lon))
    }

    /// The shape of a trip, or a straight polyline through its stops if it has none.
    pub fn shape_of(&self, trip: &Trip) -> Shape {
        if let Some(s) = self.shapes.get(&trip.shape_id) {
            return s.clone();
        }
        let pts = trip
            .stop_times
            .iter()
            .filter_map(|st| self.stops.get(&st.stop_id).map(|s| s.xy))
            .collect();
        Shape::new(format!("stops:{}", trip.id), pts)
    }

    /// Whether a weekday name is used, for a quick description.
    pub fn describe(&self) -> String {
        format!(
            "{} stops, {} routes, {} shapes, {} trips",
            self.stops.len(),
            self.routes.len(),
            self.shapes.len(),
            self.trips.len()
        )
    }
}

/// Projects a stop onto the shape at or after `from` (loops visit places twice).
/// A GTFS `shape_dist_traveled` near the projection is preferred when present.
fn project_forward(shape: &Shape, p: Xy, from: f64, hint: Option<f32>) -> f64 {
    if let Some(h) = hint {
        let h = f64::from(h);
        let (q, _) = shape.at(h);
        if h >= from - 1.0 && q.dist(p) < 30.0 {
            return h.max(from);
        }
    }
    // Search segments from `from` onward.
    let mut best = (from, f64::INFINITY);
    for i in 0..shape.points.len().saturating_sub(1) {
        if shape.cum[i + 1] < from {
            continue;
        }
        let (a, b) = (shape.points[i], shape.points[i + 1]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len2 = dx * dx + dy * dy;
        let mut t = if len2 > 0.0 {
            (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let len = len2.sqrt();
        if shape.cum[i] + t * len < from && len > 0.0 {
            t = (from - shape.cum[i]) / len;
        }
        let q = Xy {
            x: a.x + dx * t,
            y: a.y + dy * t,
        };
        let off = q.dist(p);
        if off < best.1 - 1e-9 {
            best = (shape.cum[i] + t * len, off);
        }
    }
    best.0
}

/// Converts a point on a shape to latitude/longitude.
pub fn shape_latlon(shape: &Shape, d: f64) -> (f64, f64) {
    to_latlon(shape.at(d).0)
}

/// A `gtfs-structures` date (a jiff civil date, shown as `YYYY-MM-DD`) as a chrono date.
fn naive(d: impl std::fmt::Display) -> NaiveDate {
    NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

/// Weekday helper for day-type decisions.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}
