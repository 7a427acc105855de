use std::path::{Path, PathBuf};

use kagoshima_network::{Feed, ImportOptions, ImportOutcome, ImportSummary, feed, import::Quiet};
use kagoshima_tests::TestDb;

/// The sample feed shipped in the repository.
pub fn sample_feed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../simulators/feed/kagoshima")
}

/// A fresh empty folder under the system temp dir.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(kagoshima_tests::unique(&format!("kagoshima-feed-{label}")));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A copy of the sample feed, to break or change.
pub fn copy_of_sample(label: &str) -> PathBuf {
    let dir = temp_dir(label);
    for entry in std::fs::read_dir(sample_feed()).expect("sample feed") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

/// A tiny feed: one tram route over three stops, a weekday and a Sunday
/// service, no calendar_dates.txt, no shapes.txt; 天文館通 has translations
/// (in the given form), 新停留所 has none.
pub fn small_feed(label: &str, first_edition: bool) -> PathBuf {
    let dir = temp_dir(label);
    let files: &[(&str, &str)] = &[
        (
            "agency.txt",
            "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,鹿児島市交通局,https://example.invalid/,Asia/Tokyo,ja\n",
        ),
        (
            "routes.txt",
            "route_id,agency_id,route_short_name,route_long_name,route_type\nt1,kotsu,1系統,天文館通～新停留所,0\n",
        ),
        (
            "stops.txt",
            "stop_id,stop_name,stop_lat,stop_lon\ntenmonkan,天文館通,31.59071,130.55530\ntakamibaba,高見馬場,31.58743,130.54844\nshin,新停留所,31.58500,130.54500\n",
        ),
        (
            "calendar.txt",
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nwd,1,1,1,1,1,0,0,20260101,20271231\nhd,0,0,0,0,0,1,1,20260101,20271231\n",
        ),
        (
            "trips.txt",
            "route_id,service_id,trip_id,trip_headsign,direction_id\nt1,wd,wd-1,新停留所,0\nt1,hd,hd-1,新停留所,0\n",
        ),
        (
            "stop_times.txt",
            "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nwd-1,07:00:00,07:00:00,tenmonkan,1\nwd-1,07:03:00,07:03:00,takamibaba,2\nwd-1,07:06:00,07:06:00,shin,3\nhd-1,09:00:00,09:00:00,tenmonkan,1\nhd-1,09:03:00,09:03:00,takamibaba,2\nhd-1,09:06:00,09:06:00,shin,3\n",
        ),
        (
            "routes_jp.txt",
            "route_id,route_update_date,origin_stop,via_stop,destination_stop\nt1,20260401,天文館通,高見馬場,新停留所\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write");
    }
    let translations = if first_edition {
        "trans_id,lang,translation\n天文館通,ja-Hrkt,てんもんかんどおり\n天文館通,en,Tenmonkan-dori\n天文館通,zh-Hans,天文馆通\n天文館通,zh-Hant,天文館通\n天文館通,ko,덴몬칸도리\n高見馬場,ja-Hrkt,たかみばば\n高見馬場,en,Takamibaba\n"
    } else {
        "table_name,field_name,language,translation,record_id,record_sub_id,field_value\nstops,stop_name,ja-Hrkt,てんもんかんどおり,,,天文館通\nstops,stop_name,en,Tenmonkan-dori,,,天文館通\nstops,stop_name,zh-Hans,天文馆通,,,天文館通\nstops,stop_name,zh-Hant,天文館通,,,天文館通\nstops,stop_name,ko,덴몬칸도리,,,天文館通\nstops,stop_name,ja-Hrkt,たかみばば,takamibaba,,\nstops,stop_name,en,Takamibaba,takamibaba,,\nroutes,route_short_name,en,Line 1,t1,,\n"
    };
    std::fs::write(dir.join("translations.txt"), translations).expect("write");
    dir
}

pub fn load(path: &Path) -> Feed {
    feed::load(path).unwrap_or_else(|r| panic!("{} should be valid: {r}", path.display()))
}

pub async fn import(db: &TestDb, path: &Path) -> ImportSummary {
    let feed = load(path);
    match kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import")
    {
        ImportOutcome::Imported(s) => s,
        other => panic!("expected an import, got {other:?}"),
    }
}

pub async fn active(db: &TestDb) -> Option<i64> {
    kagoshima_network::active_version(db.pool())
        .await
        .expect("query")
}

/// Rows of a network table in one version.
pub async fn rows(db: &TestDb, table: &str, version: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE feed_version_id = $1"
    )))
    .bind(version)
    .fetch_one(db.pool())
    .await
    .expect("count")
}
