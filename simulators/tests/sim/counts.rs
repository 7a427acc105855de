use std::collections::{BTreeMap, BTreeSet};

use kagoshima_domain::card_data;
use kagoshima_domain::topic::{DeviceTopic, Kind, Mode};
use kagoshima_proto::Message as _;
use kagoshima_proto::v1::{Tap, TapAction, TapResult};
use kagoshima_sim::publish::{WireMessage, read_recording, write_recording};
use kagoshima_sim::{Encoding, Summary, simulate_day};

use crate::support::{feed, small_config, temp_dir};

/// What a file publisher saw equals the truth summary, per mode and kind.
#[test]
fn published_counts_equal_the_truth_summary() {
    let mut config = small_config(31, 40);
    config.scale = 0.3;
    let day = simulate_day(feed(), &config);
    let dir = temp_dir("counts");
    let messages: Vec<WireMessage> = day
        .events
        .iter()
        .map(|e| WireMessage::from_event(e, Encoding::Proto))
        .collect();
    let path = dir.join("messages.jsonl");
    write_recording(&path, &messages).expect("record");
    let read = read_recording(&path).expect("read back");
    day.truth.write(&dir).expect("truth");
    let summary: Summary =
        serde_json::from_slice(&std::fs::read(dir.join("truth/summary.json")).expect("summary"))
            .expect("summary json");
    let _ = std::fs::remove_dir_all(&dir);

    let mut by: BTreeMap<(&'static str, &'static str), u64> = BTreeMap::new();
    let mut vehicles = BTreeSet::new();
    let mut event_ids = BTreeSet::new();
    let mut results = BTreeMap::new();
    let mut countries = BTreeSet::new();
    for m in &read {
        let topic = DeviceTopic::parse(&m.topic).expect("device topic");
        *by.entry((topic.mode.as_str(), topic.kind.as_str()))
            .or_default() += 1;
        vehicles.insert(topic.vehicle_id.clone());
        if topic.kind == Kind::Tap {
            let tap = Tap::decode(m.payload.as_slice()).expect("tap decodes");
            assert!(
                !card_data::contains_card_number(tap.card_token.as_bytes()),
                "token looks like a card number"
            );
            assert!(tap.card_token.starts_with("ctok_") && tap.card_token.len() == 29);
            assert_ne!(topic.mode, Mode::CommunityBus, "あいばす has no validators");
            event_ids.insert(tap.event_id.clone());
            *results.entry(tap.result).or_insert(0u32) += 1;
            countries.insert(tap.issuer_country.clone());
            if tap.action == TapAction::Off as i32 {
                assert_eq!(tap.fare_yen, 0);
            }
        }
    }
    assert_eq!(read.len() as u64, summary.messages);
    assert_eq!(summary, day.truth.summary);
    assert_eq!(vehicles.len() as u64, summary.vehicles);
    for (mode, s) in &summary.per_mode {
        let mode = Mode::parse(mode).expect("mode");
        let get = |k: Kind| by.get(&(mode.as_str(), k.as_str())).copied().unwrap_or(0);
        assert_eq!(get(Kind::Position), s.positions, "{mode} positions");
        assert_eq!(get(Kind::Tap), s.taps_published, "{mode} taps");
        assert_eq!(get(Kind::Passengers), s.passenger_counts, "{mode} counts");
        assert_eq!(get(Kind::Status), s.status, "{mode} status");
    }
    assert_eq!(event_ids.len() as u64, summary.taps_distinct);
    assert!(
        summary.taps_published > summary.taps_distinct,
        "some repeats"
    );
    assert!(results.contains_key(&(TapResult::Declined as i32)));
    assert!(countries.len() > 3, "foreign cards: {countries:?}");
    assert!(summary.transfers > 0);
    // The truth's rides: transfers are free, forgotten tap-offs exist.
    let rides = &day.truth.rides;
    assert!(rides.iter().filter(|r| r.transfer).all(|r| r.fare_yen == 0));
    assert!(
        rides
            .iter()
            .any(|r| r.card_token.starts_with("ctok_") && !r.tapped_off)
    );
}
