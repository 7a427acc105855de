//! Small GTFS feeds the tests write for themselves, each with one structure
//! that real operators' feeds carry and the sample feed lacks.
use std::path::PathBuf;

use kagoshima_domain::calendar::gtfs_time;

/// calendar.txt of the fixtures: one service `all`, every day of 2020-2035.
const EVERY_DAY: &str = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nall,1,1,1,1,1,1,1,20200101,20351231\n";
/// feed_info.txt of the fixtures (outside validators want one).
const FEED_INFO: &str = "feed_publisher_name,feed_publisher_url,feed_lang,feed_start_date,feed_end_date,feed_version,feed_contact_email\n鹿児島市交通局,https://www.kotsu-city-kagoshima.jp/,ja,20200101,20351231,test,info@kotsu-city-kagoshima.jp\n";

/// A fresh folder holding `files` (name, text).
pub fn write_feed(label: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(crate::unique(&format!("kagoshima-feed-{label}")));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write a feed file");
    }
    dir
}

/// A station with platforms, as city operators publish their terminals:
/// 鹿児島中央駅 (`chuo`, location_type 1) with platforms `chuo_B` and
/// `chuo_C` (same name, platform_code B and C) and an entrance `chuo_E`;
/// a stand-alone stop 天文館 (`tenmonkan`). Route `r1` leaves from B, route
/// `r2` from C, every 10 minutes all day (every day of 2020-2035), 6 minutes
/// to 天文館; each trip's headsign is 天文館.
pub fn stations() -> PathBuf {
    let mut trips = String::from("route_id,service_id,trip_id,trip_headsign,direction_id\n");
    let mut stop_times =
        String::from("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n");
    for (route, platform, offset) in [("r1", "chuo_B", 0), ("r2", "chuo_C", 300)] {
        for k in 0..144 {
            let trip = format!("{route}-{k:03}");
            let dep = k * 600 + offset;
            trips.push_str(&format!("{route},all,{trip},天文館,0\n"));
            stop_times.push_str(&format!(
                "{trip},{t},{t},{platform},1\n{trip},{a},{a},tenmonkan,2\n",
                t = gtfs_time(dep),
                a = gtfs_time(dep + 360)
            ));
        }
    }
    write_feed(
        "stations",
        &[
            (
                "agency.txt",
                "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,鹿児島市交通局,https://www.kotsu-city-kagoshima.jp/,Asia/Tokyo,ja\n".into(),
            ),
            (
                "routes.txt",
                "route_id,agency_id,route_short_name,route_long_name,route_type\nr1,kotsu,1番,中央駅～天文館,3\nr2,kotsu,2番,中央駅～天文館,3\n".into(),
            ),
            (
                "stops.txt",
                "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,platform_code\n\
                 chuo,鹿児島中央駅,31.58370,130.54210,1,,\n\
                 chuo_B,鹿児島中央駅,31.58360,130.54200,0,chuo,B\n\
                 chuo_C,鹿児島中央駅,31.58380,130.54220,0,chuo,C\n\
                 chuo_E,鹿児島中央駅 東口,31.58390,130.54250,2,chuo,\n\
                 tenmonkan,天文館,31.59071,130.55530,0,,\n"
                    .into(),
            ),
            ("calendar.txt", EVERY_DAY.into()),
            ("feed_info.txt", FEED_INFO.into()),
            ("trips.txt", trips),
            ("stop_times.txt", stop_times),
            (
                "translations.txt",
                "table_name,field_name,language,translation,record_id,record_sub_id,field_value\nstops,stop_name,en,Kagoshima-Chuo Station,,,鹿児島中央駅\nstops,stop_name,ja-Hrkt,かごしまちゅうおうえき,,,鹿児島中央駅\n".into(),
            ),
        ],
    )
}

/// Frequency-based service (GTFS frequencies.txt) on route `f` over stops
/// `a` → `b` → `c` (5 minutes a stop): template `loop` "about every 10
/// minutes" all day (exact_times 0, 144 runs), template `exact` every 15
/// minutes all day at exact times (exact_times 1, 96 runs), both written
/// with their own stop_times at 10:00 (which only give the running times),
/// and one ordinary trip `plain` at 12:34. Every day of 2020-2035.
pub fn frequencies() -> PathBuf {
    let mut stop_times =
        String::from("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n");
    for (trip, start) in [("loop", 36_000), ("exact", 36_000), ("plain", 45_240)] {
        for (k, stop) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            let t = gtfs_time(start + 300 * k as u32);
            stop_times.push_str(&format!("{trip},{t},{t},{stop},{}\n", k + 1));
        }
    }
    write_feed(
        "frequencies",
        &[
            (
                "agency.txt",
                "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,鹿児島市交通局,https://www.kotsu-city-kagoshima.jp/,Asia/Tokyo,ja\n".into(),
            ),
            (
                "routes.txt",
                "route_id,agency_id,route_short_name,route_long_name,route_type\nf,kotsu,循環,循環線,3\n".into(),
            ),
            (
                "stops.txt",
                "stop_id,stop_name,stop_lat,stop_lon\na,甲,31.59000,130.55000\nb,乙,31.59000,130.55420\nc,丙,31.59000,130.55840\nd,丁,31.59000,130.56260\ne,戊,31.59000,130.56680\n".into(),
            ),
            ("calendar.txt", EVERY_DAY.into()),
            (
                "trips.txt",
                "route_id,service_id,trip_id,trip_headsign,block_id\nf,all,loop,戊,b1\nf,all,exact,戊,\nf,all,plain,戊,\n".into(),
            ),
            ("stop_times.txt", stop_times),
            ("feed_info.txt", FEED_INFO.into()),
            (
                "frequencies.txt",
                "trip_id,start_time,end_time,headway_secs,exact_times\nloop,00:00:00,24:00:00,600,0\nexact,00:05:00,24:00:00,900,1\n".into(),
            ),
        ],
    )
}

/// Every fixture of this module by name, for the outside validators
/// (`cargo run -p kagoshima-tests --example write-test-feeds DIR`).
pub fn all() -> Vec<(&'static str, PathBuf)> {
    let (city, other) = two_operators();
    vec![
        ("stations", stations()),
        ("frequencies", frequencies()),
        ("two-operators-city", city),
        ("two-operators-nangoku", other),
        ("planning-line", planning_line()),
    ]
}

/// Scheduled running time between two stops of [`planning_line`] (seconds).
pub const PLANNING_SEGMENT_S: u32 = 120;
/// Scheduled dwell at the middle stops of [`planning_line`] (seconds).
pub const PLANNING_DWELL_S: u32 = 20;

/// A tram line for timetable planning: route `p1` over stops `p0`-`p4`
/// (400 m apart), a trip `p1-HHMM` every 10 minutes from 06:00 to 21:50
/// (one vehicle, block `bHH`, runs the :00 and the :10 trip of each hour),
/// every day, [`PLANNING_SEGMENT_S`] between stops and [`PLANNING_DWELL_S`]
/// at each middle stop, whatever the hour (the timetable the planning
/// analysis finds too tight in the rush and too loose at night).
pub fn planning_line() -> PathBuf {
    let mut trips =
        String::from("route_id,service_id,trip_id,trip_headsign,direction_id,block_id\n");
    let mut stop_times =
        String::from("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n");
    for k in 0..96 {
        let start = 6 * 3600 + k * 600;
        let trip = format!("p1-{:02}{:02}", start / 3600, start / 60 % 60);
        // One vehicle runs the :00 and the :10 trip of each hour.
        let block = if start / 60 % 60 < 20 {
            format!("b{:02}", start / 3600)
        } else {
            String::new()
        };
        trips.push_str(&format!("p1,all,{trip},終点,0,{block}\n"));
        let mut t = start;
        for stop in 0..5u32 {
            let arr = t;
            let dep = if stop == 0 || stop == 4 {
                t
            } else {
                t + PLANNING_DWELL_S
            };
            stop_times.push_str(&format!(
                "{trip},{},{},p{stop},{}\n",
                gtfs_time(arr),
                gtfs_time(dep),
                stop + 1
            ));
            t = dep + PLANNING_SEGMENT_S;
        }
    }
    let stops: String = (0..5i32)
        .map(|i| {
            format!(
                "p{i},停留所{i},31.59000,{:.5}\n",
                130.55 + 0.0042 * f64::from(i)
            )
        })
        .collect();
    write_feed(
        "planning-line",
        &[
            (
                "agency.txt",
                "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,鹿児島市交通局,https://www.kotsu-city-kagoshima.jp/,Asia/Tokyo,ja\n".into(),
            ),
            (
                "routes.txt",
                "route_id,agency_id,route_short_name,route_long_name,route_type\np1,kotsu,P系統,計画線,0\n".into(),
            ),
            ("stops.txt", format!("stop_id,stop_name,stop_lat,stop_lon\n{stops}")),
            ("calendar.txt", EVERY_DAY.into()),
            ("feed_info.txt", FEED_INFO.into()),
            ("trips.txt", trips),
            ("stop_times.txt", stop_times),
        ],
    )
}

/// Two operators serving 天文館, each with a feed of its own whose IDs
/// collide: the city's (route `c1` from stop `tenmonkan` to `kotsukyoku`, on
/// the hour and every 10 minutes) and a private company's (one agency
/// without agency_id; route `n1` from its own stop `tenmonkan` 40 m away to
/// `chuo`, at 5 past and every 10 minutes); both call their service `all`.
/// Import the second with feed ID `nangoku`.
pub fn two_operators() -> (PathBuf, PathBuf) {
    let operator = |label: &str, agency: &str, route: &str, stops: &str, to: &str, offset: u32| {
        let mut trips = String::from("route_id,service_id,trip_id,trip_headsign\n");
        let mut stop_times =
            String::from("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n");
        for k in 0..144 {
            let trip = format!("{route}-{k:03}");
            trips.push_str(&format!("{route},all,{trip},{to}\n"));
            let (t, a) = (
                gtfs_time(k * 600 + offset),
                gtfs_time(k * 600 + offset + 480),
            );
            stop_times.push_str(&format!(
                "{trip},{t},{t},tenmonkan,1\n{trip},{a},{a},{},2\n",
                if route == "c1" { "kotsukyoku" } else { "chuo" }
            ));
        }
        write_feed(
            label,
            &[
                ("agency.txt", agency.into()),
                (
                    "routes.txt",
                    format!(
                        "route_id,route_short_name,route_long_name,route_type{}\n{route},{route},{to}行,3{}\n",
                        if route == "c1" { ",agency_id" } else { "" },
                        if route == "c1" { ",kotsu" } else { "" }
                    ),
                ),
                (
                    "stops.txt",
                    format!("stop_id,stop_name,stop_lat,stop_lon\n{stops}"),
                ),
                ("calendar.txt", EVERY_DAY.into()),
                ("feed_info.txt", FEED_INFO.into()),
                ("trips.txt", trips),
                ("stop_times.txt", stop_times),
            ],
        )
    };
    let city = operator(
        "city",
        "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nkotsu,鹿児島市交通局,https://www.kotsu-city-kagoshima.jp/,Asia/Tokyo,ja\n",
        "c1",
        "tenmonkan,天文館,31.59071,130.55530\nkotsukyoku,交通局前,31.57000,130.54000\n",
        "交通局前",
        0,
    );
    let other = operator(
        "nangoku",
        "agency_name,agency_url,agency_timezone,agency_lang\n南国交通,https://www.nangoku-kotsu.com/,Asia/Tokyo,ja\n",
        "n1",
        "tenmonkan,天文館,31.59100,130.55550\nchuo,鹿児島中央駅,31.58370,130.54210\n",
        "鹿児島中央駅",
        300,
    );
    (city, other)
}
