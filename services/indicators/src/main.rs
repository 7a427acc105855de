//! `kagoshima-indicators`: DX-plan progress from the command line.
use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kagoshima_domain::calendar::FiscalYear;
use kagoshima_indicators::plan::Plan;
use kagoshima_indicators::progress::table;

#[derive(Debug, Parser)]
#[command(
    name = "kagoshima-indicators",
    version,
    about = "Kagoshima City transit indicators: DX-plan progress (進捗率 and 進捗状況)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The progress rules, shown in the help of both commands.
macro_rules! rules {
    () => {
        "\
Rules (鹿児島市DX推進計画):
  progress_rate_pct = actual / target × 100, same fiscal year, shown with one
                      decimal, rounded half up on the exact value (numbers are
                      read as exact decimals, not floats).
  status            = ◎ rate ≥ 90 %, ○ 70 % ≤ rate < 90 %, △ rate < 70 %,
                      judged on the unrounded rate (89.96 % shows 90.0 and is ○);
                      − when there is no target.
  policy average    = mean of the indicators' unrounded rates, then rounded
                      and judged the same way."
    };
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill in progress_rate_pct and status for a CSV of indicators.
    #[command(after_help = PROGRESS_HELP)]
    Progress {
        /// CSV file to read, or - for standard input.
        #[arg(short, long, value_name = "FILE|-", default_value = "-")]
        input: String,
        /// File to write (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the plan's indicators with targets, actuals and progress for a
    /// fiscal year, as CSV, with each policy's average.
    #[command(after_help = PLAN_HELP)]
    Plan {
        /// Fiscal year: FY2022, 2022, 令和4年度 or R4.
        #[arg(short = 'y', long, value_name = "YEAR")]
        fiscal_year: FiscalYear,
        /// Plan file to use instead of the embedded
        /// data/plan/dx-plan-targets.toml.
        #[arg(long, value_name = "FILE", env = "KAGOSHIMA_DX_PLAN")]
        plan: Option<PathBuf>,
        /// File to write (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

const PROGRESS_HELP: &str = concat!(
    "\
Input: CSV with a header line naming at least `target` and `actual`, usually
  no,indicator,target,actual
Output: the same CSV with two columns added at the end:
  progress_rate_pct,status
(if the header already has them, they are recomputed in place). Other fields
are copied unchanged; a UTF-8 BOM and CRLF line ends are kept.

  empty target              → progress_rate_pct empty, status −
  target, empty actual      → both empty (no actual yet)
  target and actual         → rate and ◎ / ○ / △

Numbers: digits with an optional decimal point (1340, 34.3); no signs,
exponents or thousands separators. A bad number, a zero target or a row with
the wrong number of fields stops with an error naming its line (line 1 is the
header).

",
    rules!(),
    "

Example:
  kagoshima-indicators progress --input progress.csv > progress-filled.csv"
);

const PLAN_HELP: &str = concat!(
    "\
Columns: fiscal_year,policy,measure,indicator_id,indicator,unit,target,actual,
progress_rate_pct,status,reported_status. A policy's row averages the
unrounded rates of its indicators that have both a target and an actual.
Rate and status are empty for a target without an actual and for qualitative
indicators; reported_status is the status the committee reported.

",
    rules!(),
    "

Example:
  kagoshima-indicators plan --fiscal-year FY2022"
);

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Progress { input, output } => {
            let mut bytes = Vec::new();
            if input == "-" {
                io::stdin()
                    .read_to_end(&mut bytes)
                    .context("reading standard input")?;
            } else {
                bytes = fs::read(&input).with_context(|| format!("reading {input}"))?;
            }
            let source = if input == "-" {
                "standard input"
            } else {
                &input
            };
            with_output(output, |out| {
                table::fill_progress(&bytes, out).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
                Ok(())
            })
        }
        Command::Plan {
            fiscal_year,
            plan,
            output,
        } => {
            let plan = Plan::load(plan.as_deref())?;
            with_output(output, |out| {
                table::write_plan_progress(&plan, fiscal_year, out)?;
                Ok(())
            })
        }
    }
}

/// Runs `write` on the output file, or on standard output. A file is
/// written only when everything succeeded.
fn with_output(
    path: Option<PathBuf>,
    write: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    write(&mut buffer)?;
    match path {
        Some(path) => {
            fs::write(&path, &buffer).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut stdout = io::stdout().lock();
            stdout.write_all(&buffer)?;
            stdout.flush()?;
            Ok(())
        }
    }
}
