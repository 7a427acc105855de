//! The `kagoshima-indicators` command line: the service (`serve`) and the
//! analyst's commands (refresh, reports, exports, back-office imports, the
//! plan and its progress).
use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::export::{self, TidesTable};
use crate::period::Period;
use crate::plan::Plan;
use crate::progress::table;
use crate::report::ReportFormat;
use crate::{Application, Indicators, IndicatorsConfig, backoffice, rides};
use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use kagoshima_domain::calendar::{FiscalYear, YearMonth};
use kagoshima_runtime::{config, shutdown, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "kagoshima-indicators",
    version,
    about = "Kagoshima City transit indicators: DX-plan progress (進捗率 and 進捗状況)"
)]
struct Cli {
    /// TOML configuration file (then KAGOSHIMA_<SECTION>__<KEY> variables and
    /// DATABASE_URL override it).
    #[arg(long, short, global = true, env = "KAGOSHIMA_CONFIG")]
    config: Option<PathBuf>,
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
    /// Run the gRPC IndicatorService (and recompute dirty dates in the background).
    Serve,
    /// Recompute rides and rollups of the dates marked dirty (and, with
    /// --from/--to, of those dates too).
    Refresh {
        #[arg(long, requires = "to")]
        from: Option<NaiveDate>,
        #[arg(long, requires = "from")]
        to: Option<NaiveDate>,
    },
    /// Write a report for a month (with its fiscal year to date) or a fiscal year.
    Report {
        /// JST month, YYYY-MM.
        #[arg(
            long,
            conflicts_with = "fiscal_year",
            required_unless_present = "fiscal_year"
        )]
        month: Option<String>,
        /// FY2024, 2024, R6 or 令和6年度.
        #[arg(long)]
        fiscal_year: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        /// File to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import かごりん trip records (simulator CSV format).
    ImportBikeshare { file: PathBuf },
    /// Import 1-day ticket sales (simulator CSV format).
    ImportTicketSales { file: PathBuf },
    /// Survey results and other figures entered by hand.
    Survey {
        #[command(subcommand)]
        command: SurveyCommand,
    },
    /// Exports for analysts.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Timetable planning (ダイヤ編成) for a period and a route: observed
    /// running and dwell times against the timetable by time band, schedule
    /// adherence, headway regularity, loads and crowded trips, OD and
    /// inbound cards from the rides; a draft timetable whose trip times are
    /// the observed 85th percentiles, and its diff.
    #[command(after_help = PLANNING_HELP)]
    Planning {
        /// First service day, YYYY-MM-DD.
        #[arg(long)]
        from: NaiveDate,
        /// Last service day (inclusive; default: --from).
        #[arg(long)]
        until: Option<NaiveDate>,
        /// Only this route (GTFS route_id).
        #[arg(long)]
        route: Option<String>,
        /// The timetable in force to draft from (a GTFS folder or zip);
        /// default: the active feed as imported (its files are kept).
        #[arg(long, value_name = "DIR|ZIP")]
        feed: Option<PathBuf>,
        /// Folder for the report (created).
        #[arg(long, default_value = "planning")]
        out: PathBuf,
    },
}

const PLANNING_HELP: &str = "\
Writes into --out: summary.md (for the bureau, Japanese and English),
segments.csv, trip_times.csv, dwells.csv, adherence.csv, headways.csv,
trips.csv (loads, crowded), od.csv, inbound.csv, load_profiles.csv,
planning.xlsx (every table as a sheet), analysis.json, running-times.svg,
load-profile-<route>-<direction>.svg (the load leaving each stop by band,
against the capacity), with --route string-line.svg (the time-distance
diagram of its first observed morning peak), and draft/ (the draft GTFS
feed, same IDs) with draft-diff.csv. Stop and route names come from the
active feed; the tables keep the IDs beside them.

Time bands (scheduled departure, JST): early (to 07:00), am_peak (07-09),
midday (09-16), pm_peak (16-19), evening (19:00 on). On time: from 1 min
early to 5 min late (TCQSM). Crowded: a load over the mode's capacity
([capacity] in the configuration: tram 80, bus 70, community bus 25).

Example:
  kagoshima-indicators planning --from 2026-10-01 --until 2026-10-31 \\
      --route tram-1 --feed simulators/feed/kagoshima --out planning-2026-10";

#[derive(Debug, Subcommand)]
enum SurveyCommand {
    /// Set an indicator's value for a fiscal year.
    Set {
        #[arg(long)]
        fiscal_year: FiscalYear,
        #[arg(long)]
        indicator: String,
        /// Decimal, such as 41.2.
        #[arg(long)]
        value: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// One TIDES table as CSV (fare_transactions carries no token_id).
    Tides {
        #[arg(long, value_enum)]
        table: TidesTable,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Ridership open data of a month, cells under k distinct cards suppressed.
    OpenData {
        #[arg(long)]
        month: YearMonth,
        /// Default: open_data.k of the configuration (10).
        #[arg(long)]
        k: Option<u32>,
        #[arg(long)]
        out: Option<PathBuf>,
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

/// Parses the command line and runs the command.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Progress { .. } | Command::Plan { .. } => offline(cli.command),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(online(cli.config, command))
        }
    }
}

async fn connect(config: &IndicatorsConfig) -> anyhow::Result<Indicators> {
    let store = kagoshima_storage::Store::open(
        config.database.url.expose(),
        config.database.max_connections,
    )
    .await?;
    Ok(Indicators::new(store.pool().clone(), config.clone())?)
}

async fn online(config_file: Option<PathBuf>, command: Command) -> anyhow::Result<()> {
    let config: IndicatorsConfig =
        config::load(config_file.as_deref()).context("loading the configuration")?;
    telemetry::init(&config.log.filter, config.log.format);
    let now = Utc::now();
    match command {
        Command::Serve => {
            let shutdown = shutdown::Shutdown::new();
            shutdown::on_signals(shutdown.clone());
            let app = Application::build(config).await?;
            println!(
                "indicators: gRPC on {}, metrics and health on http://{}",
                app.grpc_addr(),
                app.http_addr()
            );
            app.run_until_stopped(shutdown).await?;
        }
        Command::Refresh { from, to } => {
            let ind = connect(&config).await?;
            if let (Some(from), Some(to)) = (from, to) {
                rides::mark_dirty(&ind.pool, from, to).await?;
            }
            let done = ind.refresh().await?;
            println!("recomputed {} dates ({} rides)", done.dates, done.rides);
        }
        Command::Report {
            month,
            fiscal_year,
            format,
            out,
        } => {
            let period = match (month, fiscal_year) {
                (Some(m), _) => Period::parse(&m)?,
                (None, Some(fy)) => Period::FiscalYear(crate::period::parse_fiscal_year(&fy)?),
                (None, None) => anyhow::bail!("give --month or --fiscal-year"),
            };
            let ind = connect(&config).await?;
            let file = ind.render(period, format, now).await?;
            with_output(out, |buf| {
                buf.extend_from_slice(&file.content);
                Ok(())
            })?;
        }
        Command::ImportBikeshare { file } => {
            let ind = connect(&config).await?;
            let f = fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let (read, new) = backoffice::import_bikeshare(&ind.pool, f).await?;
            println!("{}: {read} trips read, {new} new", file.display());
        }
        Command::ImportTicketSales { file } => {
            let ind = connect(&config).await?;
            let f = fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
            let (read, new) = backoffice::import_ticket_sales(&ind.pool, f).await?;
            println!("{}: {read} sales read, {new} new", file.display());
        }
        Command::Planning {
            from,
            until,
            route,
            feed,
            out,
        } => {
            let until = until.unwrap_or(from);
            anyhow::ensure!(until >= from, "--until {until} is before --from {from}");
            let ind = connect(&config).await?;
            let request = crate::planning::PlanningRequest {
                from,
                until,
                route_id: route,
                capacity: config.capacity.clone(),
            };
            let analysis = crate::planning::analyse(&ind.pool, &request).await?;
            // The feed to draft from: --feed, else the active feed's files
            // as imported.
            let feed_files = match &feed {
                Some(path) => Some(
                    kagoshima_network::feed::read_files(path)
                        .map_err(|report| anyhow::anyhow!("{report}"))
                        .with_context(|| format!("reading {}", path.display()))?
                        .0,
                ),
                None => kagoshima_network::read::schedule::active_feed_files(&ind.pool).await?,
            };
            let bundle =
                crate::planning::bundle::make(&ind.pool, &analysis, feed_files.as_ref()).await?;
            let draft = bundle.draft;
            let mut files = Vec::new();
            for (name, bytes) in &bundle.files {
                let path = out.join(name);
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                if !name.starts_with(crate::planning::bundle::DRAFT_DIR) {
                    files.push(name.clone());
                }
            }
            if draft.is_some() {
                files.push(crate::planning::bundle::DRAFT_DIR.into());
            }
            if let Some(why) = &analysis.empty_reason {
                eprintln!("{why}");
            }
            println!(
                "{}: {} ({} days observed, {} crowded trip-days{})",
                out.display(),
                files.join(", "),
                analysis.days_observed,
                analysis.crowded().count(),
                draft.as_ref().map_or(String::new(), |d| format!(
                    ", draft changes {} trips",
                    d.trips.len()
                ))
            );
        }
        Command::Survey {
            command:
                SurveyCommand::Set {
                    fiscal_year,
                    indicator,
                    value,
                    note,
                },
        } => {
            let ind = connect(&config).await?;
            backoffice::set_survey(
                &ind.pool,
                &ind.plan,
                fiscal_year,
                &indicator,
                &value,
                note.as_deref(),
                "cli",
            )
            .await?;
            println!("{indicator} {fiscal_year} = {value}");
        }
        Command::Export { command } => {
            let ind = connect(&config).await?;
            ind.refresh().await?;
            match command {
                ExportCommand::Tides {
                    table,
                    from,
                    to,
                    out,
                } => {
                    let mut buf = Vec::new();
                    let n = export::tides(&ind.pool, table, from, to, &mut buf).await?;
                    eprintln!("{}: {n} rows", table.name());
                    with_output(out, |b| {
                        b.extend_from_slice(&buf);
                        Ok(())
                    })?;
                }
                ExportCommand::OpenData { month, k, out } => {
                    let mut buf = Vec::new();
                    let k = k.unwrap_or(config.open_data.k);
                    let (cells, hidden) = export::open_data(&ind.pool, month, k, &mut buf).await?;
                    eprintln!("open data {month}: {cells} cells, {hidden} suppressed (k = {k})");
                    with_output(out, |b| {
                        b.extend_from_slice(&buf);
                        Ok(())
                    })?;
                }
            }
        }
        Command::Progress { .. } | Command::Plan { .. } => unreachable!("handled offline"),
    }
    Ok(())
}

/// The commands that need no database.
fn offline(command: Command) -> anyhow::Result<()> {
    match command {
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
        _ => unreachable!("online command"),
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
