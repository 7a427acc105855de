use kagoshima_proto::v1::{GetStopRequest, SearchStopsRequest};

use crate::support::*;

const TENMONKAN_DORI: &str = "tram_tenmonkan_dori";

#[tokio::test]
async fn finds_tenmonkan_dori_in_every_script() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    for query in [
        "天文館",
        "天文館通",
        "てんもんかん",
        "テンモンカン",
        "ﾃﾝﾓﾝｶﾝ",
        "tenmonkan",
        "Tenmonkan",
        "TENMONKAN-DŌRI",
        "monkan",
        "Tenmonkan dori",
        "天文馆通",
        "덴몬칸",
    ] {
        let stops = client
            .search_stops(SearchStopsRequest {
                query: query.into(),
                lang: "en".into(),
                limit: 10,
            })
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .into_inner()
            .stops;
        assert!(
            stops.iter().any(|s| s.stop_id == TENMONKAN_DORI),
            "{query:?} should find 天文館通, got {:?}",
            stops.iter().map(|s| &s.stop_id).collect::<Vec<_>>()
        );
    }
    // An exact match ranks first.
    let stops = client
        .search_stops(SearchStopsRequest {
            query: "てんもんかんどおり".into(),
            lang: "ja".into(),
            limit: 5,
        })
        .await
        .expect("search")
        .into_inner()
        .stops;
    assert_eq!(stops[0].stop_id, TENMONKAN_DORI);
    assert_eq!(stops[0].reading, "てんもんかんどおり");
    assert!(stops[0].routes.iter().any(|r| r.route_id == "tram-1"));
    // Nothing matches: an empty answer, not an error.
    let none = client
        .search_stops(SearchStopsRequest {
            query: "zzzz".into(),
            lang: "ja".into(),
            limit: 5,
        })
        .await
        .expect("search")
        .into_inner()
        .stops;
    assert!(none.is_empty());
}

#[tokio::test]
async fn names_come_in_five_languages() {
    let loc = TestLocation::spawn().await;
    let mut client = loc.client().await;
    for (lang, expected) in [
        ("ja", "天文館通"),
        ("en", "Tenmonkan-dori"),
        ("zh-Hans", "天文馆通"),
        ("zh-Hant", "天文館通"),
        ("ko", "덴몬칸도리"),
    ] {
        let stop = client
            .get_stop(GetStopRequest {
                stop_id: TENMONKAN_DORI.into(),
                lang: lang.into(),
            })
            .await
            .expect("stop")
            .into_inner()
            .stop
            .expect("stop");
        let name = stop.name.expect("name");
        assert_eq!((name.lang.as_str(), name.text.as_str()), (lang, expected));
        assert_eq!(stop.reading, "てんもんかんどおり");
        let tram1 = stop
            .routes
            .iter()
            .find(|r| r.route_id == "tram-1")
            .expect("tram-1 serves it");
        assert_eq!(tram1.short_name.as_ref().expect("name").lang, lang);
    }
    let en = client
        .get_stop(GetStopRequest {
            stop_id: TENMONKAN_DORI.into(),
            lang: "en".into(),
        })
        .await
        .expect("stop")
        .into_inner()
        .stop
        .expect("stop");
    let tram1 = en
        .routes
        .iter()
        .find(|r| r.route_id == "tram-1")
        .expect("tram-1");
    assert_eq!(tram1.short_name.as_ref().expect("name").text, "Line 1");
}

#[tokio::test]
async fn a_name_without_translation_falls_back_to_japanese() {
    // A small feed where 新停留所 has no translations at all.
    let dir = std::env::temp_dir().join(kagoshima_tests::unique("kagoshima-fallback"));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in [
        (
            "agency.txt",
            "agency_id,agency_name,agency_url,agency_timezone\nkotsu,鹿児島市交通局,https://example.invalid/,Asia/Tokyo\n",
        ),
        (
            "routes.txt",
            "route_id,agency_id,route_short_name,route_long_name,route_type\nt1,kotsu,1系統,,0\n",
        ),
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\na,天文館通,31.59071,130.55530\nb,新停留所,31.585,130.545\n",
        ),
        (
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nwd,1,1,1,1,1,1,1,20260101,20271231\n",
        ),
        (
            "trips.txt",
            "route_id,service_id,trip_id,trip_headsign\nt1,wd,x,新停留所\n",
        ),
        (
            "stop_times.txt",
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nx,07:00:00,07:00:00,a,1\nx,07:05:00,07:05:00,b,2\n",
        ),
        (
            "translations.txt",
            "table_name,field_name,language,translation,record_id,record_sub_id,field_value\nstops,stop_name,en,Tenmonkan-dori,,,天文館通\nstops,stop_name,ko,덴몬칸도리,,,天文館通\n",
        ),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let loc = TestLocation::spawn_with(db_with(&dir).await, Default::default()).await;
    let mut client = loc.client().await;
    for lang in ["en", "zh-Hans", "zh-Hant", "ko"] {
        let stop = client
            .get_stop(GetStopRequest {
                stop_id: "b".into(),
                lang: lang.into(),
            })
            .await
            .expect("stop")
            .into_inner()
            .stop
            .expect("stop");
        let name = stop.name.expect("name");
        assert_eq!(
            (name.lang.as_str(), name.text.as_str()),
            ("ja", "新停留所"),
            "{lang}"
        );
        assert_eq!(stop.reading, "");
    }
    // zh-Hans is missing for 天文館通 too: ja; en is there.
    let a = |lang: &str| GetStopRequest {
        stop_id: "a".into(),
        lang: lang.into(),
    };
    let zh = client
        .get_stop(a("zh-Hans"))
        .await
        .expect("stop")
        .into_inner()
        .stop
        .expect("stop");
    assert_eq!(zh.name.expect("name").lang, "ja");
    let en = client
        .get_stop(a("en"))
        .await
        .expect("stop")
        .into_inner()
        .stop
        .expect("stop");
    assert_eq!(en.name.expect("name").text, "Tenmonkan-dori");
    // romaji search works without a reading via the English name
    let found = client
        .search_stops(SearchStopsRequest {
            query: "tenmonkan".into(),
            lang: "ko".into(),
            limit: 0,
        })
        .await
        .expect("search")
        .into_inner()
        .stops;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_ref().expect("name").text, "덴몬칸도리");
}
