use chrono::NaiveDate;
use kagoshima_network::services_on;
use kagoshima_tests::TestDb;

use crate::support::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[tokio::test]
async fn a_holiday_on_a_weekday_runs_the_sunday_service_when_the_feed_is_silent() {
    let db = TestDb::new().await;
    let s = import(&db, &small_feed("holiday", false)).await;
    let fv = s.feed_version_id;
    // 2026-11-23 勤労感謝の日 (Monday): no calendar_dates, so the Sunday service.
    let day = services_on(db.pool(), fv, date("2026-11-23"))
        .await
        .expect("services");
    assert_eq!(day.service_ids, vec!["hd".to_owned()]);
    assert!(day.holiday && day.holiday_fallback);
    // 2026-11-24 (Tuesday): the weekday service.
    let day = services_on(db.pool(), fv, date("2026-11-24"))
        .await
        .expect("services");
    assert_eq!(day.service_ids, vec!["wd".to_owned()]);
    assert!(!day.holiday);
    // A Sunday.
    let day = services_on(db.pool(), fv, date("2026-11-22"))
        .await
        .expect("services");
    assert_eq!(day.service_ids, vec!["hd".to_owned()]);
}

#[tokio::test]
async fn a_feed_with_calendar_dates_is_followed() {
    let db = TestDb::new().await;
    let s = import(&db, &sample_feed()).await;
    let day = services_on(db.pool(), s.feed_version_id, date("2026-11-23"))
        .await
        .expect("services");
    assert_eq!(day.service_ids, vec!["holiday".to_owned()]);
    assert!(
        day.holiday && !day.holiday_fallback,
        "the feed's own calendar_dates apply"
    );
    let day = services_on(db.pool(), s.feed_version_id, date("2026-11-24"))
        .await
        .expect("services");
    assert_eq!(day.service_ids, vec!["weekday".to_owned()]);
}
