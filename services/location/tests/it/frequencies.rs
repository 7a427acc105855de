//! Frequency-based trips (GTFS frequencies.txt): every run in timetables and
//! arrivals, a driver logged in to the template trip tracked on a run, and
//! GTFS-Realtime naming the run by its template and start time.
use kagoshima_location::live::now;
use kagoshima_proto::Message;
use kagoshima_proto::v1::{GetArrivalsRequest, GetStopTimetableRequest};
use kagoshima_runtime::rate_limit::RateLimitConfig;

use crate::support::*;

async fn spawn() -> TestLocation {
    TestLocation::spawn_with(
        db_with(&kagoshima_tests::feeds::frequencies()).await,
        RateLimitConfig::default(),
    )
    .await
}

#[tokio::test]
async fn every_run_is_in_the_timetable_and_estimates_say_so() {
    let loc = spawn().await;
    let mut client = loc.client().await;
    let day = client
        .get_stop_timetable(GetStopTimetableRequest {
            stop_id: "b".into(),
            date: "2026-12-02".into(),
            route_id: String::new(),
            lang: "ja".into(),
        })
        .await
        .expect("timetable")
        .into_inner();
    let of = |prefix: &str| {
        day.departures
            .iter()
            .filter(|d| d.trip_id.starts_with(prefix))
            .collect::<Vec<_>>()
    };
    let (approximate, exact, plain) = (of("loop@"), of("exact@"), of("plain"));
    assert_eq!((approximate.len(), exact.len(), plain.len()), (144, 96, 1));
    assert!(
        !day.departures
            .iter()
            .any(|d| d.trip_id == "loop" || d.trip_id == "exact"),
        "a template runs only as its frequencies say"
    );
    // Running times from the template: b is 5 minutes after the start.
    let run = exact
        .iter()
        .find(|d| d.trip_id == "exact@07:20:00")
        .expect("the 07:20 run");
    assert_eq!(run.departure_time, "07:25:00");
    assert_eq!(run.headway_seconds, 0, "exact times are a schedule");
    assert!(approximate.iter().all(|d| d.headway_seconds == 600));
    assert_eq!(plain[0].departure_time, "12:39:00");
}

#[tokio::test]
async fn a_driver_on_the_template_trip_runs_a_run_and_gtfs_realtime_names_it() {
    let loc = spawn().await;
    let live = loc.live();
    let stops = loc.trip_stops("loop@10:00:00").await;
    assert_eq!(stops.len(), 5);
    let t = now();
    // The device knows the trip of trips.txt, not its runs.
    for r in drive("bus-f1", "loop", &stops, t) {
        live.ingest(&r);
    }
    let mut client = loc.client().await;
    let answer = client
        .get_arrivals(GetArrivalsRequest {
            stop_id: "d".into(),
            lang: "en".into(),
            limit: 50,
            route_id: String::new(),
        })
        .await
        .expect("arrivals")
        .into_inner();
    let mine = answer
        .arrivals
        .iter()
        .find(|a| a.vehicle_id == "bus-f1")
        .unwrap_or_else(|| panic!("the vehicle on a run: {answer:?}"));
    assert!(mine.trip_id.starts_with("loop@"), "{mine:?}");
    assert_eq!(mine.headway_seconds, 600);
    assert!(mine.predicted_time.is_some());

    let (code, _, body) = raw_get(loc.http, "/gtfs-rt/trip-updates", "").await;
    assert_eq!(code, 200);
    let feed = gtfs_realtime::FeedMessage::decode(body.as_slice()).expect("gtfs-rt");
    let update = feed
        .entity
        .iter()
        .filter_map(|e| e.trip_update.as_ref())
        .find(|u| u.vehicle.as_ref().and_then(|v| v.id.as_deref()) == Some("bus-f1"))
        .expect("the run's trip update");
    let trip = &update.trip;
    assert_eq!(
        trip.trip_id.as_deref(),
        Some("loop"),
        "the template's trip_id"
    );
    let start = trip.start_time.as_deref().expect("start_time");
    assert_eq!(Some(start), mine.trip_id.strip_prefix("loop@"));
    assert_eq!(
        trip.schedule_relationship,
        Some(2),
        "UNSCHEDULED (exact_times 0)"
    );
    assert!(!update.stop_time_update.is_empty());
    for u in &update.stop_time_update {
        for event in [&u.arrival, &u.departure].into_iter().flatten() {
            assert!(event.time.is_some() && event.delay.is_none(), "{u:?}");
        }
    }
}
