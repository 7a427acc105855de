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

/// The sample feed with its timetable ending on 2025-03-31.
fn expired_feed() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(kagoshima_tests::unique("expired-feed"));
    std::fs::create_dir_all(&dir).expect("dir");
    for entry in std::fs::read_dir(sample_feed()).expect("sample feed") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        let text = std::fs::read_to_string(&path).expect("read");
        let text = match name.to_str() {
            Some("calendar.txt") => text.replace("20270331", "20250331"),
            Some("feed_info.txt") => text.replace("20270331", "20250331"),
            // Only the exceptions inside the shortened period.
            Some("calendar_dates.txt") => text
                .lines()
                .filter(|l| {
                    !l.split(',')
                        .any(|f| f.len() == 8 && f > "20250331" && f.starts_with("20"))
                })
                .map(|l| format!("{l}\n"))
                .collect(),
            _ => text,
        };
        std::fs::write(dir.join(name), text).expect("write");
    }
    dir
}

#[tokio::test]
async fn an_expired_timetable_says_so_on_dated_requests_and_on_healthz() {
    let loc = TestLocation::spawn_with(
        db_with(&expired_feed()).await,
        kagoshima_runtime::rate_limit::RateLimitConfig::default(),
    )
    .await;
    let mut client = loc.client().await;
    let status = client
        .get_stop_timetable(request("2026-11-24", "", "en"))
        .await
        .expect_err("no timetable covers the date");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("ended on 2025-03-31"),
        "{}",
        status.message()
    );
    // Inside the period, the timetable answers as before.
    let inside = client
        .get_stop_timetable(request("2024-06-04", "", "en"))
        .await
        .expect("a date the timetable covers")
        .into_inner();
    assert!(!inside.departures.is_empty());
    // The operator sees it without asking for a date.
    let (code, body) = http_get(&format!("http://{}/healthz", loc.http))
        .await
        .expect("healthz");
    assert_eq!(code, 200, "a warning, the service still serves: {body}");
    assert!(body.contains("ended on 2025-03-31"), "{body}");
    let (_, metrics) = http_get(&format!("http://{}/metrics", loc.http))
        .await
        .expect("metrics");
    let days_left: i64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kagoshima_timetable_days_left "))
        .expect("the gauge")
        .trim()
        .parse()
        .expect("a number");
    assert!(days_left < -600, "{days_left}");
}
