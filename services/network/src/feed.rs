//! Reading and checking a GTFS / GTFS-JP feed (a folder or a zip) in memory,
//! before anything is written. The standard files are parsed by
//! `gtfs-structures`; translations.txt (both GTFS-JP forms) and GTFS-JP's
//! extra files (`*_jp.txt`) are read with `csv` here, because the library does
//! not know the first-edition translations or the `_jp` files.
//!
//! Every problem found is reported with its file, line, field and reason.
//! Line numbers count the header as line 1; for rows checked after parsing
//! (references, times) the line is the row's position in the file, which is
//! exact unless a quoted field spans several lines.
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    io::{Cursor, Read},
    path::Path,
};

use gtfs_structures::{Agency, Calendar, CalendarDate, RawStopTime, RawTrip, Route, Shape, Stop};
use sha2::{Digest, Sha256};

/// At most this many problems are listed; the count says how many there were.
const MAX_PROBLEMS: usize = 50;

/// One thing wrong with a feed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub reason: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, reason: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: None,
            field: None,
            reason: reason.into(),
        }
    }

    fn at(mut self, line: u64, field: &str) -> Problem {
        self.line = Some(line);
        self.field = Some(field.to_owned());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a feed was refused: every problem found (up to a limit).
#[derive(Debug, Clone, thiserror::Error)]
pub struct FeedReport {
    pub problems: Vec<Problem>,
    /// How many problems there were in all (more than listed when very many).
    pub total: usize,
}

impl fmt::Display for FeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the feed has {} problem(s):", self.total)?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        if self.total > self.problems.len() {
            writeln!(f, "  ... and {} more", self.total - self.problems.len())?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
    total: usize,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        self.total += 1;
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(p);
        }
    }

    fn into_result<T>(self, ok: T) -> Result<T, FeedReport> {
        if self.total == 0 {
            Ok(ok)
        } else {
            Err(FeedReport {
                problems: self.list,
                total: self.total,
            })
        }
    }
}

/// Which form translations.txt has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TranslationForm {
    /// GTFS-JP 2nd edition / GTFS: table_name, field_name, language, translation, ...
    Second,
    /// GTFS-JP 1st edition: trans_id (the Japanese text), lang, translation.
    First,
}

/// One translation in the 2nd-edition shape (see the migration for how a
/// first-edition row is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub table_name: String,
    pub field_name: String,
    pub language: String,
    pub translation: String,
    pub record_id: Option<String>,
    pub record_sub_id: Option<String>,
    pub field_value: Option<String>,
}

/// A GTFS-JP extra file as published: its rows as JSON objects, with lines.
#[derive(Debug, Clone)]
pub struct ExtraFile {
    pub name: String,
    pub rows: Vec<(u64, serde_json::Value)>,
}

/// A feed read and checked in memory.
#[derive(Debug)]
pub struct Feed {
    /// The feed ID its IDs are namespaced under (see [`crate::namespace`]);
    /// `None` for the primary feed, whose IDs stay as published.
    pub feed_id: Option<String>,
    pub source: String,
    pub sha256: String,
    pub feed_version: Option<String>,
    /// The language of the feed's own texts (names, headsigns), as a
    /// canonical tag: see [`feed_language`].
    pub language: String,
    pub agencies: Vec<Agency>,
    pub routes: Vec<Route>,
    pub stops: Vec<Stop>,
    pub trips: Vec<RawTrip>,
    pub stop_times: Vec<RawStopTime>,
    pub calendars: Vec<Calendar>,
    pub calendar_dates: Vec<CalendarDate>,
    pub shapes: Vec<Shape>,
    pub translations: Vec<Translation>,
    pub translation_form: Option<TranslationForm>,
    pub extra_files: Vec<ExtraFile>,
    /// frequencies.txt as published. Its trips are already expanded:
    /// `trips` and `stop_times` hold their runs, described in `runs`.
    pub frequencies: Vec<gtfs_structures::RawFrequency>,
    /// The runs of frequency-based trips, by their trip ID (see
    /// [`crate::frequencies`]).
    pub runs: BTreeMap<String, crate::frequencies::Run>,
    /// What of the feed the platform does not read (see [`crate::ignored`]).
    pub ignored: Vec<crate::ignored::Ignored>,
    /// Its .txt files as published (name → bytes), kept with the version so
    /// that a draft timetable can be made from the active feed.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// A date of gtfs-structures as a chrono date.
pub(crate) fn date(d: &impl fmt::Display) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d").unwrap_or(chrono::NaiveDate::MIN)
}

impl Feed {
    /// The first and last dates on which the feed runs any service
    /// (calendar ranges and added dates); `None` when it runs none.
    pub fn service_period(&self) -> Option<crate::read::ServicePeriod> {
        let ranges = self
            .calendars
            .iter()
            .map(|c| (date(&c.start_date), date(&c.end_date)))
            .chain(
                self.calendar_dates
                    .iter()
                    .filter(|d| d.exception_type == gtfs_structures::Exception::Added)
                    .map(|d| (date(&d.date), date(&d.date))),
            );
        ranges
            .reduce(|(a0, a1), (b0, b1)| (a0.min(b0), a1.max(b1)))
            .map(|(first, last)| crate::read::ServicePeriod { first, last })
    }
}

/// The SHA-256 of a feed's content: its `.txt` files' names and bytes in
/// name order. The same files give the same digest whether they come as a
/// folder or as a zip (whatever its compression, order, timestamps or
/// sub-folder), so a re-import is recognised by content, not by container.
fn content_sha256(files: &BTreeMap<String, Vec<u8>>) -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in files {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hex::encode(hasher.finalize())
}

/// The raw files of a feed (name → bytes) and the SHA-256 of their content
/// ([`content_sha256`]).
pub fn read_files(path: &Path) -> Result<(BTreeMap<String, Vec<u8>>, String), FeedReport> {
    let shown = path.display().to_string();
    let fail = |reason: String| FeedReport {
        problems: vec![Problem::new(shown.clone(), reason)],
        total: 1,
    };
    let mut files = BTreeMap::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| fail(format!("cannot read: {e}")))?;
            let p = entry.path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if p.is_file() && name.ends_with(".txt") {
                let bytes =
                    std::fs::read(&p).map_err(|e| fail(format!("cannot read {name}: {e}")))?;
                files.insert(name.to_owned(), bytes);
            }
        }
        let sha = content_sha256(&files);
        Ok((files, sha))
    } else if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| fail(format!("not a zip archive: {e}")))?;
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| fail(format!("cannot read the archive: {e}")))?;
            if entry.is_dir() {
                continue;
            }
            let Some(name) = Path::new(entry.name())
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
            else {
                continue;
            };
            if name.ends_with(".txt") {
                let mut content = Vec::new();
                entry
                    .read_to_end(&mut content)
                    .map_err(|e| fail(format!("cannot read {name} in the archive: {e}")))?;
                files.insert(name, content);
            }
        }
        let sha = content_sha256(&files);
        Ok((files, sha))
    } else {
        Err(fail("no such file or folder".into()))
    }
}

/// Reads and checks the feed at `path` (a folder or a zip) as the primary
/// feed. Nothing is written.
pub fn load(path: &Path) -> Result<Feed, FeedReport> {
    load_as(path, None)
}

/// Reads and checks the feed at `path`; with a `feed_id`, every ID of it is
/// namespaced under that ID (see [`crate::namespace`]).
pub fn load_as(path: &Path, feed_id: Option<&str>) -> Result<Feed, FeedReport> {
    if let Some(id) = feed_id {
        crate::namespace::valid_feed_id(id).map_err(|reason| FeedReport {
            problems: vec![Problem::new(path.display().to_string(), reason)],
            total: 1,
        })?;
    }
    let (files, sha256) = read_files(path)?;
    let raw = gtfs_structures::GtfsReader::default()
        .raw()
        .read_from_path(path)
        .map_err(|e| FeedReport {
            problems: vec![Problem::new(path.display().to_string(), error_chain(&e))],
            total: 1,
        })?;

    let mut problems = Problems::default();
    let agencies = required(raw.agencies, "agency.txt", &files, &mut problems);
    let routes = required(raw.routes, "routes.txt", &files, &mut problems);
    let stops = required(raw.stops, "stops.txt", &files, &mut problems);
    let trips = required(raw.trips, "trips.txt", &files, &mut problems);
    let stop_times = required(raw.stop_times, "stop_times.txt", &files, &mut problems);
    let calendars = optional(raw.calendar, "calendar.txt", &files, &mut problems);
    let calendar_dates = optional(
        raw.calendar_dates,
        "calendar_dates.txt",
        &files,
        &mut problems,
    );
    let shapes = optional(raw.shapes, "shapes.txt", &files, &mut problems);
    let feed_info = optional(raw.feed_info, "feed_info.txt", &files, &mut problems);
    let frequencies = optional(raw.frequencies, "frequencies.txt", &files, &mut problems);
    if !files.contains_key("calendar.txt") && !files.contains_key("calendar_dates.txt") {
        problems.push(Problem::new(
            "calendar.txt",
            "required file is missing (a feed needs calendar.txt, calendar_dates.txt or both)",
        ));
    }

    let (translations, translation_form) = match files.get("translations.txt") {
        Some(bytes) => read_translations(bytes, &mut problems),
        None => (Vec::new(), None),
    };
    let mut extra_files = Vec::new();
    for (name, bytes) in &files {
        if name.ends_with("_jp.txt")
            && let Some(file) = read_extra(name, bytes, &mut problems)
        {
            extra_files.push(file);
        }
    }

    let language = feed_language(&feed_info, &agencies);
    let ignored = crate::ignored::ignored(&files, &stops);
    let mut feed = Feed {
        feed_id: None,
        source: path.display().to_string(),
        language,
        sha256,
        feed_version: feed_info
            .first()
            .and_then(|f| f.version.clone())
            .filter(|v| !v.is_empty()),
        agencies,
        routes,
        stops,
        trips,
        stop_times,
        calendars,
        calendar_dates,
        shapes,
        translations,
        translation_form,
        extra_files,
        frequencies,
        runs: BTreeMap::new(),
        ignored,
        files,
    };
    if let Some(id) = feed_id {
        crate::namespace::apply(&mut feed, id);
    }
    if problems.total == 0 {
        check_references(&feed, &mut problems);
    }
    if problems.total == 0 {
        expand_frequencies(&mut feed, &mut problems);
    }
    problems.into_result(feed)
}

/// Checks frequencies.txt and replaces its trips by their runs.
fn expand_frequencies(feed: &mut Feed, problems: &mut Problems) {
    let trip_ids: HashSet<&str> = feed.trips.iter().map(|t| t.id.as_str()).collect();
    let found = crate::frequencies::check(&feed.frequencies, &trip_ids);
    let clean = found.is_empty();
    for p in found {
        problems.push(p);
    }
    if !clean {
        return;
    }
    let plain: HashSet<String> = trip_ids.into_iter().map(str::to_owned).collect();
    feed.runs =
        crate::frequencies::expand(&mut feed.trips, &mut feed.stop_times, &feed.frequencies);
    for id in feed.runs.keys().filter(|id| plain.contains(*id)) {
        problems.push(Problem::new(
            "trips.txt",
            format!("trip_id {id:?} is also the name of a run of a frequency-based trip; rename that trip"),
        ));
    }
}

/// The rows of a file the library parsed; when it could not, every row it
/// could not read is a problem (the library stops at the first).
fn required<T: serde::de::DeserializeOwned>(
    parsed: Result<Vec<T>, gtfs_structures::Error>,
    file: &str,
    files: &BTreeMap<String, Vec<u8>>,
    problems: &mut Problems,
) -> Vec<T> {
    match parsed {
        Ok(rows) => rows,
        Err(e) => {
            let every = files
                .get(file)
                .map(|bytes| every_bad_row::<T>(file, bytes))
                .unwrap_or_default();
            if every.is_empty() {
                problems.push(problem_of(file, &e));
            }
            for p in every {
                problems.push(p);
            }
            Vec::new()
        }
    }
}

fn optional<T: serde::de::DeserializeOwned>(
    parsed: Option<Result<Vec<T>, gtfs_structures::Error>>,
    file: &str,
    files: &BTreeMap<String, Vec<u8>>,
    problems: &mut Problems,
) -> Vec<T> {
    parsed.map_or_else(Vec::new, |p| required(p, file, files, problems))
}

/// Every row of `file` that does not read as a `T`, with its line, field
/// (where known) and reason.
fn every_bad_row<T: serde::de::DeserializeOwned>(file: &str, bytes: &[u8]) -> Vec<Problem> {
    let mut reader = csv_reader(bytes);
    let Ok(headers) = reader.headers().cloned() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let Err(e) = record.deserialize::<T>(Some(&headers)) else {
                    continue;
                };
                let line = record.position().map(csv::Position::line);
                let (field, reason) = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => {
                        let reason = err.kind().to_string();
                        let field = err
                            .field()
                            .and_then(|i| headers.get(usize::try_from(i).ok()?))
                            .map(str::to_owned)
                            .or_else(|| field_quoted(&reason, headers.iter().zip(record.iter())));
                        (field, reason)
                    }
                    _ => (None, e.to_string()),
                };
                found.push(Problem {
                    file: file.to_owned(),
                    line,
                    field,
                    reason,
                });
            }
            Err(e) => {
                found.push(Problem {
                    file: file.to_owned(),
                    line: e.position().map(csv::Position::line),
                    field: None,
                    reason: e.to_string(),
                });
                break;
            }
        }
    }
    found
}

/// The field whose value a reason quotes (`'6h01' is not a valid time`):
/// the library's custom errors (times, dates, colours) name no field.
fn field_quoted<'a>(
    reason: &str,
    mut fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    fields
        .find(|(_, v)| !v.is_empty() && reason.contains(&format!("'{v}'")))
        .map(|(h, _)| h.to_owned())
}

/// The problem of a library error, with the line and field where it knows them.
fn problem_of(file: &str, error: &gtfs_structures::Error) -> Problem {
    use gtfs_structures::Error as E;
    match error {
        E::MissingFile(name) => Problem::new(name.clone(), "required file is missing"),
        E::CSVError {
            file_name,
            source,
            line_in_error,
        } => {
            let line = source.position().map(csv::Position::line);
            let (field, reason) = match source.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    let field = err.field().and_then(|i| {
                        line_in_error
                            .as_ref()
                            .and_then(|l| l.headers.get(usize::try_from(i).ok()?).cloned())
                    });
                    let reason = err.kind().to_string();
                    // Custom errors (bad times, dates, colours) do not say
                    // which field; they quote the value, which tells.
                    let field = field.or_else(|| {
                        let l = line_in_error.as_ref()?;
                        field_quoted(
                            &reason,
                            l.headers
                                .iter()
                                .map(String::as_str)
                                .zip(l.values.iter().map(String::as_str)),
                        )
                    });
                    (field, reason)
                }
                _ => (None, source.to_string()),
            };
            Problem {
                file: file_name.clone(),
                line,
                field,
                reason,
            }
        }
        other => Problem::new(file, error_chain(other)),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

fn read_translations(
    bytes: &[u8],
    problems: &mut Problems,
) -> (Vec<Translation>, Option<TranslationForm>) {
    const FILE: &str = "translations.txt";
    let mut reader = csv_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::new(FILE, e.to_string()));
            return (Vec::new(), None);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let form = if col("table_name").is_some() {
        TranslationForm::Second
    } else if col("trans_id").is_some() {
        TranslationForm::First
    } else {
        problems.push(Problem::new(
            FILE,
            "unknown form: the header has neither table_name (GTFS-JP 2nd edition) nor trans_id (1st edition)",
        ));
        return (Vec::new(), None);
    };
    let required: &[&str] = match form {
        TranslationForm::Second => &["table_name", "field_name", "language", "translation"],
        TranslationForm::First => &["trans_id", "lang", "translation"],
    };
    for name in required {
        if col(name).is_none() {
            problems
                .push(Problem::new(FILE, format!("required column {name} is missing")).at(1, name));
        }
    }
    if problems.total > 0 {
        return (Vec::new(), Some(form));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let mut p = Problem::new(FILE, e.to_string());
                p.line = e.position().map(csv::Position::line);
                problems.push(p);
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut need = |name: &str| match get(name) {
            Some(v) => Some(v),
            None => {
                problems.push(Problem::new(FILE, "required value is empty").at(line, name));
                None
            }
        };
        match form {
            TranslationForm::Second => {
                let (Some(table_name), Some(field_name), Some(language), Some(translation)) = (
                    need("table_name"),
                    need("field_name"),
                    need("language"),
                    need("translation"),
                ) else {
                    continue;
                };
                let record_id = get("record_id");
                let field_value = get("field_value");
                if record_id.is_none() && field_value.is_none() && table_name != "feed_info" {
                    problems.push(
                        Problem::new(FILE, "needs record_id or field_value").at(line, "record_id"),
                    );
                    continue;
                }
                out.push(Translation {
                    table_name,
                    field_name,
                    language: canonical_lang(&language),
                    translation,
                    record_id,
                    record_sub_id: get("record_sub_id"),
                    field_value,
                });
            }
            TranslationForm::First => {
                let (Some(trans_id), Some(lang), Some(translation)) =
                    (need("trans_id"), need("lang"), need("translation"))
                else {
                    continue;
                };
                out.push(Translation {
                    table_name: "*".into(),
                    field_name: "*".into(),
                    language: canonical_lang(&lang),
                    translation,
                    record_id: None,
                    record_sub_id: None,
                    field_value: Some(trans_id),
                });
            }
        }
    }
    (out, Some(form))
}

/// The language a feed's own texts are in: `feed_info.feed_lang`, unless it
/// is `mul` (several languages, each text's given by translations); then the
/// agencies' `agency_lang` when they agree; Japanese, GTFS-JP's language,
/// when neither says.
pub fn feed_language(feed_info: &[gtfs_structures::FeedInfo], agencies: &[Agency]) -> String {
    let named = |tag: &str| {
        let tag = tag.trim();
        (!tag.is_empty() && !tag.eq_ignore_ascii_case("mul")).then(|| canonical_lang(tag))
    };
    if let Some(lang) = feed_info.first().and_then(|f| named(&f.lang)) {
        return lang;
    }
    let mut langs = agencies
        .iter()
        .filter_map(|a| a.lang.as_deref().and_then(named));
    match (langs.next(), langs.next()) {
        (Some(first), None) => first,
        (Some(first), Some(second)) if first == second && langs.all(|l| l == first) => first,
        _ => "ja".to_owned(),
    }
}

/// The usual spelling of the language tags feeds use (`zh-cn` → `zh-Hans`,
/// `ja-hrkt` → `ja-Hrkt`, `EN` → `en`).
pub fn canonical_lang(tag: &str) -> String {
    match tag.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "zh-hans" | "zh-cn" | "zh-sg" | "zh" => "zh-Hans".into(),
        "zh-hant" | "zh-tw" | "zh-hk" | "zh-mo" => "zh-Hant".into(),
        "ja-hrkt" | "ja-kana" | "ja-hira" => "ja-Hrkt".into(),
        "ko-kr" => "ko".into(),
        "en-us" | "en-gb" => "en".into(),
        other => other.to_owned(),
    }
}

fn read_extra(name: &str, bytes: &[u8], problems: &mut Problems) -> Option<ExtraFile> {
    let mut reader = csv_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(Problem::new(name, e.to_string()));
            return None;
        }
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, csv::Position::line);
                let object: serde_json::Map<String, serde_json::Value> = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), serde_json::Value::String(v.to_owned())))
                    .collect();
                rows.push((line, serde_json::Value::Object(object)));
            }
            Err(e) => {
                let mut p = Problem::new(name, e.to_string());
                p.line = e.position().map(csv::Position::line);
                problems.push(p);
            }
        }
    }
    Some(ExtraFile {
        name: name.to_owned(),
        rows,
    })
}

/// Ids that must exist, times that must make sense.
fn check_references(feed: &Feed, problems: &mut Problems) {
    let agency_ids: HashSet<&str> = feed
        .agencies
        .iter()
        .filter_map(|a| a.id.as_deref())
        .collect();
    let route_ids = unique_ids(
        feed.routes.iter().map(|r| r.id.as_str()),
        "routes.txt",
        "route_id",
        problems,
    );
    let stop_ids = unique_ids(
        feed.stops.iter().map(|s| s.id.as_str()),
        "stops.txt",
        "stop_id",
        problems,
    );
    let trip_ids = unique_ids(
        feed.trips.iter().map(|t| t.id.as_str()),
        "trips.txt",
        "trip_id",
        problems,
    );
    let service_ids: HashSet<&str> = feed
        .calendars
        .iter()
        .map(|c| c.id.as_str())
        .chain(feed.calendar_dates.iter().map(|c| c.service_id.as_str()))
        .collect();
    let shape_ids: HashSet<&str> = feed.shapes.iter().map(|s| s.id.as_str()).collect();

    for (i, route) in feed.routes.iter().enumerate() {
        if let Some(agency) = route.agency_id.as_deref().filter(|a| !a.is_empty())
            && !agency_ids.contains(agency)
            && feed.agencies.len() > 1
        {
            problems.push(
                Problem::new("routes.txt", format!("unknown agency {agency}"))
                    .at(line(i), "agency_id"),
            );
        }
        if route.short_name.as_deref().unwrap_or("").is_empty()
            && route.long_name.as_deref().unwrap_or("").is_empty()
        {
            problems.push(
                Problem::new(
                    "routes.txt",
                    "route_short_name or route_long_name is required",
                )
                .at(line(i), "route_short_name"),
            );
        }
    }
    for (i, stop) in feed.stops.iter().enumerate() {
        use gtfs_structures::LocationType as L;
        let needs_position = matches!(
            stop.location_type,
            L::StopPoint | L::StopArea | L::StationEntrance
        );
        if needs_position && (stop.latitude.is_none() || stop.longitude.is_none()) {
            problems.push(
                Problem::new("stops.txt", "a stop needs stop_lat and stop_lon")
                    .at(line(i), "stop_lat"),
            );
        }
        if needs_position && stop.name.as_deref().unwrap_or("").is_empty() {
            problems
                .push(Problem::new("stops.txt", "stop_name is required").at(line(i), "stop_name"));
        }
    }
    for (i, trip) in feed.trips.iter().enumerate() {
        if !route_ids.contains(trip.route_id.as_str()) {
            problems.push(
                Problem::new("trips.txt", format!("unknown route {}", trip.route_id))
                    .at(line(i), "route_id"),
            );
        }
        if !service_ids.contains(trip.service_id.as_str()) {
            problems.push(
                Problem::new(
                    "trips.txt",
                    format!(
                        "service {} is in neither calendar.txt nor calendar_dates.txt",
                        trip.service_id
                    ),
                )
                .at(line(i), "service_id"),
            );
        }
        if let Some(shape) = trip.shape_id.as_deref().filter(|s| !s.is_empty())
            && !feed.shapes.is_empty()
            && !shape_ids.contains(shape)
        {
            problems.push(
                Problem::new("trips.txt", format!("unknown shape {shape}")).at(line(i), "shape_id"),
            );
        }
    }
    // Times within a trip never go back.
    let mut last_time: HashMap<&str, (u32, u32)> = HashMap::new();
    for (i, st) in feed.stop_times.iter().enumerate() {
        const FILE: &str = "stop_times.txt";
        if !trip_ids.contains(st.trip_id.as_str()) {
            problems.push(
                Problem::new(FILE, format!("unknown trip {}", st.trip_id)).at(line(i), "trip_id"),
            );
        }
        if !stop_ids.contains(st.stop_id.as_str()) {
            problems.push(
                Problem::new(FILE, format!("unknown stop {}", st.stop_id)).at(line(i), "stop_id"),
            );
        }
        if let (Some(a), Some(d)) = (st.arrival_time, st.departure_time)
            && d < a
        {
            problems.push(
                Problem::new(FILE, "departure_time is before arrival_time")
                    .at(line(i), "departure_time"),
            );
        }
        let time = st.arrival_time.or(st.departure_time);
        if let Some(t) = time {
            if let Some((seq, prev)) = last_time.get(st.trip_id.as_str())
                && *seq < st.stop_sequence
                && t < *prev
            {
                problems.push(
                    Problem::new(FILE, "time goes back from the previous stop of the trip")
                        .at(line(i), "arrival_time"),
                );
            }
            last_time.insert(
                st.trip_id.as_str(),
                (st.stop_sequence, st.departure_time.unwrap_or(t)),
            );
        }
    }
    // Every trip's first and last stop need times.
    // (stop_sequence, row index) of each trip's first and last stop time
    type Ends = ((u32, usize), (u32, usize));
    let mut ends: HashMap<&str, Ends> = HashMap::new();
    for (i, st) in feed.stop_times.iter().enumerate() {
        let e = ends
            .entry(st.trip_id.as_str())
            .or_insert(((st.stop_sequence, i), (st.stop_sequence, i)));
        if st.stop_sequence < e.0.0 {
            e.0 = (st.stop_sequence, i);
        }
        if st.stop_sequence > e.1.0 {
            e.1 = (st.stop_sequence, i);
        }
    }
    let mut ends: Vec<_> = ends.into_values().collect();
    ends.sort_unstable();
    for ((_, first), (_, last)) in ends {
        for i in [first, last] {
            let st = &feed.stop_times[i];
            if st.arrival_time.is_none() && st.departure_time.is_none() {
                problems.push(
                    Problem::new(
                        "stop_times.txt",
                        "the first and last stop of a trip need times",
                    )
                    .at(line(i), "arrival_time"),
                );
            }
        }
    }
}

fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    file: &str,
    field: &str,
    problems: &mut Problems,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if id.is_empty() {
            problems.push(Problem::new(file, "required value is empty").at(line(i), field));
        } else if !seen.insert(id) {
            problems.push(Problem::new(file, format!("duplicate id {id}")).at(line(i), field));
        }
    }
    seen
}

/// The line of the `index`-th row (the header is line 1).
fn line(index: usize) -> u64 {
    index as u64 + 2
}

#[cfg(test)]
mod language_tests {
    use super::*;

    fn agency(lang: Option<&str>) -> Agency {
        Agency {
            lang: lang.map(str::to_owned),
            ..Agency::default()
        }
    }

    fn info(lang: &str) -> gtfs_structures::FeedInfo {
        gtfs_structures::FeedInfo {
            name: "p".into(),
            url: "https://example.invalid/".into(),
            lang: lang.into(),
            default_lang: None,
            start_date: None,
            end_date: None,
            version: None,
            contact_email: None,
            contact_url: None,
        }
    }

    #[test]
    fn the_feed_language_comes_from_feed_info_then_the_agencies() {
        assert_eq!(feed_language(&[info("en-US")], &[agency(Some("ja"))]), "en");
        assert_eq!(feed_language(&[info("mul")], &[agency(Some("ko"))]), "ko");
        assert_eq!(
            feed_language(&[], &[agency(Some("en")), agency(Some("en"))]),
            "en"
        );
        // Agencies that disagree, or say nothing: GTFS-JP's Japanese.
        assert_eq!(
            feed_language(&[], &[agency(Some("en")), agency(Some("ja"))]),
            "ja"
        );
        assert_eq!(feed_language(&[], &[agency(None)]), "ja");
    }
}
