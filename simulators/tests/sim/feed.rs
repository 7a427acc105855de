use kagoshima_sim::check::{MAX_STOP_SHAPE_DISTANCE_M, check_feed};
use kagoshima_sim::feed::sample_feed_dir;

#[test]
fn the_shipped_feed_loads_with_gtfs_structures_and_passes_the_project_checks() {
    let dir = sample_feed_dir();
    let gtfs = gtfs_structures::Gtfs::from_path(&dir).expect("gtfs-structures reads the feed");
    assert!(gtfs.trips.len() > 1000 && gtfs.stops.len() > 60);
    let report = check_feed(&dir);
    assert!(report.is_ok(), "problems: {:#?}", report.problems);
    assert_eq!(report.trips_checked, gtfs.trips.len());
    assert_eq!(report.stops_checked, gtfs.stops.len());
    assert!(report.max_stop_shape_distance_m <= MAX_STOP_SHAPE_DISTANCE_M);
}

#[test]
fn the_checks_catch_a_broken_feed() {
    // A copy of the feed with one stop moved 200 m off its line and a
    // translation removed must fail.
    let src = sample_feed_dir();
    let dir = crate::support::temp_dir("badfeed");
    for entry in std::fs::read_dir(&src).expect("feed dir") {
        let p = entry.expect("entry").path();
        std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy");
    }
    let stops = std::fs::read_to_string(dir.join("stops.txt")).expect("stops");
    let stops = stops.replace(
        "tram_tenmonkan_dori,天文館通,31.59071,130.55530",
        "tram_tenmonkan_dori,天文館通,31.59271,130.55530",
    );
    std::fs::write(dir.join("stops.txt"), stops).expect("write");
    let tr = std::fs::read_to_string(dir.join("translations.txt")).expect("translations");
    let tr: String = tr
        .lines()
        .filter(|l| !l.starts_with("stops,stop_name,ko,") || !l.ends_with(",谷山"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("translations.txt"), tr).expect("write");
    let report = check_feed(&dir);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("tram_tenmonkan_dori") && p.contains("from shape")),
        "{:#?}",
        report.problems.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("no ko translation"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
