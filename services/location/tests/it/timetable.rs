use kagoshima_proto::v1::GetStopTimetableRequest;

use crate::support::*;

fn request(date: &str, route: &str, lang: &str) -> GetStopTimetableRequest {
    GetStopTimetableRequest {
        stop_id: "tram_tenmonkan_dori".into(),
        date: date.into(),
        route_id: route.into(),
        lang: lang.into(),
    }
}

#[tokio::test]
async fn a_national_holiday_on_a_monday_runs_the_holiday_service() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    // 2026-11-23 勤労感謝の日, a Monday.
    let holiday = client
        .get_stop_timetable(request("2026-11-23", "tram-1", "en"))
        .await
        .expect("timetable")
        .into_inner();
    assert!(holiday.holiday);
    assert_eq!(holiday.service_ids, vec!["holiday".to_owned()]);
    assert!(!holiday.departures.is_empty());
    assert!(
        holiday
            .departures
            .iter()
            .all(|d| d.trip_id.contains("-HD-") && d.route_id == "tram-1")
    );
    // 2026-11-24, a Tuesday: the weekday service.
    let weekday = client
        .get_stop_timetable(request("2026-11-24", "tram-1", "en"))
        .await
        .expect("timetable")
        .into_inner();
    assert!(!weekday.holiday);
    assert_eq!(weekday.service_ids, vec!["weekday".to_owned()]);
    assert!(
        weekday
            .departures
            .iter()
            .all(|d| d.trip_id.contains("-WD-"))
    );
    assert!(
        weekday.departures.len() > holiday.departures.len(),
        "weekday trams run more often"
    );
    // sorted, with localized headsigns and route names
    let d = &weekday.departures[0];
    assert!(
        weekday
            .departures
            .windows(2)
            .all(|w| w[0].departure_seconds <= w[1].departure_seconds)
    );
    assert_eq!(d.departure_time.len(), 8);
    let headsign = d.headsign.as_ref().expect("headsign");
    assert_eq!(headsign.lang, "en");
    assert!(
        ["Taniyama", "Kagoshima-ekimae"].contains(&headsign.text.as_str()),
        "{headsign:?}"
    );
    // every route when none is given
    let all = client
        .get_stop_timetable(request("2026-11-24", "", "ko"))
        .await
        .expect("timetable")
        .into_inner();
    assert!(all.departures.iter().any(|d| d.route_id == "tram-2"));
}
