//! A small simulated month of taps with its ground truth, plus back-office
//! files in the simulator's CSV formats (simulators/README.md).
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kagoshima_domain::calendar::jst_day_start;
use kagoshima_domain::stop_visit::StopVisit;
use kagoshima_domain::{
    card_data::CardTokenHasher,
    fields::{Medium, RiderCategory, TapAction, TapResult},
};
use kagoshima_storage::{Batch, Store, TapRow};
use sqlx::PgPool;

pub const CAP: i64 = 9660;

/// A stop visit to insert: (vehicle, arrival, stop).
pub type Visit = (String, DateTime<Utc>, String);

#[derive(Debug, Clone)]
pub struct Tap {
    pub event_id: String,
    pub at: DateTime<Utc>,
    pub vehicle_id: String,
    pub mode: &'static str,
    pub on: bool,
    pub token: String,
    pub medium: &'static str,
    pub brand: &'static str,
    pub issuer_country: &'static str,
    pub num_riders: i16,
    pub fare_yen: i32,
    pub result: &'static str,
    pub stop_id: Option<String>,
    pub route_id: String,
    pub trip_id: String,
}

impl Tap {
    /// One approved adult card boarding of tram-101 at 鹿児島駅前 on `trip`,
    /// its card token made from `id`.
    pub fn boarding(id: &str, at: DateTime<Utc>, trip: &str) -> Tap {
        Tap {
            event_id: id.into(),
            at,
            vehicle_id: "tram-101".into(),
            mode: "tram",
            on: true,
            token: format!("ctok_{id}_xxxxxxxxxxxxxxxxxxxx"),
            medium: "card",
            brand: "visa",
            issuer_country: "JP",
            num_riders: 1,
            fare_yen: 170,
            result: "approved",
            stop_id: Some("tram_kagoshimaekimae".into()),
            route_id: "tram-1".into(),
            trip_id: trip.into(),
        }
    }
}

/// What really happened.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub uses: i64,
    pub boardings: i64,
    pub transfers: i64,
    pub not_tapped_off: i64,
    pub cards: BTreeSet<(String, &'static str)>,
    pub fares: BTreeMap<(String, &'static str), i64>,
    pub bike_rides: i64,
    pub searches: i64,
    pub mobile_one_day: i64,
    pub all_one_day: i64,
}

impl Truth {
    pub fn cap(&self) -> (i64, i64, i64, i64) {
        let reaching = self.fares.values().filter(|v| **v >= CAP).count() as i64;
        let uncapped: i64 = self.fares.values().sum();
        let capped: i64 = self.fares.values().map(|v| (*v).min(CAP)).sum();
        (self.fares.len() as i64, reaching, uncapped, capped)
    }
}

/// The card-token key of these tests (production keys come from configuration).
const TEST_CARD_KEY: &[u8] = b"indicators-test-card-token-key-0123456789";

/// JST wall-clock instant.
pub fn jst(date: NaiveDate, h: i64, m: i64) -> DateTime<Utc> {
    jst_day_start(date) + Duration::hours(h) + Duration::minutes(m)
}

/// Taps of one JST month (days 1..=days), 40 cards, with every case of the
/// pairing rules; also returns the stop visits needed for taps without stop.
pub fn month(first: NaiveDate, days: i64) -> (Vec<Tap>, Vec<Visit>, Truth) {
    let mut taps = Vec::new();
    let mut visits = Vec::new();
    let mut t = Truth::default();
    let mut n = 0u64;
    let mut id = |p: &str| {
        n += 1;
        format!("ev_{p}_{n:06}")
    };
    for d in 0..days {
        let date = first + Duration::days(d);
        for i in 0..40i64 {
            let heavy = i < 2;
            let rides_today = if heavy {
                2
            } else if (i + d) % 3 == 0 {
                1
            } else {
                0
            };
            let token = format!("ctok_test{i:02}xxxxxxxxxxxxxxxxxxx");
            let medium = if i % 5 == 0 { "mobile" } else { "card" };
            let issuer = if i % 7 == 0 { "US" } else { "JP" };
            let brand = ["visa", "jcb", "mastercard"][(i % 3) as usize];
            let declined = i == 39;
            let riders: i16 = if i % 11 == 0 && !heavy { 2 } else { 1 };
            for k in 0..rides_today {
                let bus = i % 4 == 0 && !heavy;
                let (mode, route, vehicle, fare) = if bus {
                    ("bus", "bus-11", "bus-1101", 230)
                } else {
                    ("tram", "tram-1", "tram-101", 170)
                };
                let trip = format!("{route}-{d}-{i}-{k}");
                let on_at = jst(date, 7 + k * 8, i);
                let no_stop = i % 8 == 3;
                let mut on = Tap {
                    event_id: id("on"),
                    at: on_at,
                    vehicle_id: if no_stop {
                        format!("tram-nostop-{i}")
                    } else {
                        vehicle.to_owned()
                    },
                    mode,
                    on: true,
                    token: token.clone(),
                    medium,
                    brand,
                    issuer_country: issuer,
                    num_riders: riders,
                    fare_yen: fare * i32::from(riders),
                    result: if declined { "declined" } else { "approved" },
                    stop_id: if no_stop {
                        None
                    } else {
                        Some("tram_kagoshimaekimae".into())
                    },
                    route_id: route.into(),
                    trip_id: trip.clone(),
                };
                if no_stop {
                    visits.push((
                        on.vehicle_id.clone(),
                        on_at - Duration::seconds(20),
                        "tram_tenmonkan".into(),
                    ));
                }
                let transfer = !bus && !declined && i % 6 == 1;
                let forgets_off = i % 9 == 2;
                taps.push(on.clone());
                if declined {
                    continue;
                }
                t.uses += i64::from(riders);
                t.boardings += i64::from(riders);
                t.cards.insert((token.clone(), medium));
                *t.fares.entry((token.clone(), medium)).or_default() += i64::from(fare);
                if forgets_off {
                    t.not_tapped_off += 1;
                    continue;
                }
                let off_stop = if transfer {
                    "tram_korimoto"
                } else {
                    "tram_tenmonkan"
                };
                let off_at = on_at + Duration::minutes(15);
                taps.push(Tap {
                    event_id: id("off"),
                    at: off_at,
                    on: false,
                    fare_yen: 0,
                    stop_id: Some(off_stop.into()),
                    ..on.clone()
                });
                if transfer {
                    // Free transfer to line 2 at 郡元, 6 minutes later.
                    let on2_at = off_at + Duration::minutes(6);
                    on = Tap {
                        event_id: id("on"),
                        at: on2_at,
                        vehicle_id: "tram-201".into(),
                        on: true,
                        fare_yen: 0,
                        stop_id: Some("tram_korimoto".into()),
                        route_id: "tram-2".into(),
                        trip_id: format!("tram-2-{d}-{i}-{k}"),
                        ..on
                    };
                    taps.push(on.clone());
                    taps.push(Tap {
                        event_id: id("off"),
                        at: on2_at + Duration::minutes(10),
                        on: false,
                        stop_id: Some("tram_gunmoto_end".into()),
                        ..on
                    });
                    t.transfers += i64::from(riders);
                    t.boardings += i64::from(riders);
                }
            }
        }
        // Back office and counters.
        t.bike_rides += 3;
        t.searches += 5;
        t.all_one_day += 10 + 2;
        t.mobile_one_day += 1 + 2;
    }
    (taps, visits, t)
}

/// Stores taps the way ingest does: through the storage crate's batch writer,
/// card tokens hashed with the production HMAC under a test key. Returns how
/// many were new.
pub async fn insert_taps(pool: &PgPool, taps: &[Tap]) -> u64 {
    let hasher = CardTokenHasher::new(TEST_CARD_KEY).expect("a 32-byte key");
    let rows = taps
        .iter()
        .map(|t| TapRow {
            event_id: t.event_id.clone(),
            occurred_at: t.at,
            vehicle_id: t.vehicle_id.clone(),
            mode: t.mode,
            validator_id: format!("{}-v1", t.vehicle_id),
            action: if t.on { TapAction::On } else { TapAction::Off },
            card_hash: hasher.hash(&t.token),
            medium: match t.medium {
                "mobile" => Medium::Mobile,
                _ => Medium::Card,
            },
            brand: Some(t.brand.to_owned()),
            issuer_country: Some(t.issuer_country.to_owned()),
            rider_category: RiderCategory::Adult,
            num_riders: t.num_riders,
            fare_yen: t.fare_yen,
            result: TapResult::ALL
                .iter()
                .find(|r| r.code() == t.result)
                .copied()
                .unwrap_or_else(|| panic!("unknown tap result {}", t.result)),
            stop_id: t.stop_id.clone(),
            route_id: Some(t.route_id.clone()),
            trip_id: Some(t.trip_id.clone()),
            source: "test",
        })
        .collect();
    let batch = Batch {
        taps: rows,
        ..Batch::default()
    };
    let outcome = Store::from_pool(pool.clone())
        .write_batch(&batch)
        .await
        .expect("insert taps");
    outcome.taps.iter().filter(|new| **new).count() as u64
}

pub async fn insert_visits(pool: &PgPool, visits: &[Visit]) {
    let secs = |t: DateTime<Utc>| t.timestamp_millis() as f64 / 1000.0;
    let rows: Vec<StopVisit> = visits
        .iter()
        .enumerate()
        .map(|(k, (vehicle, arrival, stop))| StopVisit {
            service_date: kagoshima_domain::calendar::service_date(*arrival),
            trip_id: format!("visit-trip-{k}"),
            stop_sequence: 5,
            stop_id: (*stop).to_owned(),
            route_id: "tram-1".into(),
            direction_id: Some(0),
            vehicle_id: (*vehicle).to_owned(),
            scheduled_arrival: secs(*arrival),
            scheduled_departure: secs(*arrival),
            arrival: secs(*arrival),
            departure: Some(secs(*arrival) + 40.0),
            observed: true,
        })
        .collect();
    kagoshima_storage::stop_visits::upsert(pool, &rows)
        .await
        .expect("insert stop visits");
}

/// かごりん trips in the simulator's format: 3 a day, plus one just before
/// and one just after the month (which must not count).
pub fn bikeshare_csv(first: NaiveDate, days: i64) -> String {
    let mut s = String::from(
        "trip_id,bike_id,member_id,start_port_id,start_port_name,start_time,end_port_id,end_port_name,end_time,duration_s,plan\n",
    );
    let fmt = |t: DateTime<Utc>| {
        t.with_timezone(&kagoshima_domain::calendar::JST)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    let mut row = |id: String, start: DateTime<Utc>| {
        s.push_str(&format!(
            "{id},B0001,m_secretmember,P01,鹿児島中央駅東口,{},P02,天文館公園,{},600,one_time\n",
            fmt(start),
            fmt(start + Duration::minutes(10))
        ));
    };
    row("KR-before".into(), jst(first, 0, 0) - Duration::minutes(5));
    for d in 0..days {
        let date = first + Duration::days(d);
        for k in 0..3 {
            row(format!("KR{d}-{k}"), jst(date, 9 + k, 0));
        }
    }
    row("KR-after".into(), jst(first + Duration::days(days), 0, 5));
    s
}

/// Ticket sales in the simulator's format: per day ten paper-or-mobile 1-day
/// tickets (one mobile), one mobile sale of two 1-day tickets, and 24-hour
/// tickets that do not count.
pub fn ticket_sales_csv(first: NaiveDate, days: i64) -> String {
    let mut s = String::from(
        "sale_id,sold_at,channel,ticket_type,price_yen,quantity,amount_yen,sales_point\n",
    );
    for d in 0..days {
        let date = first + Duration::days(d);
        let at = jst(date, 10, 0)
            .with_timezone(&kagoshima_domain::calendar::JST)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        for k in 0..10 {
            let ch = if k == 0 { "mobile" } else { "paper" };
            s.push_str(&format!(
                "TS{d}-{k},{at},{ch},one_day,600,1,600,tram_onboard\n"
            ));
        }
        s.push_str(&format!(
            "TS{d}-m2,{at},mobile,one_day,600,2,1200,mobile_app\n"
        ));
        s.push_str(&format!(
            "TS{d}-h,{at},mobile,24_hour,800,3,2400,mobile_app\n"
        ));
    }
    s
}

pub async fn insert_counters(pool: &PgPool, first: NaiveDate, days: i64) {
    use kagoshima_storage::usage::add_searches;
    for d in 0..days {
        let day = first + Duration::days(d);
        add_searches(pool, day, &["community_bus"], &[], 5)
            .await
            .expect("search counts");
        add_searches(pool, day, &["all", "tram"], &[], 20)
            .await
            .expect("search counts");
    }
    // Searches outside the month do not count.
    add_searches(
        pool,
        first - Duration::days(1),
        &["community_bus"],
        &[],
        999,
    )
    .await
    .expect("search counts before");
}
