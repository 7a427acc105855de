//! Every row of the DX-plan progress vectors (copied from the project's
//! shared data) must reproduce exactly: rate text and status symbol.
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kagoshima_indicators::progress::table::{fill_progress, row_progress};
use kagoshima_indicators::progress::{Decimal, ProgressRate, Status};

const VECTORS: &str = include_str!("../data/dx-progress-vectors.csv");

/// The vectors without their last two columns (progress_rate_pct, status).
fn input_only() -> String {
    assert!(!VECTORS.contains('"'), "the vectors have no quoted fields");
    VECTORS
        .lines()
        .map(|line| {
            let mut parts: Vec<&str> = line.split(',').collect();
            parts.truncate(parts.len() - 2);
            format!("{}\n", parts.join(","))
        })
        .collect()
}

#[test]
fn every_row_reproduces() {
    let mut lines = VECTORS.lines();
    assert_eq!(
        lines.next(),
        Some("no,indicator,target,actual,progress_rate_pct,status")
    );
    let mut n = 0;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 6, "{line}");
        let (target, actual, rate, status) = (f[2], f[3], f[4], f[5]);

        // Through the library types.
        let target_d: Decimal = target.parse().unwrap();
        let actual_d: Decimal = actual.parse().unwrap();
        let r = ProgressRate::of(actual_d, target_d).unwrap();
        assert_eq!(r.to_string(), rate, "rate of {line}");
        assert_eq!(r.status().symbol(), status, "status of {line}");
        assert_eq!(status.parse::<Status>().unwrap(), r.status(), "{line}");

        // Through the CSV row logic.
        let (got_rate, got_status) = row_progress(target, actual, i as u64 + 2).unwrap();
        assert_eq!((got_rate.as_str(), got_status), (rate, status), "{line}");
        n += 1;
    }
    assert_eq!(n, 20, "all rows checked");
}

#[test]
fn fill_progress_reproduces_the_file_byte_for_byte() {
    let mut out = Vec::new();
    let rows = fill_progress(input_only().as_bytes(), &mut out).unwrap();
    assert_eq!(rows, 20);
    assert_eq!(String::from_utf8(out).unwrap(), VECTORS);
}

#[test]
fn the_full_file_recomputes_to_itself() {
    let mut out = Vec::new();
    fill_progress(VECTORS.as_bytes(), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), VECTORS);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kagoshima-indicators"))
}

#[test]
fn cli_progress_from_stdin_and_from_a_file() {
    use std::io::Write;
    let mut child = bin()
        .args(["progress", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input_only().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), VECTORS);

    let dir = std::env::temp_dir().join(format!("kagoshima-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input: PathBuf = dir.join("in.csv");
    let output: PathBuf = dir.join("out.csv");
    std::fs::write(&input, input_only()).unwrap();
    let status = bin()
        .arg("progress")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), VECTORS);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_bad_row_fails_with_its_line() {
    use std::io::Write;
    let mut child = bin()
        .arg("progress")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"no,indicator,target,actual\n1,a,10,5\n2,b,10,five\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing written on error");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("line 3, column actual: not a number: \"five\""),
        "{err}"
    );
}

#[test]
fn cli_help_explains_the_rules() {
    let out = bin().args(["progress", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--input <FILE|->",
        "no,indicator,target,actual",
        "progress_rate_pct,status",
        "empty target",
        "rounded half up",
        "◎ rate ≥ 90 %",
    ] {
        assert!(help.contains(needle), "{needle:?} missing from:\n{help}");
    }
}

#[test]
fn cli_plan_fy2022() {
    let out = bin()
        .args(["plan", "--fiscal-year", "令和4年度"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(",aibus_stop_searches,"), "{text}");
    assert!(text.contains(",700,1340,191.4,◎,◎"), "{text}");
    assert!(
        text.contains("policy average: 都市・交通のデジタル化,%,,,134.6,◎,"),
        "{text}"
    );
}
