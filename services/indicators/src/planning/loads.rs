//! Load profiles: how full the vehicles of a route and direction are
//! leaving each stop, by time band, over every trip-day of the period (the
//! chart a planner reads to see where a line's peak load point is and how
//! close it comes to the vehicle's capacity).
use std::collections::BTreeMap;

use serde::Serialize;

use super::{analysis::TripLoad, bands::Band};

/// The load leaving one stop, over the trip-days of a band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProfilePoint {
    pub stop_id: String,
    /// The stop's usual place on the route (its median stop_sequence).
    pub stop_sequence: i32,
    /// Trip-days that served the stop.
    pub trips: i64,
    pub mean_boardings: f64,
    pub mean_alightings: f64,
    pub mean_load: f64,
    /// The 85th percentile of the load: a crowded day, not the worst one.
    pub p85_load: f64,
    pub max_load: i64,
}

/// The load profile of one route, direction and band.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadProfile {
    pub route_id: String,
    pub direction_id: i16,
    pub band: Band,
    /// Trip-days with riders.
    pub trips: i64,
    /// The vehicle's capacity (the largest of the trips').
    pub capacity: u32,
    /// Where the mean load is highest.
    pub peak_stop_id: String,
    pub stops: Vec<ProfilePoint>,
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

/// The profiles of every route, direction and band that had riders, stops
/// in route order. A trip-day that did not serve a stop (a short working)
/// does not count at that stop.
pub fn profiles(trips: &[TripLoad]) -> Vec<LoadProfile> {
    struct Acc {
        sequences: Vec<i32>,
        on: i64,
        off: i64,
        loads: Vec<i64>,
    }
    type Key = (String, i16, Band);
    let mut groups: BTreeMap<Key, (i64, u32, BTreeMap<String, Acc>)> = BTreeMap::new();
    for t in trips {
        let (count, capacity, stops) = groups
            .entry((t.route_id.clone(), t.direction_id, t.band))
            .or_insert_with(|| (0, 0, BTreeMap::new()));
        *count += 1;
        *capacity = (*capacity).max(t.capacity);
        for p in &t.profile {
            let a = stops.entry(p.stop_id.clone()).or_insert_with(|| Acc {
                sequences: Vec::new(),
                on: 0,
                off: 0,
                loads: Vec::new(),
            });
            a.sequences.push(p.stop_sequence);
            a.on += p.boardings;
            a.off += p.alightings;
            a.loads.push(p.load);
        }
    }
    groups
        .into_iter()
        .map(
            |((route_id, direction_id, band), (trips, capacity, stops))| {
                let mut points: Vec<ProfilePoint> = stops
                    .into_iter()
                    .map(|(stop_id, mut a)| {
                        a.sequences.sort_unstable();
                        a.loads.sort_unstable();
                        let n = a.loads.len() as f64;
                        ProfilePoint {
                            stop_id,
                            stop_sequence: a.sequences[a.sequences.len() / 2],
                            trips: a.loads.len() as i64,
                            mean_boardings: a.on as f64 / n,
                            mean_alightings: a.off as f64 / n,
                            mean_load: a.loads.iter().sum::<i64>() as f64 / n,
                            p85_load: percentile(&a.loads, 0.85),
                            max_load: a.loads.last().copied().unwrap_or(0),
                        }
                    })
                    .collect();
                points.sort_by(|a, b| {
                    (a.stop_sequence, &a.stop_id).cmp(&(b.stop_sequence, &b.stop_id))
                });
                let peak_stop_id = points
                    .iter()
                    .max_by(|a, b| a.mean_load.total_cmp(&b.mean_load))
                    .map(|p| p.stop_id.clone())
                    .unwrap_or_default();
                LoadProfile {
                    route_id,
                    direction_id,
                    band,
                    trips,
                    capacity,
                    peak_stop_id,
                    stops: points,
                }
            },
        )
        .collect()
}

/// The chart of one route and direction: the mean load leaving each stop,
/// one line per band, the busiest band's 85th percentile dashed, and the
/// vehicle's capacity as a red line. `names` gives the stops' names.
pub fn svg(
    profiles: &[&LoadProfile],
    names: &BTreeMap<String, String>,
    title: &str,
) -> Option<String> {
    use plotters::prelude::*;
    let first = profiles.first()?;
    // The stops in route order: the busiest band's order, then any other.
    let busiest = profiles
        .iter()
        .max_by(|a, b| {
            let peak = |p: &LoadProfile| p.stops.iter().map(|s| s.mean_load).fold(0.0, f64::max);
            peak(a).total_cmp(&peak(b))
        })
        .copied()
        .unwrap_or(first);
    let mut order: Vec<(i32, String)> = Vec::new();
    for p in profiles {
        for s in &p.stops {
            if !order.iter().any(|(_, id)| id == &s.stop_id) {
                order.push((s.stop_sequence, s.stop_id.clone()));
            }
        }
    }
    order.sort();
    if order.len() < 2 {
        return None;
    }
    let index = |id: &str| order.iter().position(|(_, s)| s == id);
    let capacity = profiles.iter().map(|p| p.capacity).max().unwrap_or(0);
    let top = profiles
        .iter()
        .flat_map(|p| p.stops.iter().map(|s| s.p85_load))
        .fold(f64::from(capacity), f64::max)
        * 1.15;
    let n = order.len() as u32;
    let label = |i: u32| {
        order
            .get(i as usize)
            .map(|(_, id)| names.get(id).cloned().unwrap_or_else(|| id.clone()))
            .unwrap_or_default()
    };
    let colours = [
        RGBColor(0x9e, 0x9a, 0xc8),
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x8c, 0x56, 0x4b),
    ];
    let mut out = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut out, (1000, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(12)
            .x_label_area_size(110)
            .y_label_area_size(50)
            .build_cartesian_2d(0..n - 1, 0.0..top.max(1.0))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(order.len())
            .x_label_formatter(&|i| label(*i))
            .x_label_style(
                ("sans-serif", 11)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            )
            .y_desc("車内人数 / on board")
            .draw()?;
        for p in profiles {
            let colour = colours[p.band as usize % colours.len()];
            let points: Vec<(u32, f64)> = p
                .stops
                .iter()
                .filter_map(|s| index(&s.stop_id).map(|i| (i as u32, s.mean_load)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(format!(
                    "{} 平均 / mean ({} trips)",
                    p.band.label(),
                    p.trips
                ))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2))
                });
        }
        let colour = colours[busiest.band as usize % colours.len()];
        chart
            .draw_series(DashedLineSeries::new(
                busiest
                    .stops
                    .iter()
                    .filter_map(|s| index(&s.stop_id).map(|i| (i as u32, s.p85_load))),
                5,
                4,
                colour.stroke_width(1),
            ))?
            .label(format!("{} 85%値 / p85", busiest.band.label()))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], colour));
        let red = RGBColor(0xd6, 0x27, 0x28);
        chart
            .draw_series(LineSeries::new(
                [(0, f64::from(capacity)), (n - 1, f64::from(capacity))],
                red.stroke_width(2),
            ))?
            .label(format!("定員 / capacity {capacity}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], red.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    drawn.ok().map(|_| out)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::planning::analysis::LoadPoint;

    fn trip(id: &str, band: Band, loads: &[(&str, i32, i64, i64)]) -> TripLoad {
        let mut load = 0;
        TripLoad {
            service_date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            trip_id: id.into(),
            route_id: "r".into(),
            direction_id: 0,
            mode: "tram".into(),
            band,
            boardings: 0,
            peak_load: 0,
            peak_stop_id: String::new(),
            capacity: 80,
            crowded: false,
            source: "taps",
            profile: loads
                .iter()
                .map(|&(stop, seq, on, off)| {
                    load += on - off;
                    LoadPoint {
                        stop_sequence: seq,
                        stop_id: stop.into(),
                        boardings: on,
                        alightings: off,
                        load,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn a_profile_averages_the_load_leaving_each_stop_in_route_order() {
        let trips = [
            trip(
                "a",
                Band::AmPeak,
                &[("s1", 1, 10, 0), ("s2", 2, 30, 0), ("s3", 3, 0, 40)],
            ),
            trip(
                "b",
                Band::AmPeak,
                &[("s1", 1, 20, 0), ("s2", 2, 50, 10), ("s3", 3, 0, 60)],
            ),
            // A short working from the second stop.
            trip("c", Band::AmPeak, &[("s2", 1, 6, 0), ("s3", 2, 0, 6)]),
            trip("d", Band::Midday, &[("s1", 1, 4, 0), ("s3", 3, 0, 4)]),
        ];
        let p = profiles(&trips);
        assert_eq!(p.len(), 2);
        let am = &p[0];
        assert_eq!((am.band, am.trips, am.capacity), (Band::AmPeak, 3, 80));
        let ids: Vec<_> = am.stops.iter().map(|s| s.stop_id.as_str()).collect();
        assert_eq!(ids, ["s1", "s2", "s3"]);
        assert_eq!(am.stops[0].mean_load, 15.0);
        // s2: loads 40, 60 and 6.
        assert_eq!(am.stops[1].trips, 3);
        assert!((am.stops[1].mean_load - 106.0 / 3.0).abs() < 1e-9);
        assert_eq!((am.stops[1].p85_load, am.stops[1].max_load), (60.0, 60));
        assert_eq!(am.peak_stop_id, "s2");
        assert_eq!(p[1].stops.len(), 2);
        let svg = svg(
            &[am, &p[1]],
            &BTreeMap::from([("s2".into(), "天文館通".into())]),
            "t",
        )
        .expect("a chart");
        assert!(svg.contains("天文館通") && svg.contains("定員"), "{svg}");
    }
}
