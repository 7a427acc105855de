//! What riders learn about a trip beyond its time: how full it usually is
//! at the stop (from the passenger counts of its past runs) and whether its
//! vehicle is step-free.
use chrono::{Duration, Utc};
use kagoshima_location::crowding::{Capacity, Crowding};
use kagoshima_proto::v1::{GetArrivalsRequest, Occupancy, StepFree};
use kagoshima_storage::{Batch, PassengerRow, Store};

use crate::support::{TestLocation, drive};

const TRIP: &str = "T1-WD-0-0600";

#[tokio::test]
async fn a_trip_without_a_live_load_shows_how_full_it_usually_is_here() {
    let app = TestLocation::spawn().await;
    let stops = app.trip_stops(TRIP).await;
    let target = stops[5].0.clone();
    // Three past runs: 60 riders on board leaving the sixth stop twice, 20
    // once (the median is 60); counts at each stop in order, a minute apart.
    let mut passengers = Vec::new();
    for (days_ago, scale) in [(2, 3), (3, 3), (4, 1)] {
        let start = Utc::now() - Duration::days(days_ago);
        for (i, (boardings, alightings)) in [(10, 0), (7, 2), (3, 1), (0, 0), (0, 0), (3, 0)]
            .iter()
            .enumerate()
        {
            passengers.push(PassengerRow {
                vehicle_id: "tram-hist".into(),
                recorded_at: start + Duration::minutes(i as i64),
                mode: "tram",
                stop_id: stops[i].0.clone(),
                boardings: boardings * scale,
                alightings: alightings * scale,
                trip_id: Some(TRIP.into()),
                route_id: None,
            });
        }
    }
    Store::from_pool(app.db.pool().clone())
        .write_batch(&Batch {
            passengers,
            ..Batch::default()
        })
        .await
        .expect("counts stored");
    let live = app.live();
    live.refresh_usual(app.db.pool()).await;

    // Today a vehicle runs the trip without a counter.
    for r in drive("tram-now", TRIP, &stops, kagoshima_location::live::now()) {
        live.ingest(&r);
    }
    let mut client = app.client().await;
    let answer = client
        .get_arrivals(GetArrivalsRequest {
            stop_id: target,
            lang: "en".into(),
            limit: 50,
            route_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let row = answer
        .arrivals
        .iter()
        .find(|a| a.trip_id == TRIP)
        .expect("the trip is listed");
    assert_eq!(row.occupancy(), Occupancy::Unknown, "no live load today");
    let (expected, _) = Capacity::default().occupancy("tram", 60);
    assert_ne!(expected, Occupancy::Unknown);
    assert_eq!(
        row.usual_occupancy(),
        expected,
        "the median of 60, 60 and 20 riders"
    );
    // trips.txt says this trip's tram is not step-free (an older car).
    assert_eq!(row.step_free(), StepFree::No);
    // Other trips have no history: nothing is made up for them.
    assert!(
        answer
            .arrivals
            .iter()
            .filter(|a| a.trip_id != TRIP)
            .all(|a| a.usual_occupancy() == Occupancy::Unknown)
    );
}
