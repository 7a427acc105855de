//! The back-office upload API.
use chrono::Utc;
use kagoshima_proto::v1::{
    DeviceEvent, ItemOutcome, UploadEventsRequest, device_event::Event,
    ingest_service_client::IngestServiceClient,
};
use kagoshima_tests::unique;
use tonic::{Code, Request};

use crate::support::{TEST_TOKEN, TestIngest, position, tap};

fn event(mode: &str, event: Event) -> DeviceEvent {
    DeviceEvent {
        mode: mode.into(),
        event: Some(event),
    }
}

fn authorised<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {TEST_TOKEN}").parse().expect("header"),
    );
    request
}

#[tokio::test]
async fn uploads_answer_per_item_and_need_a_token() {
    let vehicle = unique("bus");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    let mut client = IngestServiceClient::connect(format!("http://{}", ingest.grpc))
        .await
        .expect("connect");
    let now = Utc::now();
    let good_tap = tap(&vehicle, &unique("ev"), now);
    let mut card_number_tap = tap(&vehicle, &unique("ev"), now);
    card_number_tap.card_token = "5555555555554444".into();
    let request = UploadEventsRequest {
        events: vec![
            event("bus", Event::Tap(good_tap.clone())),
            event("bus", Event::Tap(good_tap.clone())),
            event("bus", Event::Position(position(&vehicle, now))),
            event("bus", Event::Tap(card_number_tap)),
            event("ferry", Event::Position(position(&vehicle, now))),
            DeviceEvent {
                mode: "bus".into(),
                event: None,
            },
        ],
    };

    let refused = client
        .upload_events(Request::new(request.clone()))
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("Bearer"),
        "{}",
        refused.message()
    );
    let mut wrong = Request::new(request.clone());
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer nope".parse().expect("header"));
    assert_eq!(
        client
            .upload_events(wrong)
            .await
            .expect_err("bad token")
            .code(),
        Code::Unauthenticated
    );
    assert_eq!(
        ingest.db.count("SELECT count(*) FROM taps").await,
        0,
        "a refused call stored something"
    );

    let response = client
        .upload_events(authorised(request))
        .await
        .expect("upload")
        .into_inner();
    let outcomes: Vec<(ItemOutcome, &str)> = response
        .results
        .iter()
        .map(|r| (r.outcome(), r.reason.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (ItemOutcome::Accepted, ""),
            (ItemOutcome::Duplicate, ""),
            (ItemOutcome::Accepted, ""),
            (ItemOutcome::Rejected, "card_number"),
            (ItemOutcome::Rejected, "invalid_field"),
            (ItemOutcome::Rejected, "missing_field"),
        ]
    );
    assert_eq!(
        (response.accepted, response.duplicates, response.rejected),
        (2, 1, 3)
    );
    assert!(!response.results[3].detail.contains("5555555555554444"));

    // The same upload again: everything valid is now a duplicate.
    let again = UploadEventsRequest {
        events: vec![event("bus", Event::Tap(good_tap))],
    };
    let response = client
        .upload_events(authorised(again))
        .await
        .expect("upload")
        .into_inner();
    assert_eq!(response.results[0].outcome(), ItemOutcome::Duplicate);
    assert_eq!(ingest.db.count("SELECT count(*) FROM taps").await, 1);
    assert_eq!(
        ingest
            .db
            .count("SELECT count(*) FROM dead_letters WHERE source = 'api'")
            .await,
        3
    );
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM dead_letters")
        .fetch_all(ingest.db.pool())
        .await
        .expect("payloads");
    assert!(
        stored
            .iter()
            .all(|p| !String::from_utf8_lossy(p).contains("5555555555554444"))
    );
    ingest.stop().await;
}

#[tokio::test]
async fn oversized_uploads_are_refused_whole() {
    let vehicle = unique("bus");
    let ingest = TestIngest::spawn(&[&vehicle]).await;
    let mut client = IngestServiceClient::connect(format!("http://{}", ingest.grpc))
        .await
        .expect("connect")
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let now = Utc::now();
    let events = (0..10_001)
        .map(|i| {
            event(
                "bus",
                Event::Position(position(&vehicle, now - chrono::Duration::seconds(i))),
            )
        })
        .collect();
    let status = client
        .upload_events(authorised(UploadEventsRequest { events }))
        .await
        .expect_err("too many");
    assert!(
        matches!(
            status.code(),
            Code::InvalidArgument | Code::OutOfRange | Code::ResourceExhausted
        ),
        "{status:?}"
    );
    assert_eq!(
        ingest
            .db
            .count("SELECT count(*) FROM vehicle_positions")
            .await,
        0
    );
    ingest.stop().await;
}
