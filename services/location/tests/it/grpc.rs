use kagoshima_proto::v1::{
    GetStopRequest, GetStopTimetableRequest, ListRoutesRequest, SearchStopsRequest, StepFree,
    TransitMode,
};
use kagoshima_runtime::rate_limit::RateLimitConfig;
use tonic::Code;

use crate::support::*;

fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    r.expect_err("should fail").code()
}

#[tokio::test]
async fn routes_by_mode() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    let all = client
        .list_routes(ListRoutesRequest {
            mode: 0,
            lang: "zh-Hant".into(),
        })
        .await
        .expect("routes")
        .into_inner()
        .routes;
    assert_eq!(all.len(), 7);
    let trams = client
        .list_routes(ListRoutesRequest {
            mode: TransitMode::Tram.into(),
            lang: "en".into(),
        })
        .await
        .expect("routes")
        .into_inner()
        .routes;
    assert_eq!(
        trams
            .iter()
            .map(|r| r.route_id.as_str())
            .collect::<Vec<_>>(),
        ["tram-1", "tram-2"]
    );
    assert_eq!(trams[0].color, "E60012");
    let community = client
        .list_routes(ListRoutesRequest {
            mode: TransitMode::CommunityBus.into(),
            lang: "ko".into(),
        })
        .await
        .expect("routes")
        .into_inner()
        .routes;
    assert_eq!(community.len(), 1);
    assert_eq!(community[0].route_id, "aibus-ishikidai");
}

#[tokio::test]
async fn stops_say_whether_boarding_is_step_free() {
    let loc = TestLocation::spawn().await;
    let client = loc.client().await;
    let step_free = |stop: &str| {
        let mut client = client.clone();
        let stop = stop.to_owned();
        async move {
            client
                .get_stop(GetStopRequest {
                    stop_id: stop,
                    lang: "en".into(),
                })
                .await
                .expect("stop")
                .into_inner()
                .stop
                .expect("stop")
                .step_free()
        }
    };
    // The sample feed's stops.txt: 1, 2 and empty (no information).
    assert_eq!(step_free("tram_tenmonkan_dori").await, StepFree::Yes);
    assert_eq!(
        step_free("tram_sakurajima_sambashi_dori").await,
        StepFree::No
    );
    assert_eq!(
        step_free("tram_korimoto_minamigawa").await,
        StepFree::Unknown
    );
}

#[tokio::test]
async fn bad_requests_get_clear_statuses() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;

    let e = client
        .get_stop(GetStopRequest {
            stop_id: "tram_tenmonkan_dori".into(),
            lang: "fr".into(),
        })
        .await
        .expect_err("unknown language");
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("fr") && e.message().contains("zh-Hans"),
        "{}",
        e.message()
    );

    let e = client
        .get_stop(GetStopRequest {
            stop_id: "no_such_stop".into(),
            lang: "en".into(),
        })
        .await
        .expect_err("unknown stop");
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("no_such_stop"));

    let search = |query: &str, limit| SearchStopsRequest {
        query: query.into(),
        lang: "ja".into(),
        limit,
    };
    assert_eq!(
        code(client.search_stops(search("天文館", 100_000)).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(client.search_stops(search(" - ", 5)).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(client.search_stops(search(&"あ".repeat(500), 5)).await),
        Code::InvalidArgument
    );

    let tt = |date: &str, route: &str| GetStopTimetableRequest {
        stop_id: "tram_tenmonkan_dori".into(),
        date: date.into(),
        route_id: route.into(),
        lang: "ja".into(),
    };
    assert_eq!(
        code(client.get_stop_timetable(tt("23/11/2026", "")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            client
                .get_stop_timetable(tt("2026-11-23", "no-route"))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            client
                .list_routes(ListRoutesRequest {
                    mode: 99,
                    lang: String::new()
                })
                .await
        ),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn a_burst_beyond_the_limit_is_refused() {
    let db = db_with(&sample_feed()).await;
    let loc = TestLocation::spawn_with(
        db,
        RateLimitConfig {
            enabled: true,
            per_second: 0.01,
            burst: 5,
            ..RateLimitConfig::default()
        },
    )
    .await;
    let mut client = loc.client().await;
    let request = || ListRoutesRequest {
        mode: 0,
        lang: "ja".into(),
    };
    for i in 0..5 {
        client
            .list_routes(request())
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    let refused = client
        .list_routes(request())
        .await
        .expect_err("over the burst");
    assert_eq!(refused.code(), Code::ResourceExhausted);
    let retry: u64 = refused
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after hint");
    assert!(retry >= 1);
    // The GTFS-Realtime feed shares the limit: refused with 429.
    let (code, body) = http_get(&format!("http://{}/gtfs-rt/vehicle-positions", loc.http))
        .await
        .expect("http");
    assert_eq!(code, 429, "{body}");
    assert!(body.contains("resource_exhausted"));
}
