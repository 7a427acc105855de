//! The web service over a real location service and a real database: pages,
//! the stop search through gRPC in five languages, and the bureau token
//! (with a real indicators service behind /api/bureau).
use std::{net::SocketAddr, path::Path, time::Duration};

use kagoshima_indicators::{Application as Indicators, IndicatorsConfig};
use kagoshima_location::{Application as Location, LocationConfig};
use kagoshima_network::{ImportOptions, feed, import::Quiet};
use kagoshima_runtime::{
    auth::{TokenEntry, hash_token_hex},
    rate_limit::RateLimitConfig,
    secret::Secret,
    shutdown::Shutdown,
};
use kagoshima_tests::TestDb;
use kagoshima_web::{Application as Web, WebConfig};

const TOKEN: &str = "bureau-test-token-0123456789";

struct Stack {
    _db: TestDb,
    web: SocketAddr,
    shutdown: Shutdown,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn spawn() -> Stack {
    spawn_over(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulators/feed/kagoshima")).await
}

/// The stack over the feed at `path`.
async fn spawn_over(path: &Path) -> Stack {
    // As everywhere in the tests: TEST_LOG=1 prints the logs (RUST_LOG filters).
    if std::env::var_os("TEST_LOG").is_some() {
        kagoshima_runtime::telemetry::init("info", Default::default());
    }
    let db = TestDb::new().await;
    let feed = feed::load(path).expect("the feed loads");
    kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import");
    let shutdown = Shutdown::new();
    let generous = RateLimitConfig {
        enabled: true,
        per_second: 1000.0,
        burst: 1000,
        ..RateLimitConfig::default()
    };

    let mut lc = LocationConfig::default();
    lc.database.url = Secret::new(db.url.clone());
    lc.database.max_connections = 4;
    lc.grpc.listen = "127.0.0.1:0".into();
    lc.http.listen = "127.0.0.1:0".into();
    lc.rate_limit = generous.clone();
    // No live positions in these tests. A consumer would also drain whatever
    // the shared broker queued for its session since the last run, on this
    // test's single thread: that once starved the indicators call past its
    // 10 s deadline.
    lc.mqtt.enabled = false;
    let location = Location::build(lc).await.expect("location builds");
    let grpc = location.grpc_addr();
    tokio::spawn({
        let s = shutdown.clone();
        async move { location.run_until_stopped(s).await.expect("location runs") }
    });

    let mut ic = IndicatorsConfig::default();
    ic.database.url = Secret::new(db.url.clone());
    ic.grpc.listen = "127.0.0.1:0".into();
    ic.http.listen = "127.0.0.1:0".into();
    ic.auth.tokens = vec![TokenEntry {
        name: "test".into(),
        sha256: hash_token_hex(TOKEN),
        devices: Vec::new(),
    }];
    let indicators = Indicators::build(ic).await.expect("indicators build");
    let indicators_grpc = indicators.grpc_addr();
    tokio::spawn({
        let s = shutdown.clone();
        async move {
            indicators
                .run_until_stopped(s)
                .await
                .expect("indicators run")
        }
    });

    let mut wc = WebConfig::default();
    wc.http.listen = "127.0.0.1:0".into();
    wc.passenger_grpc = format!("http://{grpc}");
    wc.indicators_grpc = format!("http://{indicators_grpc}");
    wc.ingest_metrics_url = "http://127.0.0.1:9/metrics".into();
    wc.rate_limit = generous;
    wc.auth.tokens = vec![TokenEntry {
        name: "test".into(),
        sha256: hash_token_hex(TOKEN),
        devices: Vec::new(),
    }];
    let web = Web::build(wc).await.expect("web builds");
    let addr = web.addr();
    tokio::spawn({
        let s = shutdown.clone();
        async move { web.run_until_stopped(s).await.expect("web runs") }
    });
    let stack = Stack {
        _db: db,
        web: addr,
        shutdown,
    };
    kagoshima_tests::eventually("web healthy", Duration::from_secs(10), || async {
        get(stack.web, "/healthz", &[])
            .await
            .filter(|r| r.status == 200)
            .map(|_| ())
    })
    .await;
    stack
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A minimal HTTP/1.1 GET with extra headers. Handles chunked bodies.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Option<Answer> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n)?);
            rest = tail.get(n + 2..)?;
        }
        out
    } else {
        body.to_owned()
    };
    Some(Answer {
        status,
        head: head.to_owned(),
        body,
    })
}

#[tokio::test]
async fn pages_search_and_bureau_token() {
    let stack = spawn().await;
    let web = stack.web;

    // Pages: HTML in Japanese by default, assets with their types, a strict CSP.
    for path in [
        "/",
        "/signage",
        "/signage/tram_tenmonkan_dori",
        "/dashboard",
    ] {
        let a = get(web, path, &[]).await.expect("answer");
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(a.body.contains("<html lang=\"ja\">"), "{path}");
        assert!(
            a.header("content-security-policy")
                .is_some_and(|c| c.contains("script-src 'self'")),
            "{path}"
        );
    }
    let signage = get(web, "/signage", &[]).await.expect("answer");
    assert!(signage.body.contains("data-stop=\"tram_tenmonkan_dori\""));
    let hostile = get(web, "/signage/%22%3E%3Cscript%3E", &[])
        .await
        .expect("answer");
    assert!(
        !hostile.body.contains("\"><script>"),
        "the stop id is escaped"
    );
    for (path, ty) in [
        ("/assets/passenger.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let a = get(web, path, &[]).await.expect("answer");
        assert_eq!(
            (a.status, a.header("content-type").as_deref()),
            (200, Some(ty)),
            "{path}"
        );
    }
    assert_eq!(
        get(web, "/assets/nope.js", &[])
            .await
            .expect("answer")
            .status,
        404
    );

    // Stop search through PassengerService, in each of the five languages.
    let mut names = Vec::new();
    for lang in ["ja", "en", "zh-Hans", "zh-Hant", "ko"] {
        let a = get(
            web,
            &format!("/api/stops/search?q=tenmonkan&lang={lang}"),
            &[],
        )
        .await
        .expect("answer");
        assert_eq!(a.status, 200, "{lang}: {}", a.body);
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("application/json")
        );
        let body = a.json();
        let first = body["stops"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["stop_id"] == "tram_tenmonkan_dori"))
            .unwrap_or_else(|| panic!("{lang}: 天文館通 found: {body}"));
        assert_eq!(first["name"]["lang"], lang, "{lang}: {body}");
        names.push(first["name"]["text"].as_str().expect("name").to_owned());
    }
    assert_eq!(names[0], "天文館通");
    assert!(names[1].to_lowercase().contains("tenmonkan"), "{names:?}");
    names.sort();
    names.dedup();
    assert!(names.len() >= 4, "names differ by language: {names:?}");
    let bad = get(web, "/api/stops/search?q=x&lang=fr", &[])
        .await
        .expect("answer");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["code"], "invalid_argument");
    let unknown = get(web, "/api/stops/no_such_stop?lang=en", &[])
        .await
        .expect("answer");
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    // The route map from GetRouteShape: the polyline and the stops in order,
    // projected into the view.
    let shape = get(web, "/api/routes/tram-1/shape?lang=en", &[])
        .await
        .expect("answer");
    assert_eq!(shape.status, 200, "{}", shape.body);
    let shape = shape.json();
    assert_eq!(shape["source"], "route_shape");
    assert_eq!(shape["route"]["route_id"], "tram-1");
    let width = shape["projection"]["width"].as_f64().expect("width");
    let height = shape["projection"]["height"].as_f64().expect("height");
    let directions = shape["directions"].as_array().expect("directions");
    assert_eq!(directions.len(), 2, "{shape}");
    for d in directions {
        let points = d["points"].as_array().expect("points");
        assert!(points.len() >= 2, "{d}");
        assert!(
            points.iter().all(|p| {
                let (x, y) = (p[0].as_f64().unwrap_or(-1.0), p[1].as_f64().unwrap_or(-1.0));
                (0.0..=width).contains(&x) && (0.0..=height).contains(&y)
            }),
            "points inside the view"
        );
        let stops = d["stops"].as_array().expect("stops");
        let tenmonkan = stops
            .iter()
            .find(|s| s["stop_id"] == "tram_tenmonkan_dori")
            .unwrap_or_else(|| panic!("天文館通 on tram-1: {d}"));
        assert_eq!(tenmonkan["name"]["text"], "Tenmonkan-dori");
        assert!(
            stops
                .windows(2)
                .all(|w| w[0]["stop_sequence"].as_u64() < w[1]["stop_sequence"].as_u64()),
            "stops in order"
        );
    }
    let unknown_route = get(web, "/api/routes/no-such-route/shape", &[])
        .await
        .expect("answer");
    assert_eq!(unknown_route.status, 404, "{}", unknown_route.body);
    let bad_lang = get(web, "/api/routes/tram-1/shape?lang=fr", &[])
        .await
        .expect("answer");
    assert_eq!(bad_lang.status, 400, "{}", bad_lang.body);

    // The bureau API: 401 with a clear JSON reason, then in with the token.
    let missing = get(web, "/api/bureau/feeds", &[]).await.expect("answer");
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json()["error"]["code"], "unauthenticated");
    assert!(
        missing.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Bearer")),
        "{}",
        missing.body
    );
    assert!(missing.header("www-authenticate").is_some());
    let wrong = get(
        web,
        "/api/bureau/indicators",
        &[("Authorization", "Bearer wrong")],
    )
    .await
    .expect("answer");
    assert_eq!(wrong.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let ok = get(web, "/api/bureau/feeds", &[("Authorization", &bearer)])
        .await
        .expect("answer");
    assert_eq!(ok.status, 200, "{}", ok.body);
    let feeds = ok.json();
    assert_eq!(feeds["source"], "ingest_metrics");
    assert_eq!(feeds["reachable"], false, "no ingest in this test");
    // IndicatorService behind the web, the token forwarded.
    let indicators = get(web, "/api/bureau/indicators", &[("Authorization", &bearer)])
        .await
        .expect("answer");
    assert_eq!(indicators.status, 200, "{}", indicators.body);
    assert!(indicators.json()["monthly"]["indicators"].is_array());

    // Ridership: 24 hours (zeros on an empty database), day types, shares.
    let ridership = get(
        web,
        "/api/bureau/ridership?month=2025-06",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(ridership.status, 200, "{}", ridership.body);
    let r = ridership.json();
    let hours = r["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 24, "{r}");
    assert!(
        hours
            .iter()
            .enumerate()
            .all(|(i, h)| h["hour"] == i && h["uses"] == 0),
        "{r}"
    );
    assert_eq!(r["period"], "2025-06");
    assert!(r["routes"].is_array());
    assert_eq!(r["day_types"].as_array().map(Vec::len), Some(3));
    // Planning of a month without stop visits: an answer that says why.
    let planning = get(
        web,
        "/api/bureau/planning?month=2025-06",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(planning.status, 200, "{}", planning.body);
    let p = planning.json();
    assert_eq!(
        (p["from"].as_str(), p["until"].as_str()),
        (Some("2025-06-01"), Some("2025-06-30"))
    );
    assert!(
        p["empty_reason"]
            .as_str()
            .is_some_and(|r| r.contains("no stop visits")),
        "{p}"
    );
    let bad = get(
        web,
        "/api/bureau/planning?month=June",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(bad.status, 400, "{}", bad.body);
    // A file of the planning report as a download; a file the report does
    // not have is a 404 that lists those it has.
    let summary = get(
        web,
        "/api/bureau/planning/file?month=2025-06&file=summary.md",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(summary.body.contains("no stop visits"), "{}", summary.body);
    let missing = get(
        web,
        "/api/bureau/planning/file?month=2025-06&file=draft.zip",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("planning.xlsx"), "{}", missing.body);
    // Without a token, refused before IndicatorService is asked.
    let refused = get(web, "/api/bureau/ridership?month=2025-06", &[])
        .await
        .expect("answer");
    assert_eq!(refused.status, 401);
    let bad = get(
        web,
        "/api/bureau/ridership?month=June",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(bad.status, 400, "{}", bad.body);
    let unknown_route = get(
        web,
        "/api/bureau/ridership?period=FY2025&route_id=no-such-route",
        &[("Authorization", &bearer)],
    )
    .await
    .expect("answer");
    assert_eq!(unknown_route.status, 404, "{}", unknown_route.body);
}

/// What passenger apps ask besides the pages: routes by mode, a stop and its
/// timetable in each language, and clear errors (the one passenger JSON API;
/// location's former `/api/v1` pinned the same answers).
#[tokio::test]
async fn routes_stops_and_timetables_in_five_languages() {
    let stack = spawn().await;
    let web = stack.web;
    let json = |path: String| async move {
        let a = get(web, &path, &[]).await.expect("answer");
        (a.status, a.json())
    };
    let (code, routes) = json("/api/routes?lang=en".into()).await;
    assert_eq!(code, 200);
    assert_eq!(routes["routes"].as_array().expect("routes").len(), 7);
    let (_, trams) = json("/api/routes?mode=tram&lang=ko".into()).await;
    let trams = trams["routes"].as_array().expect("routes").clone();
    assert!(!trams.is_empty() && trams.iter().all(|r| r["mode"] == "tram"));
    assert_eq!(trams[0]["short_name"]["text"], "1계통");

    for (lang, name) in [
        ("ja", "天文館通"),
        ("en", "Tenmonkan-dori"),
        ("zh-Hans", "天文馆通"),
        ("zh-Hant", "天文館通"),
        ("ko", "덴몬칸도리"),
    ] {
        let (code, stop) = json(format!("/api/stops/tram_tenmonkan_dori?lang={lang}")).await;
        assert_eq!(code, 200, "{stop}");
        assert_eq!(stop["stop"]["name"]["text"], name);
        assert_eq!(stop["stop"]["name"]["lang"], lang);
        assert_eq!(stop["stop"]["reading"], "てんもんかんどおり");
    }
    // 23 November 2026 is 勤労感謝の日: the holiday timetable.
    let (code, tt) = json(
        "/api/stops/tram_tenmonkan_dori/timetable?date=2026-11-23&route=tram-2&lang=zh-Hans".into(),
    )
    .await;
    assert_eq!(code, 200, "{tt}");
    assert_eq!(tt["holiday"], true);
    assert_eq!(tt["service_ids"][0], "holiday");
    let first = &tt["departures"][0];
    assert_eq!(first["route_id"], "tram-2");
    assert_eq!(first["headsign"]["lang"], "zh-Hans");
    assert_eq!(first["route_short_name"]["text"], "2系统");
    assert!(
        tt["departures"]
            .as_array()
            .expect("departures")
            .iter()
            .all(|d| d["route_id"] == "tram-2")
    );

    for (path, status) in [
        (
            "/api/stops/tram_tenmonkan_dori/timetable?date=tomorrow",
            400,
        ),
        ("/api/stops/nope/timetable?lang=en", 404),
        ("/api/routes?mode=plane", 400),
        ("/api/stops/search?q=tenmonkan&limit=5000", 400),
        ("/api/nothing", 404),
    ] {
        let (code, body) = json(path.into()).await;
        assert_eq!(code, status, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_station_shows_its_platforms_on_the_pages_json() {
    let stack = spawn_over(&kagoshima_tests::feeds::stations()).await;
    let web = stack.web;
    let found = get(
        web,
        "/api/stops/search?q=%E9%B9%BF%E5%85%90%E5%B3%B6%E4%B8%AD%E5%A4%AE&lang=en",
        &[],
    )
    .await
    .expect("answer");
    assert_eq!(found.status, 200, "{}", found.body);
    let found = found.json();
    let ids: Vec<&str> = found["stops"]
        .as_array()
        .expect("stops")
        .iter()
        .filter_map(|s| s["stop_id"].as_str())
        .collect();
    assert_eq!(ids, ["chuo"], "{found}");
    assert_eq!(found["stops"][0]["station"], true);

    let arrivals = get(web, "/api/stops/chuo/arrivals?lang=ja", &[])
        .await
        .expect("answer")
        .json();
    let platforms: std::collections::BTreeSet<&str> = arrivals["arrivals"]
        .as_array()
        .expect("arrivals")
        .iter()
        .filter_map(|a| a["platform"].as_str())
        .collect();
    assert_eq!(platforms, ["B", "C"].into(), "{arrivals}");

    let timetable = get(web, "/api/stops/chuo_B/timetable?lang=ja", &[])
        .await
        .expect("answer")
        .json();
    let deps = timetable["departures"].as_array().expect("departures");
    assert_eq!(deps.len(), 144, "one platform's own");
    assert!(
        deps.iter()
            .all(|d| d["platform"] == "B" && d["stop_id"] == "chuo_B")
    );
    assert_eq!(timetable["stop"]["parent_station"], "chuo");
}
