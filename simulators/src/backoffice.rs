//! Back-office files: かごりん bike-share trip records and 1-day ticket sales
//! (paper and mobile), as CSV for a date range. Formats: simulators/README.md.
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, SecondsFormat};
use kagoshima_domain::calendar::{JST, is_holiday, jst_day_start};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::FareConfig;
use crate::day::sub_seed;
use crate::tokens;

/// かごりん ports: (id, name, lat, lon). Invented but plausible.
pub const BIKE_PORTS: [(&str, &str, f64, f64); 12] = [
    ("P01", "鹿児島中央駅東口", 31.5837, 130.5430),
    ("P02", "天文館公園", 31.5895, 130.5560),
    ("P03", "鹿児島市役所", 31.5970, 130.5572),
    ("P04", "鹿児島駅", 31.6008, 130.5628),
    ("P05", "いづろ", 31.5934, 130.5575),
    ("P06", "ドルフィンポート跡地", 31.5925, 130.5630),
    ("P07", "かごしま水族館", 31.5975, 130.5625),
    ("P08", "高見馬場", 31.5870, 130.5490),
    ("P09", "甲突川左岸緑地", 31.5850, 130.5460),
    ("P10", "鴨池", 31.5700, 130.5500),
    ("P11", "照国神社", 31.5960, 130.5520),
    ("P12", "城山", 31.5990, 130.5500),
];

/// Rides a day (the city's FY2022 figure was 160,728 a year, about 440 a day).
pub const BIKE_RIDES_PER_DAY: f64 = 440.0;
/// 1-day tickets sold a day, and the mobile share (target 7-10 %).
pub const TICKETS_PER_DAY: f64 = 900.0;
pub const MOBILE_SHARE: f64 = 0.085;

/// Writes `bikeshare_trips_{from}_{to}.csv` and `ticket_sales_{from}_{to}.csv`.
pub fn write_backoffice(
    from: NaiveDate,
    to: NaiveDate,
    seed: u64,
    fares: &FareConfig,
    out: &Path,
) -> anyhow::Result<(PathBuf, PathBuf, u64, u64)> {
    std::fs::create_dir_all(out)?;
    let bike_path = out.join(format!("bikeshare_trips_{from}_{to}.csv"));
    let sales_path = out.join(format!("ticket_sales_{from}_{to}.csv"));
    let mut bikes = csv::Writer::from_path(&bike_path)?;
    bikes.write_record([
        "trip_id",
        "bike_id",
        "member_id",
        "start_port_id",
        "start_port_name",
        "start_time",
        "end_port_id",
        "end_port_name",
        "end_time",
        "duration_s",
        "plan",
    ])?;
    let mut sales = csv::Writer::from_path(&sales_path)?;
    sales.write_record([
        "sale_id",
        "sold_at",
        "channel",
        "ticket_type",
        "price_yen",
        "quantity",
        "amount_yen",
        "sales_point",
    ])?;
    let (mut n_bikes, mut n_sales) = (0u64, 0u64);
    let mut date = from;
    while date <= to {
        let mut rng =
            StdRng::seed_from_u64(sub_seed(seed, 9_000_000 + date.num_days_from_ce() as u64));
        let weekend = is_holiday(date) || date.weekday().num_days_from_monday() >= 5;
        let day0 = jst_day_start(date);
        let n = (BIKE_RIDES_PER_DAY * if weekend { 1.3 } else { 0.9 } * rng.random_range(0.8..1.2))
            as u32;
        for k in 0..n {
            let start = day0 + Duration::seconds(rng.random_range(6 * 3600..23 * 3600));
            let a = rng.random_range(0..BIKE_PORTS.len());
            let b = rng.random_range(0..BIKE_PORTS.len());
            let dur = rng.random_range(180..3600i64);
            let end = start + Duration::seconds(dur);
            let fmt = |t: chrono::DateTime<chrono::Utc>| {
                t.with_timezone(&JST)
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            };
            bikes.write_record([
                format!("KR{}-{k:05}", date.format("%Y%m%d")),
                format!("B{:04}", rng.random_range(1..=250)),
                format!("m_{}", tokens::base62(&mut rng, 12)),
                BIKE_PORTS[a].0.to_owned(),
                BIKE_PORTS[a].1.to_owned(),
                fmt(start),
                BIKE_PORTS[b].0.to_owned(),
                BIKE_PORTS[b].1.to_owned(),
                fmt(end),
                dur.to_string(),
                ["one_time", "one_day", "monthly"][rng.random_range(0..3)].to_owned(),
            ])?;
            n_bikes += 1;
        }
        let m =
            (TICKETS_PER_DAY * if weekend { 1.4 } else { 0.8 } * rng.random_range(0.8..1.2)) as u32;
        for k in 0..m {
            let mobile = rng.random_bool(MOBILE_SHARE);
            let r: f64 = rng.random();
            let (kind, price, from_h, to_h) = if r < 0.7 {
                ("one_day", fares.one_day_ticket, 6, 18)
            } else if r < 0.92 {
                ("24_hour", fares.hours24_ticket, 6, 23)
            } else {
                ("night", fares.night_ticket, 17, 23)
            };
            let qty = if rng.random_bool(0.15) { 2 } else { 1 };
            let at = day0 + Duration::seconds(rng.random_range(from_h * 3600..to_h * 3600));
            let point = if mobile {
                "mobile_app"
            } else {
                [
                    "tram_onboard",
                    "kotsukyoku_counter",
                    "chuo_station_center",
                    "tourist_info",
                ][rng.random_range(0..4)]
            };
            sales.write_record([
                format!("TS{}-{k:05}", date.format("%Y%m%d")),
                at.with_timezone(&JST)
                    .to_rfc3339_opts(SecondsFormat::Secs, false),
                if mobile { "mobile" } else { "paper" }.to_owned(),
                kind.to_owned(),
                price.to_string(),
                qty.to_string(),
                (price * qty).to_string(),
                point.to_owned(),
            ])?;
            n_sales += 1;
        }
        date += Duration::days(1);
    }
    bikes.flush()?;
    sales.flush()?;
    Ok((bike_path, sales_path, n_bikes, n_sales))
}
