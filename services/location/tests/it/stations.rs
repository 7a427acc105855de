//! Stations with platforms (GTFS location_type 1 and parent_station): a rider
//! finds the station once and its board holds every platform's departures,
//! each with its platform; a platform asked for directly shows its own.
use std::collections::BTreeSet;

use kagoshima_proto::v1::{
    GetArrivalsRequest, GetStopRequest, GetStopTimetableRequest, NearbyStopsRequest,
    SearchStopsRequest,
};
use kagoshima_runtime::rate_limit::RateLimitConfig;

use crate::support::*;

async fn spawn() -> TestLocation {
    TestLocation::spawn_with(
        db_with(&kagoshima_tests::feeds::stations()).await,
        RateLimitConfig::default(),
    )
    .await
}

#[tokio::test]
async fn a_station_is_found_once_and_stands_for_its_platforms() {
    let loc = spawn().await;
    let mut client = loc.client().await;
    for query in ["鹿児島中央", "かごしまちゅうおう", "Kagoshima-Chuo"] {
        let stops = client
            .search_stops(SearchStopsRequest {
                query: query.into(),
                lang: "en".into(),
                limit: 10,
            })
            .await
            .expect("search")
            .into_inner()
            .stops;
        let ids: Vec<&str> = stops.iter().map(|s| s.stop_id.as_str()).collect();
        assert_eq!(ids, ["chuo"], "{query:?}: the station once, no platform");
        let station = &stops[0];
        assert!(station.station);
        let routes: BTreeSet<&str> = station.routes.iter().map(|r| r.route_id.as_str()).collect();
        assert_eq!(
            routes,
            BTreeSet::from(["r1", "r2"]),
            "its platforms' routes"
        );
    }
    let near = client
        .nearby_stops(NearbyStopsRequest {
            lat: 31.58370,
            lon: 130.54210,
            lang: "ja".into(),
            limit: 10,
            radius_m: 300,
        })
        .await
        .expect("nearby")
        .into_inner()
        .stops;
    let ids: Vec<&str> = near
        .iter()
        .filter_map(|n| n.stop.as_ref())
        .map(|s| s.stop_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["chuo"],
        "platforms and entrances are not listed beside their station"
    );

    let platform = client
        .get_stop(GetStopRequest {
            stop_id: "chuo_B".into(),
            lang: "ja".into(),
        })
        .await
        .expect("a platform asked for directly")
        .into_inner()
        .stop
        .expect("stop");
    assert_eq!(
        (
            platform.parent_station.as_str(),
            platform.platform_code.as_str(),
            platform.station
        ),
        ("chuo", "B", false)
    );
    let routes: Vec<&str> = platform
        .routes
        .iter()
        .map(|r| r.route_id.as_str())
        .collect();
    assert_eq!(routes, ["r1"]);
}

fn timetable(stop: &str) -> GetStopTimetableRequest {
    GetStopTimetableRequest {
        stop_id: stop.into(),
        date: "2026-12-02".into(),
        route_id: String::new(),
        lang: "en".into(),
    }
}

#[tokio::test]
async fn a_station_board_shows_every_platform_with_its_code() {
    let loc = spawn().await;
    let mut client = loc.client().await;
    let station = client
        .get_stop_timetable(timetable("chuo"))
        .await
        .expect("station timetable")
        .into_inner();
    assert_eq!(station.departures.len(), 288, "both platforms' trips");
    for d in &station.departures {
        let expected = match d.route_id.as_str() {
            "r1" => ("chuo_B", "B"),
            "r2" => ("chuo_C", "C"),
            other => panic!("unexpected route {other}"),
        };
        assert_eq!((d.stop_id.as_str(), d.platform_code.as_str()), expected);
    }
    let first: Vec<(&str, &str)> = station.departures[..2]
        .iter()
        .map(|d| (d.departure_time.as_str(), d.platform_code.as_str()))
        .collect();
    assert_eq!(
        first,
        [("00:00:00", "B"), ("00:05:00", "C")],
        "merged by time"
    );

    let platform = client
        .get_stop_timetable(timetable("chuo_C"))
        .await
        .expect("platform timetable")
        .into_inner();
    assert_eq!(platform.departures.len(), 144);
    assert!(platform.departures.iter().all(|d| d.route_id == "r2"));

    // Live arrivals: the station merges both platforms, a platform its own.
    let arrivals = |stop: &str| GetArrivalsRequest {
        stop_id: stop.into(),
        lang: "en".into(),
        limit: 6,
        route_id: String::new(),
    };
    let at_station = client
        .get_arrivals(arrivals("chuo"))
        .await
        .expect("station arrivals")
        .into_inner();
    let codes: BTreeSet<&str> = at_station
        .arrivals
        .iter()
        .map(|a| a.platform_code.as_str())
        .collect();
    assert_eq!(codes, BTreeSet::from(["B", "C"]), "{at_station:?}");
    assert!(
        at_station
            .arrivals
            .iter()
            .all(|a| a.stop_id == format!("chuo_{}", a.platform_code))
    );
    let times: Vec<i64> = at_station
        .arrivals
        .iter()
        .map(|a| a.scheduled_time.as_ref().expect("time").seconds)
        .collect();
    assert!(
        times.is_sorted(),
        "soonest first across platforms: {times:?}"
    );
    let at_platform = client
        .get_arrivals(arrivals("chuo_B"))
        .await
        .expect("platform arrivals")
        .into_inner();
    assert!(!at_platform.arrivals.is_empty());
    assert!(
        at_platform
            .arrivals
            .iter()
            .all(|a| a.stop_id == "chuo_B" && a.route_id == "r1")
    );
}
