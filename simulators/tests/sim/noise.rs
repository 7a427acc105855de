use kagoshima_domain::topic::Kind;
use kagoshima_sim::projection::{distance_m, to_latlon};
use kagoshima_sim::{Payload, simulate_day};

use crate::support::{feed, secs_of, small_config};

/// With noise, every published position is within the configured bound of
/// the true position: 4 σ for ordinary reports, `outlier_max_m` for outliers,
/// and outliers are about as rare as configured.
#[test]
fn every_noisy_position_stays_within_the_configured_error() {
    let feed = feed();
    let config = small_config(21, 6);
    let noise = &config.noise;
    assert!(noise.enabled);
    let (normal_bound, outlier_bound) = (noise.max_error_m(), noise.max_outlier_error_m());
    assert_eq!((normal_bound, outlier_bound), (40.0, 300.0));
    let day = simulate_day(feed, &config);
    let trajectories = kagoshima_sim::day::by_vehicle(&day.truth.trajectories);
    let (mut n, mut beyond_normal) = (0u32, 0u32);
    let mut gaps = 0;
    let mut last: std::collections::BTreeMap<&str, f64> = Default::default();
    for e in &day.events {
        let Payload::Position(p) = &e.payload else {
            continue;
        };
        let tr = trajectories[e.topic.vehicle_id.as_str()];
        // The true instant is the publish instant (the device's clock may be off).
        let t = secs_of(config.date, e.publish_at);
        let truth = to_latlon(tr.state_at(t).xy);
        let err = distance_m((p.lat, p.lon), truth);
        assert!(
            err <= outlier_bound + 0.5,
            "error {err} m > {outlier_bound}"
        );
        n += 1;
        if err > normal_bound + 0.5 {
            beyond_normal += 1;
        }
        if let Some(prev) = last.insert(&e.topic.vehicle_id, t)
            && t - prev > 60.0
        {
            gaps += 1;
        }
    }
    let share = f64::from(beyond_normal) / f64::from(n);
    assert!(share <= 2.0 * noise.outlier_share, "outlier share {share}");
    assert!(beyond_normal > 0, "some outliers");
    assert!(gaps > 0, "some reporting gaps");
    // Some device clocks are off: their recorded_at differs from the publish instant.
    let skewed = day
        .events
        .iter()
        .filter(|e| e.topic.kind == Kind::Status)
        .filter(|e| match &e.payload {
            Payload::Status(s) => {
                s.recorded_at.expect("recorded_at").seconds != e.publish_at.timestamp()
            }
            _ => false,
        })
        .count();
    let _ = skewed; // with 6 vehicles and a 5 % share there may be none; see the next test
}

#[test]
fn clock_offsets_shift_device_times_only() {
    let feed = feed();
    let mut config = small_config(3, 4);
    config.noise.clock_offset_share = 1.0;
    config.noise.clock_offset_max_s = 30.0;
    let day = simulate_day(feed, &config);
    let mut checked = 0;
    for e in day.events.iter().filter(|e| e.topic.kind == Kind::Status) {
        let Payload::Status(s) = &e.payload else {
            unreachable!()
        };
        let rec = s.recorded_at.expect("recorded_at");
        let off = (rec.seconds * 1000 + i64::from(rec.nanos) / 1_000_000)
            - e.publish_at.timestamp_millis();
        assert!((5_000..=30_000).contains(&off.abs()), "offset {off} ms");
        checked += 1;
    }
    assert!(checked > 100);
}
