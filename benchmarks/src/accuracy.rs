//! The prediction-accuracy report: simulated training days teach the model
//! (through the tracker, as stop visits, exactly as the service learns from
//! the `stop_visits` table), then a simulated test day is played in
//! simulated time through the same tracker; every 30 s every prediction of
//! every vehicle for its upcoming stops is scored against the simulator's
//! true arrivals, with two baselines on the same samples: the timetable,
//! and the timetable shifted by the vehicle's current delay.
//!
//! Buckets and windows are the public benchmark's (see network-facts.md):
//! a prediction made `h` ahead is accurate when actual − predicted lies in
//! the bucket's window.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate};
use kagoshima_domain::calendar::day_type;
use kagoshima_sim::{Feed as SimFeed, Payload, SimConfig, simulate_day};
use kagoshima_tracker::{Network, Report, StopVisit, Tracker, TrackerConfig, network::day_start};

/// Noise and run settings (every one an option of the command).
#[derive(Debug, Clone, clap::Args)]
pub struct AccuracyArgs {
    /// The test day (YYYY-MM-DD).
    #[arg(long, default_value = "2025-06-10")]
    pub date: NaiveDate,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// GPS error, metres (standard deviation per axis).
    #[arg(long, default_value_t = 10.0)]
    pub gps_sigma: f64,
    /// Share of reports that are outliers.
    #[arg(long, default_value_t = 0.02)]
    pub outliers: f64,
    /// Largest outlier error, metres.
    #[arg(long, default_value_t = 300.0)]
    pub outlier_max: f64,
    /// Seconds between reports, "MIN-MAX".
    #[arg(long, default_value = "5-15")]
    pub interval: String,
    /// Share of reports followed by a silent gap.
    #[arg(long, default_value_t = 0.05)]
    pub gaps: f64,
    #[arg(long, default_value_t = 60.0)]
    pub gap_min: f64,
    #[arg(long, default_value_t = 180.0)]
    pub gap_max: f64,
    /// Share of devices whose clock is off.
    #[arg(long, default_value_t = 0.05)]
    pub clock_skew: f64,
    /// Largest clock error, seconds (±).
    #[arg(long, default_value_t = 90.0)]
    pub clock_skew_max: f64,
    /// Share of vehicles whose driver never logs in, and of trips not logged in.
    #[arg(long, default_value_t = 0.05)]
    pub never_logged_in: f64,
    #[arg(long, default_value_t = 0.05)]
    pub trip_not_logged_in: f64,
    /// Rush-hour and quiet-hour running-time factors of the simulator.
    #[arg(long, default_value_t = 1.35)]
    pub rush_factor: f64,
    #[arg(long, default_value_t = 0.75)]
    pub quiet_factor: f64,
    /// Share of trips that start late, and the longest late start (seconds):
    /// a disrupted day's bunching.
    #[arg(long, default_value_t = 0.05)]
    pub late_start_share: f64,
    #[arg(long, default_value_t = 300)]
    pub late_start_max: u32,
    /// Simulate only this many vehicles (a small cell for tests).
    #[arg(long)]
    pub max_vehicles: Option<usize>,
    /// Earlier days of the same day type simulated to learn from.
    #[arg(long, default_value_t = 5)]
    pub training_days: u32,
    /// Seconds of simulated time between samples.
    #[arg(long, default_value_t = 30.0)]
    pub sample_every: f64,
    /// The GTFS feed (default: the simulators' sample feed).
    #[arg(long)]
    pub feed: Option<PathBuf>,
    /// Where README.md, accuracy.svg and accuracy.json go.
    #[arg(long, default_value = "reports/accuracy")]
    pub out: PathBuf,
}

impl AccuracyArgs {
    /// The published day's settings (the command's defaults).
    pub fn published() -> AccuracyArgs {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            args: AccuracyArgs,
        }
        Wrap::parse_from(["accuracy"]).args
    }
}

/// The benchmark's buckets: (from s, to s, early tolerance s, late tolerance s).
pub const BUCKETS: [(f64, f64, f64, f64); 4] = [
    (0.0, 180.0, 30.0, 90.0),
    (180.0, 360.0, 60.0, 150.0),
    (360.0, 600.0, 60.0, 210.0),
    (600.0, 900.0, 90.0, 270.0),
];
const METHODS: [&str; 3] = ["ours", "timetable", "delay-shift"];

/// One method's tallies.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Score {
    pub samples: [u64; 4],
    pub accurate: [u64; 4],
    /// Σ|error| and count per 1-minute horizon bin (0..15).
    pub abs_err: Vec<f64>,
    pub abs_n: Vec<u64>,
    /// Stability between two refreshes (samples) of the same prediction:
    /// how many pairs, Σ|change of the predicted arrival| (s), how many
    /// changed by a minute or more, and how many went backwards (the
    /// countdown a rider sees, in whole minutes, went up).
    pub refreshes: u64,
    pub jump_sum: f64,
    pub big_jumps: u64,
    pub backwards: u64,
    /// The likely windows (ours only), by bucket: how many, how many held
    /// the actual arrival, and Σ width (s).
    pub windows: [u64; 4],
    pub windows_held: [u64; 4],
    pub window_width: [f64; 4],
}

fn bucket_of(horizon: f64) -> usize {
    BUCKETS
        .iter()
        .position(|(lo, hi, _, _)| horizon >= *lo && horizon < *hi)
        .unwrap_or(3)
}

impl Score {
    fn new() -> Score {
        Score {
            abs_err: vec![0.0; 15],
            abs_n: vec![0; 15],
            ..Score::default()
        }
    }

    /// `horizon` = predicted − now, `err` = actual − predicted, seconds.
    fn add(&mut self, horizon: f64, err: f64) {
        if !(0.0..=900.0).contains(&horizon) {
            return;
        }
        let b = bucket_of(horizon);
        let (_, _, early, late) = BUCKETS[b];
        self.samples[b] += 1;
        if err >= -early && err <= late {
            self.accurate[b] += 1;
        }
        let m = ((horizon / 60.0) as usize).min(14);
        self.abs_err[m] += err.abs();
        self.abs_n[m] += 1;
    }

    pub fn bucket(&self, b: usize) -> f64 {
        if self.samples[b] == 0 {
            0.0
        } else {
            100.0 * self.accurate[b] as f64 / self.samples[b] as f64
        }
    }

    pub fn overall(&self) -> f64 {
        (0..4).map(|b| self.bucket(b)).sum::<f64>() / 4.0
    }

    /// A likely window `[from, to]` given `horizon` ahead, and the actual arrival.
    fn window(&mut self, horizon: f64, from: f64, to: f64, actual: f64) {
        if !(0.0..=900.0).contains(&horizon) {
            return;
        }
        let b = bucket_of(horizon);
        self.windows[b] += 1;
        self.windows_held[b] += u64::from((from..=to).contains(&actual));
        self.window_width[b] += to - from;
    }

    /// Share of the windows of a bucket that held the arrival, percent
    /// (`None` for all buckets together).
    pub fn coverage(&self, b: Option<usize>) -> f64 {
        let pick = |a: &[u64; 4]| b.map_or(a.iter().sum(), |b| a[b]);
        100.0 * pick(&self.windows_held) as f64 / pick(&self.windows).max(1) as f64
    }

    /// Mean width of a bucket's windows, minutes.
    pub fn window_minutes(&self, b: usize) -> f64 {
        self.window_width[b] / self.windows[b].max(1) as f64 / 60.0
    }

    /// A prediction refreshed: `then`/`now` the two sample times, `before`
    /// and `after` the predicted arrivals.
    fn refresh(&mut self, then: f64, before: f64, now: f64, after: f64) {
        if !(0.0..=900.0).contains(&(after - now)) {
            return;
        }
        let jump = (after - before).abs();
        self.refreshes += 1;
        self.jump_sum += jump;
        self.big_jumps += u64::from(jump >= 60.0);
        let minutes = |at: f64, from: f64| ((at - from) / 60.0).floor();
        self.backwards += u64::from(minutes(after, now) > minutes(before, then));
    }

    /// Mean change of a prediction between refreshes, seconds.
    pub fn mean_jump(&self) -> f64 {
        self.jump_sum / self.refreshes.max(1) as f64
    }

    /// Share of refreshes whose countdown went up, percent.
    pub fn backwards_pct(&self) -> f64 {
        100.0 * self.backwards as f64 / self.refreshes.max(1) as f64
    }

    /// Share of refreshes that moved the prediction by a minute or more.
    pub fn big_jumps_pct(&self) -> f64 {
        100.0 * self.big_jumps as f64 / self.refreshes.max(1) as f64
    }

    /// Mean absolute error of a bucket's horizons, minutes.
    pub fn bucket_mae(&self, b: usize) -> Option<f64> {
        let (lo, hi) = (BUCKETS[b].0 as usize / 60, BUCKETS[b].1 as usize / 60);
        let n: u64 = self.abs_n[lo..hi].iter().sum();
        (n > 0).then(|| self.abs_err[lo..hi].iter().sum::<f64>() / n as f64 / 60.0)
    }

    pub fn mae_min(&self, m: usize) -> Option<f64> {
        (self.abs_n[m] > 0).then(|| self.abs_err[m] / self.abs_n[m] as f64 / 60.0)
    }
}

fn parse_range(s: &str) -> anyhow::Result<(f64, f64)> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| anyhow::anyhow!("expected MIN-MAX, got {s:?}"))?;
    Ok((a.trim().parse()?, b.trim().parse()?))
}

fn sim_config(args: &AccuracyArgs, date: NaiveDate, seed: u64) -> anyhow::Result<SimConfig> {
    let mut c = SimConfig::new(date);
    c.seed = seed;
    c.scale = 0.02; // riders do not matter here; positions do
    c.motion.rush_factor = args.rush_factor;
    c.motion.quiet_factor = args.quiet_factor;
    c.motion.late_start_share = args.late_start_share;
    c.motion.late_start_s = (60.min(args.late_start_max), args.late_start_max);
    c.max_vehicles = args.max_vehicles;
    c.noise.enabled = true;
    c.noise.sigma_m = args.gps_sigma;
    c.noise.outlier_share = args.outliers;
    c.noise.outlier_max_m = args.outlier_max;
    c.noise.interval_s = parse_range(&args.interval)?;
    c.noise.gap_share = args.gaps;
    c.noise.gap_s = (args.gap_min, args.gap_max);
    c.noise.clock_offset_share = args.clock_skew;
    c.noise.clock_offset_max_s = args.clock_skew_max;
    c.noise.never_logged_in_share = args.never_logged_in;
    c.noise.trip_not_logged_in_share = args.trip_not_logged_in;
    Ok(c)
}

/// The position reports of a simulated day, in publish order.
pub fn reports(day: &kagoshima_sim::SimulatedDay) -> Vec<Report> {
    day.events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::Position(p) => Some(Report {
                vehicle_id: p.vehicle_id.clone(),
                recorded_at: p
                    .recorded_at
                    .as_ref()
                    .map_or(0.0, |t| t.seconds as f64 + f64::from(t.nanos) / 1e9),
                received_at: e.publish_at.timestamp_millis() as f64 / 1000.0,
                lat: p.lat,
                lon: p.lon,
                bearing: p.bearing.map(f64::from),
                speed: p.speed.map(f64::from),
                trip_id: Some(p.trip_id.clone()).filter(|s| !s.is_empty()),
                route_id: Some(p.route_id.clone()).filter(|s| !s.is_empty()),
            }),
            _ => None,
        })
        .collect()
}

/// Plays reports through a tracker; returns the final stop visits (the
/// last version of each, as the table's upsert keeps).
pub fn play(tracker: &mut Tracker, reports: &[Report]) -> Vec<StopVisit> {
    let mut latest: HashMap<(NaiveDate, String, u32), StopVisit> = HashMap::new();
    let mut last_sweep = 0.0;
    for r in reports {
        for v in tracker.ingest(r) {
            latest.insert((v.service_date, v.trip_id.clone(), v.stop_sequence), v);
        }
        if r.received_at - last_sweep > 60.0 {
            tracker.sweep(r.received_at);
            last_sweep = r.received_at;
        }
    }
    let mut visits: Vec<StopVisit> = latest.into_values().collect();
    visits.sort_by(|a, b| {
        (a.service_date, &a.trip_id, a.stop_sequence).cmp(&(
            b.service_date,
            &b.trip_id,
            b.stop_sequence,
        ))
    });
    visits
}

/// The report's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub date: NaiveDate,
    pub seed: u64,
    pub training_dates: Vec<NaiveDate>,
    pub positions: usize,
    pub vehicles: u64,
    pub samples: u64,
    pub scores: Vec<(String, Score)>,
    pub seconds: f64,
}

/// Runs the whole report and writes it to `args.out`.
pub fn run(args: &AccuracyArgs, command_line: &str) -> anyhow::Result<Outcome> {
    let outcome = evaluate(args)?;
    write(&args.out, &outcome, args, command_line)?;
    Ok(outcome)
}

/// Trains on the earlier days, plays the test day and scores it.
pub fn evaluate(args: &AccuracyArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let feed_dir = args
        .feed
        .clone()
        .unwrap_or_else(kagoshima_sim::feed::sample_feed_dir);
    let net = Arc::new(Network::build(
        kagoshima_network::read::snapshot::from_feed(&feed_dir)?,
    )?);
    let sim_feed = SimFeed::load(&feed_dir)?;
    let dt = day_type(args.date);

    // Training: earlier days of the same day type, learned as stop visits.
    let mut training_dates = Vec::new();
    let mut d = args.date;
    while training_dates.len() < args.training_days as usize {
        d -= Duration::days(1);
        if day_type(d) == dt {
            training_dates.push(d);
        }
    }
    training_dates.reverse();
    let mut history: Vec<StopVisit> = Vec::new();
    for (k, date) in training_dates.iter().enumerate() {
        let cfg = sim_config(args, *date, args.seed.wrapping_add(1_000 * (k as u64 + 1)))?;
        let day = simulate_day(&sim_feed, &cfg);
        let mut tracker = Tracker::new(net.clone(), TrackerConfig::default());
        history.extend(play(&mut tracker, &reports(&day)));
        eprintln!("training day {date}: {} stop visits", history.len());
    }
    let mut tracker = Tracker::new(net.clone(), TrackerConfig::default());
    tracker.learn_history(&history);

    // The test day.
    let cfg = sim_config(args, args.date, args.seed)?;
    let day = simulate_day(&sim_feed, &cfg);
    let reports = reports(&day);
    let ds = day_start(args.date);
    let truth: HashMap<(&str, u32), f64> = day
        .truth
        .visits
        .iter()
        .map(|v| ((v.trip_id.as_str(), v.stop_sequence), ds + v.arrival_s))
        .collect();
    let mut scores: Vec<Score> = (0..3).map(|_| Score::new()).collect();
    let mut samples = 0u64;
    // The last sample's prediction of each (vehicle, trip, stop), by the
    // two methods that move: (sample time, ours, delay-shift).
    let mut last: HashMap<(String, u32, usize), (f64, f64, f64)> = HashMap::new();
    let every = args.sample_every;
    let mut next_sample = reports.first().map_or(0.0, |r| r.received_at);
    let mut last_sweep = 0.0;
    let mut sample = |tracker: &Tracker, now: f64, scores: &mut Vec<Score>, samples: &mut u64| {
        for v in tracker.vehicles(now) {
            if v.stale {
                continue;
            }
            let preds = tracker.predict(&v.vehicle_id, now, 1_800.0);
            let delay = v.delay_s.unwrap_or(0.0);
            for p in preds {
                if p.stop_index == 0 {
                    continue; // a terminal departure, not an arrival
                }
                let trip = &net.trips[p.trip as usize];
                let seq = trip.stops[p.stop_index].seq;
                let Some(actual) = truth.get(&(trip.id.as_str(), seq)).copied() else {
                    continue;
                };
                *samples += 1;
                scores[0].add(p.arrival - now, actual - p.arrival);
                scores[0].window(
                    p.arrival - now,
                    (p.arrival - p.early_s).max(now),
                    p.arrival + p.late_s,
                    actual,
                );
                scores[1].add(p.scheduled_arrival - now, actual - p.scheduled_arrival);
                let shifted = p.scheduled_arrival + delay;
                scores[2].add(shifted - now, actual - shifted);
                let key = (v.vehicle_id.clone(), p.trip, p.stop_index);
                if let Some(&(then, ours, delay_shift)) = last.get(&key)
                    && (now - then - every).abs() < 1.0
                {
                    scores[0].refresh(then, ours, now, p.arrival);
                    scores[2].refresh(then, delay_shift, now, shifted);
                }
                last.insert(key, (now, p.arrival, shifted));
            }
        }
    };
    for r in &reports {
        while r.received_at >= next_sample {
            sample(&tracker, next_sample, &mut scores, &mut samples);
            next_sample += args.sample_every;
        }
        tracker.ingest(r);
        if r.received_at - last_sweep > 60.0 {
            tracker.sweep(r.received_at);
            last_sweep = r.received_at;
        }
    }
    let outcome = Outcome {
        date: args.date,
        seed: args.seed,
        training_dates,
        positions: reports.len(),
        vehicles: day.truth.summary.vehicles,
        samples,
        scores: METHODS.iter().map(|m| m.to_string()).zip(scores).collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(outcome)
}

fn write(dir: &Path, o: &Outcome, args: &AccuracyArgs, command_line: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("accuracy.json"),
        serde_json::to_string_pretty(o)? + "\n",
    )?;
    std::fs::write(dir.join("accuracy.svg"), svg(o)?)?;
    let mut md = String::new();
    let _ = writeln!(md, "# Arrival-prediction accuracy\n");
    let _ = writeln!(
        md,
        "A simulated {} ({}, seed {}) played through the location service's tracker and \
         predictions in simulated time, after {} training days of the same day type ({}). \
         Every 30 s of simulated time, every prediction of every vehicle for its upcoming \
         stops (current trip and the next trips of its block) is scored against the \
         simulator's true arrival. {} position reports from {} vehicles; {} (vehicle, stop) samples. \
         Run time {:.0} s (release build).\n",
        o.date,
        o.date.weekday(),
        o.seed,
        o.training_dates.len(),
        o.training_dates
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        o.positions,
        o.vehicles,
        o.samples,
        o.seconds
    );
    let _ = writeln!(
        md,
        "Noise: GPS σ {} m, {} % outliers up to {} m, reports every {} s, {} % gaps of {}-{} s, \
         {} % of device clocks off by up to ±{} s, {} % of drivers never logged in and {} % of trips not logged in; \
         running times ×{} in the rush hours and ×{} early and late (±{:.0} % around the timetable), dwell 10-60 s.\n",
        args.gps_sigma,
        args.outliers * 100.0,
        args.outlier_max,
        args.interval,
        args.gaps * 100.0,
        args.gap_min,
        args.gap_max,
        args.clock_skew * 100.0,
        args.clock_skew_max,
        args.never_logged_in * 100.0,
        args.trip_not_logged_in * 100.0,
        args.rush_factor,
        args.quiet_factor,
        (args.rush_factor - 1.0).max(1.0 - args.quiet_factor) * 100.0
    );
    let _ = writeln!(
        md,
        "A prediction made h ahead is accurate when the vehicle arrives within the bucket's \
         window of it (actual − predicted in [−early, +late]); the overall score is the mean \
         of the four buckets.\n"
    );
    let _ = writeln!(
        md,
        "| method | 0-3 min (−0.5/+1.5) | 3-6 min (−1/+2.5) | 6-10 min (−1/+3.5) | 10-15 min (−1.5/+4.5) | overall |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (name, s) in &o.scores {
        let _ = writeln!(
            md,
            "| {name} | {:.1} % (n={}) | {:.1} % (n={}) | {:.1} % (n={}) | {:.1} % (n={}) | **{:.1} %** |",
            s.bucket(0),
            s.samples[0],
            s.bucket(1),
            s.samples[1],
            s.bucket(2),
            s.samples[2],
            s.bucket(3),
            s.samples[3],
            s.overall()
        );
    }
    let _ = writeln!(
        md,
        "\nSteadiness between refreshes 30 s apart (predictions up to 15 min ahead): ours moves a \
         prediction by {:.1} s on average ({:.1} % of refreshes by a minute or more) and its countdown \
         goes up in {:.1} % of refreshes; delay-shift {:.1} s ({:.1} %), {:.1} %.\n\n\
         The same day with one condition changed at a time, a disrupted day and the harshest day: \
         [matrix.md](matrix.md).",
        o.scores[0].1.mean_jump(),
        o.scores[0].1.big_jumps_pct(),
        o.scores[0].1.backwards_pct(),
        o.scores[2].1.mean_jump(),
        o.scores[2].1.big_jumps_pct(),
        o.scores[2].1.backwards_pct()
    );
    let ours = &o.scores[0].1;
    let _ = writeln!(
        md,
        "\nLikely windows: every prediction comes with the window the arrival will likely fall in \
         (the page shows \"3-5 min\" where it spans two minutes or more). Share of arrivals that fell \
         in it, and its mean width:\n\n\
         | | 0-3 min | 3-6 min | 6-10 min | 10-15 min | all |\n|---|---|---|---|---|---|\n\
         | arrival in the window | {:.1} % | {:.1} % | {:.1} % | {:.1} % | **{:.1} %** |\n\
         | mean width | {:.1} min | {:.1} min | {:.1} min | {:.1} min | |",
        ours.coverage(Some(0)),
        ours.coverage(Some(1)),
        ours.coverage(Some(2)),
        ours.coverage(Some(3)),
        ours.coverage(None),
        ours.window_minutes(0),
        ours.window_minutes(1),
        ours.window_minutes(2),
        ours.window_minutes(3),
    );
    let _ = writeln!(md, "\nMean absolute error by horizon (minutes):\n");
    let _ = write!(md, "| horizon |");
    for (name, _) in &o.scores {
        let _ = write!(md, " {name} |");
    }
    let _ = writeln!(md, "\n|---|---|---|---|");
    for m in 0..15 {
        let _ = write!(md, "| {m}-{} min |", m + 1);
        for (_, s) in &o.scores {
            match s.mae_min(m) {
                Some(v) => {
                    let _ = write!(md, " {v:.2} |");
                }
                None => {
                    let _ = write!(md, " – |");
                }
            }
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "\n![bucket accuracy and MAE by horizon](accuracy.svg)\n\nMade with:\n\n```sh\n{command_line}\n```\n\n\
         Baselines, on the same samples: *timetable* predicts the scheduled arrival; \
         *delay-shift* adds the vehicle's current delay (its lateness against the timetable at \
         its current position) to every later scheduled arrival, which is what most systems do. \
         Arrivals at a trip's first stop (terminal departures) are not scored. Vehicles that are \
         stale (no report for 90 s) or off route make no predictions and are not sampled. \
         accuracy.json holds the raw tallies."
    );
    std::fs::write(dir.join("README.md"), md)?;
    Ok(())
}

/// Two panels: bucket accuracy (bars) and mean absolute error by horizon
/// (lines), one colour per predictor.
fn svg(o: &Outcome) -> anyhow::Result<String> {
    let mut out = String::new();
    draw_accuracy(&mut out, o).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    Ok(out)
}

fn draw_accuracy(out: &mut String, o: &Outcome) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let colors = [
        RGBColor(0x1b, 0x78, 0x37),
        RGBColor(0x99, 0x99, 0x99),
        RGBColor(0xd6, 0x60, 0x4d),
    ];
    let root = SVGBackend::with_string(out, (900, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(450);

    let labels = ["0-3", "3-6", "6-10", "10-15", "overall"];
    let mut bars = ChartBuilder::on(&left)
        .caption("Accuracy by bucket (%)", ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(40)
        .build_cartesian_2d((0..labels.len() as u32 - 1).into_segmented(), 0.0..100.0)?;
    bars.configure_mesh()
        .disable_x_mesh()
        .x_desc("minutes ahead")
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).copied().unwrap_or("").into(),
            _ => String::new(),
        })
        .draw()?;
    let per_group = o.scores.len().max(1) as u32 + 1;
    for (m, (_, sc)) in o.scores.iter().enumerate() {
        let color = colors[m % colors.len()];
        bars.draw_series((0..labels.len()).map(|g| {
            let v = if g < 4 { sc.bucket(g) } else { sc.overall() };
            // Each group is split in `per_group` slots; predictor m takes slot m.
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(g as u32), 0.0),
                    (SegmentValue::Exact(g as u32 + 1), v),
                ],
                color.filled(),
            );
            let width = 360 / labels.len() as u32;
            let slot = width / per_group;
            let l = slot / 2 + slot * m as u32;
            bar.set_margin(0, 0, l, width.saturating_sub(l + slot));
            bar
        }))?;
    }

    let max = o
        .scores
        .iter()
        .flat_map(|(_, sc)| (0..15).filter_map(|m| sc.mae_min(m)))
        .fold(1.0f64, f64::max)
        .ceil();
    let mut lines = ChartBuilder::on(&right)
        .caption("Mean absolute error (min) by horizon", ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..15.0, 0.0..max)?;
    lines.configure_mesh().x_desc("minutes ahead").draw()?;
    for (m, (name, sc)) in o.scores.iter().enumerate() {
        let color = colors[m % colors.len()];
        lines
            .draw_series(LineSeries::new(
                (0..15).filter_map(|b| sc.mae_min(b).map(|v| (b as f64 + 0.5, v))),
                color.stroke_width(2),
            ))?
            .label(format!("{name} ({:.1} %)", sc.overall()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    lines
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Plays `positions` noisy positions of a simulated day through one tracker
/// on this thread: (positions, seconds). Each repetition of the day shifts
/// the vehicle ids so every pass starts fresh.
pub fn bench_matching(positions: usize, date: NaiveDate) -> anyhow::Result<(usize, f64)> {
    let feed_dir = kagoshima_sim::feed::sample_feed_dir();
    let net = Arc::new(Network::build(
        kagoshima_network::read::snapshot::from_feed(&feed_dir)?,
    )?);
    let sim_feed = SimFeed::load(&feed_dir)?;
    let mut cfg = SimConfig::new(date);
    cfg.scale = 0.02;
    let day = simulate_day(&sim_feed, &cfg);
    let base = reports(&day);
    anyhow::ensure!(!base.is_empty(), "the simulated day has no positions");
    let mut tracker = Tracker::new(net, TrackerConfig::default());
    let started = Instant::now();
    let mut done = 0;
    let mut pass = 0;
    while done < positions {
        let mut tail = Vec::new();
        for r in base.iter().take(positions - done) {
            let mut r = r.clone();
            if pass > 0 {
                r.vehicle_id = format!("{}-{pass}", r.vehicle_id);
            }
            tail.push(r);
        }
        let t0 = Instant::now();
        for r in &tail {
            std::hint::black_box(tracker.ingest(r));
        }
        let _ = t0;
        done += tail.len();
        pass += 1;
    }
    Ok((done, started.elapsed().as_secs_f64()))
}
