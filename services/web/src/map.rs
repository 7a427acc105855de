//! The projection of the SVG route map: a local equirectangular projection
//! (metres east and north of a centre), exact enough over a city. The page
//! places vehicles with the same parameters.
use serde::Serialize;

const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
const METRES_PER_DEGREE_LON_EQUATOR: f64 = 111_320.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Projection {
    pub center_lat: f64,
    pub center_lon: f64,
    /// Metres per SVG user unit.
    pub metres_per_unit: f64,
    pub width: f64,
    pub height: f64,
}

impl Projection {
    /// A square `size` units wide showing `half_metres` around a point.
    pub fn around(lat: f64, lon: f64, half_metres: f64, size: f64) -> Projection {
        Projection {
            center_lat: lat,
            center_lon: lon,
            metres_per_unit: (2.0 * half_metres / size).max(f64::MIN_POSITIVE),
            width: size,
            height: size,
        }
    }

    /// The smallest view `width` units wide holding every point, with a margin.
    pub fn fit(points: &[(f64, f64)], width: f64, margin: f64) -> Option<Projection> {
        let (first, rest) = points.split_first()?;
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) =
            (first.0, first.0, first.1, first.1);
        for &(lat, lon) in rest {
            min_lat = min_lat.min(lat);
            max_lat = max_lat.max(lat);
            min_lon = min_lon.min(lon);
            max_lon = max_lon.max(lon);
        }
        let center_lat = (min_lat + max_lat) / 2.0;
        let center_lon = (min_lon + max_lon) / 2.0;
        let east = (max_lon - min_lon) * lon_scale(center_lat);
        let north = (max_lat - min_lat) * METRES_PER_DEGREE_LAT;
        let inner = (width - 2.0 * margin).max(1.0);
        let metres_per_unit = (east.max(north * 0.5) / inner).max(1.0);
        let height = north / metres_per_unit + 2.0 * margin;
        Some(Projection {
            center_lat,
            center_lon,
            metres_per_unit,
            width,
            height,
        })
    }

    /// SVG coordinates (x right, y down) of a WGS84 point, rounded to 0.1.
    pub fn project(&self, lat: f64, lon: f64) -> (f64, f64) {
        let east = (lon - self.center_lon) * lon_scale(self.center_lat);
        let north = (lat - self.center_lat) * METRES_PER_DEGREE_LAT;
        let x = self.width / 2.0 + east / self.metres_per_unit;
        let y = self.height / 2.0 - north / self.metres_per_unit;
        ((x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0)
    }
}

fn lon_scale(lat: f64) -> f64 {
    METRES_PER_DEGREE_LON_EQUATOR * lat.to_radians().cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_is_the_middle_and_north_is_up() {
        let p = Projection::around(31.59071, 130.55530, 2000.0, 600.0);
        assert_eq!(p.project(31.59071, 130.55530), (300.0, 300.0));
        // 高見馬場 is south-west of 天文館通: left and down.
        let (x, y) = p.project(31.58743, 130.54844);
        assert!(x < 300.0 && y > 300.0, "{x},{y}");
        // About 650 m west: about 98 units at 6.67 m a unit.
        assert!((300.0 - x - 97.6).abs() < 2.0, "{x}");
    }

    #[test]
    fn fit_holds_every_point() {
        let pts = [
            (31.59679, 130.55791),
            (31.53011, 130.52341),
            (31.56301, 130.54942),
        ];
        let p = Projection::fit(&pts, 800.0, 20.0).expect("points");
        for (lat, lon) in pts {
            let (x, y) = p.project(lat, lon);
            assert!((19.0..=781.0).contains(&x), "{x}");
            assert!(y >= 19.0 && y <= p.height - 19.0, "{y} of {}", p.height);
        }
        assert!(Projection::fit(&[], 800.0, 20.0).is_none());
    }
}
