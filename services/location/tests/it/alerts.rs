//! Service alerts over gRPC (AlertService with a bureau token, then
//! PassengerService.ListAlerts) and in the GTFS-Realtime ServiceAlerts feed.
use kagoshima_proto::v1::{
    ActivePeriod, AlertCause, AlertDraft, AlertEffect, AlertText, CreateAlertRequest,
    EndAlertRequest, GetArrivalsRequest, InformedEntity, ListAlertsRequest, ListAllAlertsRequest,
    UpdateAlertRequest, alert_service_client::AlertServiceClient,
};
use prost::Message;
use tonic::{Code, Request, transport::Channel};

use crate::support::{BUREAU_TOKEN, TestLocation, drive, http_get, raw_get};

fn text(lang: &str, text: &str) -> AlertText {
    AlertText {
        lang: lang.into(),
        text: text.into(),
    }
}

fn authorized<T>(message: T) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut().insert(
        "authorization",
        format!("Bearer {BUREAU_TOKEN}").parse().unwrap(),
    );
    r
}

/// A typhoon: all of the city's trams and buses suspended, in five languages.
fn typhoon() -> AlertDraft {
    AlertDraft {
        cause: AlertCause::Weather.into(),
        effect: AlertEffect::NoService.into(),
        header: vec![
            text("ja", "台風接近のため市電・市バスは全線運休しています"),
            text("en", "All trams and city buses are suspended: typhoon"),
            text("zh-Hans", "因台风，市电车和市巴士全线停运"),
            text("zh-Hant", "因颱風，市電車和市巴士全線停駛"),
            text("ko", "태풍으로 노면전차와 시내버스가 전면 운휴합니다"),
        ],
        description: vec![text("ja", "運転再開は決まり次第お知らせします。")],
        informed_entities: vec![InformedEntity {
            agency_id: "kagoshima-kotsu".into(),
            ..InformedEntity::default()
        }],
        active_periods: Vec::new(),
        url: "https://www.kotsu-city-kagoshima.jp/".into(),
    }
}

/// おはら祭: 天文館通 closed to the trams for the evening.
fn festival(stop: &str) -> AlertDraft {
    AlertDraft {
        cause: AlertCause::Other.into(),
        effect: AlertEffect::Detour.into(),
        header: vec![
            text("ja", "おはら祭のため天文館通電停は通過します"),
            text("en", "Ohara Festival: trams do not stop at Tenmonkan-dori"),
        ],
        description: Vec::new(),
        informed_entities: vec![InformedEntity {
            stop_id: stop.into(),
            ..InformedEntity::default()
        }],
        active_periods: vec![ActivePeriod {
            start: Some(kagoshima_proto::Timestamp {
                seconds: chrono::Utc::now().timestamp() - 600,
                nanos: 0,
            }),
            end: None,
        }],
        url: String::new(),
    }
}

async fn admin(app: &TestLocation) -> AlertServiceClient<Channel> {
    AlertServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .unwrap()
}

#[tokio::test]
async fn alerts_need_a_bureau_token_and_a_checked_draft() {
    let app = TestLocation::spawn().await;
    let mut admin = admin(&app).await;
    let refused = admin
        .create_alert(CreateAlertRequest {
            alert: Some(typhoon()),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);

    let mut no_english = typhoon();
    no_english.header.retain(|t| t.lang != "en");
    let e = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(no_english),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("\"en\""), "{}", e.message());

    let e = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(festival("no_such_stop")),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("no_such_stop"), "{}", e.message());

    let mut backwards = festival("tram_tenmonkan_dori");
    backwards.active_periods[0].end = Some(kagoshima_proto::Timestamp {
        seconds: chrono::Utc::now().timestamp() - 3600,
        nanos: 0,
    });
    let e = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(backwards),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("before it starts"), "{}", e.message());
}

#[tokio::test]
async fn an_alert_reaches_riders_and_the_feed_in_their_language_and_leaves_when_ended() {
    let app = TestLocation::spawn().await;
    let mut admin = admin(&app).await;
    let mut passenger = app.client().await;
    let typhoon = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(typhoon()),
        }))
        .await
        .unwrap()
        .into_inner();
    let festival = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(festival("tram_tenmonkan_dori")),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(typhoon.alert_id, festival.alert_id);

    // At 天文館通, in Korean: both; the festival has no Korean text and
    // comes in English.
    let at_tenmonkan = |lang: &str| ListAlertsRequest {
        lang: lang.into(),
        stop_id: "tram_tenmonkan_dori".into(),
        route_id: String::new(),
    };
    let ko = passenger
        .list_alerts(at_tenmonkan("ko"))
        .await
        .unwrap()
        .into_inner();
    let headers: Vec<(String, String)> = ko
        .alerts
        .iter()
        .map(|a| {
            let h = &a.alert.as_ref().unwrap().header;
            assert_eq!(h.len(), 1, "one language for a rider");
            (h[0].lang.clone(), h[0].text.clone())
        })
        .collect();
    assert!(headers.contains(&(
        "ko".into(),
        "태풍으로 노면전차와 시내버스가 전면 운휴합니다".into()
    )));
    assert!(
        headers
            .iter()
            .any(|(l, t)| l == "en" && t.contains("Ohara"))
    );
    // Elsewhere only the city-wide suspension.
    let elsewhere = passenger
        .list_alerts(ListAlertsRequest {
            lang: "en".into(),
            stop_id: "tram_kagoshima_ekimae".into(),
            route_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = elsewhere
        .alerts
        .iter()
        .map(|a| a.alert_id.as_str())
        .collect();
    assert_eq!(ids, vec![typhoon.alert_id.as_str()]);
    // An unknown stop is NOT_FOUND, not an empty list.
    let e = passenger
        .list_alerts(ListAlertsRequest {
            lang: "en".into(),
            stop_id: "nowhere".into(),
            route_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // GTFS-Realtime: both alerts, every language written, causes and
    // effects in GTFS-Realtime numbers.
    let (status, _) = http_get(&format!("http://{}/gtfs-rt/alerts?format=json", app.http))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let feed = alerts_feed(&app).await;
    assert_eq!(feed.entity.len(), 2);
    let rt = feed
        .entity
        .iter()
        .find(|e| e.id == typhoon.alert_id)
        .and_then(|e| e.alert.as_ref())
        .expect("the typhoon in the feed");
    assert_eq!(rt.cause, Some(8)); // WEATHER
    assert_eq!(rt.effect, Some(1)); // NO_SERVICE
    let languages: Vec<&str> = rt
        .header_text
        .as_ref()
        .unwrap()
        .translation
        .iter()
        .filter_map(|t| t.language.as_deref())
        .collect();
    for lang in ["ja", "en", "zh-Hans", "zh-Hant", "ko"] {
        assert!(languages.contains(&lang), "{lang} in {languages:?}");
    }
    assert_eq!(
        rt.informed_entity[0].agency_id.as_deref(),
        Some("kagoshima-kotsu")
    );

    // Updated: the new text everywhere; ended: gone from riders and the feed.
    let mut calmer = self::typhoon();
    calmer.effect = AlertEffect::ReducedService.into();
    calmer.header[1].text = "Trams run every 20 minutes: typhoon".into();
    admin
        .update_alert(authorized(UpdateAlertRequest {
            alert_id: typhoon.alert_id.clone(),
            alert: Some(calmer),
        }))
        .await
        .unwrap();
    let en = passenger
        .list_alerts(at_tenmonkan("en"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        en.alerts
            .iter()
            .any(|a| a.alert.as_ref().unwrap().header[0].text
                == "Trams run every 20 minutes: typhoon")
    );
    let ended = admin
        .end_alert(authorized(EndAlertRequest {
            alert_id: typhoon.alert_id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(ended.ended_at.is_some());
    let after = passenger
        .list_alerts(at_tenmonkan("en"))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = after.alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids, vec![festival.alert_id.as_str()]);
    // The bureau still sees it, with include_ended; an ended alert cannot change.
    let all = admin
        .list_all_alerts(authorized(ListAllAlertsRequest {
            include_ended: true,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.alerts.len(), 2);
    let e = admin
        .update_alert(authorized(UpdateAlertRequest {
            alert_id: typhoon.alert_id.clone(),
            alert: Some(self::typhoon()),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    // The feed drops it once its cache (gtfs_rt_cache_s) has expired.
    kagoshima_tests::eventually(
        "the ended alert leaves the feed",
        std::time::Duration::from_secs(40),
        || async {
            let feed = alerts_feed(&app).await;
            (feed.entity.len() == 1 && feed.entity[0].id == festival.alert_id).then_some(())
        },
    )
    .await;
}

async fn alerts_feed(app: &TestLocation) -> gtfs_realtime::FeedMessage {
    let (code, _, body) = raw_get(app.http, "/gtfs-rt/alerts", "").await;
    assert_eq!(code, 200);
    gtfs_realtime::FeedMessage::decode(body.as_slice()).expect("a protobuf feed")
}

const TRIP: &str = "T1-WD-0-0600";

#[tokio::test]
async fn no_service_takes_trips_off_the_arrivals_with_the_reason_and_cancels_them_in_trip_updates()
{
    let app = TestLocation::spawn().await;
    let stops = app.trip_stops(TRIP).await;
    let live = app.live();
    for r in drive("tram-alert", TRIP, &stops, kagoshima_location::live::now()) {
        live.ingest(&r);
    }
    let target = stops[5].0.clone();
    let mut passenger = app.client().await;
    let arrivals = |lang: &str| GetArrivalsRequest {
        stop_id: target.clone(),
        lang: lang.into(),
        limit: 50,
        route_id: String::new(),
    };
    let before = passenger
        .get_arrivals(arrivals("en"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        before.arrivals.iter().any(|a| a.trip_id == TRIP),
        "the live trip is listed"
    );
    assert!(before.alerts.is_empty());

    // The trip is cancelled: it leaves the arrivals, and the alert says why.
    let mut admin = admin(&app).await;
    let cancel = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(AlertDraft {
                cause: AlertCause::TechnicalProblem.into(),
                effect: AlertEffect::NoService.into(),
                header: vec![
                    text("ja", "車両故障のため、この便は運休します"),
                    text("en", "This tram is cancelled: vehicle breakdown"),
                ],
                informed_entities: vec![InformedEntity {
                    trip_id: TRIP.into(),
                    ..InformedEntity::default()
                }],
                ..AlertDraft::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let after = passenger
        .get_arrivals(arrivals("en"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        after.arrivals.iter().all(|a| a.trip_id != TRIP),
        "the cancelled trip is gone"
    );
    assert_eq!(after.alerts.len(), 1);
    assert_eq!(
        after.alerts[0].alert.as_ref().unwrap().header[0].text,
        "This tram is cancelled: vehicle breakdown"
    );
    // TripUpdates: CANCELED, with no stop times.
    kagoshima_tests::eventually(
        "the trip is CANCELED in TripUpdates",
        std::time::Duration::from_secs(40),
        || async {
            let (_, _, body) = raw_get(app.http, "/gtfs-rt/trip-updates", "").await;
            let feed = gtfs_realtime::FeedMessage::decode(body.as_slice()).ok()?;
            feed.entity.iter().find_map(|e| {
                let tu = e.trip_update.as_ref()?;
                (tu.trip.trip_id.as_deref() == Some(TRIP)
                    && tu.trip.schedule_relationship == Some(3)
                    && tu.stop_time_update.is_empty())
                .then_some(())
            })
        },
    )
    .await;
    admin
        .end_alert(authorized(EndAlertRequest {
            alert_id: cancel.alert_id,
        }))
        .await
        .unwrap();

    // The stop is closed: no tram calls there; the page says why.
    let closed = admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(AlertDraft {
                effect: AlertEffect::NoService.into(),
                header: vec![
                    text("ja", "この電停は工事のため使用できません"),
                    text("en", "This stop is closed for works"),
                ],
                informed_entities: vec![InformedEntity {
                    stop_id: target.clone(),
                    ..InformedEntity::default()
                }],
                cause: AlertCause::Construction.into(),
                ..AlertDraft::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    let shut = passenger
        .get_arrivals(arrivals("ja"))
        .await
        .unwrap()
        .into_inner();
    assert!(shut.arrivals.is_empty(), "{:?}", shut.arrivals);
    assert_eq!(shut.alerts[0].alert_id, closed.alert_id);
    assert_eq!(shut.alerts[0].alert.as_ref().unwrap().header[0].lang, "ja");
    admin
        .end_alert(authorized(EndAlertRequest {
            alert_id: closed.alert_id,
        }))
        .await
        .unwrap();

    // A typhoon suspends the agency: every tram leaves every board.
    admin
        .create_alert(authorized(CreateAlertRequest {
            alert: Some(typhoon()),
        }))
        .await
        .unwrap();
    let suspended = passenger
        .get_arrivals(arrivals("zh-Hant"))
        .await
        .unwrap()
        .into_inner();
    assert!(suspended.arrivals.is_empty());
    assert_eq!(
        suspended.alerts[0].alert.as_ref().unwrap().header[0].text,
        "因颱風，市電車和市巴士全線停駛"
    );
}
