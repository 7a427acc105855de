//! A device back from an hour offline delivers its buffer all at once: the
//! old reports must not disturb the vehicle's live state or predictions.
use std::time::Duration;

use kagoshima_location::live::now;
use kagoshima_proto::v1::{Arrival, GetArrivalsRequest, ListVehiclesRequest, Vehicle};
use kagoshima_tracker::Report;

use crate::support::TestLocation;

const TRIP: &str = "T1-WD-0-0600";
/// Another trip over the same stops (the buffer's, logged in an hour ago).
const OLD_TRIP: &str = "T1-WD-0-0607";

/// A point `f` stops along the path (0.0 = the first stop; linear between stops).
fn along(stops: &[(String, f64, f64)], f: f64) -> (f64, f64) {
    let i = (f.floor() as usize).min(stops.len() - 2);
    let u = (f - i as f64).clamp(0.0, 1.0);
    let (a, b) = (&stops[i], &stops[i + 1]);
    (a.1 + (b.1 - a.1) * u, a.2 + (b.2 - a.2) * u)
}

fn report(vehicle: &str, trip: &str, recorded: f64, received: f64, at: (f64, f64)) -> Report {
    Report {
        vehicle_id: vehicle.into(),
        recorded_at: recorded,
        received_at: received,
        lat: at.0,
        lon: at.1,
        bearing: None,
        speed: Some(8.0),
        trip_id: Some(trip.into()),
        route_id: None,
    }
}

async fn arrival(app: &TestLocation, stop: &str, vehicle: &str) -> Arrival {
    let answer = app
        .client()
        .await
        .get_arrivals(GetArrivalsRequest {
            stop_id: stop.into(),
            lang: "en".into(),
            limit: 50,
            route_id: String::new(),
        })
        .await
        .expect("arrivals")
        .into_inner();
    answer
        .arrivals
        .iter()
        .find(|a| a.vehicle_id == vehicle)
        .cloned()
        .unwrap_or_else(|| panic!("no arrival of {vehicle}: {answer:?}"))
}

async fn vehicle_state(app: &TestLocation, vehicle: &str) -> Vehicle {
    let all = app
        .client()
        .await
        .list_vehicles(ListVehiclesRequest {
            route_id: String::new(),
            lang: "en".into(),
        })
        .await
        .expect("vehicles")
        .into_inner();
    all.vehicles
        .into_iter()
        .find(|v| v.vehicle_id == vehicle)
        .unwrap_or_else(|| panic!("{vehicle} not listed"))
}

/// (stop_sequence, arrival, departure) of the trip's stored stop visits.
async fn visits(app: &TestLocation, trip: &str) -> Vec<(i32, f64, Option<f64>)> {
    sqlx::query_as(
        "SELECT stop_sequence, extract(epoch FROM actual_arrival)::float8,
                extract(epoch FROM actual_departure)::float8
           FROM stop_visits WHERE trip_id = $1 ORDER BY stop_sequence",
    )
    .bind(trip)
    .fetch_all(app.db.pool())
    .await
    .expect("visits")
}

fn secs(a: &Arrival) -> f64 {
    let t = a.predicted_time.expect("a prediction");
    t.seconds as f64 + f64::from(t.nanos) / 1e9
}

#[tokio::test]
async fn an_hour_buffered_offline_does_not_disturb_live_predictions() {
    let app = TestLocation::spawn().await;
    let stops = app.trip_stops(TRIP).await;
    assert!(stops.len() > 6);
    let live = app.live();
    let vehicle = kagoshima_tests::unique("buffered");
    // Live: from stop 0 to stop 2 over the last two minutes, every 10 s.
    let t = now();
    let steps = 12;
    for k in 0..=steps {
        let f = 2.0 * f64::from(k) / f64::from(steps);
        let at = t - 10.0 * f64::from(steps - k);
        live.ingest(&report(&vehicle, TRIP, at, at, along(&stops, f)));
    }
    let target = stops[5].0.clone();
    let before = arrival(&app, &target, &vehicle).await;
    let p = secs(&before);
    assert!(p > t && p < t + 900.0, "{p} vs {t}");
    let state = vehicle_state(&app, &vehicle).await;
    assert_eq!(state.trip_id, TRIP);
    assert!(!state.stale);
    let stored =
        kagoshima_tests::eventually("live stop visits", Duration::from_secs(10), || async {
            let v = visits(&app, TRIP).await;
            (v.len() >= 2).then_some(v)
        })
        .await;

    // The buffer: an hour ago up to three minutes ago, every 5 s, along the
    // same stops (a previous trip, driven back and forth), delivered now.
    let received = now();
    let mut buffered = 0;
    let mut recorded = received - 3600.0;
    while recorded <= received - 180.0 {
        let k = ((recorded - (received - 3600.0)) / 5.0) as u32;
        // 0 → 6 → 0 stops, 30 reports a leg.
        let leg = f64::from(k % 60) / 5.0;
        let f = if leg <= 6.0 { leg } else { 12.0 - leg };
        live.ingest(&report(
            &vehicle,
            OLD_TRIP,
            recorded,
            received,
            along(&stops, f),
        ));
        buffered += 1;
        recorded += 5.0;
    }
    assert!(buffered > 680, "{buffered}");
    // Let the stop-visit writer store whatever the buffer produced.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let state_after = vehicle_state(&app, &vehicle).await;
    assert!(!state_after.stale, "{state_after:?}");
    assert_eq!(state_after.status, state.status, "{state_after:?}");
    assert_ne!(
        state_after.status(),
        kagoshima_proto::v1::VehicleStatus::OffRoute
    );
    assert_eq!(state_after.trip_id, TRIP, "{state_after:?}");
    assert_eq!(state_after.stop_id, state.stop_id, "{state_after:?}");
    assert!(
        (state_after.lat - state.lat).abs() < 1e-6 && (state_after.lon - state.lon).abs() < 1e-6,
        "moved: {state:?} -> {state_after:?}"
    );
    assert_eq!(state_after.recorded_at, state.recorded_at);
    assert!((state_after.delay_seconds - state.delay_seconds).abs() <= 30);

    let after = arrival(&app, &target, &vehicle).await;
    let p_after = secs(&after);
    assert!(
        (p_after - p).abs() <= 30.0,
        "prediction moved from {p} to {p_after}: {after:?}"
    );
    assert_eq!(after.trip_id, TRIP);
    assert_eq!(after.stops_away, before.stops_away);
    assert_eq!(after.status, before.status);

    // The current trip's stop visits: none rewritten backwards (nor at all).
    let stored_after = visits(&app, TRIP).await;
    for (seq, arr, dep) in &stored {
        let (_, arr2, dep2) = stored_after
            .iter()
            .find(|v| v.0 == *seq)
            .unwrap_or_else(|| panic!("visit #{seq} gone: {stored_after:?}"));
        assert!(
            (arr2 - arr).abs() <= 1.0,
            "arrival #{seq} rewritten: {arr} -> {arr2}"
        );
        if let (Some(d), Some(d2)) = (dep, dep2) {
            assert!(
                (d2 - d).abs() <= 1.0,
                "departure #{seq} rewritten: {d} -> {d2}"
            );
        }
        assert!(dep.is_none() || dep2.is_some(), "departure #{seq} lost");
    }
    for (seq, arr, _) in &stored_after {
        assert!(
            *arr >= t - 130.0,
            "visit #{seq} of the current trip dated back to {arr} (live since {})",
            t - 120.0
        );
    }
}
