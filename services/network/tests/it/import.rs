use kagoshima_network::{ImportOptions, ImportOutcome, import::Quiet};
use kagoshima_tests::TestDb;

use crate::support::*;

#[tokio::test]
async fn imports_the_sample_feed() {
    let db = TestDb::new().await;
    let s = import(&db, &sample_feed()).await;
    assert_eq!((s.agencies, s.routes, s.stops), (2, 7, 69));
    assert_eq!(s.trips, 1732);
    assert_eq!(s.stop_times, 29525);
    assert_eq!(s.calendars, 2);
    assert_eq!(s.calendar_dates, 114);
    assert_eq!(s.translations, 540);
    assert!(!s.shapes_derived);
    assert_eq!(s.shapes, 13);
    assert_eq!(active(&db).await, Some(s.feed_version_id));
    let fv = s.feed_version_id;
    assert_eq!(rows(&db, "network_stop_times", fv).await, 29525);
    assert_eq!(rows(&db, "network_shapes", fv).await, 1656);
    // agency_jp.txt kept raw
    let official: String = sqlx::query_scalar(
        "SELECT record->>'agency_official_name' FROM network_extra_rows WHERE feed_version_id = $1 AND file_name = 'agency_jp.txt' AND record->>'agency_id' = 'kagoshima-aibus'",
    )
    .bind(fv)
    .fetch_one(db.pool())
    .await
    .expect("agency_jp row");
    assert!(official.contains("あいばす"), "{official}");
    // あいばす is the community bus
    let mode: String = sqlx::query_scalar(
        "SELECT mode FROM network_routes WHERE feed_version_id = $1 AND route_id = 'aibus-ishikidai'",
    )
    .bind(fv)
    .fetch_one(db.pool())
    .await
    .expect("route");
    assert_eq!(mode, "community_bus");
}

#[tokio::test]
async fn the_same_file_twice_is_detected_and_changes_nothing() {
    let db = TestDb::new().await;
    let first = import(&db, &sample_feed()).await;
    let feed = load(&sample_feed());
    let outcome = kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("second import");
    assert_eq!(
        outcome,
        ImportOutcome::AlreadyImported {
            feed_version_id: first.feed_version_id,
            active: true,
            sha256: first.sha256.clone(),
        }
    );
    assert_eq!(db.count("SELECT count(*) FROM feed_versions").await, 1);
}

#[tokio::test]
async fn a_new_import_replaces_the_active_version_and_keeps_the_old_one() {
    let db = TestDb::new().await;
    let old = import(&db, &small_feed("v1", false)).await;
    let changed = small_feed("v2", false);
    let stops = std::fs::read_to_string(changed.join("stops.txt")).expect("stops");
    std::fs::write(
        changed.join("stops.txt"),
        stops.replace("新停留所,31.58500", "新停留所,31.58400"),
    )
    .expect("write");
    let new = import(&db, &changed).await;
    assert_ne!(old.sha256, new.sha256);
    assert_eq!(new.previous_version_id, Some(old.feed_version_id));
    assert_eq!(active(&db).await, Some(new.feed_version_id));
    assert_eq!(
        db.count("SELECT count(*) FROM feed_versions WHERE active")
            .await,
        1,
        "exactly one active version"
    );
    // the previous version is still there, whole
    assert_eq!(rows(&db, "network_stops", old.feed_version_id).await, 3);
    assert_eq!(rows(&db, "network_stops", new.feed_version_id).await, 3);
}

#[tokio::test]
async fn a_feed_without_shapes_gets_shapes_from_its_stops() {
    let db = TestDb::new().await;
    let s = import(&db, &small_feed("noshapes", false)).await;
    assert!(s.shapes_derived);
    assert_eq!(s.shapes, 1, "one stop pattern");
    let derived: Vec<(bool, f64)> = sqlx::query_as(
        "SELECT derived, dist_m FROM network_shapes WHERE feed_version_id = $1 ORDER BY seq",
    )
    .bind(s.feed_version_id)
    .fetch_all(db.pool())
    .await
    .expect("shape");
    assert_eq!(derived.len(), 3);
    assert!(derived.iter().all(|(d, _)| *d));
    assert!(
        derived[2].1 > derived[1].1 && derived[1].1 > 500.0,
        "{derived:?}"
    );
    let trip_shape: Option<String> = sqlx::query_scalar(
        "SELECT shape_id FROM network_trips WHERE feed_version_id = $1 AND trip_id = 'wd-1'",
    )
    .bind(s.feed_version_id)
    .fetch_one(db.pool())
    .await
    .expect("trip");
    assert!(trip_shape.is_some_and(|id| id.starts_with("derived:")));
}

async fn names_of(db: &TestDb, fv: i64, key: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT lang, text FROM network_names WHERE feed_version_id = $1 AND kind = 'stop' AND key = $2 ORDER BY lang")
        .bind(fv)
        .bind(key)
        .fetch_all(db.pool())
        .await
        .expect("names")
}

#[tokio::test]
async fn both_translation_forms_give_the_same_names() {
    for first_edition in [false, true] {
        let db = TestDb::new().await;
        let s = import(&db, &small_feed("tr", first_edition)).await;
        let names = names_of(&db, s.feed_version_id, "tenmonkan").await;
        let get = |l: &str| {
            names
                .iter()
                .find(|(lang, _)| lang == l)
                .map(|(_, t)| t.as_str())
        };
        assert_eq!(
            get("ja"),
            Some("天文館通"),
            "first edition: {first_edition}"
        );
        assert_eq!(get("en"), Some("Tenmonkan-dori"));
        assert_eq!(get("ja-Hrkt"), Some("てんもんかんどおり"));
        assert_eq!(get("ko"), Some("덴몬칸도리"));
        assert_eq!(get("zh-Hans"), Some("天文馆通"));
        // record_id form (2nd edition) and trans_id form (1st) both reach 高見馬場
        let t = names_of(&db, s.feed_version_id, "takamibaba").await;
        assert!(t.contains(&("en".into(), "Takamibaba".into())), "{t:?}");
        // the untranslated stop has only its Japanese name
        assert_eq!(
            names_of(&db, s.feed_version_id, "shin").await,
            vec![("ja".into(), "新停留所".into())]
        );
        // routes_jp.txt kept
        assert_eq!(rows(&db, "network_extra_rows", s.feed_version_id).await, 1);
    }
}

#[tokio::test]
async fn an_english_feed_is_labelled_english_and_its_translations_add_japanese() {
    let db = TestDb::new().await;
    let dir = small_feed("english", false);
    std::fs::write(
        dir.join("agency.txt"),
        "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,Kagoshima City Transportation Bureau,https://example.invalid/,Asia/Tokyo,en\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("stops.txt"),
        "stop_id,stop_name,stop_lat,stop_lon\ntenmonkan,Tenmonkan-dori,31.59071,130.55530\ntakamibaba,Takamibaba,31.58743,130.54844\nshin,New Stop,31.58500,130.54500\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("translations.txt"),
        "table_name,field_name,language,translation,record_id,record_sub_id,field_value\nstops,stop_name,ja,天文館通,tenmonkan,,\n",
    )
    .expect("write");
    assert_eq!(load(&dir).language, "en");
    let s = import(&db, &dir).await;
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT lang, text FROM network_names
          WHERE feed_version_id = $1 AND kind = 'stop' AND key = 'tenmonkan' ORDER BY lang",
    )
    .bind(s.feed_version_id)
    .fetch_all(db.pool())
    .await
    .expect("names");
    assert_eq!(
        names,
        vec![
            ("en".to_owned(), "Tenmonkan-dori".to_owned()),
            ("ja".to_owned(), "天文館通".to_owned())
        ]
    );
    // feed_info's feed_lang says first.
    std::fs::write(
        dir.join("feed_info.txt"),
        "feed_publisher_name,feed_publisher_url,feed_lang\nBureau,https://example.invalid/,ja\n",
    )
    .expect("write");
    assert_eq!(load(&dir).language, "ja");
}

/// The headsign and its English name stored for `trip`.
async fn headsign(db: &TestDb, fv: i64, trip: &str) -> (Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT t.headsign, n.text FROM network_trips t
           LEFT JOIN network_names n ON n.feed_version_id = t.feed_version_id
                AND n.kind = 'headsign' AND n.key = t.headsign AND n.lang = 'en'
          WHERE t.feed_version_id = $1 AND t.trip_id = $2",
    )
    .bind(fv)
    .bind(trip)
    .fetch_one(db.pool())
    .await
    .expect("trip")
}

#[tokio::test]
async fn blank_headsigns_fall_back_to_the_route_destination_then_the_last_stop() {
    let db = TestDb::new().await;
    let dir = small_feed("blank-headsigns", false);
    std::fs::write(
        dir.join("trips.txt"),
        "route_id,service_id,trip_id,trip_headsign,direction_id\nt1,wd,wd-1,,0\nt1,hd,hd-1,,1\n",
    )
    .expect("write");
    // wd-1 ends at 高見馬場 (translated by record id), hd-1 at 天文館通.
    std::fs::write(
        dir.join("stop_times.txt"),
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nwd-1,07:00:00,07:00:00,tenmonkan,1\nwd-1,07:03:00,07:03:00,takamibaba,2\nhd-1,09:00:00,09:00:00,shin,1\nhd-1,09:03:00,09:03:00,takamibaba,2\nhd-1,09:06:00,09:06:00,tenmonkan,3\n",
    )
    .expect("write");
    // With routes_jp.txt: the route's destination, 新停留所, for both.
    let s = import(&db, &dir).await;
    assert_eq!(
        headsign(&db, s.feed_version_id, "wd-1").await.0.as_deref(),
        Some("新停留所")
    );
    // Without it: each trip's last stop, in English too.
    std::fs::remove_file(dir.join("routes_jp.txt")).expect("remove");
    let s = import(&db, &dir).await;
    assert_eq!(
        headsign(&db, s.feed_version_id, "wd-1").await,
        (Some("高見馬場".to_owned()), Some("Takamibaba".to_owned()))
    );
    assert_eq!(
        headsign(&db, s.feed_version_id, "hd-1").await,
        (
            Some("天文館通".to_owned()),
            Some("Tenmonkan-dori".to_owned())
        )
    );
}

#[tokio::test]
async fn frequency_based_trips_are_stored_as_their_runs() {
    let db = TestDb::new().await;
    let s = import(&db, &kagoshima_tests::feeds::frequencies()).await;
    assert_eq!((s.frequency_trips, s.frequency_runs), (2, 144 + 96));
    assert_eq!(
        s.trips,
        144 + 96 + 1,
        "runs and the ordinary trip, no template"
    );
    assert_eq!(s.stop_times, (144 + 96 + 1) * 5);
    type RunRow = (
        Option<String>,
        Option<i32>,
        Option<i32>,
        Option<bool>,
        Option<String>,
    );
    let run: RunRow = sqlx::query_as(
        "SELECT run_of, run_start_s, run_headway_s, run_exact_times, block_id
               FROM network_trips WHERE feed_version_id = $1 AND trip_id = 'loop@00:10:00'",
    )
    .bind(s.feed_version_id)
    .fetch_one(db.pool())
    .await
    .expect("the 00:10 run");
    assert_eq!(
        run,
        (Some("loop".into()), Some(600), Some(600), Some(false), None),
        "a run belongs to no block: the template's block_id would chain all runs"
    );
    let plain: Option<String> = sqlx::query_scalar(
        "SELECT run_of FROM network_trips WHERE feed_version_id = $1 AND trip_id = 'plain'",
    )
    .bind(s.feed_version_id)
    .fetch_one(db.pool())
    .await
    .expect("the plain trip");
    assert_eq!(plain, None);
}

#[tokio::test]
async fn another_operators_feed_is_imported_beside_the_citys_with_its_ids_apart() {
    let (city, nangoku) = kagoshima_tests::feeds::two_operators();
    let db = TestDb::new().await;
    let c = import(&db, &city).await;
    let feed = kagoshima_network::feed::load_as(&nangoku, Some("nangoku")).expect("valid");
    let n = match kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import")
    {
        ImportOutcome::Imported(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        n.previous_version_id, None,
        "the city's version is not replaced"
    );
    let active = kagoshima_network::service_day::active_versions(db.pool())
        .await
        .expect("versions");
    assert_eq!(active, [c.feed_version_id, n.feed_version_id]);
    // Every ID of the private feed is namespaced; its one agency without an
    // agency_id is named by the feed ID, and its routes point to it.
    let route: (String, Option<String>) =
        sqlx::query_as("SELECT route_id, agency_id FROM network_routes WHERE feed_version_id = $1")
            .bind(n.feed_version_id)
            .fetch_one(db.pool())
            .await
            .expect("route");
    assert_eq!(route, ("nangoku:n1".into(), Some("nangoku".into())));
    let stops: Vec<String> = sqlx::query_scalar(
        "SELECT stop_id FROM network_stops WHERE feed_version_id = $1 ORDER BY stop_id",
    )
    .bind(n.feed_version_id)
    .fetch_all(db.pool())
    .await
    .expect("stops");
    assert_eq!(stops, ["nangoku:chuo", "nangoku:tenmonkan"]);
    let trip: (String, String, String) = sqlx::query_as(
        "SELECT t.trip_id, t.service_id, st.stop_id FROM network_trips t
           JOIN network_stop_times st USING (feed_version_id, trip_id)
          WHERE t.feed_version_id = $1 AND st.stop_sequence = 1 ORDER BY t.trip_id LIMIT 1",
    )
    .bind(n.feed_version_id)
    .fetch_one(db.pool())
    .await
    .expect("trip");
    assert_eq!(
        trip,
        (
            "nangoku:n1-000".into(),
            "nangoku:all".into(),
            "nangoku:tenmonkan".into()
        )
    );
    // A feed ID that could not prefix IDs is refused before anything is read.
    let refused = kagoshima_network::feed::load_as(&nangoku, Some("Nan Goku")).expect_err("bad ID");
    assert!(refused.to_string().contains("a-z, 0-9"), "{refused}");
}
