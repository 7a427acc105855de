use crate::support::*;

#[tokio::test]
async fn the_json_api_answers_in_five_languages() {
    let loc = TestLocation::spawn().await;
    let (code, routes) = loc.get("/api/v1/routes?lang=en").await;
    assert_eq!(code, 200);
    assert_eq!(routes["routes"].as_array().expect("routes").len(), 7);
    let (_, trams) = loc.get("/api/v1/routes?mode=tram&lang=ko").await;
    assert_eq!(trams["routes"][0]["short_name"]["text"], "1계통");
    assert_eq!(trams["routes"][0]["mode"], "TRANSIT_MODE_TRAM");

    for (lang, name) in [
        ("ja", "天文館通"),
        ("en", "Tenmonkan-dori"),
        ("zh-Hans", "天文馆通"),
        ("zh-Hant", "天文館通"),
        ("ko", "덴몬칸도리"),
    ] {
        let (code, stop) = loc
            .get(&format!("/api/v1/stops/tram_tenmonkan_dori?lang={lang}"))
            .await;
        assert_eq!(code, 200);
        assert_eq!(stop["stop"]["name"]["text"], name);
        assert_eq!(stop["stop"]["name"]["lang"], lang);
        assert_eq!(stop["stop"]["reading"], "てんもんかんどおり");

        let (code, found) = loc
            .get(&format!(
                "/api/v1/stops/search?q={}&lang={lang}",
                enc("てんもんかん")
            ))
            .await;
        assert_eq!(code, 200);
        assert!(
            found["stops"]
                .as_array()
                .expect("stops")
                .iter()
                .any(|s| s["stop_id"] == "tram_tenmonkan_dori"),
            "{found}"
        );
    }
    let (code, tt) = loc
        .get(
            "/api/v1/stops/tram_tenmonkan_dori/timetable?date=2026-11-23&route=tram-2&lang=zh-Hans",
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(tt["holiday"], true);
    assert_eq!(tt["service_ids"][0], "holiday");
    let first = &tt["departures"][0];
    assert_eq!(first["route_id"], "tram-2");
    assert_eq!(first["headsign"]["lang"], "zh-Hans");
    assert_eq!(first["route_short_name"]["text"], "2系统");
}

#[tokio::test]
async fn the_json_api_gives_clear_errors() {
    let loc = TestLocation::spawn().await;
    let (code, body) = loc.get("/api/v1/stops/nope?lang=en").await;
    assert_eq!(code, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (code, body) = loc.get("/api/v1/stops/search?q=tenmonkan&lang=xx").await;
    assert_eq!(code, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("xx")
    );
    let (code, _) = loc.get("/api/v1/stops/search?q=tenmonkan&limit=5000").await;
    assert_eq!(code, 400);
    let (code, _) = loc.get("/api/v1/stops/search?q=").await;
    assert_eq!(code, 400);
    let (code, _) = loc
        .get("/api/v1/stops/tram_tenmonkan_dori/timetable?date=tomorrow")
        .await;
    assert_eq!(code, 400);
    let (code, _) = loc.get("/api/v1/routes?mode=plane").await;
    assert_eq!(code, 400);
    let (code, body) = loc.get("/api/v1/nothing").await;
    assert_eq!(code, 404);
    assert_eq!(body["error"]["code"], "not_found");
}
