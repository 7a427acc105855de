//! Every file of a planning report, in memory: what the CLI writes into its
//! folder and what IndicatorService.ExportPlanning hands the dashboard (one
//! file, the draft feed as a zip, or everything as one zip), made in one
//! place so that both give the same files.
use std::{collections::BTreeMap, io::Write as _};

use sqlx::PgPool;

use super::{
    analysis::Analysis,
    draft::{self, Draft, DraftError},
    loads, report, stringline,
};

/// File name → content. The draft feed's files are under `draft/`.
pub type Files = BTreeMap<String, Vec<u8>>;

/// The name of everything as one zip, and of the draft feed as a zip.
pub const ALL_ZIP: &str = "planning.zip";
pub const DRAFT_ZIP: &str = "draft.zip";
/// The folder of the draft feed inside the report.
pub const DRAFT_DIR: &str = "draft/";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("making the draft timetable: {0}")]
    Draft(#[from] DraftError),
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}

/// A report and what its draft changed.
#[derive(Debug)]
pub struct Bundle {
    pub draft: Option<Draft>,
    pub files: Files,
}

/// A name that is safe as a file name (route IDs may hold any character).
pub fn file_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The load-profile chart's file name of a route and direction.
pub fn load_profile_name(route_id: &str, direction_id: i16) -> String {
    format!("load-profile-{}-{direction_id}.svg", file_part(route_id))
}

/// The string-line diagram's file name.
pub const STRING_LINE: &str = "string-line.svg";

/// The load-profile chart of every route and direction.
fn load_profile_charts(analysis: &Analysis) -> Files {
    let profiles = &analysis.load_profiles;
    let mut keys: Vec<(&str, i16)> = profiles
        .iter()
        .map(|p| (p.route_id.as_str(), p.direction_id))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut files = Files::new();
    for (route, direction) in keys {
        let of_it: Vec<&loads::LoadProfile> = profiles
            .iter()
            .filter(|p| p.route_id == route && p.direction_id == direction)
            .collect();
        let title = format!(
            "{} 方向{direction} 停留所別の車内人数 / load leaving each stop, {} – {}",
            analysis.route_name(route),
            analysis.from,
            analysis.until
        );
        if let Some(svg) = loads::svg(&of_it, &analysis.stop_names, &title) {
            files.insert(load_profile_name(route, direction), svg.into_bytes());
        }
    }
    files
}

/// With a route, the string-line diagram of its first observed morning
/// peak (07-09, direction 0).
async fn string_line(pool: &PgPool, analysis: &Analysis) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let Some(route) = analysis.route_id.as_deref() else {
        return Ok(None);
    };
    if analysis.empty_reason.is_some() {
        return Ok(None);
    }
    for day in analysis
        .from
        .iter_days()
        .take_while(|d| *d <= analysis.until)
    {
        let (stops, lines) = stringline::lines(pool, day, route, 0, (7, 9)).await?;
        if lines.is_empty() {
            continue;
        }
        let names: Vec<String> = stops.iter().map(|s| analysis.stop_name(s)).collect();
        let title = format!(
            "{} {day} 7-9時 ダイヤグラム（実績と計画）/ time-distance diagram, observed over timetable",
            analysis.route_name(route)
        );
        return Ok(stringline::svg(&title, &names, &lines).map(String::into_bytes));
    }
    Ok(None)
}

/// Whether `name` is a chart made on its own (without the rest).
pub fn is_chart(name: &str) -> bool {
    name == STRING_LINE || (name.starts_with("load-profile-") && name.ends_with(".svg"))
}

/// One chart of the report alone (see [`is_chart`]); `None` when the
/// report has no such chart.
pub async fn chart(
    pool: &PgPool,
    analysis: &Analysis,
    name: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    if name == STRING_LINE {
        return string_line(pool, analysis).await;
    }
    Ok(load_profile_charts(analysis).remove(name))
}

/// Makes every file of the report of `analysis`: the tables, summary,
/// workbook and charts, a load profile per route and direction, with a
/// route the string-line diagram of its first observed morning peak, and
/// with the feed's files the draft timetable (under [`DRAFT_DIR`]).
pub async fn make(
    pool: &PgPool,
    analysis: &Analysis,
    feed: Option<&Files>,
) -> Result<Bundle, BundleError> {
    let drafted = match feed {
        Some(files) if analysis.empty_reason.is_none() => Some(draft::draft(files, analysis)?),
        _ => None,
    };
    let draft = drafted.as_ref().map(|(d, _)| d);
    let mut files = report::files(analysis, draft)?;
    if let Some((_, feed)) = &drafted {
        for (name, bytes) in feed {
            files.insert(format!("{DRAFT_DIR}{name}"), bytes.clone());
        }
    }
    files.extend(load_profile_charts(analysis));
    if let Some(svg) = string_line(pool, analysis).await? {
        files.insert(STRING_LINE.into(), svg);
    }
    Ok(Bundle {
        draft: drafted.map(|(d, _)| d),
        files,
    })
}

/// The files whose names start with `prefix`, as one zip (the prefix taken
/// off their names).
pub fn zip(files: &Files, prefix: &str) -> Result<Vec<u8>, std::io::Error> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        let Some(inner) = name.strip_prefix(prefix) else {
            continue;
        };
        out.start_file(inner, options)
            .map_err(std::io::Error::other)?;
        out.write_all(bytes)?;
    }
    Ok(out.finish().map_err(std::io::Error::other)?.into_inner())
}

/// One file of the bundle by name: a file of the report, [`DRAFT_ZIP`] or
/// [`ALL_ZIP`]; `None` when there is no such file (the message lists them).
pub fn pick(files: &Files, name: &str) -> Result<Vec<u8>, String> {
    let listed = || {
        let mut names: Vec<&str> = files
            .keys()
            .filter(|n| !n.starts_with(DRAFT_DIR))
            .map(String::as_str)
            .collect();
        if files.keys().any(|n| n.starts_with(DRAFT_DIR)) {
            names.push(DRAFT_ZIP);
        }
        names.push(ALL_ZIP);
        names.join(", ")
    };
    match name {
        ALL_ZIP => zip(files, "").map_err(|e| e.to_string()),
        DRAFT_ZIP if files.keys().any(|n| n.starts_with(DRAFT_DIR)) => {
            zip(files, DRAFT_DIR).map_err(|e| e.to_string())
        }
        DRAFT_ZIP => Err(format!(
            "no draft timetable: the active feed's files are not in the database (import the feed again) or the period has no data; files: {}",
            listed()
        )),
        other => files
            .get(other)
            .cloned()
            .ok_or_else(|| format!("no file {other:?} in this report; files: {}", listed())),
    }
}

/// The content type of a file of the bundle.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("zip") => "application/zip",
        Some("svg") => "image/svg+xml",
        Some("csv") => "text/csv; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("json") => "application/json",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
