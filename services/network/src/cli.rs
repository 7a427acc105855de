//! The `kagoshima-network` command line: validate and import feeds.
use std::{path::PathBuf, time::Duration};

use crate::{
    ImportOptions, ImportOutcome, feed,
    import::{self, Progress},
};
use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// Kagoshima transit network: imports a GTFS or GTFS-JP feed (a folder or a
/// zip) into the database as a new version and makes it the active one.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the feed and load it as the new active version.
    Import {
        /// The feed: a folder of .txt files or a .zip.
        path: PathBuf,
        /// PostgreSQL URL (created and migrated if needed).
        #[arg(
            long,
            env = "DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/kagoshima"
        )]
        database_url: String,
        /// Import even when this very file was imported before.
        #[arg(long)]
        force: bool,
        /// Agencies whose bus routes are the community bus (あいばす).
        #[arg(long, value_delimiter = ',', default_value = "kagoshima-aibus")]
        community_bus_agencies: Vec<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Import another operator's feed beside the city's: its IDs become
        /// `<FEED_ID>:<id>` so they never collide, and its new versions
        /// replace only its own (e.g. --feed-id nangoku). Without it, the
        /// feed is the city's own, whose IDs the devices use.
        #[arg(long)]
        feed_id: Option<String>,
    },
    /// Check the feed without writing anything.
    Validate {
        /// The feed: a folder of .txt files or a .zip.
        path: PathBuf,
        /// Check it as it would be imported with --feed-id.
        #[arg(long)]
        feed_id: Option<String>,
    },
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn stage(&self, name: &str, rows: usize) {
        self.0.set_position(0);
        self.0.set_length(rows as u64);
        self.0.set_message(name.to_owned());
    }

    fn advance(&self, rows: usize) {
        self.0.inc(rows as u64);
    }
}

fn spinner(message: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn load(path: &std::path::Path, feed_id: Option<&str>, quiet: bool) -> anyhow::Result<feed::Feed> {
    let bar = spinner(&format!("reading and checking {}", path.display()), quiet);
    let loaded = feed::load_as(path, feed_id);
    bar.finish_and_clear();
    match loaded {
        Ok(feed) => Ok(feed),
        Err(report) => {
            eprint!("{} is not a valid feed: {report}", path.display());
            eprintln!("nothing was written.");
            std::process::exit(2);
        }
    }
}

/// Parses the command line and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { path, feed_id } => {
            let feed = load(&path, feed_id.as_deref(), false)?;
            println!(
                "{}: valid. {} agencies, {} routes, {} stops, {} trips, {} stop times, {} shape points{}, {} calendars, {} calendar dates, {} translations ({}), GTFS-JP extra files: {}; texts in {}; sha256 {}",
                path.display(),
                feed.agencies.len(),
                feed.routes.len(),
                feed.stops.len(),
                feed.trips.len(),
                feed.stop_times.len(),
                feed.shapes.len(),
                if feed.shapes.is_empty() {
                    " (shapes will be derived from the stops)"
                } else {
                    ""
                },
                feed.calendars.len(),
                feed.calendar_dates.len(),
                feed.translations.len(),
                feed.translation_form
                    .map_or("none".to_owned(), |f| format!("{f:?} edition form")),
                feed.extra_files
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                feed.language,
                feed.sha256,
            );
            warn_about_period(&feed);
            list_ignored(&feed);
            if !feed.runs.is_empty() {
                println!(
                    "frequencies.txt: {} frequency-based trips expanded into {} runs (counted in the trips above)",
                    feed.frequencies
                        .iter()
                        .map(|f| f.trip_id.as_str())
                        .collect::<std::collections::HashSet<_>>()
                        .len(),
                    feed.runs.len()
                );
            }
            Ok(())
        }
        Command::Import {
            path,
            database_url,
            force,
            community_bus_agencies,
            quiet,
            feed_id,
        } => {
            let feed = load(&path, feed_id.as_deref(), quiet)?;
            let store = kagoshima_storage::Store::open(&database_url, 2)
                .await
                .context("opening the database")?;
            let bar = if quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(0)
            };
            bar.set_style(
                ProgressStyle::with_template("{msg:>22} [{bar:40}] {pos}/{len}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            let options = ImportOptions {
                community_bus_agencies,
                force,
            };
            let outcome = import::import(store.pool(), &feed, &options, &Bar(bar.clone()))
                .await
                .context("writing the feed (nothing was changed)")?;
            bar.finish_and_clear();
            warn_about_period(&feed);
            list_ignored(&feed);
            match outcome {
                ImportOutcome::Imported(s) => {
                    println!(
                        "imported {} as feed version {} (now active{}).",
                        path.display(),
                        s.feed_version_id,
                        s.previous_version_id
                            .map_or(String::new(), |p| format!(", replacing version {p}"))
                    );
                    println!(
                        "  {} agencies, {} routes, {} stops, {} trips, {} stop times\n  {} shapes ({} points{}), {} calendars, {} calendar dates\n  {} translations, {} names, {} search keys, {} GTFS-JP extra rows\n  sha256 {}",
                        s.agencies,
                        s.routes,
                        s.stops,
                        s.trips,
                        s.stop_times,
                        s.shapes,
                        s.shape_points,
                        if s.shapes_derived {
                            ", derived from the stops"
                        } else {
                            ""
                        },
                        s.calendars,
                        s.calendar_dates,
                        s.translations,
                        s.names,
                        s.search_keys,
                        s.extra_rows,
                        s.sha256
                    );
                    if s.frequency_runs > 0 {
                        println!(
                            "  {} frequency-based trips (frequencies.txt) expanded into {} runs",
                            s.frequency_trips, s.frequency_runs
                        );
                    }
                }
                ImportOutcome::AlreadyImported {
                    feed_version_id,
                    active,
                    sha256,
                } => {
                    println!(
                        "{} was already imported as feed version {feed_version_id} ({}; sha256 {sha256}): nothing was written. Use --force to import it again.",
                        path.display(),
                        if active { "active" } else { "not active" }
                    );
                }
            }
            Ok(())
        }
    }
}

/// Lists what of the feed the platform does not read.
fn list_ignored(feed: &crate::Feed) {
    if feed.ignored.is_empty() {
        println!("nothing in the feed is ignored");
        return;
    }
    println!("ignored (the platform does not read these):");
    for i in &feed.ignored {
        println!("  - {i}");
    }
}

/// Says, on stderr, when today's service day is outside the feed's
/// timetable (expired or not started) or its end is near: imported as is,
/// such a feed answers riders with empty boards.
fn warn_about_period(feed: &crate::Feed) {
    let today = kagoshima_domain::calendar::transit_service_day(chrono::Utc::now());
    match feed.service_period() {
        None => eprintln!("warning: the feed runs no service on any date"),
        Some(period) => {
            println!("timetable: {} to {}", period.first, period.last);
            if let Some(why) = period.outside(today) {
                eprintln!("warning: {why}");
            } else if period.ending_soon(today) {
                eprintln!(
                    "warning: the timetable ends on {} ({} days left)",
                    period.last,
                    period.days_left(today)
                );
            }
        }
    }
}
