//! Progress tables as CSV: fill in `progress_rate_pct` and `status` for rows
//! of `no,indicator,target,actual` (the `progress` command).
use std::io::{self, Write};

use csv::{ReaderBuilder, StringRecord, Terminator, WriterBuilder};

use kagoshima_domain::calendar::FiscalYear;

use super::{Decimal, DecimalError, ProgressError, ProgressRate, Status, assess};
use crate::plan::Plan;

/// Column read as the target.
pub const TARGET_COLUMN: &str = "target";
/// Column read as the actual.
pub const ACTUAL_COLUMN: &str = "actual";
/// Column written with the rate (one decimal, or empty).
pub const RATE_COLUMN: &str = "progress_rate_pct";
/// Column written with the status symbol (or empty).
pub const STATUS_COLUMN: &str = "status";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a progress table cannot be filled in. Line numbers count from 1,
/// the header being line 1.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the input is empty: expected a header line such as no,indicator,target,actual")]
    Empty,
    #[error("line 1: the header has no {0:?} column (expected no,indicator,target,actual)")]
    MissingColumn(&'static str),
    #[error("line 1: the header names column {0:?} twice")]
    DuplicateColumn(String),
    #[error("line {line}: expected {expected} fields ({header}), found {found}")]
    FieldCount {
        line: u64,
        expected: usize,
        found: usize,
        header: String,
    },
    #[error("line {line}, column {column}: {reason}")]
    BadNumber {
        line: u64,
        column: &'static str,
        reason: DecimalError,
    },
    #[error("line {line}: {reason}")]
    Progress { line: u64, reason: ProgressError },
    #[error("reading csv: {0}")]
    Read(csv::Error),
    #[error("writing output: {0}")]
    Write(#[from] io::Error),
}

/// The rate and status of one row, as text: both empty when there is a
/// target but no actual yet; rate empty and status `−` when there is no
/// target.
pub fn row_progress(
    target: &str,
    actual: &str,
    line: u64,
) -> Result<(String, &'static str), TableError> {
    let number = |text: &str, column| -> Result<Option<Decimal>, TableError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|reason| TableError::BadNumber {
                line,
                column,
                reason,
            })
    };
    let target = number(target, TARGET_COLUMN)?;
    let actual = number(actual, ACTUAL_COLUMN)?;
    if let Some(t) = target
        && t.is_zero()
    {
        return Err(TableError::Progress {
            line,
            reason: ProgressError::ZeroTarget,
        });
    }
    match (target, actual) {
        (None, _) => Ok((String::new(), Status::NoTarget.symbol())),
        (Some(_), None) => Ok((String::new(), "")),
        (Some(t), Some(a)) => {
            let p = assess(Some(t), a).map_err(|reason| TableError::Progress { line, reason })?;
            let rate = p.rate.map(ProgressRate::display).unwrap_or_default();
            Ok((rate, p.status.symbol()))
        }
    }
}

/// Reads a CSV table with a header naming at least `target` and `actual`
/// (such as `no,indicator,target,actual`) and writes the same table with
/// `progress_rate_pct` and `status` filled in: appended as the last two
/// columns, or replaced where the header already has them. Other fields are
/// written back unchanged; a UTF-8 byte-order mark and CRLF line ends are
/// kept. Returns the number of data rows.
pub fn fill_progress<W: Write>(input: &[u8], output: W) -> Result<usize, TableError> {
    let (bom, body) = match input.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let crlf = body
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|i| i > 0 && body[i - 1] == b'\r');

    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut records = reader.records();
    let header = match records.next() {
        None => return Err(TableError::Empty),
        Some(r) => r.map_err(TableError::Read)?,
    };
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    for (i, name) in header.iter().enumerate() {
        if header.iter().take(i).any(|h| h.trim() == name.trim()) {
            return Err(TableError::DuplicateColumn(name.to_owned()));
        }
    }
    let target_at = find(TARGET_COLUMN).ok_or(TableError::MissingColumn(TARGET_COLUMN))?;
    let actual_at = find(ACTUAL_COLUMN).ok_or(TableError::MissingColumn(ACTUAL_COLUMN))?;
    let rate_at = find(RATE_COLUMN);
    let status_at = find(STATUS_COLUMN);
    let columns = header.len();

    let mut out_header = header.clone();
    if rate_at.is_none() {
        out_header.push_field(RATE_COLUMN);
    }
    if status_at.is_none() {
        out_header.push_field(STATUS_COLUMN);
    }
    let width = out_header.len();
    let rate_at = rate_at.unwrap_or(columns);
    let status_at = status_at.unwrap_or(width - 1);

    let mut output = output;
    if bom {
        output.write_all(BOM)?;
    }
    let mut writer = WriterBuilder::new()
        .terminator(if crlf {
            Terminator::CRLF
        } else {
            Terminator::Any(b'\n')
        })
        .from_writer(output);
    writer.write_record(&out_header).map_err(write_error)?;

    let mut rows = 0;
    for record in records {
        let record = record.map_err(TableError::Read)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns {
            return Err(TableError::FieldCount {
                line,
                expected: columns,
                found: record.len(),
                header: header.iter().collect::<Vec<_>>().join(","),
            });
        }
        let (rate, status) = row_progress(&record[target_at], &record[actual_at], line)?;
        let mut fields: Vec<&str> = record.iter().collect();
        fields.resize(width, "");
        fields[rate_at] = &rate;
        fields[status_at] = status;
        writer
            .write_record(&StringRecord::from(fields))
            .map_err(write_error)?;
        rows += 1;
    }
    writer.flush()?;
    Ok(rows)
}

/// Columns of [`write_plan_progress`].
pub const PLAN_PROGRESS_HEADER: [&str; 11] = [
    "fiscal_year",
    "policy",
    "measure",
    "indicator_id",
    "indicator",
    "unit",
    "target",
    "actual",
    RATE_COLUMN,
    STATUS_COLUMN,
    "reported_status",
];

/// Writes the plan's progress in `fy` as CSV ([`PLAN_PROGRESS_HEADER`]):
/// one row per indicator, then per policy a row with the mean of its
/// indicators' unrounded rates (`indicator_id` empty). Rate and status are
/// empty where they cannot be computed (a target without an actual, a
/// qualitative indicator); `reported_status` is the committee's, where known.
/// Returns the number of data rows.
pub fn write_plan_progress<W: Write>(
    plan: &Plan,
    fy: FiscalYear,
    output: W,
) -> Result<usize, TableError> {
    let mut writer = WriterBuilder::new().from_writer(output);
    writer
        .write_record(PLAN_PROGRESS_HEADER)
        .map_err(write_error)?;
    let mut rows = 0;
    let mut line = 1;
    let text = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    for policy in &plan.policies {
        for i in plan.indicators_of(&policy.id) {
            line += 1;
            let progress = i
                .progress(fy)
                .map_err(|reason| TableError::Progress { line, reason })?;
            let rate = progress
                .and_then(|p| p.rate)
                .map(ProgressRate::display)
                .unwrap_or_default();
            let status = progress.map_or("", |p| p.status.symbol());
            let reported = i.reported_status(fy).map_or("", Status::symbol);
            writer
                .write_record([
                    fy.to_string().as_str(),
                    &policy.id,
                    &i.measure_label(),
                    &i.id,
                    &i.name_ja,
                    &i.unit,
                    &text(i.target(fy).map(|t| t.value)),
                    &text(i.actual(fy)),
                    &rate,
                    status,
                    reported,
                ])
                .map_err(write_error)?;
            rows += 1;
        }
        line += 1;
        let progress = plan
            .policy_progress(&policy.id, fy)
            .map_err(|reason| TableError::Progress { line, reason })?;
        let rate = progress
            .and_then(|p| p.rate)
            .map(ProgressRate::display)
            .unwrap_or_default();
        let status = progress.map_or("", |p| p.status.symbol());
        let label = format!("policy average: {}", policy.name_ja);
        writer
            .write_record([
                fy.to_string().as_str(),
                &policy.id,
                "",
                "",
                &label,
                "%",
                "",
                "",
                &rate,
                status,
                "",
            ])
            .map_err(write_error)?;
        rows += 1;
    }
    writer.flush()?;
    Ok(rows)
}

fn write_error(e: csv::Error) -> TableError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => TableError::Write(e),
        other => TableError::Write(io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(input: &str) -> Result<String, TableError> {
        let mut out = Vec::new();
        fill_progress(input.as_bytes(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn fills_rate_and_status() {
        let out =
            fill("no,indicator,target,actual\n58,かごりん rides per year,164000,160728\n").unwrap();
        assert_eq!(
            out,
            "no,indicator,target,actual,progress_rate_pct,status\n\
             58,かごりん rides per year,164000,160728,98.0,◎\n"
        );
    }

    #[test]
    fn empty_target_and_empty_actual() {
        let out = fill(
            "no,indicator,target,actual\n57,AI on-demand trial areas,,\n57,x,,3\n64,tap payment users,40000,\n",
        )
        .unwrap();
        assert_eq!(
            out,
            "no,indicator,target,actual,progress_rate_pct,status\n\
             57,AI on-demand trial areas,,,,−\n57,x,,3,,−\n64,tap payment users,40000,,,\n"
        );
    }

    #[test]
    fn existing_result_columns_are_replaced() {
        let out = fill("no,target,actual,status,progress_rate_pct\n1,700,1340,x,1\n").unwrap();
        assert_eq!(
            out,
            "no,target,actual,status,progress_rate_pct\n1,700,1340,◎,191.4\n"
        );
    }

    #[test]
    fn quoted_fields_bom_and_crlf_are_kept() {
        let input = "\u{feff}no,indicator,target,actual\r\n56,\"searches, in apps\",700,1340\r\n";
        let out = fill(input).unwrap();
        assert_eq!(
            out,
            "\u{feff}no,indicator,target,actual,progress_rate_pct,status\r\n\
             56,\"searches, in apps\",700,1340,191.4,◎\r\n"
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let header = "no,indicator,target,actual\n";
        let err = fill(&format!("{header}1,a,10,5\n2,b,ten,5\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column target: not a number: \"ten\" (expected digits with an optional decimal point, such as 1340 or 34.3; no thousands separators)"
        );
        let err = fill(&format!("{header}1,a,10,5\n2,b,10\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: expected 4 fields (no,indicator,target,actual), found 3"
        );
        let err = fill(&format!("{header}1,a,10,-5\n")).unwrap_err();
        assert!(matches!(
            err,
            TableError::BadNumber {
                line: 2,
                column: "actual",
                ..
            }
        ));
        let err = fill(&format!("{header}1,a,0,5\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: the target is zero: a progress rate needs a positive target"
        );
        let err = fill(&format!("{header}1,a,10,1.2.3\n")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2, column actual: not a number")
        );
    }

    #[test]
    fn bad_headers() {
        assert!(matches!(fill(""), Err(TableError::Empty)));
        assert_eq!(
            fill("no,indicator,goal,actual\n").unwrap_err().to_string(),
            "line 1: the header has no \"target\" column (expected no,indicator,target,actual)"
        );
        assert!(matches!(
            fill("target,actual,target\n"),
            Err(TableError::DuplicateColumn(_))
        ));
    }

    #[test]
    fn plan_progress_for_fy2022() {
        let plan = Plan::embedded().unwrap();
        let mut out = Vec::new();
        let rows = write_plan_progress(&plan, FiscalYear::new(2022).unwrap(), &mut out).unwrap();
        assert_eq!(rows, 9);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], PLAN_PROGRESS_HEADER.join(","));
        assert_eq!(
            lines[3],
            "FY2022,city_transport_digitalisation,No.58,kagorin_rides,かごりんの年間利用回数,回,164000,160728,98.0,◎,◎"
        );
        assert_eq!(
            lines[4],
            "FY2022,city_transport_digitalisation,No.64,tap_payment_uses,タッチ決済の延べ利用者数,人,40000,,,,◎"
        );
        assert_eq!(
            lines[8],
            "FY2022,city_transport_digitalisation,No.57,ai_on_demand_trial_areas,AIオンデマンド交通の実証実験地区数,地区,,,,−,−"
        );
        assert_eq!(
            lines[9],
            "FY2022,city_transport_digitalisation,,,policy average: 都市・交通のデジタル化,%,,,134.6,◎,"
        );
    }

    #[test]
    fn header_only_gives_header_only() {
        assert_eq!(
            fill("no,indicator,target,actual\n").unwrap(),
            "no,indicator,target,actual,progress_rate_pct,status\n"
        );
    }
}
