use chrono::{DateTime, Utc};
use kagoshima_domain::{card_data, validation::Rejection};

/// A message that failed validation, ready to store. Building one masks any
/// card-number-like digits in the payload and the detail.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub received_at: DateTime<Utc>,
    pub source: &'static str,
    pub topic: Option<String>,
    pub kind: Option<String>,
    pub vehicle_id: Option<String>,
    pub reason: &'static str,
    pub detail: String,
    pub payload: Vec<u8>,
}

impl DeadLetter {
    pub fn new(
        source: &'static str,
        rejection: &Rejection,
        payload: &[u8],
        received_at: DateTime<Utc>,
    ) -> Self {
        DeadLetter {
            received_at,
            source,
            topic: None,
            kind: None,
            vehicle_id: None,
            reason: rejection.reason.code(),
            detail: card_data::mask_str(&rejection.detail),
            payload: card_data::mask_card_numbers(payload),
        }
    }

    pub fn with_topic(mut self, topic: &str) -> Self {
        self.topic = Some(card_data::mask_str(topic));
        self
    }

    pub fn with_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_owned());
        self
    }

    pub fn with_vehicle(mut self, vehicle_id: &str) -> Self {
        self.vehicle_id = Some(card_data::mask_str(vehicle_id));
        self
    }
}
