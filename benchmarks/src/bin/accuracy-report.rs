//! Prediction accuracy and map-matching speed, offline: a simulated day
//! played through the tracker (no database, broker or service). Kept out of
//! the location service's binary, which no longer links the simulator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use kagoshima_bench::accuracy;

/// Arrival-prediction accuracy against a simulated day's ground truth, and
/// the tracker's map-matching throughput. Run in release mode.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score arrival predictions on a simulated day against its ground
    /// truth (and two baselines); writes README.md, accuracy.svg and
    /// accuracy.json.
    Report(accuracy::AccuracyArgs),
    /// The accuracy matrix: the published day again with one condition
    /// changed at a time (GPS noise, outliers, report interval, gaps,
    /// running-time swings, Saturday, holiday), a disrupted day and the
    /// harshest day; every cell beside both baselines, with how steady the
    /// predictions are. Writes matrix.md, matrix.svg and matrix.json (about
    /// a minute a cell).
    Matrix(kagoshima_bench::matrix::MatrixArgs),
    /// Map-matching throughput on one core: plays a simulated day's noisy
    /// positions through the tracker and reports positions per second.
    BenchMatching {
        /// Positions to play (from a simulated day, repeated if needed).
        #[arg(long, default_value_t = 1_000_000)]
        positions: usize,
        #[arg(long, default_value = "2025-06-10")]
        date: chrono::NaiveDate,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Report(args) => {
            let line = std::iter::once(
                "cargo run --release -p kagoshima-bench --bin accuracy-report --".to_owned(),
            )
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" ");
            let o = accuracy::run(&args, &line)?;
            for (name, s) in &o.scores {
                println!(
                    "{name:12} 0-3 {:5.1}%  3-6 {:5.1}%  6-10 {:5.1}%  10-15 {:5.1}%  overall {:5.1}%",
                    s.bucket(0),
                    s.bucket(1),
                    s.bucket(2),
                    s.bucket(3),
                    s.overall()
                );
            }
            println!(
                "{} samples in {:.0} s; written to {}",
                o.samples,
                o.seconds,
                args.out.display()
            );
        }
        Command::Matrix(args) => {
            let line = std::iter::once(
                "cargo run --release -p kagoshima-bench --bin accuracy-report --".to_owned(),
            )
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" ");
            let cells = kagoshima_bench::matrix::run(&args, &line)?;
            println!(
                "{} cells written to {}",
                cells.len(),
                args.out.join("matrix.md").display()
            );
        }
        Command::BenchMatching { positions, date } => {
            let (n, secs) = accuracy::bench_matching(positions, date)?;
            println!(
                "map matching: {n} positions in {secs:.2} s on one core = {:.0} positions/s",
                n as f64 / secs
            );
        }
    }
    Ok(())
}
