//! A GTFS feed of national size for the import and passenger benchmarks
//! (issue #16): stops on a grid the size of Kyushu, bus routes that wander
//! over it, trips in both directions all day, one service every day,
//! an English translation of every stop. Deterministic per seed; no shapes
//! (the importer derives them, as it would for many small operators).
//!
//! ```sh
//! cargo run --release -p kagoshima-bench --bin gen-national-feed -- --out /tmp/national
//! ```
use std::{fmt::Write as _, path::PathBuf, time::Instant};

use clap::Parser;
use kagoshima_domain::calendar::gtfs_time;

/// Writes a national-size GTFS feed into a folder.
#[derive(Debug, Parser)]
struct Args {
    /// The folder to write (created; its .txt files are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Stops, on a square grid (rounded up to a full grid).
    #[arg(long, default_value_t = 12_000)]
    stops: usize,
    /// Routes, each served in both directions.
    #[arg(long, default_value_t = 600)]
    routes: usize,
    /// Stops per route.
    #[arg(long, default_value_t = 24)]
    route_stops: usize,
    /// Minutes between trips of a route in each direction, all day.
    #[arg(long, default_value_t = 40)]
    headway_min: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// SplitMix64: a small, well-mixed deterministic generator.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let t0 = Instant::now();
    std::fs::create_dir_all(&args.out)?;
    let side = (args.stops as f64).sqrt().ceil() as usize;
    // About 330 km square from 31.0N 129.5E: 3 km between grid stops at
    // 110 a side.
    let step = 3.0 / 111.0;
    let mut stops = String::from("stop_id,stop_name,stop_lat,stop_lon\n");
    let mut translations = String::from(
        "table_name,field_name,language,translation,record_id,record_sub_id,field_value\n",
    );
    for i in 0..side * side {
        let (r, c) = (i / side, i % side);
        let _ = writeln!(
            stops,
            "s{i:05},停留所{i:05},{:.5},{:.5}",
            31.0 + r as f64 * step,
            129.5 + c as f64 * step * 1.17
        );
        let _ = writeln!(translations, "stops,stop_name,en,Stop {i:05},s{i:05},,");
    }
    let mut rng = Mix(args.seed);
    let mut routes =
        String::from("route_id,agency_id,route_short_name,route_long_name,route_type\n");
    let mut trips = String::from("route_id,service_id,trip_id,trip_headsign,direction_id\n");
    let mut stop_times =
        String::from("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n");
    let (mut n_trips, mut n_stop_times) = (0usize, 0usize);
    for route in 0..args.routes {
        // A walk over the grid that never stands still.
        let mut at = rng.below(side * side);
        let mut path = vec![at];
        while path.len() < args.route_stops {
            let (r, c) = (at / side, at % side);
            let next = match rng.below(4) {
                0 if r + 1 < side => at + side,
                1 if r > 0 => at - side,
                2 if c + 1 < side => at + 1,
                3 if c > 0 => at - 1,
                _ => continue,
            };
            if !path.contains(&next) {
                path.push(next);
            }
            at = next;
        }
        let _ = writeln!(routes, "r{route:04},national,{route},{route}系統,3");
        for direction in 0..2u8 {
            let calls: Vec<usize> = if direction == 0 {
                path.clone()
            } else {
                path.iter().rev().copied().collect()
            };
            let headsign = format!("停留所{:05}", calls[calls.len() - 1]);
            let offset = rng.below((args.headway_min * 60) as usize) as u32;
            let mut start = offset;
            while start < 24 * 3600 {
                let trip = format!("r{route:04}-{direction}-{start:05}");
                let _ = writeln!(trips, "r{route:04},all,{trip},{headsign},{direction}");
                for (k, stop) in calls.iter().enumerate() {
                    let t = gtfs_time(start + 150 * k as u32);
                    let _ = writeln!(stop_times, "{trip},{t},{t},s{stop:05},{}", k + 1);
                    n_stop_times += 1;
                }
                n_trips += 1;
                start += args.headway_min * 60;
            }
        }
    }
    let write = |name: &str, text: &str| std::fs::write(args.out.join(name), text);
    write(
        "agency.txt",
        "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nnational,全国バス,https://www.kotsu-city-kagoshima.jp/,Asia/Tokyo,ja\n",
    )?;
    write(
        "calendar.txt",
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nall,1,1,1,1,1,1,1,20200101,20351231\n",
    )?;
    write(
        "feed_info.txt",
        "feed_publisher_name,feed_publisher_url,feed_lang,feed_version\n全国バス,https://www.kotsu-city-kagoshima.jp/,ja,national-1\n",
    )?;
    write("stops.txt", &stops)?;
    write("routes.txt", &routes)?;
    write("trips.txt", &trips)?;
    write("stop_times.txt", &stop_times)?;
    write("translations.txt", &translations)?;
    println!(
        "{}: {} stops, {} routes, {n_trips} trips, {n_stop_times} stop times, written in {:.1} s",
        args.out.display(),
        side * side,
        args.routes,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
