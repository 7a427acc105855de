//! Timetable planning (issue #19) on simulated days whose ground truth sets
//! the running times by band and crowds two trips: the analysis recovers
//! the running times, flags the crowded trips, and the draft timetable is
//! a valid feed that follows what was observed.
use chrono::{Duration, NaiveDate};
use kagoshima_domain::stop_visit::StopVisit;
use kagoshima_indicators::{
    Indicators, IndicatorsConfig,
    planning::{Band, PlanningRequest, analyse, bundle, draft},
};
use kagoshima_network::{ImportOptions, feed, import::Quiet};
use kagoshima_tests::{
    TestDb,
    feeds::{PLANNING_DWELL_S, PLANNING_SEGMENT_S, planning_line},
};

use crate::sim::{self, Tap};

const DAYS: i64 = 8;

fn first() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 2).expect("date")
}

/// The true running time between two stops by band (the timetable says 120 s).
fn truth_s(band: Band) -> f64 {
    match band {
        Band::Early => 95.0,
        Band::AmPeak => 200.0,
        Band::Midday => 125.0,
        Band::PmPeak => 160.0,
        Band::Evening => 90.0,
    }
}

/// A deterministic spread of ±10 % around the truth.
fn noise(k: u64) -> f64 {
    let x = (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / (1u64 << 24) as f64;
    0.9 + 0.2 * x
}

/// The crowded trips: 100 riders from p0 to p3 (the tram carries 80).
const CROWDED: [&str; 2] = ["p1-0800", "p1-0810"];
/// A trip whose counters saw 90 riders on the first day (taps: 10).
const COUNTED: &str = "p1-1200";

async fn simulated() -> (TestDb, std::path::PathBuf) {
    let db = TestDb::new().await;
    let feed_dir = planning_line();
    let feed = feed::load(&feed_dir).expect("fixture feed");
    kagoshima_network::import(db.pool(), &feed, &ImportOptions::default(), &Quiet)
        .await
        .expect("import");
    let mut visits = Vec::new();
    let mut taps = Vec::new();
    let mut k = 0u64;
    for d in 0..DAYS {
        let date = first() + Duration::days(d);
        let ds = kagoshima_domain::calendar::jst_day_start(date).timestamp() as f64;
        for trip in 0..96u32 {
            let start = 6 * 3600 + trip * 600;
            let id = format!("p1-{:02}{:02}", start / 3600, start / 60 % 60);
            let band = Band::of_hour(start / 3600);
            let (mut actual, mut sched) = (ds + f64::from(start), ds + f64::from(start));
            for stop in 0..5u32 {
                let dwell = if stop == 0 || stop == 4 {
                    0.0
                } else {
                    f64::from(PLANNING_DWELL_S)
                };
                visits.push(StopVisit {
                    service_date: date,
                    trip_id: id.clone(),
                    stop_sequence: stop + 1,
                    stop_id: format!("p{stop}"),
                    route_id: "p1".into(),
                    direction_id: Some(0),
                    vehicle_id: format!("tram-{}", 101 + trip % 6),
                    scheduled_arrival: sched,
                    scheduled_departure: sched + dwell,
                    arrival: actual,
                    departure: Some(actual + dwell),
                    observed: true,
                });
                k += 1;
                actual += dwell + truth_s(band) * noise(k);
                sched += dwell + f64::from(PLANNING_SEGMENT_S);
            }
            let riders = if CROWDED.contains(&id.as_str()) {
                100
            } else {
                10
            };
            for r in 0..riders {
                let on_at = chrono::DateTime::from_timestamp((ds + f64::from(start)) as i64, 0)
                    .expect("time");
                let card = format!("{d}-{id}-{r}");
                let mut on = Tap::boarding(&format!("on-{card}"), on_at, &id);
                on.stop_id = Some("p0".into());
                on.route_id = "p1".into();
                on.issuer_country = if r % 5 == 0 { "US" } else { "JP" };
                let mut off = on.clone();
                off.event_id = format!("off-{card}");
                off.on = false;
                off.at = on_at + Duration::minutes(8);
                off.stop_id = Some("p3".into());
                taps.push(on);
                taps.push(off);
            }
        }
    }
    kagoshima_storage::stop_visits::upsert(db.pool(), &visits)
        .await
        .expect("visits");
    // The 12:00 trip of the first day also had its counters on: 90 riders
    // (cash payers too) where the taps saw 10.
    let noon = kagoshima_domain::calendar::jst_day_start(first()) + Duration::hours(12);
    let counts = (0..5)
        .map(|stop| kagoshima_storage::PassengerRow {
            vehicle_id: "tram-101".into(),
            recorded_at: noon + Duration::minutes(2 * stop),
            mode: "tram",
            stop_id: format!("p{stop}"),
            boardings: if stop == 0 { 90 } else { 0 },
            alightings: if stop == 3 { 90 } else { 0 },
            trip_id: Some(COUNTED.into()),
            route_id: Some("p1".into()),
        })
        .collect();
    kagoshima_storage::Store::from_pool(db.pool().clone())
        .write_batch(&kagoshima_storage::Batch {
            passengers: counts,
            ..Default::default()
        })
        .await
        .expect("counts");
    sim::insert_taps(db.pool(), &taps).await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).expect("indicators");
    ind.refresh().await.expect("rides");
    (db, feed_dir)
}

fn request() -> PlanningRequest {
    PlanningRequest {
        from: first(),
        until: first() + Duration::days(DAYS - 1),
        route_id: Some("p1".into()),
        capacity: Default::default(),
    }
}

#[tokio::test]
async fn the_analysis_recovers_running_times_by_band_and_flags_the_crowded_trips() {
    let (db, feed_dir) = simulated().await;
    let a = analyse(db.pool(), &request()).await.expect("analysis");
    assert_eq!(a.days_observed, DAYS);
    assert!(a.empty_reason.is_none());
    // Every segment's median within 5 % of the truth of its band.
    assert_eq!(a.segments.len(), 4 * 5, "4 segments × 5 bands");
    for s in &a.segments {
        let truth = truth_s(s.band);
        assert!(
            (s.p50_s - truth).abs() <= 0.05 * truth,
            "{} → {} {:?}: median {:.0} s, truth {truth} s",
            s.from_stop,
            s.to_stop,
            s.band,
            s.p50_s
        );
        assert!((s.scheduled_s - f64::from(PLANNING_SEGMENT_S)).abs() < 0.5);
        assert!(s.p10_s <= s.p50_s && s.p50_s <= s.p85_s && s.p85_s <= s.p95_s);
    }
    // Against 120 s a segment, the rush runs late (over 5 minutes by the last
    // stop) and never early; the night early (over a minute from the
    // fourth stop on) and never late.
    let adherence = |b: Band| a.adherence.iter().find(|x| x.band == b).expect("band");
    let (rush, night) = (adherence(Band::AmPeak), adherence(Band::Evening));
    assert!(rush.late_share > 0.1 && rush.early_share == 0.0, "{rush:?}");
    assert!(
        night.early_share >= 0.35 && night.late_share == 0.0,
        "{night:?}"
    );
    assert!((rush.early_share + rush.on_time_share + rush.late_share - 1.0).abs() < 1e-9);
    // Crowded: exactly the two trips, on every day, peaking leaving p0, and
    // the trip the counters saw full where the taps did not.
    let crowded: std::collections::BTreeSet<&str> =
        a.crowded().map(|t| t.trip_id.as_str()).collect();
    let mut expected: std::collections::BTreeSet<&str> = CROWDED.into_iter().collect();
    expected.insert(COUNTED);
    assert_eq!(crowded, expected);
    assert_eq!(a.crowded().count() as i64, 2 * DAYS + 1);
    let counted = a
        .crowded()
        .find(|t| t.trip_id == COUNTED)
        .expect("the counted trip");
    assert_eq!(
        (counted.source, counted.peak_load, counted.service_date),
        ("counters", 90, first())
    );
    let by_taps = a
        .trips
        .iter()
        .find(|t| t.trip_id == COUNTED && t.service_date != first())
        .expect("the same trip on another day");
    assert_eq!((by_taps.source, by_taps.peak_load), ("taps", 10));
    let t = a
        .crowded()
        .find(|t| t.trip_id == CROWDED[0])
        .expect("a crowded trip");
    assert_eq!(
        (t.peak_load, t.peak_stop_id.as_str(), t.capacity),
        (100, "p0", 80)
    );
    let loads: Vec<i64> = t.profile.iter().map(|p| p.load).collect();
    assert_eq!(loads, [100, 0], "on at p0, off at p3");
    // OD and inbound cards (one rider in five pays with a US card).
    assert!(
        a.od.iter()
            .all(|c| (c.from_stop.as_str(), c.to_stop.as_str()) == ("p0", "p3"))
    );
    let route = a
        .inbound
        .iter()
        .find(|i| i.stop_id.is_none())
        .expect("route share");
    assert!((route.share - 0.2).abs() < 0.01, "{route:?}");

    // Stop and route names from the active feed.
    assert_eq!(a.stop_name("p3"), "停留所3");
    // Load profiles: the morning peak's two crowded trips of ten lift the
    // mean load leaving p0 to (2 x 100 + 10 x 10) / 12 a trip-day.
    let am = a
        .load_profiles
        .iter()
        .find(|p| p.band == Band::AmPeak)
        .expect("a morning profile");
    let ids: Vec<&str> = am.stops.iter().map(|s| s.stop_id.as_str()).collect();
    assert_eq!(ids, ["p0", "p3"], "riders board at p0 and leave at p3");
    assert!(
        (am.stops[0].mean_load - 300.0 / 12.0).abs() < 0.01,
        "{:?}",
        am.stops[0]
    );
    assert_eq!((am.stops[0].max_load, am.capacity), (100, 80));

    // Suggestions for the two trips crowded every day (the 12:00 one was
    // crowded on one day only): the 07:50 trip (10 riders) runs 5 minutes
    // later and takes half the 08:00 trip's riders; the 08:10 trip, with
    // a crowded trip before it, runs 5 minutes earlier and leaves riders to
    // the 08:20 one.
    use kagoshima_indicators::planning::suggest::Action;
    let got: Vec<_> = a
        .suggestions
        .iter()
        .map(|x| {
            (
                x.trip_id.as_str(),
                x.action,
                x.moved_trip_id.as_deref(),
                x.new_departure_s,
                x.crowded_days,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "p1-0800",
                Action::MovePreviousLater,
                Some("p1-0750"),
                7 * 3600 + 55 * 60,
                DAYS
            ),
            (
                "p1-0810",
                Action::MoveEarlier,
                Some("p1-0810"),
                8 * 3600 + 5 * 60,
                DAYS
            ),
        ]
    );

    // Every file of the report, the draft made from the feed's files as the
    // import kept them (what the dashboard downloads).
    let feed_files = kagoshima_network::read::schedule::active_feed_files(db.pool())
        .await
        .expect("files")
        .expect("the import kept the feed's files");
    assert_eq!(
        feed_files.get("stops.txt"),
        Some(&std::fs::read(feed_dir.join("stops.txt")).expect("stops.txt"))
    );
    let made = bundle::make(db.pool(), &a, Some(&feed_files))
        .await
        .expect("bundle");
    let d = made.draft.clone().expect("a draft");
    // The draft: a valid feed, the rush slower and the night faster.
    let out = std::env::temp_dir().join(kagoshima_tests::unique("planning-draft"));
    std::fs::create_dir_all(&out).expect("draft folder");
    let zip = bundle::pick(&made.files, bundle::DRAFT_ZIP).expect("draft.zip");
    std::fs::write(out.join("draft.zip"), zip).expect("draft.zip");
    let checked = feed::load(&out.join("draft.zip")).expect("the draft is a valid feed");
    // The test command judges the draft with outside validators too.
    if let Some(dir) = std::env::var_os("KAGOSHIMA_PLANNING_DRAFT_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("draft folder");
        for (name, bytes) in &made.files {
            if let Some(file) = name.strip_prefix(bundle::DRAFT_DIR) {
                std::fs::write(dir.join(file), bytes).expect("draft file");
            }
        }
    }
    assert_eq!(checked.trips.len(), 96, "same trips, same IDs");
    let change = |trip: &str| {
        d.trips
            .iter()
            .find(|c| c.trip_id == trip)
            .unwrap_or_else(|| panic!("{trip} changed"))
    };
    let scheduled = 4 * PLANNING_SEGMENT_S + 3 * PLANNING_DWELL_S;
    let rush = change("p1-0800");
    assert_eq!(rush.scheduled_s, scheduled);
    let rush_truth = 4.0 * truth_s(Band::AmPeak) + 3.0 * f64::from(PLANNING_DWELL_S);
    assert!(
        f64::from(rush.draft_s) > rush_truth && f64::from(rush.draft_s) < rush_truth * 1.12,
        "{rush:?} vs {rush_truth}"
    );
    let night = change("p1-2100");
    assert!(night.draft_s < scheduled, "{night:?}");
    // The :00 trip of the rush now runs into the :10 one of its vehicle:
    // those blocks are to be made again, and leave the draft.
    for block in ["b07", "b08", "b16", "b17", "b18"] {
        assert!(
            d.blocks_to_rework.iter().any(|b| b == block),
            "{block}: {:?}",
            d.blocks_to_rework
        );
    }
    for block in ["b06", "b20", "b21"] {
        assert!(
            !d.blocks_to_rework.iter().any(|b| b == block),
            "{block}: {:?}",
            d.blocks_to_rework
        );
    }
    let trips_txt = String::from_utf8(made.files["draft/trips.txt"].clone()).expect("trips.txt");
    assert!(
        trips_txt.contains("p1,all,p1-0800,終点,0,\n"),
        "the rush block is gone"
    );
    assert!(
        trips_txt.contains("p1,all,p1-0600,終点,0,b06\n"),
        "the early one stays"
    );
    assert!(
        !draft::diff_csv(&d)
            .lines()
            .skip(1)
            .any(|l| l.starts_with("p1-0800,1,")),
        "the first departure stays"
    );
    // The report for the bureau: the summary says what is too tight and
    // what is crowded; every table is a CSV and a sheet of one workbook.
    for f in [
        "summary.md",
        "trip_times.csv",
        "trips.csv",
        "load_profiles.csv",
        "suggestions.csv",
        "draft-diff.csv",
        "planning.xlsx",
        "running-times.svg",
        "load-profile-p1-0.svg",
        "string-line.svg",
    ] {
        assert!(made.files.contains_key(f), "{f} in {:?}", made.files.keys());
    }
    let text = |f: &str| String::from_utf8(made.files[f].clone()).expect("text");
    let svg = text("load-profile-p1-0.svg");
    assert!(
        svg.contains("停留所0") && svg.contains("定員"),
        "names in the chart"
    );
    assert!(
        text("trip_times.csv").contains(",p0,p4,停留所0,停留所4,"),
        "names beside IDs"
    );
    let e = bundle::pick(&made.files, "nothing.csv").unwrap_err();
    assert!(
        e.contains("planning.xlsx") && e.contains("draft.zip"),
        "{e}"
    );
    let all = bundle::pick(&made.files, bundle::ALL_ZIP).expect("everything");
    assert!(all.starts_with(b"PK") && all.len() > 10_000);
    let summary = text("summary.md");
    assert!(
        summary.contains("きつい / too tight") && summary.contains("p1-0800"),
        "{summary}"
    );
    assert!(
        summary.contains("b07"),
        "the blocks to make again are named"
    );
    let xlsx = &made.files["planning.xlsx"];
    assert!(xlsx.starts_with(b"PK") && xlsx.len() > 5_000);
    std::fs::remove_dir_all(&out).ok();

    // The string-line diagram of the morning peak: twelve trips, each over
    // its timetable, down the five stops.
    let (stops, lines) =
        kagoshima_indicators::planning::stringline::lines(db.pool(), first(), "p1", 0, (7, 9))
            .await
            .expect("lines");
    assert_eq!(stops, ["p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(lines.len(), 12);
    let late = lines
        .iter()
        .find(|l| l.trip_id == "p1-0800")
        .expect("08:00");
    let (scheduled_end, observed_end) = (
        late.scheduled.last().expect("points").0,
        late.observed.last().expect("points").0,
    );
    assert!(observed_end - scheduled_end > 200.0, "the rush runs late");
    let svg = kagoshima_indicators::planning::stringline::svg("p1", &stops, &lines).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("p3"));
}

#[tokio::test]
async fn a_period_without_data_says_so() {
    let db = TestDb::new().await;
    let a = analyse(db.pool(), &request()).await.expect("analysis");
    assert_eq!(a.days_observed, 0);
    assert!(a.segments.is_empty() && a.trips.is_empty());
    let why = a.empty_reason.expect("a reason");
    assert!(why.contains("no stop visits and no rides"), "{why}");
}
