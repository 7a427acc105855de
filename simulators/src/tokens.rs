//! Random identifiers: card tokens and event ids (never anything that looks
//! like a card number), and a small base64 codec for recordings.
use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters with no run of 13 or more digits.
pub fn base62<R: Rng>(rng: &mut R, len: usize) -> String {
    loop {
        let s: String = (0..len)
            .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
            .collect();
        if longest_digit_run(&s) < 13 {
            return s;
        }
    }
}

/// A payment processor's card token: `ctok_` and 24 base62 characters.
pub fn card_token<R: Rng>(rng: &mut R) -> String {
    format!("ctok_{}", base62(rng, 24))
}

/// A validator's event id: `ev_` and 20 base62 characters.
pub fn event_id<R: Rng>(rng: &mut R) -> String {
    format!("ev_{}", base62(rng, 20))
}

pub fn longest_digit_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for b in s.bytes() {
        if b.is_ascii_digit() {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tokens_never_look_like_card_numbers() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..10_000 {
            let t = card_token(&mut rng);
            assert_eq!(t.len(), 29);
            assert!(longest_digit_run(&t) < 13);
        }
    }

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"\x00\xff\x10kagoshima",
        ] {
            let e = base64_encode(data);
            assert_eq!(base64_decode(&e).as_deref(), Some(data));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
    }
}
