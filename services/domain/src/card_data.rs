//! Card-data rules: no card number (PAN) is ever stored or logged, and card
//! tokens are stored only as keyed hashes.
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MIN_PAN_DIGITS: usize = 13;
const MAX_PAN_DIGITS: usize = 19;

/// True when `digits` (ASCII digits only) passes the Luhn check.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Byte ranges of card-number-like sequences: 13 to 19 digits, optionally
/// separated by single spaces or dashes (as printed on cards), passing Luhn.
/// Any window of a longer digit run counts, so a number hidden inside a longer
/// string of digits is found too.
pub fn find_card_numbers(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut found: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect one run of digits with single separators between them.
        let mut digits = Vec::new();
        let mut positions = Vec::new();
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(b);
                positions.push(j);
                j += 1;
            } else if (b == b' ' || b == b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && j > i
                && bytes[j - 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits.len() >= MIN_PAN_DIGITS {
            let mut covered_to = 0;
            for start in 0..digits.len() {
                for len in (MIN_PAN_DIGITS..=MAX_PAN_DIGITS).rev() {
                    let end = start + len;
                    if end > digits.len() || end <= covered_to {
                        continue;
                    }
                    if luhn_valid(&digits[start..end]) {
                        let range = positions[start]..positions[end - 1] + 1;
                        covered_to = end;
                        match found.last_mut() {
                            Some(last) if last.end >= range.start => {
                                last.end = last.end.max(range.end)
                            }
                            _ => found.push(range),
                        }
                        break;
                    }
                }
            }
        }
        i = j.max(i + 1);
    }
    found
}

/// True when the bytes hold something that looks like a card number.
pub fn contains_card_number(bytes: &[u8]) -> bool {
    !find_card_numbers(bytes).is_empty()
}

/// True when a device payload carries something that looks like a card
/// number, wherever it hides. JSON is text and is scanned whole. Protobuf is
/// walked field by field and every length-delimited field (strings, bytes,
/// unknown fields) is scanned on its own: scanned whole, the tag and length
/// bytes between fields, which can be ASCII digits (field 7's varint tag is
/// `8`), would join a string's trailing digits into a false card number.
/// Bytes that are not valid protobuf are scanned whole.
pub fn payload_has_card_number(payload: &[u8]) -> bool {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return contains_card_number(payload);
    }
    match length_delimited_fields(payload) {
        Some(fields) => fields.into_iter().any(contains_card_number),
        None => contains_card_number(payload),
    }
}

/// The contents of every length-delimited field of a protobuf message (one
/// level deep), or None when the bytes are not valid protobuf wire format.
fn length_delimited_fields(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        match key & 7 {
            0 => {
                varint(&mut bytes)?;
            }
            1 => bytes = bytes.get(8..)?,
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                fields.push(bytes.get(..len)?);
                bytes = bytes.get(len..)?;
            }
            5 => bytes = bytes.get(4..)?,
            _ => return None,
        }
    }
    Some(fields)
}

/// Replaces every digit of every card-number-like sequence with `*`, keeping
/// the last four (as receipts do), so a dead letter can be read without the PAN.
pub fn mask_card_numbers(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    // The kept digits can join a neighbouring run into a new match: repeat
    // until nothing is found (each pass removes digits, so this ends).
    loop {
        let found = find_card_numbers(&out);
        if found.is_empty() {
            return out;
        }
        mask_ranges(&mut out, found);
    }
}

fn mask_ranges(out: &mut [u8], ranges: Vec<std::ops::Range<usize>>) {
    for range in ranges {
        let digit_positions: Vec<usize> =
            range.clone().filter(|&p| out[p].is_ascii_digit()).collect();
        let keep_from = digit_positions.len().saturating_sub(4);
        for &p in &digit_positions[..keep_from] {
            out[p] = b'*';
        }
    }
}

/// A masked copy of a string, for logs and error messages.
pub fn mask_str(s: &str) -> String {
    String::from_utf8_lossy(&mask_card_numbers(s.as_bytes())).into_owned()
}

/// Keyed hash of card tokens (HMAC-SHA-256). The key comes from configuration;
/// only the hash is stored, so tokens from the processor never reach the
/// database and the hashes cannot be recomputed without the key.
#[derive(Clone)]
pub struct CardTokenHasher {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for CardTokenHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardTokenHasher(<key redacted>)")
    }
}

/// The card-token key is too short to be safe.
#[derive(Debug, thiserror::Error)]
#[error(
    "the card-token hash key must be at least 32 bytes (got {0}); generate one with `openssl rand -hex 32`"
)]
pub struct WeakKey(pub usize);

impl CardTokenHasher {
    pub fn new(key: &[u8]) -> Result<Self, WeakKey> {
        if key.len() < 32 {
            return Err(WeakKey(key.len()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| WeakKey(key.len()))?;
        Ok(CardTokenHasher { mac })
    }

    /// The 32-byte keyed hash of a card token.
    pub fn hash(&self, card_token: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(card_token.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VISA_TEST: &str = "4111111111111111";

    #[test]
    fn luhn_accepts_known_test_numbers() {
        assert!(luhn_valid(VISA_TEST.as_bytes()));
        assert!(luhn_valid(b"3530111333300000")); // JCB test number
        assert!(!luhn_valid(b"4111111111111112"));
    }

    #[test]
    fn finds_numbers_with_separators_and_inside_text() {
        assert!(contains_card_number(
            b"{\"card_token\":\"4111111111111111\"}"
        ));
        assert!(contains_card_number(b"pan 4111 1111 1111 1111 end"));
        assert!(contains_card_number(b"4111-1111-1111-1111"));
        assert!(contains_card_number(b"tok_99994111111111111111"));
        assert!(!contains_card_number(b"tok_4111111111"));
        assert!(!contains_card_number(b"2026-11-24T09:00:00Z"));
    }

    #[test]
    fn protobuf_tags_do_not_make_card_numbers() {
        // A string field ending in 12 digits, then field 7's varint tag (ASCII
        // `8`) and its value: 13 digits in a row that pass Luhn, yet no card.
        let mut payload = vec![0x32, 18];
        payload.extend_from_slice(b"tok_ev400000000004");
        payload.extend_from_slice(&[0x38, 0x01]);
        assert!(contains_card_number(&payload), "the raw scan is fooled");
        assert!(!payload_has_card_number(&payload));
        // A real number in a string field, or in an unknown field, is found.
        let mut with_pan = vec![0x32, 16];
        with_pan.extend_from_slice(VISA_TEST.as_bytes());
        assert!(payload_has_card_number(&with_pan));
        let mut unknown = vec![0xfa, 0x06, 16];
        unknown.extend_from_slice(VISA_TEST.as_bytes());
        assert!(payload_has_card_number(&unknown));
        assert!(payload_has_card_number(
            format!("{{\"pan\":\"{VISA_TEST}\"}}").as_bytes()
        ));
    }

    #[test]
    fn masks_all_but_last_four() {
        let masked = mask_str("card 4111 1111 1111 1111 ok");
        assert_eq!(masked, "card **** **** **** 1111 ok");
        assert!(!contains_card_number(masked.as_bytes()));
    }

    #[test]
    fn hashes_are_keyed() {
        let a = CardTokenHasher::new(&[1u8; 32]).expect("key");
        let b = CardTokenHasher::new(&[2u8; 32]).expect("key");
        assert_eq!(a.hash("tok"), a.hash("tok"));
        assert_ne!(a.hash("tok"), b.hash("tok"));
        assert!(CardTokenHasher::new(b"short").is_err());
    }

    proptest::proptest! {
        #[test]
        fn masking_never_leaves_a_card_number(s in "[0-9 a-z-]{0,80}") {
            let masked = mask_card_numbers(s.as_bytes());
            proptest::prop_assert!(!contains_card_number(&masked));
        }
    }
}
