//! No. 66 (location availability) and No. 67 (signage units) on a real
//! database, against figures worked out by hand.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::{YearMonth, jst_day_start};
use kagoshima_domain::fields::DeviceKind;
use kagoshima_domain::topic::Mode;
use kagoshima_indicators::figures;
use kagoshima_indicators::period::Period;
use kagoshima_indicators::{Indicators, IndicatorsConfig};
use kagoshima_storage::{Batch, PositionRow, StatusRow, Store};
use kagoshima_tests::TestDb;
use sqlx::PgPool;

use crate::sim::jst;
use crate::support::{db_with_sample_feed, now, value};

/// Seconds after the day's 00:00 JST as an instant.
fn at(date: NaiveDate, secs: i64) -> DateTime<Utc> {
    jst_day_start(date) + Duration::seconds(secs)
}

/// The trips of the active feed running on a weekday, tram and bus only:
/// (vehicle = block, or `trip:<id>` without block; mode; first departure;
/// last arrival), GTFS seconds.
async fn weekday_trips(pool: &PgPool) -> Vec<(String, String, i64, i64)> {
    let spans = kagoshima_network::read::schedule::vehicle_spans(
        pool,
        &["weekday".to_owned()],
        &["tram".to_owned(), "bus".to_owned()],
    )
    .await
    .unwrap();
    spans
        .into_iter()
        .map(|s| (s.vehicle, s.mode, s.first_s, s.last_s))
        .collect()
}

/// Stores positions the way ingest does, through the storage crate.
async fn store_positions(pool: &PgPool, rows: Vec<(String, DateTime<Utc>, String)>) {
    let store = Store::from_pool(pool.clone());
    for chunk in rows.chunks(20_000) {
        let batch = Batch {
            positions: chunk
                .iter()
                .map(|(vehicle_id, recorded_at, mode)| PositionRow {
                    vehicle_id: vehicle_id.clone(),
                    recorded_at: *recorded_at,
                    mode: Mode::parse(mode).expect("a mode").as_str(),
                    lat: 31.5966,
                    lon: 130.5571,
                    bearing: None,
                    speed: None,
                    accuracy: None,
                    trip_id: None,
                    route_id: None,
                    odometer: None,
                })
                .collect(),
            ..Batch::default()
        };
        store.write_batch(&batch).await.expect("positions stored");
    }
}

/// Stores status reports through the storage crate: (unit, time, kind as
/// stored: signage or onboard).
pub async fn store_statuses(pool: &PgPool, rows: &[(&str, DateTime<Utc>, &str)]) {
    let batch = Batch {
        statuses: rows
            .iter()
            .map(|(unit, at, kind)| StatusRow {
                vehicle_id: (*unit).to_owned(),
                recorded_at: *at,
                // The registry's mode; these units publish on tram topics.
                mode: "tram",
                device_kind: DeviceKind::from_code(kind).expect("a device kind"),
                firmware: None,
                uptime_s: 0,
                buffered: 0,
            })
            .collect(),
        ..Batch::default()
    };
    Store::from_pool(pool.clone())
        .write_batch(&batch)
        .await
        .expect("status stored");
}

#[tokio::test]
async fn location_availability_matches_what_the_vehicles_reported() {
    let db = db_with_sample_feed().await;

    // Tuesday 10 June 2025: an ordinary weekday (service `weekday` only, no
    // calendar_dates exception), in a past month.
    let day: NaiveDate = "2025-06-10".parse().unwrap();
    let trips = weekday_trips(db.pool()).await;
    assert!(!trips.is_empty());

    // The schedule, worked out here: the minute m (the instant 00:00 JST + m
    // min) is a service minute when some trip's [first departure, last
    // arrival] contains it; its scheduled vehicles are the distinct blocks of
    // those trips.
    let mut scheduled: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    let mut blocks: BTreeMap<&str, (&str, i64, i64)> = BTreeMap::new();
    for (block, mode, s0, s1) in &trips {
        for m in (s0 + 59).div_euclid(60)..=s1.div_euclid(60) {
            scheduled.entry(m).or_default().insert(block.as_str());
        }
        let b = blocks.entry(block.as_str()).or_insert((mode, *s0, *s1));
        b.1 = b.1.min(*s0);
        b.2 = b.2.max(*s1);
    }
    let service = scheduled.len() as i64;

    // The outages. All vehicles silent 08:00–08:30 JST: no position with
    // 08:00:00 ≤ t < 08:30:00. One vehicle silent 10:00–11:00.
    let all_silent = (8 * 3600, 8 * 3600 + 30 * 60);
    let one_silent = (10 * 3600, 11 * 3600);
    let (silent_block, _) = blocks
        .iter()
        .find(|(_, (_, lo, hi))| *lo < one_silent.0 - 120 && *hi > one_silent.1 + 120)
        .expect("a block running through 10:00–11:00");
    for m in 8 * 60..=11 * 60 {
        let n = scheduled.get(&m).map_or(0, |s| s.len());
        assert!(
            n >= 20,
            "minute {m}: {n} vehicles scheduled; the hand count below needs ≥ 20"
        );
    }

    // Every block's vehicle reports every 30 s on the clock (hh:mm:00 and
    // hh:mm:30) from its block's first departure (rounded down to 30 s) to
    // its last arrival, except in the outages. Vehicle id = block id (the
    // availability figure only counts distinct vehicle ids; it does not map
    // vehicles to blocks).
    let (mut ids, mut times, mut modes) = (Vec::new(), Vec::new(), Vec::new());
    for (block, (mode, lo, hi)) in &blocks {
        let mut t = lo.div_euclid(30) * 30;
        while t <= *hi {
            let silent = (all_silent.0..all_silent.1).contains(&t)
                || (block == silent_block && (one_silent.0..one_silent.1).contains(&t));
            if !silent {
                ids.push(format!("veh-{block}"));
                times.push(at(day, t));
                modes.push(mode.to_string());
            }
            t += 30;
        }
    }
    // Asked before any position of the day is stored (a report covering a
    // day whose history is loaded later): no minute available, cached...
    let config = IndicatorsConfig::default();
    let (s, a) = figures::availability(db.pool(), &config, day, day, now())
        .await
        .unwrap();
    assert_eq!((s, a), (service, 0));
    store_positions(
        db.pool(),
        ids.into_iter()
            .zip(times)
            .zip(modes)
            .map(|((id, t), m)| (id, t, m))
            .collect(),
    )
    .await;

    // Counting rule: a vehicle is fresh at minute m when its latest position
    // at or before that instant is younger than 90 s (age 90 s is stale); the
    // minute is available when fresh vehicles ≥ 95 % of those scheduled.
    // Outside the outages every scheduled vehicle has a position ≤ 30 s old,
    // so every service minute is available except:
    // * 08:01–08:29 (29 minutes): the last positions are from 07:59:30, fresh
    //   at 08:00 (30 s) and stale from 08:01 (90 s); 08:30:00 reports again.
    //   08:00–08:30 are all service minutes (asserted above).
    // * none for the one vehicle silent 10:00–11:00: with N ≥ 20 scheduled,
    //   N − 1 ≥ 0.95 N.
    let expected_available = service - 29;

    // ...and computed again once the day has its positions.
    let (s, a) = figures::availability(db.pool(), &config, day, day, now())
        .await
        .unwrap();
    assert_eq!((s, a), (service, expected_available));
    let cached: (i32, i32) = sqlx::query_as(
        "SELECT service_minutes, available_minutes FROM location_availability_daily WHERE service_date = $1",
    )
    .bind(day)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        (i64::from(cached.0), i64::from(cached.1)),
        (service, expected_available),
        "a past day is cached"
    );
    // By hand for the sample feed: weekday trams and buses run from 06:00 to
    // 23:38 JST without a gap, 1059 service minutes; 1030 available.
    assert_eq!((service, expected_available), (1059, 1030));
    let share = figures::percent(expected_available as u128, service as u128).unwrap();
    assert_eq!(share.to_string(), "97.26");

    // The month through the service: the only day with positions gives all
    // of the month's available minutes; the share is over every service
    // minute of June.
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    let r = ind
        .report(Period::Month(YearMonth::new(2025, 6).unwrap()), now())
        .await
        .unwrap();
    assert_eq!(
        r.details["available_minutes"],
        expected_available.to_string()
    );
    let month_service: u128 = r.details["service_minutes"].parse().unwrap();
    assert!(month_service > service as u128 * 20);
    assert_eq!(
        value(&r, "location_system_service"),
        figures::percent(expected_available as u128, month_service)
            .unwrap()
            .to_string()
    );
}

/// Days without positions take a shortcut (their scheduled minutes, by the
/// set of services running); it must give what the full computation gives.
#[tokio::test]
async fn days_without_positions_count_the_same_service_minutes_as_the_full_computation() {
    let db = db_with_sample_feed().await;
    let config = IndicatorsConfig::default();
    // A weekday, a Saturday, a Sunday, a national holiday on a Monday (海の日).
    let days = ["2025-06-10", "2025-06-14", "2025-06-15", "2025-07-21"];
    let mut seen = BTreeSet::new();
    for day in days {
        let day: NaiveDate = day.parse().unwrap();
        let full = figures::compute_availability(db.pool(), &config, day)
            .await
            .unwrap();
        let quick = figures::availability(db.pool(), &config, day, day, now())
            .await
            .unwrap();
        assert_eq!(
            (i64::from(full.0), i64::from(full.1)),
            quick,
            "{day}: the shortcut differs from the full computation"
        );
        assert!(full.0 > 0 && full.1 == 0, "{day}: {full:?}");
        seen.insert(full.0);
    }
    assert!(
        seen.len() > 1,
        "weekdays and holidays run different services: {seen:?}"
    );
    // A whole range goes through the shortcut and the cache alike.
    let june = figures::availability(
        db.pool(),
        &config,
        "2025-06-01".parse().unwrap(),
        "2025-06-30".parse().unwrap(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(june.1, 0);
    assert!(june.0 > 30 * 900, "{june:?}");
}

#[tokio::test]
async fn signage_units_alive_counts_heartbeats_in_the_period() {
    let db = TestDb::new().await;
    let first: NaiveDate = "2025-06-01".parse().unwrap();
    let end = first + Duration::days(30); // 1 July, 00:00 JST: the period's end
    let mut rows: Vec<(&str, DateTime<Utc>, &str)> = Vec::new();
    for h in 0..30 * 24 {
        let t = jst(first, h, 0);
        // Alive all month.
        rows.push(("sig-tenmonkan", t, "signage"));
        // Stops reporting two days before month end (last 28 June 23:00).
        if t < jst(end - Duration::days(2), 0, 0) {
            rows.push(("sig-chuo", t, "signage"));
        }
        // Not signage: never a unit.
        rows.push(("tram-101", t, "onboard"));
    }
    // Once a day at 00:00 JST: the last one (30 June 00:00) opens the
    // period's last 24 h.
    for d in 0..30 {
        rows.push((
            "sig-korimoto",
            jst(first + Duration::days(d), 0, 0),
            "signage",
        ));
    }
    // After the period: does not bring sig-chuo back for June.
    rows.push(("sig-chuo", jst(end, 0, 30), "signage"));
    // Seen before and after June: in it only if a status falls in it (the
    // registry cannot tell; the statuses are read).
    for (unit, in_june) in [("sig-around", true), ("sig-gap", false)] {
        rows.push((unit, jst(first - Duration::days(1), 12, 0), "signage"));
        if in_june {
            rows.push((unit, jst(first + Duration::days(14), 12, 0), "signage"));
        }
        rows.push((unit, jst(end + Duration::days(1), 12, 0), "signage"));
    }
    store_statuses(db.pool(), &rows).await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    let june = Period::Month(YearMonth::new(2025, 6).unwrap());

    // README: signage units with a heartbeat in the last 24 h of the period
    // [30 June 00:00, 1 July 00:00) JST: sig-tenmonkan and sig-korimoto;
    // seen in June: those and sig-chuo, sig-around.
    let r = ind.report(june, now()).await.unwrap();
    assert_eq!(value(&r, "signage_units_running"), "2");
    assert_eq!(r.details["signage_units_seen_in_period"], "4");

    // The current period: the 24 h before now. On 29 June 06:00 JST that is
    // [28 June 06:00, 29 June 06:00): sig-chuo (28 June 23:00) and
    // sig-korimoto (29 June 00:00) count too.
    let r = ind
        .report(june, jst(end - Duration::days(2), 6, 0))
        .await
        .unwrap();
    assert_eq!(value(&r, "signage_units_running"), "3");
}
