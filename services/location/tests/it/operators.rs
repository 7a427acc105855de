//! Several feeds active at once (the city's and a private operator's), their
//! IDs kept apart, and one board at a stop both serve.
use std::collections::BTreeSet;

use kagoshima_network::{ImportOptions, ImportOutcome, feed, import::Quiet};
use kagoshima_proto::v1::{
    GetArrivalsRequest, GetStopRequest, GetStopTimetableRequest, SearchStopsRequest,
};
use kagoshima_runtime::rate_limit::RateLimitConfig;
use kagoshima_tests::TestDb;

use crate::support::*;

async fn import(db: &TestDb, path: &std::path::Path, feed_id: Option<&str>) -> i64 {
    let feed = feed::load_as(path, feed_id).expect("valid feed");
    match kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import")
    {
        ImportOutcome::Imported(s) => s.feed_version_id,
        other => panic!("expected an import, got {other:?}"),
    }
}

#[tokio::test]
async fn two_operators_share_one_board_with_their_ids_apart() {
    let (city, nangoku) = kagoshima_tests::feeds::two_operators();
    let db = TestDb::new().await;
    let city_version = import(&db, &city, None).await;
    let first = import(&db, &nangoku, Some("nangoku")).await;
    // A new version of the private feed replaces only its own.
    let info = nangoku.join("feed_info.txt");
    let text = std::fs::read_to_string(&info).expect("feed_info");
    std::fs::write(&info, text.replace(",test,", ",test-2,")).expect("write");
    let second = import(&db, &nangoku, Some("nangoku")).await;
    assert!(second > first);
    let active = kagoshima_network::service_day::active_versions(db.pool())
        .await
        .expect("versions");
    assert_eq!(active.len(), 2, "{active:?}");
    assert_eq!(
        active,
        [city_version, second],
        "the city's feed stays active, first"
    );

    let loc = TestLocation::spawn_with(db, RateLimitConfig::default()).await;
    let mut client = loc.client().await;
    let found = client
        .search_stops(SearchStopsRequest {
            query: "天文館".into(),
            lang: "ja".into(),
            limit: 10,
        })
        .await
        .expect("search")
        .into_inner()
        .stops;
    let ids: Vec<&str> = found.iter().map(|s| s.stop_id.as_str()).collect();
    assert_eq!(
        ids,
        ["tenmonkan"],
        "one place, found once (the city's stop)"
    );
    let routes: BTreeSet<&str> = found[0]
        .routes
        .iter()
        .map(|r| r.route_id.as_str())
        .collect();
    assert_eq!(routes, BTreeSet::from(["c1", "nangoku:n1"]));

    // Its IDs are apart: the private stop of the same published ID is its own.
    let theirs = client
        .get_stop(GetStopRequest {
            stop_id: "nangoku:tenmonkan".into(),
            lang: "ja".into(),
        })
        .await
        .expect("the private operator's stop")
        .into_inner()
        .stop
        .expect("stop");
    assert!((theirs.lat - 31.591).abs() < 1e-6, "{theirs:?}");

    let day = client
        .get_stop_timetable(GetStopTimetableRequest {
            stop_id: "tenmonkan".into(),
            date: "2026-12-02".into(),
            route_id: String::new(),
            lang: "ja".into(),
        })
        .await
        .expect("timetable")
        .into_inner();
    let by_route = |r: &str| day.departures.iter().filter(|d| d.route_id == r).count();
    assert_eq!((by_route("c1"), by_route("nangoku:n1")), (144, 144));
    assert!(
        day.service_ids.contains(&"all".to_owned())
            && day.service_ids.contains(&"nangoku:all".to_owned()),
        "{:?}",
        day.service_ids
    );
    let first: Vec<(&str, &str)> = day.departures[..2]
        .iter()
        .map(|d| (d.departure_time.as_str(), d.stop_id.as_str()))
        .collect();
    assert_eq!(
        first,
        [("00:00:00", "tenmonkan"), ("00:05:00", "nangoku:tenmonkan")]
    );

    let arrivals = client
        .get_arrivals(GetArrivalsRequest {
            stop_id: "tenmonkan".into(),
            lang: "ja".into(),
            limit: 6,
            route_id: String::new(),
        })
        .await
        .expect("arrivals")
        .into_inner();
    let routes: BTreeSet<&str> = arrivals
        .arrivals
        .iter()
        .map(|a| a.route_id.as_str())
        .collect();
    assert_eq!(routes, BTreeSet::from(["c1", "nangoku:n1"]), "{arrivals:?}");
}
