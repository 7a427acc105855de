use std::collections::BTreeMap;

use kagoshima_domain::topic::Kind;
use kagoshima_sim::projection::distance_m;
use kagoshima_sim::{NoiseConfig, Payload, simulate_day};

use crate::support::{feed, small_config};

/// Without noise, a tram's published position at each true arrival and
/// departure instant is at the stop, and it serves its trips' stops in order.
#[test]
fn a_tram_without_noise_is_at_its_stops_when_the_truth_says() {
    let feed = feed();
    let mut config = small_config(11, 1);
    config.noise = NoiseConfig::none();
    let day = simulate_day(feed, &config);
    let vehicle = "tram-101";
    let positions: BTreeMap<i64, (f64, f64, String)> = day
        .events
        .iter()
        .filter(|e| e.topic.vehicle_id == vehicle && e.topic.kind == Kind::Position)
        .filter_map(|e| match &e.payload {
            Payload::Position(p) => {
                let t = p.recorded_at.expect("recorded_at");
                Some((
                    t.seconds * 1000 + i64::from(t.nanos / 1_000_000),
                    (p.lat, p.lon, p.trip_id.clone()),
                ))
            }
            _ => None,
        })
        .collect();
    let visits: Vec<_> = day
        .truth
        .visits
        .iter()
        .filter(|v| v.vehicle_id == vehicle)
        .collect();
    assert!(visits.len() > 100, "a tram makes many stops a day");
    let date = config.date;
    let ms = |s: f64| kagoshima_sim::schedule::gtfs_instant(date, s).timestamp_millis();
    let mut worst: f64 = 0.0;
    for v in &visits {
        let stop = feed.stop_latlon(&v.stop_id).expect("stop");
        for t in [v.arrival_s, v.departure_s] {
            let (lat, lon, trip) = positions
                .get(&ms(t))
                .unwrap_or_else(|| panic!("a position at {} {}", v.stop_id, ms(t)));
            let d = distance_m((*lat, *lon), stop);
            worst = worst.max(d);
            assert!(d < 3.0, "{} m from {} at {}", d, v.stop_id, ms(t));
            assert_eq!(trip, &v.trip_id, "logged in to the trip at its stops");
        }
        assert!(v.departure_s >= v.arrival_s);
    }
    // The stops of each trip, in the feed's order.
    let mut by_trip: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for v in &visits {
        by_trip.entry(&v.trip_id).or_default().push(&v.stop_id);
    }
    for (trip_id, stops) in by_trip {
        let expected: Vec<&str> = feed.trips[trip_id]
            .stop_times
            .iter()
            .map(|s| s.stop_id.as_str())
            .collect();
        assert_eq!(stops, expected, "stops of {trip_id}");
    }
    // Visits are in time order along the day.
    for w in visits.windows(2) {
        assert!(w[1].arrival_s >= w[0].departure_s);
    }
    assert!(worst < 3.0);
}

/// Rush-hour trips take longer than late-evening ones.
#[test]
fn rush_hour_runs_slower_than_the_evening() {
    let feed = feed();
    let mut config = small_config(5, 24);
    config.noise = NoiseConfig::none();
    let day = simulate_day(feed, &config);
    let mut rush = Vec::new();
    let mut late = Vec::new();
    for tr in &day.truth.trajectories {
        for s in &tr.trips {
            let route = &s.route_id;
            if route != "tram-1" {
                continue;
            }
            let h = s.start_s / 3600.0;
            let dur = s.end_s - s.start_s;
            if (7.0..8.5).contains(&h) {
                rush.push(dur);
            } else if h >= 21.5 {
                late.push(dur);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(!rush.is_empty() && !late.is_empty());
    assert!(
        mean(&rush) > 1.3 * mean(&late),
        "rush {} s vs late {} s",
        mean(&rush),
        mean(&late)
    );
}
