//! Live vehicles, arrivals and GTFS-Realtime (issue #5).
use std::time::Duration;

use kagoshima_location::live::now;
use kagoshima_proto::v1::{
    ArrivalStatus, GetArrivalsRequest, Occupancy, Position, StreamArrivalsRequest,
};
use kagoshima_proto::{Message, Timestamp};
use tonic::Code;

use crate::support::{TestLocation, drive, raw_get};

const TRIP: &str = "T1-WD-0-0600";

#[tokio::test]
async fn a_live_vehicle_shows_up_in_arrivals_and_gtfs_realtime_holds_only_fresh_entities() {
    let app = TestLocation::spawn().await;
    let stops = app.trip_stops(TRIP).await;
    assert!(stops.len() > 6);
    let live = app.live();
    let t = now();
    for r in drive("test-fresh", TRIP, &stops, t) {
        live.ingest(&r);
    }
    // Another vehicle last heard 200 s ago.
    for r in drive("test-old", "T1-WD-0-0607", &stops, t - 200.0) {
        live.ingest(&r);
    }
    let mut client = app.client().await;
    let target = &stops[5].0;
    let answer = client
        .get_arrivals(GetArrivalsRequest {
            stop_id: target.clone(),
            lang: "en".into(),
            limit: 50,
            route_id: String::new(),
        })
        .await
        .expect("arrivals")
        .into_inner();
    let mine = answer
        .arrivals
        .iter()
        .find(|a| a.vehicle_id == "test-fresh")
        .unwrap_or_else(|| panic!("no arrival of the live vehicle: {answer:?}"));
    assert_eq!(mine.trip_id, TRIP);
    assert_eq!(mine.status(), ArrivalStatus::OnTheWay);
    assert_eq!(mine.stops_away, 2);
    let predicted = mine.predicted_time.expect("a prediction").seconds as f64;
    assert!(predicted > t && predicted < t + 900.0, "{predicted} vs {t}");
    // The likely window holds the prediction and is not empty; the
    // countdown range agrees with it.
    let earliest = mine.earliest_time.expect("a window").seconds as f64;
    let latest = mine.latest_time.expect("a window").seconds as f64;
    assert!(earliest < predicted && predicted < latest, "{mine:?}");
    assert!(
        mine.minutes_low <= mine.minutes && mine.minutes <= mine.minutes_high,
        "{mine:?}"
    );
    assert_eq!(mine.headsign.as_ref().map(|h| h.lang.as_str()), Some("en"));
    // The vehicle silent for 200 s is stale: listed as such, with no predictions.
    assert!(
        answer
            .arrivals
            .iter()
            .all(|a| a.vehicle_id != "test-old" || a.predicted_time.is_none())
    );
    let vehicles = client
        .list_vehicles(kagoshima_proto::v1::ListVehiclesRequest {
            route_id: "tram-1".into(),
            lang: "en".into(),
        })
        .await
        .expect("vehicles")
        .into_inner();
    let old = vehicles
        .vehicles
        .iter()
        .find(|v| v.vehicle_id == "test-old")
        .expect("old vehicle listed");
    assert!(old.stale);
    let fresh = vehicles
        .vehicles
        .iter()
        .find(|v| v.vehicle_id == "test-fresh")
        .expect("fresh vehicle listed");
    assert!(!fresh.stale);
    assert_eq!(fresh.trip_id, TRIP);

    // GTFS-Realtime: protobuf that the gtfs-realtime crate parses, fresh entities only.
    for path in ["/gtfs-rt/vehicle-positions", "/gtfs-rt/trip-updates"] {
        let (code, head, body) = raw_get(app.http, path, "").await;
        assert_eq!(code, 200, "{path}");
        let feed = gtfs_realtime::FeedMessage::decode(body.as_slice()).expect("valid gtfs-rt");
        let header_ts = feed.header.timestamp.expect("header timestamp");
        assert!(!feed.entity.is_empty(), "{path}: {feed:?}");
        for e in &feed.entity {
            let ts = e
                .vehicle
                .as_ref()
                .and_then(|v| v.timestamp)
                .or_else(|| e.trip_update.as_ref().and_then(|u| u.timestamp))
                .expect("entity timestamp");
            assert!(header_ts - ts <= 90, "{path}: stale entity {e:?}");
            assert!(!e.id.contains("test-old"), "{path}: {e:?}");
        }
        // Same data as JSON for people.
        let (code, _, json) = raw_get(app.http, &format!("{path}?format=json"), "").await;
        assert_eq!(code, 200);
        let json: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert!(json["entity"].as_array().is_some_and(|a| !a.is_empty()));
        // Not modified since its Last-Modified: 304.
        let lm = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("last-modified: ")
                    .or_else(|| l.strip_prefix("Last-Modified: "))
            })
            .expect("last-modified")
            .trim()
            .to_owned();
        let (code, _, _) = raw_get(app.http, path, &format!("If-Modified-Since: {lm}\r\n")).await;
        assert_eq!(code, 304, "{path}");
    }
}

#[tokio::test]
async fn bad_live_requests_get_clear_errors() {
    let app = TestLocation::spawn().await;
    let mut client = app.client().await;
    let ask = |stop: &str, lang: &str, limit: u32, route: &str| GetArrivalsRequest {
        stop_id: stop.into(),
        lang: lang.into(),
        limit,
        route_id: route.into(),
    };
    let cases = [
        (ask("no_such_stop", "ja", 5, ""), Code::NotFound, "no stop"),
        (
            ask("tram_korimoto", "xx", 5, ""),
            Code::InvalidArgument,
            "unsupported language",
        ),
        (
            ask("tram_korimoto", "ja", 1000, ""),
            Code::InvalidArgument,
            "limit",
        ),
        (
            ask("tram_korimoto", "ja", 5, "no-route"),
            Code::NotFound,
            "no route",
        ),
        (ask("", "ja", 5, ""), Code::InvalidArgument, "stop_id"),
    ];
    for (request, code, text) in cases {
        let e = client
            .get_arrivals(request.clone())
            .await
            .expect_err("an error");
        assert_eq!(e.code(), code, "{request:?}: {e:?}");
        assert!(e.message().contains(text), "{request:?}: {}", e.message());
    }
    let e = client
        .stream_arrivals(StreamArrivalsRequest {
            stop_id: "tram_korimoto".into(),
            refresh_seconds: 100_000,
            ..Default::default()
        })
        .await
        .expect_err("refresh out of range");
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn the_arrivals_stream_sends_at_once_and_on_change() {
    let app = TestLocation::spawn().await;
    let mut client = app.client().await;
    let mut stream = client
        .stream_arrivals(StreamArrivalsRequest {
            stop_id: "tram_korimoto".into(),
            lang: "ja".into(),
            limit: 10,
            route_id: String::new(),
            refresh_seconds: 5,
        })
        .await
        .expect("stream")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("first message at once")
        .expect("ok")
        .expect("a message");
    assert_eq!(first.stop_id, "tram_korimoto");
    let second = tokio::time::timeout(Duration::from_secs(8), stream.message())
        .await
        .expect("a refresh within 5 s")
        .expect("ok");
    assert!(second.is_some());
}

#[tokio::test]
async fn noiseless_simulated_stop_visits_equal_the_truth() {
    use kagoshima_sim::{Feed, SimConfig, config::NoiseConfig, simulate_day};
    let app = TestLocation::spawn().await;
    let live = app.live();
    let date = chrono::NaiveDate::from_ymd_opt(2025, 6, 10).expect("date");
    let mut cfg = SimConfig::new(date);
    cfg.noise = NoiseConfig::none();
    cfg.scale = 0.01;
    cfg.max_vehicles = Some(3);
    cfg.vehicle_prefix = kagoshima_tests::unique("sim");
    let day = simulate_day(&Feed::sample().expect("sample feed"), &cfg);
    // Through the one decoder, as the MQTT consumer does.
    let validator = kagoshima_domain::validation::Validator::new(Default::default());
    for e in &day.events {
        let wire =
            kagoshima_sim::publish::WireMessage::from_event(e, kagoshima_sim::Encoding::Proto);
        match kagoshima_location::mqtt::decode_position(
            &validator,
            &wire.topic,
            &wire.payload,
            wire.publish_at,
        ) {
            Ok(report) => live.ingest(&report),
            Err(refusal) => assert_eq!(refusal.reason, "not_a_position", "{}", refusal.detail),
        }
    }
    let truth: Vec<_> = day.truth.visits.iter().filter(|v| v.index > 0).collect();
    assert!(truth.len() > 100);
    let expected = truth.len() as i64;
    let found: i64 =
        kagoshima_tests::eventually("stop visits stored", Duration::from_secs(20), || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM stop_visits WHERE service_date = $1 AND stop_sequence > 1",
            )
            .bind(date)
            .fetch_one(app.db.pool())
            .await
            .ok()?;
            (n >= expected).then_some(n)
        })
        .await;
    assert_eq!(found, expected);
    let rows: Vec<(String, i32, f64, Option<f64>)> = sqlx::query_as(
        "SELECT trip_id, stop_sequence, extract(epoch FROM actual_arrival)::float8,
                extract(epoch FROM actual_departure)::float8
           FROM stop_visits WHERE service_date = $1",
    )
    .bind(date)
    .fetch_all(app.db.pool())
    .await
    .expect("visits");
    let ds = kagoshima_tracker::network::day_start(date);
    // Within 12 s: the simulated vehicles creep over their last metres (a
    // cosine speed profile), which linear interpolation between reports
    // 10 s apart cannot see exactly.
    let mut worst: f64 = 0.0;
    let mut worst_dep: f64 = 0.0;
    for v in &truth {
        let row = rows
            .iter()
            .find(|r| r.0 == v.trip_id && r.1 as u32 == v.stop_sequence)
            .unwrap_or_else(|| panic!("no visit for {} #{}", v.trip_id, v.stop_sequence));
        let e = (row.2 - (ds + v.arrival_s)).abs();
        if e > 12.0 {
            eprintln!("arrival {} #{} off by {e:.1} s", v.trip_id, v.stop_sequence);
        }
        worst = worst.max(e);
        if !v.last {
            let dep = row.3.expect("a departure");
            let e = (dep - (ds + v.departure_s)).abs();
            if e > 12.0 {
                eprintln!(
                    "departure {} #{} off by {e:.1} s",
                    v.trip_id, v.stop_sequence
                );
            }
            worst_dep = worst_dep.max(e);
        }
    }
    assert!(worst <= 12.0, "worst arrival difference {worst} s");
    assert!(
        worst_dep <= 10.0,
        "worst departure difference {worst_dep} s"
    );
}

#[tokio::test]
async fn positions_over_the_broker_reach_arrivals() {
    let app = TestLocation::spawn().await;
    let stops = app.trip_stops(TRIP).await;
    let vehicle = kagoshima_tests::unique("tram");
    let mut device = kagoshima_tests::mqtt::Device::connect(&kagoshima_tests::unique("dev")).await;
    // Give the service's subscription a moment to be in place.
    let mut client = app.client().await;
    let t = now();
    let reports = drive(&vehicle, TRIP, &stops, t);
    let target = stops[5].0.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shift = now() - t;
        for r in &reports {
            let secs = r.recorded_at + shift;
            let p = Position {
                vehicle_id: vehicle.clone(),
                recorded_at: Some(Timestamp {
                    seconds: secs as i64,
                    nanos: (secs.fract() * 1e9) as i32,
                }),
                lat: r.lat,
                lon: r.lon,
                trip_id: TRIP.into(),
                speed: Some(8.0),
                ..Position::default()
            };
            device
                .publish(
                    &format!("kagoshima/v1/tram/{vehicle}/position"),
                    p.encode_to_vec(),
                )
                .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let a = client
            .get_arrivals(GetArrivalsRequest {
                stop_id: target.clone(),
                lang: "ja".into(),
                limit: 50,
                route_id: String::new(),
            })
            .await
            .expect("arrivals")
            .into_inner();
        if a.arrivals
            .iter()
            .any(|a| a.vehicle_id == vehicle && a.predicted_time.is_some())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the vehicle never showed up: {a:?}"
        );
    }
    // What the contract refuses is counted by reason, never dropped silently.
    let topic = format!("kagoshima/v1/tram/{vehicle}/position");
    device.publish(&topic, b"not protobuf".to_vec()).await;
    let off_the_map = Position {
        vehicle_id: vehicle.clone(),
        recorded_at: Some(Timestamp {
            seconds: now() as i64,
            nanos: 0,
        }),
        lat: 95.0,
        lon: 130.55,
        ..Position::default()
    };
    device.publish(&topic, off_the_map.encode_to_vec()).await;
    let metrics_url = format!("http://{}/metrics", app.http);
    kagoshima_tests::eventually("refusals counted", Duration::from_secs(10), || async {
        let (_, body) = crate::support::http_get(&metrics_url).await?;
        let refused = |reason: &str| {
            body.lines().any(|l| {
                l.starts_with("kagoshima_location_reports_refused_total")
                    && l.contains(&format!("reason=\"{reason}\""))
                    && !l.ends_with(" 0")
            })
        };
        let accepted = body.lines().any(|l| {
            l.starts_with("kagoshima_location_reports_accepted_total ") && !l.ends_with(" 0")
        });
        (refused("malformed_payload") && refused("invalid_coordinates") && accepted).then_some(())
    })
    .await;
    // The census an operator pages on: the tram on its trip, a fresh newest
    // report, and the feed's end of service.
    kagoshima_tests::eventually("vehicle census", Duration::from_secs(15), || async {
        let (_, body) = crate::support::http_get(&metrics_url).await?;
        let value = |prefix: &str| -> Option<f64> {
            body.lines()
                .find(|l| l.starts_with(prefix))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        };
        let on_trip = value("kagoshima_location_vehicles{mode=\"tram\",state=\"on_trip\"}")?;
        let stale = value("kagoshima_location_vehicles{mode=\"tram\",state=\"stale\"}")?;
        let age = value("kagoshima_location_newest_report_age_seconds ")?;
        let feed_end = value("kagoshima_location_feed_service_end_timestamp_seconds ")?;
        (on_trip >= 1.0 && stale == 0.0 && age < 60.0 && feed_end > now()).then_some(())
    })
    .await;

    // Crowding: the counter's boardings and alightings on this trip make its
    // load (55 on board of a tram's 80: standing room only, about 70 %),
    // on the vehicle, its arrivals and GTFS-Realtime.
    let topic = format!("kagoshima/v1/tram/{vehicle}/passengers");
    for (stop, boardings, alightings) in [(&stops[0].0, 40, 0), (&stops[1].0, 20, 5)] {
        let count = kagoshima_proto::v1::PassengerCount {
            vehicle_id: vehicle.clone(),
            recorded_at: Some(Timestamp {
                seconds: now() as i64,
                nanos: 0,
            }),
            stop_id: stop.clone(),
            boardings,
            alightings,
            trip_id: TRIP.into(),
            ..Default::default()
        };
        device.publish(&topic, count.encode_to_vec()).await;
    }
    kagoshima_tests::eventually("occupancy from counts", Duration::from_secs(10), || async {
        let vehicles = app
            .client()
            .await
            .list_vehicles(kagoshima_proto::v1::ListVehiclesRequest {
                route_id: String::new(),
                lang: "en".into(),
            })
            .await
            .ok()?
            .into_inner()
            .vehicles;
        let v = vehicles.iter().find(|v| v.vehicle_id == vehicle)?;
        (v.occupancy() == Occupancy::StandingRoomOnly).then_some(())
    })
    .await;
    let a = client
        .get_arrivals(GetArrivalsRequest {
            stop_id: target.clone(),
            lang: "en".into(),
            limit: 50,
            route_id: String::new(),
        })
        .await
        .expect("arrivals")
        .into_inner();
    let row = a
        .arrivals
        .iter()
        .find(|a| a.vehicle_id == vehicle)
        .expect("the tram's row");
    assert_eq!(row.occupancy(), Occupancy::StandingRoomOnly);
    kagoshima_tests::eventually(
        "occupancy in GTFS-Realtime",
        Duration::from_secs(30),
        || async {
            let (_, _, body) = raw_get(app.http, "/gtfs-rt/vehicle-positions", "").await;
            let feed = gtfs_realtime::FeedMessage::decode(body.as_slice()).ok()?;
            let vp = feed
                .entity
                .iter()
                .filter_map(|e| e.vehicle.as_ref())
                .find(|v| {
                    v.vehicle.as_ref().and_then(|d| d.id.as_deref()) == Some(vehicle.as_str())
                })?;
            // STANDING_ROOM_ONLY is 3 in GTFS-Realtime.
            (vp.occupancy_status == Some(3) && vp.occupancy_percentage == Some(70)).then_some(())
        },
    )
    .await;
    device.disconnect().await;
}
