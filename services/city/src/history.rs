//! The simulated city's past, written into the database: every position,
//! tap, passenger count and device status of each day (through ingest's own
//! validation and card hashing, stored by `COPY`), and the back office's
//! bike-share trips and ticket sales. Deterministic for a seed: a day's
//! events depend only on the seed and the date, so a period loaded in two
//! runs equals the period loaded in one.
//!
//! Days that already hold device events are left alone, so a fill can be
//! stopped and run again, and never touches what live ingest stored.
use std::{path::Path, sync::Arc, time::Instant};

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use indicatif::ProgressBar;
use kagoshima_domain::calendar::transit_service_day_start;
use kagoshima_domain::stop_visit::StopVisit;
use kagoshima_domain::validation::{ValidationConfig, Validator};
use kagoshima_ingest::pipeline::Pipeline;
use kagoshima_runtime::shutdown::Shutdown;
use kagoshima_sim::{Encoding, Feed, SimConfig, day::Payload, simulate_day};
use kagoshima_storage::{Batch, Store, bulk::Loaded};
use tracing::{debug, info};

/// Which days to fill and how.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    /// First service day.
    pub from: NaiveDate,
    /// First day not filled.
    pub until: NaiveDate,
    pub seed: u64,
    /// Rider demand (1.0 is the city's volume, about 30,000 tram rides a day).
    pub scale: f64,
    /// Positions are filled on days from this one on: `from` for every day,
    /// `until` for none. They are about 70 % of the rows and nearly all of
    /// the bytes (BENCHMARKS.md, "A fiscal year of the city").
    pub positions_from: NaiveDate,
    /// Fill the newest day first, so the current month is complete soonest.
    pub newest_first: bool,
}

/// What a fill did.
#[derive(Debug, Default, Clone)]
pub struct HistoryOutcome {
    pub days_filled: usize,
    /// Days that already held device events.
    pub days_skipped: usize,
    pub rows: Loaded,
    pub bikeshare_trips: u64,
    pub ticket_sales: u64,
    /// Stop visits written (as location would have found them).
    pub stop_visits: u64,
    pub seconds: f64,
}

/// The seed of one simulated day: the run's seed and the date, nothing else.
fn day_seed(seed: u64, date: NaiveDate) -> u64 {
    seed.wrapping_mul(1_000_003)
        .wrapping_add(u64::try_from(date.num_days_from_ce()).unwrap_or(0))
}

/// Fills `[plan.from, plan.until)`. Rides are not computed here: the taps
/// mark their days, and the indicators service (or
/// `kagoshima_indicators::rides::refresh_dirty`) computes them.
pub async fn fill(
    store: &Store,
    feed_dir: &Path,
    backoffice_dir: &Path,
    card_key: &str,
    plan: &HistoryPlan,
    progress: &ProgressBar,
    shutdown: &Shutdown,
) -> anyhow::Result<HistoryOutcome> {
    let started = Instant::now();
    let mut outcome = HistoryOutcome::default();
    let mut days = Vec::new();
    let mut date = plan.from;
    while date < plan.until {
        let next = date.succ_opt().context("date out of range")?;
        let (start, end) = (
            transit_service_day_start(date),
            transit_service_day_start(next),
        );
        if store.period_holds_events(start, end).await? {
            outcome.days_skipped += 1;
        } else {
            days.push(date);
        }
        date = next;
    }
    if plan.newest_first {
        days.reverse();
    }
    progress.set_length(days.len() as u64);
    if days.is_empty() {
        progress.finish_and_clear();
        return Ok(outcome);
    }

    let feed = Arc::new(Feed::load(feed_dir)?);
    let pipeline = Arc::new(Pipeline::new(
        Validator::new(ValidationConfig::default()),
        kagoshima_ingest::app::card_hasher(card_key)?,
    ));
    // One day simulated on a blocking thread while the previous one is
    // copied into the database.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(NaiveDate, Batch, Vec<StopVisit>)>(1);
    let producer = {
        let (feed, pipeline, plan) = (feed.clone(), pipeline.clone(), plan.clone());
        let days = days.clone();
        tokio::task::spawn_blocking(move || {
            for date in days {
                let (batch, visits) = simulated_batch(&feed, &pipeline, &plan, date);
                if tx.blocking_send((date, batch, visits)).is_err() {
                    break;
                }
            }
        })
    };
    while let Some((date, batch, visits)) = tokio::select! {
        next = rx.recv() => next,
        () = shutdown.cancelled() => None,
    } {
        let loaded = store
            .load_history(&batch)
            .await
            .with_context(|| format!("storing the simulated {date}"))?;
        kagoshima_storage::stop_visits::upsert(store.pool(), &visits)
            .await
            .with_context(|| format!("storing the stop visits of the simulated {date}"))?;
        outcome.stop_visits += visits.len() as u64;
        debug!(%date, rows = loaded.rows(), "history: day stored");
        if date.day() == 1 || date == plan.from {
            info!(%date, "history: filling");
        }
        outcome.rows += loaded;
        outcome.days_filled += 1;
        progress.inc(1);
    }
    drop(rx);
    producer.await?;
    if shutdown.is_cancelled() {
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    }

    let (first, last) = (plan.from, plan.until.pred_opt().unwrap_or(plan.from));
    let (bikes, sales, _, _) = kagoshima_sim::backoffice::write_backoffice(
        first,
        last,
        plan.seed,
        &kagoshima_sim::FareConfig::default(),
        backoffice_dir,
    )?;
    // (rows read, rows new): a second fill of the same days adds nothing.
    (_, outcome.bikeshare_trips) = kagoshima_indicators::backoffice::import_bikeshare(
        store.pool(),
        std::fs::File::open(bikes)?,
    )
    .await?;
    (_, outcome.ticket_sales) = kagoshima_indicators::backoffice::import_ticket_sales(
        store.pool(),
        std::fs::File::open(sales)?,
    )
    .await?;
    outcome.seconds = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    info!(
        from = %plan.from,
        until = %plan.until,
        days = outcome.days_filled,
        skipped = outcome.days_skipped,
        rows = outcome.rows.rows(),
        seconds = outcome.seconds,
        "history filled"
    );
    Ok(outcome)
}

/// One simulated day as ingest would have stored it: each message validated
/// and hashed by the live pipeline, received when the device published it;
/// and its stop visits as location would have found them from those
/// positions (the simulator's true visits: location's noiseless visits
/// equal them within seconds, as its tests show).
pub fn simulated_batch(
    feed: &Feed,
    pipeline: &Pipeline,
    plan: &HistoryPlan,
    date: NaiveDate,
) -> (Batch, Vec<StopVisit>) {
    let mut config = SimConfig::new(date);
    config.seed = day_seed(plan.seed, date);
    config.scale = plan.scale;
    let day = simulate_day(feed, &config);
    let mut batch = Batch::default();
    let mut topic = String::new();
    for event in &day.events {
        if date < plan.positions_from && matches!(event.payload, Payload::Position(_)) {
            continue;
        }
        topic.clear();
        use std::fmt::Write as _;
        let _ = write!(topic, "{}", event.topic);
        pipeline.add_mqtt(
            &mut batch,
            &topic,
            &event.payload.encode(Encoding::Proto),
            event.publish_at,
        );
    }
    if date < plan.positions_from {
        // Stop visits come from positions: none where they are left out.
        return (batch, Vec::new());
    }
    let ds = kagoshima_domain::calendar::jst_day_start(date).timestamp() as f64;
    let visits = day
        .truth
        .visits
        .iter()
        .filter_map(|v| {
            let trip = feed.trips.get(&v.trip_id)?;
            let st = trip.stop_times.get(v.index)?;
            Some(StopVisit {
                service_date: date,
                trip_id: v.trip_id.clone(),
                stop_sequence: v.stop_sequence,
                stop_id: v.stop_id.clone(),
                route_id: v.route_id.clone(),
                direction_id: Some(trip.direction_id),
                vehicle_id: v.vehicle_id.clone(),
                scheduled_arrival: ds + f64::from(st.arrival_s),
                scheduled_departure: ds + f64::from(st.departure_s),
                arrival: ds + v.arrival_s,
                departure: (!v.last).then_some(ds + v.departure_s),
                observed: false,
            })
        })
        .collect();
    (batch, visits)
}

/// `kagoshima-city history`: fill a period with the simulated city's past.
#[derive(Debug, Clone, clap::Args)]
pub struct HistoryArgs {
    /// First service day (default: the 1st of April of this fiscal year).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// First day not filled (default: today's service day, so up to
    /// yesterday).
    #[arg(long)]
    pub until: Option<NaiveDate>,
    /// Seed of the simulated city: the same seed fills the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Rider demand; 1.0 is the city's volume (about 30,000 tram rides a day).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Leave vehicle positions out (about 70 % of the rows).
    #[arg(long)]
    pub without_positions: bool,
    /// Also compute the rides and rollups of the filled days (what the
    /// indicators service would do on its next refresh).
    #[arg(long)]
    pub rides: bool,
    /// The GTFS / GTFS-JP feed the simulated vehicles run.
    #[arg(long, default_value = "simulators/feed/kagoshima")]
    pub feed: std::path::PathBuf,
    /// Folder for the card-hash key (made on first use; give ingest the same
    /// key so its cards link with these) and the back-office files.
    #[arg(long, default_value = ".data/history")]
    pub data_dir: std::path::PathBuf,
}

/// Runs `kagoshima-city history` against `DATABASE_URL`.
pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow::anyhow!(
            "DATABASE_URL is not set: point it at the platform's database, e.g. postgres://postgres@127.0.0.1:5432/kagoshima"
        )
    })?;
    let today = kagoshima_domain::calendar::transit_service_day(chrono::Utc::now());
    let from = args
        .from
        .unwrap_or_else(|| kagoshima_domain::calendar::FiscalYear::of_date(today).start_date());
    let until = args.until.unwrap_or(today);
    let plan = HistoryPlan {
        from,
        until,
        seed: args.seed,
        scale: args.scale,
        positions_from: if args.without_positions { until } else { from },
        newest_first: false,
    };
    if plan.until <= plan.from {
        anyhow::bail!(
            "nothing to fill: --until {} is not after --from {}",
            plan.until,
            plan.from
        );
    }
    let store = Store::open(&database_url, 4).await?;
    let card_key = crate::secrets::load_or_create(&args.data_dir, "card-hash.key")?;
    let shutdown = Shutdown::new();
    kagoshima_runtime::shutdown::on_signals(shutdown.clone());
    let progress = ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} days, {elapsed} elapsed, about {eta} left",
        )?
        .progress_chars("=> "),
    );
    progress.set_message(format!("filling {} to {}", plan.from, plan.until));
    let outcome = fill(
        &store,
        &args.feed,
        &args.data_dir.join("backoffice"),
        &card_key,
        &plan,
        &progress,
        &shutdown,
    )
    .await?;
    println!(
        "{} days filled, {} skipped (they held events): {} positions, {} taps, {} passenger counts, {} statuses, {} bike-share trips, {} ticket sales in {:.0} s",
        outcome.days_filled,
        outcome.days_skipped,
        outcome.rows.positions,
        outcome.rows.taps,
        outcome.rows.passengers,
        outcome.rows.statuses,
        outcome.bikeshare_trips,
        outcome.ticket_sales,
        outcome.seconds
    );
    if args.rides && !shutdown.is_cancelled() {
        let spinner = ProgressBar::new_spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        spinner.set_message("computing rides and rollups of the dirty days");
        let started = Instant::now();
        let done =
            kagoshima_indicators::rides::refresh_dirty(store.pool(), &Default::default()).await?;
        spinner.finish_and_clear();
        println!(
            "rides of {} days computed in {:.0} s",
            done.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
