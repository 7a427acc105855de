//! A fiscal year of the city on each engine (issue #14): a fresh database
//! per engine, the simulated city's events loaded month by month
//! (`kagoshima-city history`'s loader: every position, tap, passenger count
//! and status by COPY, the back office's trips and sales), the rides and
//! rollups computed as the indicators service does, and at each stage (1, 3
//! and 12 months loaded by default) what the bureau waits for:
//! - the fiscal-year and monthly indicators (`Indicators::report`, what
//!   GetFiscalYear and GetMonthly answer), GetRidership for a month;
//! - the dashboard's first answer: the month then the fiscal year (as the
//!   web handler asks them), the month's ridership and the fiscal-year chart,
//!   the three concurrently as the page asks them;
//! - a late tap: one tap of the first month written by the live writer, and
//!   the refresh that puts it into the rides and rollups;
//! - storage per month and family, and on TimescaleDB the positions'
//!   compression (chunks compressed as the policies would, all at once).
//!
//! On TimescaleDB the retention policies are paused (the year loaded is
//! older than they keep); compression runs as the policies would.
//!
//! The service calls run in-process (no gRPC or HTTP hop: those add
//! milliseconds, measured in "Passenger queries"). Figures are medians of
//! `--runs` runs after one warm-up.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{fmt::Write as _, path::PathBuf, time::Instant};

use anyhow::Context;
use chrono::{NaiveDate, TimeZone, Utc};
use clap::Parser;
use kagoshima_bench::median;
use kagoshima_city::history::{self, HistoryPlan};
use kagoshima_domain::{
    calendar::{FiscalYear, JST, YearMonth},
    fields::{Medium, RiderCategory, TapAction, TapResult},
};
use kagoshima_indicators::{
    IndicatorsConfig, period::Period, report::ReportFormat, service::Indicators,
};
use kagoshima_network::{ImportOptions, feed, import::Quiet};
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_storage::{Batch, Store, TapRow};
use sqlx::{Connection, PgConnection, PgPool};

/// A fiscal year of the city on TimescaleDB and plain PostgreSQL.
#[derive(Debug, Parser)]
struct Args {
    /// Engines to measure, as `name=admin URL` (a user who may create
    /// databases); each gets a fresh database `kagoshima_bench_year_<name>`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "timescaledb=postgres://postgres@127.0.0.1:5433/postgres,postgresql=postgres://postgres@127.0.0.1:5432/postgres"
    )]
    engines: Vec<String>,
    /// The fiscal year to load (April to March).
    #[arg(long, default_value_t = 2025)]
    fiscal_year: i32,
    /// Months loaded at each stage of the measurement.
    #[arg(long, value_delimiter = ',', default_value = "1,3,12")]
    months: Vec<u32>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Rider demand (1.0: the city's volume).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Timed runs per measure (after one warm-up).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, default_value = "simulators/feed/kagoshima")]
    feed: PathBuf,
    /// Where the summary goes.
    #[arg(long, default_value = "target/bench/year")]
    out: PathBuf,
    /// Load at most this many new days per stage (a smoke test of the
    /// harness; the figures then mean little).
    #[arg(long)]
    smoke_days: Option<u64>,
    /// Keep the databases afterwards (they hold a year: several GB).
    #[arg(long)]
    keep: bool,
    /// Use the databases a previous `--keep` run left: days already loaded
    /// are skipped, so only the measures run again (say, after a change to
    /// the queries).
    #[arg(long)]
    reuse: bool,
}

const CARD_KEY: &str = "be0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0cbe0c";

/// The hypertables TimescaleDB compresses, with their policy's age.
const COMPRESSED: &[(&str, &str)] = &[
    ("vehicle_positions", "7 days"),
    ("device_status", "7 days"),
    ("taps", "35 days"),
    ("passenger_counts", "7 days"),
];

const FAMILIES: &[&str] = &[
    "vehicle_positions",
    "taps",
    "passenger_counts",
    "device_status",
    "rides",
];

#[derive(Debug, Default, Clone)]
struct Stage {
    months: u32,
    days: usize,
    rows_total: usize,
    load_s: f64,
    rows_per_s: f64,
    rides_s: f64,
    rides_days: usize,
    compress_s: Option<f64>,
    /// MB per month loaded, per family.
    mb_per_month: Vec<(String, f64)>,
    /// Positions before / after compression (TimescaleDB).
    positions_ratio: Option<f64>,
    fy_ms: f64,
    month_first_ms: f64,
    month_last_ms: f64,
    ridership_ms: f64,
    dashboard_ms: f64,
    late_tap_ms: f64,
    late_tap_reflected: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kagoshima_runtime::telemetry::init("warn", Default::default());
    let args = Args::parse();
    let fy = FiscalYear::new(args.fiscal_year).context("--fiscal-year out of range")?;
    std::fs::create_dir_all(&args.out)?;
    let mut summary = String::new();
    writeln!(
        summary,
        "# A fiscal year of the city: FY{} (seed {}, scale {})\n",
        args.fiscal_year, args.seed, args.scale
    )?;
    for engine in &args.engines {
        let (name, admin) = engine
            .split_once('=')
            .context("--engines takes name=URL pairs")?;
        eprintln!("== {name}");
        let stages = run_engine(&args, fy, name, admin).await?;
        summary.push_str(&table(name, &stages));
        std::fs::write(args.out.join("summary.md"), &summary)?;
    }
    println!("{summary}");
    println!("(written to {})", args.out.join("summary.md").display());
    Ok(())
}

async fn run_engine(
    args: &Args,
    fy: FiscalYear,
    name: &str,
    admin: &str,
) -> anyhow::Result<Vec<Stage>> {
    let db_name = format!("kagoshima_bench_year_{name}");
    let mut conn = PgConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to {name} at {admin}"))?;
    if !args.reuse {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
            .execute(&mut conn)
            .await?;
    }
    let url = kagoshima_tests::replace_database(admin, &db_name);
    let store = Store::open(&url, 4).await?;
    let pool = store.pool().clone();
    let timescale: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')",
    )
    .fetch_one(&pool)
    .await?;
    if timescale {
        // The year loaded lies in the past, partly beyond the 400 days that
        // the retention policies keep: paused here, or their runs would drop
        // the first months while they are being measured.
        sqlx::query(
            "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs
              WHERE proc_name = 'policy_retention'",
        )
        .fetch_all(&pool)
        .await?;
    }
    let network = feed::load(&args.feed).map_err(|r| anyhow::anyhow!("the feed: {r}"))?;
    kagoshima_network::import(&pool, &network, &ImportOptions::default(), &Quiet).await?;
    let indicators = Indicators::new(pool.clone(), IndicatorsConfig::default())?;
    let backoffice = args.out.join(format!("backoffice-{name}"));

    let mut stages = Vec::new();
    let mut loaded_until = fy.start_date();
    let mut rows_total = 0;
    for &months in &args.months {
        let until = fy
            .start_date()
            .checked_add_months(chrono::Months::new(months))
            .context("month out of range")?;
        let until = match args.smoke_days {
            Some(days) => until.min(loaded_until + chrono::Days::new(days)),
            None => until,
        };
        let plan = HistoryPlan {
            from: loaded_until,
            until,
            seed: args.seed,
            scale: args.scale,
            positions_from: loaded_until,
            newest_first: false,
        };
        let progress =
            indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/{len} days, {elapsed}, about {eta} left",
            )?);
        progress.set_message(format!("{name}: loading to {until}"));
        let filled = history::fill(
            &store,
            &args.feed,
            &backoffice,
            CARD_KEY,
            &plan,
            &progress,
            &Shutdown::new(),
        )
        .await?;
        rows_total += filled.rows.rows();
        loaded_until = until;
        let mut stage = Stage {
            months,
            days: filled.days_filled,
            rows_total,
            load_s: filled.seconds,
            rows_per_s: filled.rows.rows() as f64 / filled.seconds.max(1e-9),
            ..Stage::default()
        };
        eprintln!("{name}: {months} months loaded; computing rides");
        let started = Instant::now();
        stage.rides_days = indicators.refresh().await?.dates;
        stage.rides_s = started.elapsed().as_secs_f64();
        if timescale {
            eprintln!("{name}: compressing as the policies would");
            stage.compress_s = Some(compress(&pool).await?);
        }
        // What autovacuum would have done by the time anyone asks.
        sqlx::query("ANALYZE").execute(&pool).await?;
        storage(&pool, timescale, months, &mut stage).await?;
        eprintln!("{name}: measuring");
        measure(args, fy, &indicators, &store, until, &mut stage).await?;
        eprintln!("{name}: {stage:?}");
        stages.push(stage);
    }
    drop(store);
    if !args.keep {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
    }
    Ok(stages)
}

/// Compresses every chunk the policies would compress by now; seconds.
async fn compress(pool: &PgPool) -> anyhow::Result<f64> {
    let started = Instant::now();
    for (table, age) in COMPRESSED {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT count(compress_chunk(c, if_not_compressed => true))
               FROM show_chunks('{table}', older_than => INTERVAL '{age}') c"
        )))
        .fetch_one(pool)
        .await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn storage(
    pool: &PgPool,
    timescale: bool,
    months: u32,
    stage: &mut Stage,
) -> anyhow::Result<()> {
    for table in FAMILIES {
        let hypertable: bool = timescale
            && sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = $1)",
            )
            .bind(table)
            .fetch_one(pool)
            .await?;
        let bytes: i64 = if hypertable {
            sqlx::query_scalar("SELECT hypertable_size($1::regclass)")
                .bind(table)
                .fetch_one(pool)
                .await?
        } else {
            sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                .bind(table)
                .fetch_one(pool)
                .await?
        };
        stage
            .mb_per_month
            .push(((*table).to_owned(), bytes as f64 / 1e6 / f64::from(months)));
    }
    if timescale {
        let (before, after): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT before_compression_total_bytes, after_compression_total_bytes
               FROM hypertable_compression_stats('vehicle_positions')",
        )
        .fetch_one(pool)
        .await?;
        if let (Some(b), Some(a)) = (before, after) {
            stage.positions_ratio = Some(b as f64 / a.max(1) as f64);
        }
    }
    Ok(())
}

/// Median milliseconds of `runs` calls after one warm-up.
async fn time<F, Fut, T>(runs: usize, mut call: F) -> anyhow::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    call().await?;
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        call().await?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(ms))
}

async fn measure(
    args: &Args,
    fy: FiscalYear,
    indicators: &Indicators,
    store: &Store,
    until: NaiveDate,
    stage: &mut Stage,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let first = YearMonth::of_date(fy.start_date());
    let last = YearMonth::of_date(until.pred_opt().unwrap_or(until));
    stage.fy_ms = time(args.runs, || async {
        Ok(indicators.report(Period::FiscalYear(fy), now).await?)
    })
    .await?;
    stage.month_first_ms = time(args.runs, || async {
        Ok(indicators.report(Period::Month(first), now).await?)
    })
    .await?;
    stage.month_last_ms = time(args.runs, || async {
        Ok(indicators.report(Period::Month(last), now).await?)
    })
    .await?;
    stage.ridership_ms = time(args.runs, || async {
        Ok(indicators.ridership(Period::Month(last), None, now).await?)
    })
    .await?;
    stage.dashboard_ms = time(args.runs, || async {
        // As the page asks: the figures (the month and the fiscal year, at
        // once, as the web handler does), the month's ridership and the
        // fiscal year's chart.
        let (a, b, c, d) = tokio::join!(
            indicators.report(Period::Month(last), now),
            indicators.report(Period::FiscalYear(fy), now),
            indicators.ridership(Period::Month(last), None, now),
            indicators.render(Period::FiscalYear(fy), ReportFormat::Svg, now),
        );
        a?;
        b?;
        c?;
        d?;
        Ok(())
    })
    .await?;

    // A late tap of the first month's 10th, noon JST, by the live writer.
    let day = first.first_day() + chrono::Days::new(9);
    let at = JST
        .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap_or_default())
        .single()
        .context("noon JST")?
        .with_timezone(&Utc);
    let rides_of_day = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM rides WHERE service_date = $1")
            .bind(day)
            .fetch_one(store.pool())
            .await
    };
    let before = rides_of_day().await?;
    let tap = TapRow {
        event_id: format!("bench-late-{}-{}", stage.months, now.timestamp_millis()),
        occurred_at: at,
        vehicle_id: "tram-101".into(),
        mode: "tram",
        validator_id: "tram-101-v1".into(),
        action: TapAction::On,
        card_hash: late_card(stage.months),
        medium: Medium::Card,
        brand: Some("visa".into()),
        issuer_country: Some("JP".into()),
        rider_category: RiderCategory::Adult,
        num_riders: 1,
        fare_yen: 170,
        result: TapResult::Approved,
        stop_id: Some("tram_tenmonkan_dori".into()),
        route_id: None,
        trip_id: None,
        source: "bench",
    };
    store
        .write_batch(&Batch {
            taps: vec![tap],
            ..Batch::default()
        })
        .await?;
    let started = Instant::now();
    indicators.refresh().await?;
    stage.late_tap_ms = started.elapsed().as_secs_f64() * 1e3;
    stage.late_tap_reflected = rides_of_day().await? == before + 1;
    Ok(())
}

/// A card hash of its own per stage (the bench's late riders).
fn late_card(n: u32) -> [u8; 32] {
    let mut h = [0x5au8; 32];
    h[..4].copy_from_slice(&n.to_be_bytes());
    h
}

fn table(name: &str, stages: &[Stage]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## {name}\n");
    let header: Vec<String> = stages
        .iter()
        .map(|st| format!("{} months", st.months))
        .collect();
    let _ = writeln!(s, "| | {} |", header.join(" | "));
    let _ = writeln!(s, "|---|{}", "---|".repeat(stages.len()));
    let mut row = |label: &str, f: &dyn Fn(&Stage) -> String| {
        let cells: Vec<String> = stages.iter().map(f).collect();
        let _ = writeln!(s, "| {label} | {} |", cells.join(" | "));
    };
    row("rows loaded (all families, cumulative)", &|st| {
        format!("{}", st.rows_total)
    });
    row("load of the new days (s; rows/s)", &|st| {
        format!("{:.0} ({} days; {:.0})", st.load_s, st.days, st.rows_per_s)
    });
    row("rides and rollups of the new days (s)", &|st| {
        format!("{:.0} ({} days)", st.rides_s, st.rides_days)
    });
    row("compression of the new chunks (s)", &|st| {
        st.compress_s.map_or("-".into(), |c| format!("{c:.0}"))
    });
    row("fiscal-year indicators (ms)", &|st| {
        format!("{:.0}", st.fy_ms)
    });
    row("monthly indicators, April (ms)", &|st| {
        format!("{:.0}", st.month_first_ms)
    });
    row("monthly indicators, latest month (ms)", &|st| {
        format!("{:.0}", st.month_last_ms)
    });
    row("GetRidership, latest month (ms)", &|st| {
        format!("{:.0}", st.ridership_ms)
    });
    row("dashboard's first answer (ms)", &|st| {
        format!("{:.0}", st.dashboard_ms)
    });
    row("late tap: refresh until in rides and rollups (ms)", &|st| {
        format!(
            "{:.0}{}",
            st.late_tap_ms,
            if st.late_tap_reflected {
                ""
            } else {
                " (NOT reflected)"
            }
        )
    });
    for family in FAMILIES {
        row(&format!("{family} (MB per month)"), &|st| {
            st.mb_per_month
                .iter()
                .find(|(f, _)| f == family)
                .map_or("-".into(), |(_, mb)| format!("{mb:.1}"))
        });
    }
    row("positions compressed (before / after)", &|st| {
        st.positions_ratio
            .map_or("-".into(), |r| format!("{r:.1}×"))
    });
    s.push('\n');
    s
}
