//! Planar geometry in metres: a local tangent-plane projection around the
//! network and polylines with cumulative distances. Distances in raw degrees
//! are distorted (a degree of longitude is ~15 % shorter than one of latitude
//! at Kagoshima's 31.6° N), so everything is projected first.

/// Mean Earth radius, metres.
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// A point in metres east (`x`) and north (`y`) of the projection's origin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Xy {
    pub x: f64,
    pub y: f64,
}

impl Xy {
    pub fn dist(self, o: Xy) -> f64 {
        (self.x - o.x).hypot(self.y - o.y)
    }
}

/// An equirectangular projection about an origin: over a city (±30 km) its
/// error is far below GPS noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    lat0: f64,
    lon0: f64,
    kx: f64,
    ky: f64,
}

impl Projection {
    pub fn new(lat0: f64, lon0: f64) -> Projection {
        // Metres per degree of latitude.
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Projection {
            lat0,
            lon0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }

    pub fn to_xy(&self, lat: f64, lon: f64) -> Xy {
        Xy {
            x: (lon - self.lon0) * self.kx,
            y: (lat - self.lat0) * self.ky,
        }
    }

    pub fn to_latlon(&self, p: Xy) -> (f64, f64) {
        (self.lat0 + p.y / self.ky, self.lon0 + p.x / self.kx)
    }
}

/// Where a point falls on a polyline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projected {
    /// Distance along the polyline, metres.
    pub along: f64,
    /// Distance from the polyline, metres.
    pub off: f64,
}

/// A polyline in metres with the cumulative distance at every vertex.
#[derive(Debug, Clone, PartialEq)]
pub struct Polyline {
    pts: Vec<Xy>,
    cum: Vec<f64>,
}

impl Polyline {
    pub fn new(mut pts: Vec<Xy>) -> Polyline {
        pts.dedup_by(|a, b| a.dist(*b) < 0.01);
        if pts.is_empty() {
            pts.push(Xy::default());
        }
        let mut cum = Vec::with_capacity(pts.len());
        let mut d = 0.0;
        for i in 0..pts.len() {
            if i > 0 {
                d += pts[i].dist(pts[i - 1]);
            }
            cum.push(d);
        }
        Polyline { pts, cum }
    }

    pub fn length(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    pub fn points(&self) -> &[Xy] {
        &self.pts
    }

    fn segment_of(&self, d: f64) -> usize {
        let n = self.pts.len();
        if n < 2 {
            return 0;
        }
        self.cum
            .partition_point(|c| *c <= d)
            .saturating_sub(1)
            .min(n - 2)
    }

    /// The point at distance `d` and the compass bearing there (degrees).
    pub fn at(&self, d: f64) -> (Xy, f64) {
        if self.pts.len() < 2 {
            return (self.pts[0], 0.0);
        }
        let d = d.clamp(0.0, self.length());
        let i = self.segment_of(d);
        let (a, b) = (self.pts[i], self.pts[i + 1]);
        let seg = self.cum[i + 1] - self.cum[i];
        let f = if seg > 0.0 {
            (d - self.cum[i]) / seg
        } else {
            0.0
        };
        let mut bearing = (b.x - a.x).atan2(b.y - a.y).to_degrees();
        if bearing < 0.0 {
            bearing += 360.0;
        }
        (
            Xy {
                x: a.x + (b.x - a.x) * f,
                y: a.y + (b.y - a.y) * f,
            },
            bearing,
        )
    }

    /// The nearest point of the whole polyline.
    pub fn project(&self, p: Xy) -> Projected {
        self.project_window(p, 0.0, self.length())
    }

    /// The nearest point among the segments overlapping `[lo, hi]`, with
    /// `along` clamped to the window. Ties go to the lower distance.
    pub fn project_window(&self, p: Xy, lo: f64, hi: f64) -> Projected {
        let n = self.pts.len();
        if n < 2 {
            return Projected {
                along: 0.0,
                off: self.pts[0].dist(p),
            };
        }
        let lo = lo.max(0.0);
        let hi = hi.min(self.length()).max(lo);
        let mut best = Projected {
            along: lo,
            off: f64::INFINITY,
        };
        let mut i = self.segment_of(lo);
        while i < n - 1 && self.cum[i] <= hi {
            let (a, b) = (self.pts[i], self.pts[i + 1]);
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let along = (self.cum[i] + t * len2.sqrt()).clamp(lo, hi);
            let q = self.at_segment(i, along);
            let off = q.dist(p);
            if off < best.off - 1e-9 {
                best = Projected { along, off };
            }
            i += 1;
        }
        best
    }

    fn at_segment(&self, i: usize, d: f64) -> Xy {
        let (a, b) = (self.pts[i], self.pts[i + 1]);
        let seg = self.cum[i + 1] - self.cum[i];
        let f = if seg > 0.0 {
            ((d - self.cum[i]) / seg).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Xy {
            x: a.x + (b.x - a.x) * f,
            y: a.y + (b.y - a.y) * f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips_and_measures_metres() {
        let p = Projection::new(31.59071, 130.55530);
        let q = p.to_xy(31.56301, 130.54942);
        let (lat, lon) = p.to_latlon(q);
        assert!((lat - 31.56301).abs() < 1e-9 && (lon - 130.54942).abs() < 1e-9);
        let d = q.dist(Xy::default());
        assert!((3000.0..3300.0).contains(&d), "{d}");
    }

    #[test]
    fn windowed_projection_stays_in_its_window() {
        // A U-turn: out along x, back along y = 20.
        let line = Polyline::new(vec![
            Xy { x: 0.0, y: 0.0 },
            Xy { x: 1000.0, y: 0.0 },
            Xy { x: 1000.0, y: 20.0 },
            Xy { x: 0.0, y: 20.0 },
        ]);
        let p = Xy { x: 100.0, y: 12.0 };
        assert!((line.project(p).along - 1920.0).abs() < 1e-6);
        let w = line.project_window(p, 0.0, 500.0);
        assert!((w.along - 100.0).abs() < 1e-6 && (w.off - 12.0).abs() < 1e-6);
    }
}
