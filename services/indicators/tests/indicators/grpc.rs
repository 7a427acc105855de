//! IndicatorService over gRPC: figures with a token, clear errors without.
use kagoshima_indicators::{Application, IndicatorsConfig};
use kagoshima_proto::v1::{
    ExportPlanningRequest, ExportReportRequest, GetFareCapRequest, GetMonthlyRequest,
    GetPlanProgressRequest, GetPlanningRequest, GetRidershipRequest, ReportFormat,
    indicator_service_client::IndicatorServiceClient,
};
use kagoshima_runtime::auth::{TokenEntry, hash_token_hex};
use kagoshima_runtime::secret::Secret;
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_tests::TestDb;
use tonic::{Code, Request};

const TOKEN: &str = "bureau-test-token";

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

#[tokio::test]
async fn grpc_answers_with_a_token_and_refuses_bad_requests_clearly() {
    let db = TestDb::new().await;
    let mut config = IndicatorsConfig::default();
    config.database.url = Secret::new(db.url.clone());
    config.grpc.listen = "127.0.0.1:0".into();
    config.http.listen = "127.0.0.1:0".into();
    config.auth.tokens = vec![TokenEntry {
        name: "bureau".into(),
        sha256: hash_token_hex(TOKEN),
        devices: Vec::new(),
    }];
    let app = Application::build(config).await.unwrap();
    let addr = app.grpc_addr();
    let shutdown = Shutdown::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let mut client = IndicatorServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    // No token.
    let e = client
        .get_monthly(Request::new(GetMonthlyRequest {
            month: "2025-06".into(),
            indicator_ids: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(
        e.message().contains("missing bearer token"),
        "{}",
        e.message()
    );

    // Unknown indicator.
    let e = client
        .get_monthly(authed(GetMonthlyRequest {
            month: "2025-06".into(),
            indicator_ids: vec!["no_such_indicator".into()],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("no_such_indicator"));

    // A month in the future.
    let e = client
        .get_monthly(authed(GetMonthlyRequest {
            month: "2999-01".into(),
            indicator_ids: vec![],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("future"), "{}", e.message());

    // A malformed month.
    let e = client
        .get_fare_cap(authed(GetFareCapRequest {
            month: "June 2025".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("YYYY-MM"), "{}", e.message());

    // An unspecified report format.
    let e = client
        .export_report(authed(ExportReportRequest {
            format: ReportFormat::Unspecified as i32,
            period: "2025-06".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // GetRidership: a token is needed, the period must parse.
    let e = client
        .get_ridership(Request::new(GetRidershipRequest {
            period: "2025-06".into(),
            route_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let e = client
        .get_ridership(authed(GetRidershipRequest {
            period: "June".into(),
            route_id: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = client
        .get_ridership(authed(GetRidershipRequest {
            period: "2025-06".into(),
            route_id: "no-such-route".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let rid = client
        .get_ridership(authed(GetRidershipRequest {
            period: "FY2025".into(),
            route_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rid.by_hour.len(), 24);
    assert_eq!(rid.by_hour[23].hour, 23);
    assert_eq!(rid.by_day_type.len(), 3);
    assert_eq!(rid.uses, 0);

    // GetPlanning: a token, dates, at most a quarter; an empty period says so.
    let planning = |from: &str, until: &str| GetPlanningRequest {
        from: from.into(),
        until: until.into(),
        route_id: String::new(),
    };
    let e = client
        .get_planning(Request::new(planning("2025-06-01", "2025-06-30")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    for (from, until, why) in [
        ("June", "", "is not a date"),
        ("2025-06-30", "2025-06-01", "before"),
        ("2025-01-01", "2025-12-31", "at most 92"),
    ] {
        let e = client
            .get_planning(authed(planning(from, until)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{from} {until}");
        assert!(e.message().contains(why), "{}", e.message());
    }
    let empty = client
        .get_planning(authed(planning("2025-06-01", "2025-06-30")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.days_observed, 0);
    assert!(empty.empty_reason.contains("no stop visits"), "{empty:?}");

    // ExportPlanning: the same checks, then a file of the report by name;
    // an empty period has its summary but no draft, and says which files
    // there are.
    let file = |name: &str| ExportPlanningRequest {
        from: "2025-06-01".into(),
        until: "2025-06-30".into(),
        route_id: String::new(),
        file_name: name.into(),
    };
    let e = client
        .export_planning(Request::new(file("summary.md")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let e = client.export_planning(authed(file(""))).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = client
        .export_planning(authed(file("draft.zip")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("summary.md"), "{}", e.message());
    let e = client
        .export_planning(authed(file("load-profile-tram-1-0.svg")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("no chart"), "{}", e.message());
    let summary = client
        .export_planning(authed(file("summary.md")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.content_type, "text/markdown; charset=utf-8");
    assert_eq!(
        summary.file_name,
        "planning-2025-06-01-2025-06-30-summary.md"
    );
    let text = String::from_utf8(summary.content).unwrap();
    assert!(text.contains("no stop visits"), "{text}");

    // Good calls.
    let monthly = client
        .get_monthly(authed(GetMonthlyRequest {
            month: "2025-06".into(),
            indicator_ids: vec!["tap_payment_uses".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(monthly.indicators.len(), 1);
    assert_eq!(monthly.indicators[0].target, "307000");
    assert!(monthly.period_label_ja.contains("令和7年度"));
    let plan = client
        .get_plan_progress(authed(GetPlanProgressRequest {
            fiscal_year: "FY2022".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let kagorin = plan
        .indicators
        .iter()
        .find(|i| i.indicator_id == "kagorin_rides")
        .unwrap();
    assert_eq!(
        (
            kagorin.value.as_str(),
            kagorin.progress_rate_pct.as_str(),
            kagorin.status.as_str()
        ),
        ("160728", "98.0", "◎")
    );
    assert_eq!(kagorin.source, "plan_file");
    let xlsx = client
        .export_report(authed(ExportReportRequest {
            format: ReportFormat::Xlsx as i32,
            period: "FY2025".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(&xlsx.content[..2], b"PK");
    assert!(xlsx.file_name.ends_with(".xlsx"));

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
