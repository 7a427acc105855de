//! The area vehicles are expected to report from.
use geo::{Contains, Coord, Rect};
use serde::{Deserialize, Serialize};

/// A latitude/longitude box. The default covers Kagoshima City with a margin
/// (Sakurajima, Kiire and Koriyama included).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServiceArea {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Default for ServiceArea {
    fn default() -> Self {
        ServiceArea {
            min_lat: 31.35,
            max_lat: 31.80,
            min_lon: 130.30,
            max_lon: 130.80,
        }
    }
}

impl ServiceArea {
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let rect = Rect::new(
            Coord {
                x: self.min_lon,
                y: self.min_lat,
            },
            Coord {
                x: self.max_lon,
                y: self.max_lat,
            },
        );
        // `Rect::contains` excludes the boundary; a point on the edge is inside for us.
        rect.contains(&Coord { x: lon, y: lat })
            || (lat >= self.min_lat
                && lat <= self.max_lat
                && lon >= self.min_lon
                && lon <= self.max_lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenmonkan_is_inside_and_tokyo_is_not() {
        let area = ServiceArea::default();
        assert!(area.contains(31.59071, 130.55530));
        assert!(!area.contains(35.681, 139.767));
    }
}
