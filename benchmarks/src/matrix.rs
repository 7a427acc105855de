//! The accuracy matrix: the published day's report (see [`crate::accuracy`])
//! run again with one condition changed at a time (GPS noise, outliers,
//! report interval, gaps, running-time swings, the day type), on a
//! disrupted day and on the harshest day of all, each cell beside its two
//! baselines, with how steady the predictions are between refreshes.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::accuracy::{AccuracyArgs, Outcome, evaluate};

/// One cell: a name, what it changes, and whether it is realistic (the
/// goals differ for the harshest cell).
pub struct Cell {
    pub name: &'static str,
    pub what: &'static str,
    pub realistic: bool,
    pub change: fn(&mut AccuracyArgs),
}

/// Running times ×(1 + s) in the rush hours and ×(1 − s·5/7) early and late
/// (the published day's ±35 % is ×1.35 and ×0.75).
fn swing(a: &mut AccuracyArgs, s: f64) {
    a.rush_factor = 1.0 + s;
    a.quiet_factor = 1.0 - s * 5.0 / 7.0;
}

fn harshest(a: &mut AccuracyArgs) {
    a.gps_sigma = 25.0;
    a.outliers = 0.05;
    a.outlier_max = 500.0;
    a.interval = "15-30".into();
    a.gaps = 0.10;
    a.gap_min = 60.0;
    a.gap_max = 300.0;
    swing(a, 0.5);
}

/// The cells, the published day first.
pub fn cells() -> Vec<Cell> {
    vec![
        Cell {
            name: "published",
            what: "the published day: GPS σ 10 m, 2 % outliers ≤ 300 m, every 5-15 s, 5 % gaps of 1-3 min, ±35 %, weekday",
            realistic: true,
            change: |_| {},
        },
        Cell {
            name: "gps-5",
            what: "GPS σ 5 m",
            realistic: true,
            change: |a| a.gps_sigma = 5.0,
        },
        Cell {
            name: "gps-25",
            what: "GPS σ 25 m",
            realistic: true,
            change: |a| a.gps_sigma = 25.0,
        },
        Cell {
            name: "outliers-0",
            what: "no outliers",
            realistic: true,
            change: |a| a.outliers = 0.0,
        },
        Cell {
            name: "outliers-5",
            what: "5 % outliers up to 500 m",
            realistic: true,
            change: |a| {
                a.outliers = 0.05;
                a.outlier_max = 500.0;
            },
        },
        Cell {
            name: "every-5",
            what: "a report every 5 s",
            realistic: true,
            change: |a| a.interval = "5-5".into(),
        },
        Cell {
            name: "every-30",
            what: "a report every 15-30 s",
            realistic: true,
            change: |a| a.interval = "15-30".into(),
        },
        Cell {
            name: "gaps-0",
            what: "no gaps",
            realistic: true,
            change: |a| a.gaps = 0.0,
        },
        Cell {
            name: "gaps-10",
            what: "10 % gaps of 1-5 min",
            realistic: true,
            change: |a| {
                a.gaps = 0.10;
                a.gap_max = 300.0;
            },
        },
        Cell {
            name: "swing-25",
            what: "running times ±25 %",
            realistic: true,
            change: |a| swing(a, 0.25),
        },
        Cell {
            name: "swing-50",
            what: "running times ±50 %",
            realistic: true,
            change: |a| swing(a, 0.5),
        },
        Cell {
            name: "saturday",
            what: "a Saturday (2025-06-14)",
            realistic: true,
            change: |a| a.date = NaiveDate::from_ymd_opt(2025, 6, 14).unwrap_or(a.date),
        },
        Cell {
            name: "holiday",
            what: "a national holiday (Marine Day, Mon 2025-07-21) on seed + 1: the city runs one 土日祝 timetable on Saturdays, Sundays and holidays, so on the same seed it is the Saturday's simulated day again",
            realistic: true,
            change: |a| {
                a.date = NaiveDate::from_ymd_opt(2025, 7, 21).unwrap_or(a.date);
                a.seed += 1;
            },
        },
        Cell {
            name: "disrupted",
            what: "disrupted: 30 % of trips start 1-15 min late (bunching, gaps in service)",
            realistic: true,
            change: |a| {
                a.late_start_share = 0.30;
                a.late_start_max = 900;
            },
        },
        Cell {
            name: "harshest",
            what: "all at once: σ 25 m, 5 % outliers ≤ 500 m, every 15-30 s, 10 % gaps of 1-5 min, ±50 %",
            realistic: false,
            change: harshest,
        },
    ]
}

/// The matrix's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct MatrixArgs {
    /// The seed of the reported days (keep the days tuned on apart: tune
    /// on another seed).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Only these cells (names, comma-separated); default all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Where matrix.md, matrix.svg and matrix.json go.
    #[arg(long, default_value = "reports/accuracy")]
    pub out: PathBuf,
}

/// One cell's outcome.
#[derive(Debug, serde::Serialize)]
pub struct CellOutcome {
    pub name: String,
    pub what: String,
    pub realistic: bool,
    pub outcome: Outcome,
}

/// Runs the cells, printing each as it ends.
pub fn run(args: &MatrixArgs, command_line: &str) -> anyhow::Result<Vec<CellOutcome>> {
    let mut out = Vec::new();
    for cell in cells() {
        if !args.only.is_empty() && !args.only.iter().any(|n| n == cell.name) {
            continue;
        }
        let mut a = AccuracyArgs::published();
        a.seed = args.seed;
        (cell.change)(&mut a);
        let outcome = evaluate(&a)?;
        let [ours, _, shift] = [0, 1, 2].map(|i| &outcome.scores[i].1);
        eprintln!(
            "{:11} ours {:5.1} % (0-3 {:5.1})  delay-shift {:5.1} % (0-3 {:5.1})  jump {:4.1} s  backwards {:4.1} %  window {:4.1} % ({:.1}/{:.1}/{:.1}/{:.1} min)  {:.0} s",
            cell.name,
            ours.overall(),
            ours.bucket(0),
            shift.overall(),
            shift.bucket(0),
            ours.mean_jump(),
            ours.backwards_pct(),
            ours.coverage(None),
            ours.window_minutes(0),
            ours.window_minutes(1),
            ours.window_minutes(2),
            ours.window_minutes(3),
            outcome.seconds
        );
        out.push(CellOutcome {
            name: cell.name.into(),
            what: cell.what.into(),
            realistic: cell.realistic,
            outcome,
        });
    }
    write(&args.out, &out, command_line)?;
    Ok(out)
}

fn write(dir: &Path, cells: &[CellOutcome], command_line: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("matrix.json"),
        serde_json::to_string_pretty(cells)? + "\n",
    )?;
    std::fs::write(dir.join("matrix.svg"), svg(cells)?)?;
    let mut md = String::from("# Arrival-prediction accuracy: the matrix\n\n");
    let _ = writeln!(
        md,
        "The published day's report ([README.md](README.md)) run again with one condition changed \
         at a time, on a disrupted day and on the harshest day (every harsh condition at once). \
         Each cell trains on its own 5 earlier days of the same day type and is scored on its test \
         day (seed {}); the buckets, windows and baselines are the published report's. \
         *Jump*: the mean change of a prediction between two refreshes 30 s apart; *backwards*: \
         the share of refreshes where the countdown a rider sees (whole minutes) went up; both \
         for predictions up to 15 minutes ahead. *Window*: the share of arrivals that fell in \
         the prediction's likely window (the page's \"3-5 min\"), and its mean width by bucket.\n",
        cells.first().map_or(0, |c| c.outcome.seed)
    );
    let _ = writeln!(
        md,
        "| cell | ours 0-3 | 3-6 | 6-10 | 10-15 | **ours** | timetable | delay-shift | ours − shift | 0-3: ours − shift | MAE 0-3 / 3-6 / 6-10 / 10-15 min (ours) | MAE (delay-shift) | jump ours / shift (s) | backwards ours / shift | window: arrivals in it | width 0-3 / 3-6 / 6-10 / 10-15 min |"
    );
    let _ = writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for c in cells {
        let s = |i: usize| &c.outcome.scores[i].1;
        let (ours, table, shift) = (s(0), s(1), s(2));
        let mae = |x: &crate::accuracy::Score| {
            (0..4)
                .map(|b| x.bucket_mae(b).map_or("–".into(), |v| format!("{v:.2}")))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let _ = writeln!(
            md,
            "| {}{} | {:.1} | {:.1} | {:.1} | {:.1} | **{:.1}** | {:.1} | {:.1} | {:+.1} | {:+.1} | {} | {} | {:.1} / {:.1} | {:.1} % / {:.1} % | {:.1} % | {} |",
            c.name,
            if c.realistic { "" } else { " (harshest)" },
            ours.bucket(0),
            ours.bucket(1),
            ours.bucket(2),
            ours.bucket(3),
            ours.overall(),
            table.overall(),
            shift.overall(),
            ours.overall() - shift.overall(),
            ours.bucket(0) - shift.bucket(0),
            mae(ours),
            mae(shift),
            ours.mean_jump(),
            shift.mean_jump(),
            ours.backwards_pct(),
            shift.backwards_pct(),
            ours.coverage(None),
            (0..4)
                .map(|b| format!("{:.1}", ours.window_minutes(b)))
                .collect::<Vec<_>>()
                .join(" / "),
        );
    }
    let _ = writeln!(
        md,
        "\nGoals (issue #18): at least 90 % on every realistic cell and 85 % on the harshest, \
         10 points over delay-shift everywhere, 5 points over it in the 0-3 minute bucket.\n"
    );
    for c in cells {
        let s = |i: usize| &c.outcome.scores[i].1;
        let (ours, shift) = (s(0), s(2));
        let floor = if c.realistic { 90.0 } else { 85.0 };
        let mut missed = Vec::new();
        if ours.overall() < floor {
            missed.push(format!("{:.1} % < {floor:.0} %", ours.overall()));
        }
        if ours.overall() - shift.overall() < 10.0 {
            missed.push(format!(
                "{:+.1} over delay-shift",
                ours.overall() - shift.overall()
            ));
        }
        if ours.bucket(0) - shift.bucket(0) < 5.0 {
            missed.push(format!("0-3 min {:+.1}", ours.bucket(0) - shift.bucket(0)));
        }
        if !missed.is_empty() {
            let _ = writeln!(md, "- **{}** misses: {}", c.name, missed.join(", "));
        }
    }
    let _ = writeln!(md, "\nThe cells:\n");
    for c in cells {
        let _ = writeln!(
            md,
            "- **{}**: {} ({} positions, {} samples, {:.0} s)",
            c.name, c.what, c.outcome.positions, c.outcome.samples, c.outcome.seconds
        );
    }
    let _ = writeln!(
        md,
        "\n![overall accuracy per cell, ours against both baselines](matrix.svg)\n\nMade with:\n\n```sh\n{command_line}\n```\n\nmatrix.json holds every cell's raw tallies."
    );
    std::fs::write(dir.join("matrix.md"), md)?;
    Ok(())
}

/// Overall accuracy per cell, one bar per method.
fn svg(cells: &[CellOutcome]) -> anyhow::Result<String> {
    let mut out = String::new();
    draw(&mut out, cells).map_err(|e| anyhow::anyhow!("cannot draw the chart: {e}"))?;
    Ok(out)
}

fn draw(out: &mut String, cells: &[CellOutcome]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let colors = [
        RGBColor(0x1b, 0x78, 0x37),
        RGBColor(0x99, 0x99, 0x99),
        RGBColor(0xd6, 0x60, 0x4d),
    ];
    let n = cells.len().max(1) as u32;
    let root = SVGBackend::with_string(out, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Overall accuracy (%) per cell", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..115.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(cells.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => cells
                .get(*i as usize)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_style(("sans-serif", 10))
        .draw()?;
    let width = 940 / n;
    let slot = width / 4;
    for (m, name) in ["ours", "timetable", "delay-shift"].iter().enumerate() {
        let color = colors[m];
        chart
            .draw_series(cells.iter().enumerate().map(|(i, c)| {
                let v = c.outcome.scores[m].1.overall();
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i as u32), 0.0),
                        (SegmentValue::Exact(i as u32 + 1), v),
                    ],
                    color.filled(),
                );
                let l = slot / 2 + slot * m as u32;
                bar.set_margin(0, 0, l, width.saturating_sub(l + slot));
                bar
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}
