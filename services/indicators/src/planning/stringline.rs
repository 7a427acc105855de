//! The time-distance (string-line) diagram of a route: for one service day
//! and one direction, every trip's observed arrivals and departures along
//! the stops (solid) over its timetable (dashed), the way a planner sees
//! bunching, late running and slack at a glance.
use chrono::NaiveDate;
use sqlx::PgPool;

/// One trip's points: (seconds after the service day's start, stop index),
/// scheduled and observed.
#[derive(Debug, Clone, PartialEq)]
pub struct TripLine {
    pub trip_id: String,
    pub scheduled: Vec<(f64, f64)>,
    pub observed: Vec<(f64, f64)>,
}

/// The trips of `route_id` in `direction_id` on `date` between the hours
/// (JST, of the service day) `from_h` and `to_h`, with the stop names' order
/// (their stop IDs, first to last).
pub async fn lines(
    pool: &PgPool,
    date: NaiveDate,
    route_id: &str,
    direction_id: i16,
    (from_h, to_h): (u32, u32),
) -> Result<(Vec<String>, Vec<TripLine>), sqlx::Error> {
    type Row = (String, i32, String, f64, f64, f64, Option<f64>);
    let start = kagoshima_domain::calendar::jst_day_start(date).timestamp() as f64;
    let rows: Vec<Row> =
        kagoshima_storage::stop_visits::of_route_day(pool, date, route_id, direction_id)
            .await?
            .into_iter()
            .map(|v| {
                let sa = v.scheduled_arrival.unwrap_or(v.actual_arrival);
                (
                    v.trip_id,
                    v.stop_sequence,
                    v.stop_id,
                    sa - start,
                    v.scheduled_departure.unwrap_or(sa) - start,
                    v.actual_arrival - start,
                    v.actual_departure.map(|d| d - start),
                )
            })
            .collect();
    // The stop order: that of the trip calling at the most stops.
    let mut by_trip: std::collections::BTreeMap<String, Vec<Row>> = Default::default();
    for r in rows {
        by_trip.entry(r.0.clone()).or_default().push(r);
    }
    let stops: Vec<String> = by_trip
        .values()
        .max_by_key(|v| v.len())
        .map(|v| v.iter().map(|r| r.2.clone()).collect())
        .unwrap_or_default();
    let index = |stop: &str| stops.iter().position(|s| s == stop).map(|i| i as f64);
    let (lo, hi) = (f64::from(from_h) * 3600.0, f64::from(to_h) * 3600.0);
    let lines = by_trip
        .into_iter()
        .filter(|(_, v)| v.first().is_some_and(|r| r.4 >= lo && r.4 < hi))
        .map(|(trip_id, v)| {
            let mut scheduled = Vec::new();
            let mut observed = Vec::new();
            for (_, _, stop, s_arr, s_dep, a_arr, a_dep) in v {
                if let Some(y) = index(&stop) {
                    scheduled.extend([(s_arr, y), (s_dep, y)]);
                    observed.push((a_arr, y));
                    if let Some(d) = a_dep {
                        observed.push((d, y));
                    }
                }
            }
            TripLine {
                trip_id,
                scheduled,
                observed,
            }
        })
        .collect();
    Ok((stops, lines))
}

/// The diagram as SVG: time across (minutes of the day), stops down.
pub fn svg(title: &str, stops: &[String], lines: &[TripLine]) -> Option<String> {
    use plotters::prelude::*;
    let points = lines
        .iter()
        .flat_map(|l| l.scheduled.iter().chain(&l.observed));
    let (t0, t1) = points.fold((f64::MAX, f64::MIN), |(a, b), (t, _)| {
        (a.min(*t), b.max(*t))
    });
    if lines.is_empty() || stops.len() < 2 || t0 >= t1 {
        return None;
    }
    let (t0, t1) = (t0 / 60.0 - 2.0, t1 / 60.0 + 2.0);
    let n = stops.len() as f64 - 1.0;
    let mut out = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut out, (1000, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(200)
            .build_cartesian_2d(t0..t1, n..0.0)?;
        chart
            .configure_mesh()
            .y_labels(stops.len())
            .y_label_formatter(&|y| {
                let i = y.round() as usize;
                if (y - y.round()).abs() < 1e-6 {
                    stops.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|m| format!("{:02}:{:02}", (*m as i64) / 60 % 24, (*m as i64) % 60))
            .draw()?;
        let grey = RGBColor(0x99, 0x99, 0x99);
        let blue = RGBColor(0x1f, 0x77, 0xb4);
        for (k, l) in lines.iter().enumerate() {
            let s = chart.draw_series(DashedLineSeries::new(
                l.scheduled.iter().map(|(t, y)| (t / 60.0, *y)),
                4,
                3,
                grey.stroke_width(1),
            ))?;
            if k == 0 {
                s.label("計画 / timetable")
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], grey));
            }
            let s = chart.draw_series(LineSeries::new(
                l.observed.iter().map(|(t, y)| (t / 60.0, *y)),
                blue.stroke_width(2),
            ))?;
            if k == 0 {
                s.label("実績 / observed").legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], blue.stroke_width(2))
                });
            }
        }
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
