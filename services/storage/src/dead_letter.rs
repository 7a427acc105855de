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
            detail: printable(&rejection.detail),
            payload: card_data::mask_card_numbers(payload),
        }
    }

    pub fn with_topic(mut self, topic: &str) -> Self {
        self.topic = Some(printable(topic));
        self
    }

    pub fn with_kind(mut self, kind: &str) -> Self {
        self.kind = Some(kind.to_owned());
        self
    }

    pub fn with_vehicle(mut self, vehicle_id: &str) -> Self {
        self.vehicle_id = Some(printable(vehicle_id));
        self
    }
}

/// Text safe to store and show: card numbers masked, control characters
/// (NUL cannot even be stored in PostgreSQL text) replaced by U+FFFD.
fn printable(text: &str) -> String {
    card_data::mask_str(text)
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use kagoshima_domain::validation::{Reason, Rejection};

    use super::*;

    #[test]
    fn strips_what_postgres_cannot_store_and_masks_card_numbers() {
        let rejection = Rejection::new(Reason::InvalidField, "bad \u{0} value");
        let letter = DeadLetter::new("mqtt", &rejection, b"4111111111111111", Utc::now())
            .with_topic("kagoshima/v1/tram/a\u{0}b/tap");
        assert!(!letter.detail.contains('\u{0}'));
        assert_eq!(
            letter.topic.as_deref(),
            Some("kagoshima/v1/tram/a\u{fffd}b/tap")
        );
        assert_eq!(letter.payload, b"************1111");
    }
}
