//! Broken feeds are refused with file, line, field and reason, and change nothing.
use std::path::Path;

use kagoshima_network::{Problem, feed};
use kagoshima_tests::TestDb;

use crate::support::*;

fn problems(path: &Path) -> Vec<Problem> {
    match feed::load(path) {
        Ok(_) => panic!("{} should be refused", path.display()),
        Err(report) => {
            assert!(!report.to_string().is_empty());
            report.problems
        }
    }
}

fn replace(dir: &Path, file: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    assert!(text.contains(from), "{from} in {file}");
    std::fs::write(dir.join(file), text.replacen(from, to, 1)).expect("write");
}

#[tokio::test]
async fn a_broken_feed_is_reported_and_changes_nothing() {
    let db = TestDb::new().await;
    let good = import(&db, &sample_feed()).await;

    // 1. a stop time at an unknown stop (line 3 of stop_times.txt)
    let dir = copy_of_sample("unknown-stop");
    replace(
        &dir,
        "stop_times.txt",
        "06:01:15,06:01:15,tram_sakurajima_sambashi_dori",
        "06:01:15,06:01:15,tram_nowhere",
    );
    let p = problems(&dir);
    assert!(
        p.contains(&Problem {
            file: "stop_times.txt".into(),
            line: Some(3),
            field: Some("stop_id".into()),
            reason: "unknown stop tram_nowhere".into(),
        }),
        "{p:?}"
    );

    // 2. a malformed time
    let dir = copy_of_sample("bad-time");
    replace(
        &dir,
        "stop_times.txt",
        "T1-WD-0-0600,06:01:15,06:01:15",
        "T1-WD-0-0600,6h01,06:01:15",
    );
    let p = problems(&dir);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].file, "stop_times.txt");
    assert_eq!(p[0].line, Some(3));
    assert_eq!(p[0].field.as_deref(), Some("arrival_time"));
    assert!(p[0].reason.contains("6h01"), "{}", p[0].reason);

    // 3. a required file missing
    let dir = copy_of_sample("no-stops");
    std::fs::remove_file(dir.join("stops.txt")).expect("remove");
    let p = problems(&dir);
    assert!(
        p.iter()
            .any(|p| p.file == "stops.txt" && p.reason.contains("missing")),
        "{p:?}"
    );

    // 4. a translation row without its text
    let dir = copy_of_sample("bad-translation");
    replace(
        &dir,
        "translations.txt",
        "stops,stop_name,en,Kagoshima-ekimae,,,",
        "stops,stop_name,en,,,,",
    );
    let p = problems(&dir);
    assert!(
        p.iter().any(|p| p.file == "translations.txt"
            && p.line == Some(4)
            && p.field.as_deref() == Some("translation")),
        "{p:?}"
    );

    // 5. a path that is not a feed
    let p = problems(Path::new("/nonexistent/feed.zip"));
    assert_eq!(p.len(), 1);

    // Nothing changed: the same single version, still active, with its rows.
    assert_eq!(db.count("SELECT count(*) FROM feed_versions").await, 1);
    assert_eq!(active(&db).await, Some(good.feed_version_id));
    assert_eq!(
        rows(&db, "network_stop_times", good.feed_version_id).await,
        29525
    );
}

/// The folder's files as a zip, compressed or stored, in name order or the
/// reverse.
fn zip_of(dir: &Path, zip_path: &Path, method: zip::CompressionMethod, reverse: bool) {
    let file = std::fs::File::create(zip_path).expect("zip file");
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    if reverse {
        names.reverse();
    }
    for path in names {
        use std::io::Write;
        writer
            .start_file(
                path.file_name().and_then(|n| n.to_str()).expect("name"),
                options,
            )
            .expect("start");
        writer
            .write_all(&std::fs::read(&path).expect("read"))
            .expect("write");
    }
    writer.finish().expect("finish");
}

#[test]
fn a_zip_reads_like_its_folder_and_has_its_version() {
    // The feed as a zip gives the same rows, and the same content digest
    // (the feed's version key) however it is zipped.
    let dir = small_feed("zip", false);
    let zip_path = dir.with_extension("zip");
    zip_of(&dir, &zip_path, zip::CompressionMethod::Deflated, false);
    let stored_path = dir.with_extension("stored.zip");
    zip_of(&dir, &stored_path, zip::CompressionMethod::Stored, true);
    let from_dir = load(&dir);
    let from_zip = load(&zip_path);
    assert_eq!(from_dir.stop_times.len(), from_zip.stop_times.len());
    assert_eq!(from_dir.translations, from_zip.translations);
    assert_eq!(from_zip.extra_files.len(), 1);
    assert_eq!(from_zip.sha256, from_dir.sha256);
    assert_eq!(load(&stored_path).sha256, from_dir.sha256);
    // A changed byte is another version.
    let stops = std::fs::read_to_string(dir.join("stops.txt")).expect("stops");
    std::fs::write(dir.join("stops.txt"), stops.replace("31.58500", "31.58400")).expect("write");
    assert_ne!(load(&dir).sha256, from_zip.sha256);
}

#[test]
fn bad_frequencies_are_reported_with_their_lines() {
    let dir = kagoshima_tests::feeds::frequencies();
    std::fs::write(
        dir.join("frequencies.txt"),
        "trip_id,start_time,end_time,headway_secs,exact_times\nloop,07:00:00,06:00:00,600,0\nghost,07:00:00,08:00:00,600,0\nexact,07:00:00,09:00:00,900,1\nexact,08:00:00,10:00:00,900,1\n",
    )
    .expect("write");
    let p = problems(&dir);
    let shown: Vec<String> = p.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "frequencies.txt, line 2, field end_time: must be after start_time (the period would hold no run)",
            "frequencies.txt, line 3, field trip_id: trip \"ghost\" is not in trips.txt",
            "frequencies.txt, line 5, field start_time: the periods of trip \"exact\" on lines 4 and 5 overlap",
        ]
    );
}

#[test]
fn every_bad_row_of_every_file_is_reported_at_once() {
    let dir = copy_of_sample("many-problems");
    replace(
        &dir,
        "stop_times.txt",
        "T1-WD-0-0600,06:01:15,06:01:15",
        "T1-WD-0-0600,6h01,06:01:15",
    );
    replace(
        &dir,
        "stop_times.txt",
        "T1-WD-0-0600,06:02:30,06:02:30",
        "T1-WD-0-0600,06:02:30,6h02",
    );
    replace(&dir, "calendar.txt", "weekday,1,", "weekday,x,");
    let shown: Vec<String> = problems(&dir).iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert!(
        shown[0].starts_with("stop_times.txt, line 3, field arrival_time"),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with("stop_times.txt, line 4, field departure_time"),
        "{shown:#?}"
    );
    assert!(shown[2].starts_with("calendar.txt, line 2"), "{shown:#?}");
}
