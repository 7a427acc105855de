//! A simulated month on a real database: every indicator against the truth.
use chrono::{Duration, NaiveDate};
use kagoshima_domain::calendar::{FiscalYear, YearMonth};
use kagoshima_indicators::export::{self, TidesTable};
use kagoshima_indicators::period::Period;
use kagoshima_indicators::report::ReportFormat;
use kagoshima_indicators::{Indicators, IndicatorsConfig, backoffice};
use kagoshima_tests::TestDb;

use crate::sim::{self, Truth};
use crate::support::{now, value};

const FIRST: &str = "2025-06-01";
const DAYS: i64 = 30;

fn first() -> NaiveDate {
    FIRST.parse().unwrap()
}

/// A database holding the simulated month, and its truth.
async fn simulated() -> (TestDb, Indicators, Truth) {
    let db = TestDb::new().await;
    let (taps, visits, truth) = sim::month(first(), DAYS);
    sim::insert_visits(db.pool(), &visits).await;
    sim::insert_taps(db.pool(), &taps).await;
    sim::insert_counters(db.pool(), first(), DAYS).await;
    let (read, new) =
        backoffice::import_bikeshare(db.pool(), sim::bikeshare_csv(first(), DAYS).as_bytes())
            .await
            .unwrap();
    assert_eq!((read, new), (DAYS as u64 * 3 + 2, DAYS as u64 * 3 + 2));
    // Importing twice stores nothing new.
    let again =
        backoffice::import_bikeshare(db.pool(), sim::bikeshare_csv(first(), DAYS).as_bytes())
            .await
            .unwrap();
    assert_eq!(again.1, 0);
    backoffice::import_ticket_sales(db.pool(), sim::ticket_sales_csv(first(), DAYS).as_bytes())
        .await
        .unwrap();
    // Signage: one unit alive at month end, one seen only early in the month.
    crate::availability::store_statuses(
        db.pool(),
        &[
            (
                "sig-tenmonkan",
                sim::jst(first() + Duration::days(DAYS - 1), 12, 0),
                "signage",
            ),
            (
                "sig-old",
                sim::jst(first() + Duration::days(9), 12, 0),
                "signage",
            ),
        ],
    )
    .await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    backoffice::set_survey(
        db.pool(),
        &ind.plan,
        FiscalYear::new(2025).unwrap(),
        "aibus_convenience_share",
        "41.2",
        Some("利用者アンケート"),
        "test",
    )
    .await
    .unwrap();
    (db, ind, truth)
}

#[tokio::test]
async fn simulated_month_matches_the_ground_truth() {
    let (_db, ind, truth) = simulated().await;
    let month = Period::Month(YearMonth::new(2025, 6).unwrap());
    let r = ind.report(month, now()).await.unwrap();

    assert_eq!(value(&r, "tap_payment_uses"), truth.uses.to_string());
    assert_eq!(r.details["distinct_cards"], truth.cards.len().to_string());
    assert_eq!(r.details["tap_boardings"], truth.boardings.to_string());
    assert_eq!(r.details["free_transfers"], truth.transfers.to_string());
    assert_eq!(
        r.details["rides_not_tapped_off"],
        truth.not_tapped_off.to_string()
    );
    assert_eq!(value(&r, "kagorin_rides"), truth.bike_rides.to_string());
    assert_eq!(value(&r, "aibus_stop_searches"), truth.searches.to_string());
    let share = kagoshima_indicators::figures::percent(
        truth.mobile_one_day as u128,
        truth.all_one_day as u128,
    )
    .unwrap();
    assert_eq!(value(&r, "mobile_one_day_ticket_share"), share.to_string());
    assert_eq!(share.to_string(), "25.00"); // 3 of 12 a day
    assert_eq!(value(&r, "signage_units_running"), "1");
    assert_eq!(value(&r, "aibus_convenience_share"), "41.2");

    // Progress of a month: the fiscal year to date against the year's target.
    let uses = r.rows.iter().find(|x| x.id == "tap_payment_uses").unwrap();
    assert_eq!(uses.target.unwrap().to_string(), "307000");
    assert_eq!(uses.fytd, uses.value, "only June has data in FY2025");
    let expected = kagoshima_indicators::progress::ProgressRate::of(
        truth.uses.to_string().parse().unwrap(),
        "307000".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(uses.progress.unwrap().rate, Some(expected));
    assert_eq!(uses.progress.unwrap().status.symbol(), "△");

    // Every stop was found, the taps without one through stop visits.
    let unknown: i64 = sqlx::query_scalar("SELECT count(*) FROM rides WHERE board_stop_id IS NULL")
        .fetch_one(&ind.pool)
        .await
        .unwrap();
    assert_eq!(unknown, 0);
    let by_visit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rides WHERE board_stop_source = 'stop_visit' AND board_stop_id = 'tram_tenmonkan'",
    )
    .fetch_one(&ind.pool)
    .await
    .unwrap();
    assert!(by_visit > 0);

    // Fare cap.
    let cap = ind
        .fare_cap(YearMonth::new(2025, 6).unwrap(), now())
        .await
        .unwrap();
    let (cards, reaching, uncapped, capped) = truth.cap();
    assert_eq!(cap.cards, cards);
    assert_eq!(cap.cards_reaching_cap, reaching);
    assert_eq!(reaching, 2, "the two daily commuters reach the cap");
    assert_eq!(cap.uncapped_yen, uncapped);
    assert_eq!(cap.capped_yen, capped);
    assert_eq!(cap.cap_cost_yen(), 2 * (60 * 170 - 9660));

    // Rollups agree with the rides.
    let stop_boardings: i64 =
        sqlx::query_scalar("SELECT sum(boardings)::bigint FROM ridership_stop_hour")
            .fetch_one(&ind.pool)
            .await
            .unwrap();
    assert_eq!(stop_boardings, truth.boardings);
    let shares: i64 = sqlx::query_scalar("SELECT sum(uses)::bigint FROM ridership_shares")
        .fetch_one(&ind.pool)
        .await
        .unwrap();
    assert_eq!(shares, truth.uses);

    // Ridership for the bureau: by hour, route and day type, each adding up
    // to the month's uses and boardings; shares of the same uses.
    let rid = ind.ridership(month, None, now()).await.unwrap();
    assert_eq!(
        (rid.total.uses, rid.total.boardings),
        (truth.uses, truth.boardings)
    );
    let sum =
        |it: &mut dyn Iterator<Item = (i64, i64)>| it.fold((0, 0), |(u, b), (x, y)| (u + x, b + y));
    assert_eq!(rid.by_hour.len(), 24);
    assert_eq!(
        sum(&mut rid.by_hour.iter().map(|c| (c.uses, c.boardings))),
        (truth.uses, truth.boardings),
        "by hour"
    );
    assert!(rid.by_hour[0].uses == 0 && rid.by_hour.iter().filter(|c| c.uses > 0).count() > 1);
    assert_eq!(
        sum(&mut rid
            .by_route
            .iter()
            .map(|r| (r.counts.uses, r.counts.boardings))),
        (truth.uses, truth.boardings),
        "by route"
    );
    assert_eq!(
        sum(&mut rid
            .by_day_type
            .iter()
            .map(|d| (d.counts.uses, d.counts.boardings))),
        (truth.uses, truth.boardings),
        "by day type"
    );
    assert_eq!(
        rid.by_day_type.iter().map(|d| d.days).collect::<Vec<_>>(),
        vec![21, 4, 5],
        "June 2025: weekdays, Saturdays, Sundays"
    );
    for shares in [&rid.by_medium, &rid.by_brand, &rid.by_origin] {
        assert_eq!(shares.iter().map(|s| s.uses).sum::<i64>(), truth.uses);
    }
    let inbound = rid.by_origin.iter().find(|s| s.key == "inbound").unwrap();
    assert_eq!(inbound.uses.to_string(), r.details["inbound_uses"]);
    // One route: the same figures as its row of the whole network.
    let top = rid.by_route[0].clone();
    let one = ind
        .ridership(month, Some(&top.route_id), now())
        .await
        .unwrap();
    assert_eq!(one.total, top.counts);
    assert_eq!(one.by_route.len(), 1);
    assert_eq!(
        sum(&mut one.by_hour.iter().map(|c| (c.uses, c.boardings))),
        (top.counts.uses, top.counts.boardings)
    );
    let e = ind
        .ridership(month, Some("no-such-route"), now())
        .await
        .unwrap_err();
    assert!(
        matches!(e, kagoshima_indicators::IndicatorError::UnknownRoute(_)),
        "{e}"
    );
    assert_no_secrets(&ind, format!("{rid:?}").as_bytes()).await;

    // The fiscal year: same figures, annual progress.
    let fy = ind
        .report(Period::FiscalYear(FiscalYear::new(2025).unwrap()), now())
        .await
        .unwrap();
    assert_eq!(value(&fy, "tap_payment_uses"), truth.uses.to_string());

    // Reports render; none carries a hash or token.
    for format in [ReportFormat::Csv, ReportFormat::Xlsx, ReportFormat::Svg] {
        let file = ind.render(month, format, now()).await.unwrap();
        assert!(!file.content.is_empty());
        assert_no_secrets(&ind, &file.content).await;
        if format == ReportFormat::Csv {
            let text = String::from_utf8(file.content.clone()).unwrap();
            for heading in [
                "No.",
                "施策",
                "指標",
                "目標値（令和7年度）",
                "実績値",
                "進捗率",
                "進捗状況",
            ] {
                assert!(text.contains(heading), "{heading} in {text}");
            }
            assert!(text.contains("令和7年度 6月"));
            assert!(text.contains("年度累計"));
        }
        if format == ReportFormat::Xlsx {
            assert_eq!(&file.content[..2], b"PK");
        }
    }
    if let Ok(dir) = std::env::var("KAGOSHIMA_WRITE_SAMPLES") {
        std::fs::create_dir_all(&dir).unwrap();
        for format in [ReportFormat::Csv, ReportFormat::Xlsx, ReportFormat::Svg] {
            let file = ind.render(month, format, now()).await.unwrap();
            std::fs::write(format!("{dir}/{}", file.file_name), &file.content).unwrap();
        }
        let mut open = Vec::new();
        export::open_data(&ind.pool, YearMonth::new(2025, 6).unwrap(), 10, &mut open)
            .await
            .unwrap();
        std::fs::write(format!("{dir}/open-data-2025-06.csv"), open).unwrap();
    }
}

/// No card hash (hex or raw), no token in the bytes.
async fn assert_no_secrets(ind: &Indicators, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("ctok_"), "a token leaked");
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT DISTINCT card_hash FROM taps")
        .fetch_all(&ind.pool)
        .await
        .unwrap();
    for h in hashes {
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !text.to_lowercase().contains(&hex[..16]),
            "a card hash leaked"
        );
        assert!(
            !bytes.windows(8).any(|w| w == &h[..8]),
            "raw hash bytes leaked"
        );
    }
}

#[tokio::test]
async fn late_and_repeated_taps_change_the_figures_exactly() {
    let (_db, ind, truth) = simulated().await;
    let june = Period::Month(YearMonth::new(2025, 6).unwrap());
    let before = ind.report(june, now()).await.unwrap();
    assert_eq!(value(&before, "tap_payment_uses"), truth.uses.to_string());

    // Every tap again (a validator republishing): nothing changes.
    let (taps, _, _) = sim::month(first(), DAYS);
    assert_eq!(sim::insert_taps(&ind.pool, &taps).await, 0);
    let again = ind.report(june, now()).await.unwrap();
    assert_eq!(value(&again, "tap_payment_uses"), truth.uses.to_string());
    assert_eq!(again.details, before.details);

    // A new card's ride on 3 June arriving weeks late, for two riders, and the
    // tap off of a ride that had none (card 2 forgot on 2 June... it arrives late).
    let late_day = first() + Duration::days(2);
    let late = sim::Tap {
        event_id: "ev_late_on".into(),
        at: sim::jst(late_day, 18, 0),
        vehicle_id: "tram-101".into(),
        mode: "tram",
        on: true,
        token: "ctok_latecomerxxxxxxxxxxxxxxxx".into(),
        medium: "card",
        brand: "visa",
        issuer_country: "TW",
        num_riders: 2,
        fare_yen: 340,
        result: "approved",
        stop_id: Some("tram_kagoshimaekimae".into()),
        route_id: "tram-1".into(),
        trip_id: "late-trip".into(),
    };
    let late_off = sim::Tap {
        event_id: "ev_late_off".into(),
        at: late.at + Duration::minutes(12),
        on: false,
        fare_yen: 0,
        stop_id: Some("tram_tenmonkan".into()),
        ..late.clone()
    };
    // A declined tap arriving late adds nothing.
    let declined = sim::Tap {
        event_id: "ev_late_declined".into(),
        token: "ctok_declinedxxxxxxxxxxxxxxxxx".into(),
        result: "declined",
        ..late.clone()
    };
    assert_eq!(
        sim::insert_taps(&ind.pool, &[late, late_off, declined]).await,
        3
    );
    let dirty: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT service_date FROM indicator_dirty_dates")
            .fetch_all(&ind.pool)
            .await
            .unwrap();
    assert_eq!(
        dirty,
        vec![late_day],
        "only the late tap's date is recomputed"
    );
    let after = ind.report(june, now()).await.unwrap();
    assert_eq!(
        value(&after, "tap_payment_uses"),
        (truth.uses + 2).to_string()
    );
    assert_eq!(
        after.details["distinct_cards"],
        (truth.cards.len() + 1).to_string()
    );
    assert_eq!(
        after.details["inbound_uses"].parse::<i64>().unwrap(),
        before.details["inbound_uses"].parse::<i64>().unwrap() + 2
    );
    let cap = ind
        .fare_cap(YearMonth::new(2025, 6).unwrap(), now())
        .await
        .unwrap();
    assert_eq!(
        cap.uncapped_yen,
        truth.cap().2 + 170,
        "two riders, one fare toward the cap"
    );

    // Recomputing a date twice is idempotent.
    kagoshima_indicators::rides::mark_dirty(&ind.pool, first(), first() + Duration::days(DAYS - 1))
        .await
        .unwrap();
    let twice = ind.report(june, now()).await.unwrap();
    assert_eq!(twice.details, after.details);
}

#[tokio::test]
async fn fiscal_year_boundary_lands_on_the_right_side() {
    let db = TestDb::new().await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    let base = sim::Tap {
        event_id: "ev_march".into(),
        at: sim::jst("2025-03-31".parse().unwrap(), 23, 59),
        vehicle_id: "tram-101".into(),
        mode: "tram",
        on: true,
        token: "ctok_boundaryxxxxxxxxxxxxxxxxx".into(),
        medium: "card",
        brand: "visa",
        issuer_country: "JP",
        num_riders: 1,
        fare_yen: 170,
        result: "approved",
        stop_id: Some("tram_kagoshimaekimae".into()),
        route_id: "tram-1".into(),
        trip_id: "t1".into(),
    };
    let april = sim::Tap {
        event_id: "ev_april".into(),
        at: sim::jst("2025-04-01".parse().unwrap(), 0, 0),
        vehicle_id: "tram-102".into(),
        trip_id: "t2".into(),
        num_riders: 3,
        ..base.clone()
    };
    sim::insert_taps(db.pool(), &[base, april]).await;
    let fy24 = ind
        .report(Period::FiscalYear(FiscalYear::new(2024).unwrap()), now())
        .await
        .unwrap();
    let fy25 = ind
        .report(Period::FiscalYear(FiscalYear::new(2025).unwrap()), now())
        .await
        .unwrap();
    assert_eq!(value(&fy24, "tap_payment_uses"), "1");
    assert_eq!(value(&fy25, "tap_payment_uses"), "3");
    let march = ind
        .report(Period::Month(YearMonth::new(2025, 3).unwrap()), now())
        .await
        .unwrap();
    assert_eq!(value(&march, "tap_payment_uses"), "1");
}

#[tokio::test]
async fn small_cells_are_suppressed_and_exports_carry_no_card_data() {
    let (_db, ind, _truth) = simulated().await;
    ind.refresh().await.unwrap();
    let june = YearMonth::new(2025, 6).unwrap();
    let mut out = Vec::new();
    let (cells, hidden) = export::open_data(&ind.pool, june, 10, &mut out)
        .await
        .unwrap();
    assert!(
        cells > 0 && hidden > 0 && hidden < cells,
        "{cells} {hidden}"
    );
    let text = String::from_utf8(out.clone()).unwrap();
    // Recheck each cell against the distinct cards behind it.
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1] != "route_stop" {
            continue;
        }
        let cards: i64 = sqlx::query_scalar(
            "SELECT count(DISTINCT (card_hash, medium)) FROM rides
             WHERE coalesce(route_id, '') = $1 AND coalesce(board_stop_id, '') = $2",
        )
        .bind(f[2])
        .bind(f[3])
        .fetch_one(&ind.pool)
        .await
        .unwrap();
        assert_eq!(f[8] == "1", cards < 10, "{line}");
        assert_eq!(f[7].is_empty(), cards < 10, "{line}");
    }
    // The inbound cell (6 US cards) is below k and hidden.
    assert!(text.contains("2025-06,issuer,,,,,inbound,,1"), "{text}");
    assert_no_secrets(&ind, &out).await;

    let (from, to) = (first(), first() + Duration::days(DAYS - 1));
    for table in [
        TidesTable::FareTransactions,
        TidesTable::StopVisits,
        TidesTable::VehicleLocations,
        TidesTable::PassengerEvents,
    ] {
        let mut out = Vec::new();
        let n = export::tides(&ind.pool, table, from, to, &mut out)
            .await
            .unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(text.lines().next().unwrap(), table.columns().join(","));
        assert!(!text.contains("token_id"));
        if table == TidesTable::FareTransactions {
            assert!(n > 0);
            assert!(text.contains(",transfer,"));
            assert!(text.contains(",denied,"));
        }
        assert_no_secrets(&ind, &out).await;
    }
}

/// One rule for days: a ride after midnight belongs to the service day of
/// the trip that carried it (03:00 to 03:00 JST), while the plan's figures
/// and the fare cap count it on the calendar date of the boarding, the date
/// the acquirer's transactions carry. Checked at 00:40 JST on the 1st of a
/// month and on 1 April.
#[tokio::test]
async fn a_ride_after_midnight_takes_the_service_day_and_the_plan_the_calendar_date() {
    let db = TestDb::new().await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    let late = |id: &str, date: &str, riders: i16| sim::Tap {
        num_riders: riders,
        ..sim::Tap::boarding(
            id,
            sim::jst(date.parse().unwrap(), 0, 40),
            &format!("last-tram-{id}"),
        )
    };
    sim::insert_taps(
        db.pool(),
        &[
            late("ev_june_1st", "2025-06-01", 2),
            late("ev_april_1st", "2025-04-01", 5),
        ],
    )
    .await;
    ind.refresh().await.unwrap();

    // Ride level: the service day of the last tram, the day before.
    let dated: Vec<(String, NaiveDate)> =
        sqlx::query_as("SELECT ride_id, service_date FROM rides ORDER BY ride_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        dated,
        vec![
            ("ev_april_1st".to_owned(), "2025-03-31".parse().unwrap()),
            ("ev_june_1st".to_owned(), "2025-05-31".parse().unwrap()),
        ]
    );
    let rollup_dates: Vec<NaiveDate> =
        sqlx::query_scalar("SELECT DISTINCT service_date FROM ridership_route_hour ORDER BY 1")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        rollup_dates,
        vec![
            "2025-03-31".parse::<NaiveDate>().unwrap(),
            "2025-05-31".parse().unwrap()
        ]
    );

    // The plan: the calendar date of the boarding.
    let month = |y, m| Period::Month(YearMonth::new(y, m).unwrap());
    let uses = |r: &kagoshima_indicators::figures::Report| value(r, "tap_payment_uses");
    assert_eq!(uses(&ind.report(month(2025, 6), now()).await.unwrap()), "2");
    assert_eq!(uses(&ind.report(month(2025, 5), now()).await.unwrap()), "");
    assert_eq!(uses(&ind.report(month(2025, 4), now()).await.unwrap()), "5");
    assert_eq!(uses(&ind.report(month(2025, 3), now()).await.unwrap()), "");
    let fy = |y| Period::FiscalYear(FiscalYear::new(y).unwrap());
    assert_eq!(uses(&ind.report(fy(2025), now()).await.unwrap()), "7");
    assert_eq!(uses(&ind.report(fy(2024), now()).await.unwrap()), "");
}

/// A tap uploaded late into a chunk compression has already packed still
/// corrects the rides and the rollups; sent again, it changes nothing.
#[tokio::test]
async fn a_late_tap_into_a_compressed_chunk_still_corrects_the_rollups() {
    let db = TestDb::new().await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    let day = (chrono::Utc::now() - Duration::days(60)).date_naive();
    let tap =
        |id: &str, minute: i64| sim::Tap::boarding(id, sim::jst(day, 10, minute), "T1-WD-0-1000");
    let uses = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT coalesce(sum(uses), 0)::bigint FROM ridership_route_hour WHERE service_date = $1",
        )
        .bind(day)
        .fetch_one(db.pool())
        .await
        .unwrap()
    };
    sim::insert_taps(db.pool(), &[tap("ev_early_1", 0), tap("ev_early_2", 5)]).await;
    ind.refresh().await.unwrap();
    assert_eq!(uses().await, 2);
    if db.timescale().await {
        // The compression policy may get there first (its job starts at
        // once): either way the day's chunk ends up compressed.
        if let Err(e) = sqlx::query(
            "SELECT compress_chunk(c, if_not_compressed => true)
               FROM show_chunks('taps', older_than => INTERVAL '35 days') c",
        )
        .execute(db.pool())
        .await
        {
            let raced =
                matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42710"));
            assert!(raced, "{e}");
        }
        let compressed = db
            .count(
                "SELECT count(*) FROM timescaledb_information.chunks
                  WHERE hypertable_name = 'taps' AND is_compressed",
            )
            .await;
        assert!(compressed >= 1, "no compressed taps chunk");
    }
    // An offline validator uploads a tap of that day weeks later.
    assert_eq!(sim::insert_taps(db.pool(), &[tap("ev_late", 30)]).await, 1);
    ind.refresh().await.unwrap();
    assert_eq!(uses().await, 3);
    // The same tap again: stored once, counted once.
    assert_eq!(sim::insert_taps(db.pool(), &[tap("ev_late", 30)]).await, 0);
    ind.refresh().await.unwrap();
    assert_eq!(uses().await, 3);
}

#[tokio::test]
async fn a_tap_without_stop_or_visit_is_placed_by_the_nearest_position() {
    let db = crate::support::db_with_sample_feed().await;
    let at = kagoshima_domain::calendar::jst_day_start(first()) + Duration::hours(10);
    let mut tap = sim::Tap::boarding("pos-1", at, "");
    tap.stop_id = None;
    let position = |secs: i64, lat: f64, lon: f64| kagoshima_storage::PositionRow {
        vehicle_id: "tram-101".into(),
        recorded_at: at + Duration::seconds(secs),
        mode: "tram",
        lat,
        lon,
        bearing: None,
        speed: None,
        accuracy: None,
        trip_id: None,
        route_id: None,
        odometer: None,
    };
    kagoshima_storage::Store::from_pool(db.pool().clone())
        .write_batch(&kagoshima_storage::Batch {
            // At 天文館通 8 s before the tap; far away 50 s after it.
            positions: vec![
                position(-8, 31.59071, 130.55530),
                position(50, 31.5700, 130.5400),
            ],
            ..Default::default()
        })
        .await
        .unwrap();
    sim::insert_taps(db.pool(), &[tap]).await;
    kagoshima_indicators::rides::refresh_dirty(db.pool(), &Default::default())
        .await
        .unwrap();
    let (stop, source): (Option<String>, String) =
        sqlx::query_as("SELECT board_stop_id, board_stop_source FROM rides")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(stop.as_deref(), Some("tram_tenmonkan_dori"));
    assert_eq!(source, "position");
}

#[tokio::test]
async fn distinct_cards_count_a_card_of_settled_days_and_of_today_once() {
    let db = TestDb::new().await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    // now() is 2026-11-24 12:00 JST: the 19th is settled, the 24th is today.
    let settled = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let tap = |id: &str, card: &str, day: NaiveDate, hour: i64| {
        let mut t = sim::Tap::boarding(id, sim::jst(day, hour, 0), "");
        t.token = format!("ctok_{card}_xxxxxxxxxxxxxxxxxxxx");
        t
    };
    sim::insert_taps(
        db.pool(),
        &[
            tap("a1", "alice", settled, 8),
            tap("a2", "alice", today, 8),
            tap("b1", "bob", today, 9),
        ],
    )
    .await;
    let november = Period::Month(YearMonth::new(2026, 11).unwrap());
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "2");
    // Again, from the cached settled days: the same.
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "2");
    // A late tap of a new card on the settled day invalidates the cache.
    sim::insert_taps(db.pool(), &[tap("c1", "carol", settled, 10)]).await;
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "3");
    // The 23rd, not yet settled: dave is new, alice is not.
    let the_23rd = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    sim::insert_taps(
        db.pool(),
        &[
            tap("d1", "dave", the_23rd, 8),
            tap("a3", "alice", the_23rd, 9),
        ],
    )
    .await;
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "4");
    // A day later the 23rd is settled: the count up to the 22nd is extended
    // by the 23rd's new cards rather than counted again. (Shown by a cached
    // count changed behind its back: the extension carries it.)
    sqlx::query("UPDATE distinct_cards_cache SET cards = cards + 100 WHERE to_date = '2026-11-22'")
        .execute(db.pool())
        .await
        .unwrap();
    let tomorrow = now() + Duration::days(1);
    let r = ind.report(november, tomorrow).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "104");
    // A recomputed date makes the count whole again.
    sim::insert_taps(db.pool(), &[tap("e1", "erin", settled, 11)]).await;
    let r = ind.report(november, tomorrow).await.unwrap();
    assert_eq!(r.details["distinct_cards"], "5");
}

#[tokio::test]
async fn a_settled_days_sums_are_kept_and_a_late_tap_recounts_its_day() {
    let db = TestDb::new().await;
    let ind = Indicators::new(db.pool().clone(), IndicatorsConfig::default()).unwrap();
    // now() is 2026-11-24 12:00 JST: the 19th is settled, the 24th is today.
    let settled = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let tap =
        |id: &str, day: NaiveDate, hour: i64| sim::Tap::boarding(id, sim::jst(day, hour, 0), "");
    sim::insert_taps(
        db.pool(),
        &[
            tap("s1", settled, 8),
            tap("s2", settled, 9),
            tap("t1", today, 8),
        ],
    )
    .await;
    let november = Period::Month(YearMonth::new(2026, 11).unwrap());
    let fiscal_year = Period::FiscalYear(FiscalYear::new(2026).unwrap());
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(value(&r, "tap_payment_uses"), "3");
    let cached: Vec<(NaiveDate, i64)> =
        sqlx::query_as("SELECT jst_date, uses FROM ridership_daily_sums WHERE rollup_rows > 0")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(cached, vec![(settled, 2)], "only settled days are kept");
    // What is kept is what the reports read (the month, the fiscal year and
    // its chart): a row changed behind their back shows...
    sqlx::query("UPDATE ridership_daily_sums SET uses = uses + 1000 WHERE jst_date = $1")
        .bind(settled)
        .execute(db.pool())
        .await
        .unwrap();
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(value(&r, "tap_payment_uses"), "1003");
    let fy = ind.report(fiscal_year, now()).await.unwrap();
    assert_eq!(value(&fy, "tap_payment_uses"), "1003");
    assert!(fy.monthly_uses.contains(&("2026-11".to_owned(), 1003)));
    // ...until its date is recomputed: a late tap on the settled day.
    sim::insert_taps(db.pool(), &[tap("s3", settled, 10)]).await;
    let r = ind.report(november, now()).await.unwrap();
    assert_eq!(value(&r, "tap_payment_uses"), "4");
    let fy = ind.report(fiscal_year, now()).await.unwrap();
    assert!(fy.monthly_uses.contains(&("2026-11".to_owned(), 4)));
}

#[tokio::test]
async fn a_large_import_is_written_in_parts_and_its_daily_sums_match_the_records() {
    let db = TestDb::new().await;
    // 1,700 days of 12 sales: more rows than one statement writes.
    let csv = sim::ticket_sales_csv(first(), 1_700);
    let (read, new) = backoffice::import_ticket_sales(db.pool(), csv.as_bytes())
        .await
        .unwrap();
    assert_eq!((read, new), (20_400, 20_400));
    // The same file again, then with a few new lines: only those are new.
    let (_, again) = backoffice::import_ticket_sales(db.pool(), csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(again, 0);
    let more = sim::ticket_sales_csv(first(), 1_702);
    let (_, new) = backoffice::import_ticket_sales(db.pool(), more.as_bytes())
        .await
        .unwrap();
    assert_eq!(new, 24);
    let mismatched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
             SELECT (sold_at AT TIME ZONE 'Asia/Tokyo')::date AS jst_date, ticket_type, channel,
                    sum(quantity)::bigint AS quantity
               FROM ticket_sales GROUP BY 1, 2, 3
         ) r FULL JOIN ticket_sales_daily d USING (jst_date, ticket_type, channel)
          WHERE r.quantity IS DISTINCT FROM d.quantity",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(mismatched, 0);
    let days: i64 = sqlx::query_scalar("SELECT count(DISTINCT jst_date) FROM ticket_sales_daily")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(days, 1_702);
}
