//! Application payloads, one file per protocol, and the byte helpers they share.

pub(crate) mod dns;
pub(crate) mod http;
pub(crate) mod postgres;
pub(crate) mod redis;

use crate::rng::Rng;

const FILLER_LEN: usize = 32 * 1024;
/// Printable body text without quotes or backslashes, so it can sit inside a JSON string.
static FILLER: [u8; FILLER_LEN] = filler();

const fn filler() -> [u8; FILLER_LEN] {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789-_.,:;";
    let mut out = [0u8; FILLER_LEN];
    let mut i = 0;
    let mut state: u32 = 0x1234_5678;
    while i < FILLER_LEN {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out[i] = ALPHABET[(state as usize) % ALPHABET.len()];
        i += 1;
    }
    out
}

/// Appends `len` bytes of body text (at most the filler's length).
pub(crate) fn push_filler(buf: &mut Vec<u8>, rng: &mut Rng, len: usize) {
    let len = len.min(FILLER_LEN);
    let start = rng.below((FILLER_LEN - len + 1) as u64) as usize;
    buf.extend_from_slice(FILLER.get(start..start + len).unwrap_or_default());
}

/// Appends `n` in decimal.
pub(crate) fn push_num(buf: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    buf.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// Appends `count` random lowercase hex digits.
pub(crate) fn push_hex(buf: &mut Vec<u8>, rng: &mut Rng, count: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bits = 0u64;
    for i in 0..count {
        if i % 16 == 0 {
            bits = rng.next_u64();
        }
        buf.push(HEX[(bits & 0xF) as usize]);
        bits >>= 4;
    }
}

/// Picks one of `choices` uniformly.
pub(crate) fn pick<'a>(rng: &mut Rng, choices: &[&'a str]) -> &'a str {
    choices
        .get(rng.below(choices.len() as u64) as usize)
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_decimal() {
        for n in [0u64, 7, 10, 1234, u64::MAX] {
            let mut buf = Vec::new();
            push_num(&mut buf, n);
            assert_eq!(buf, n.to_string().into_bytes());
        }
    }

    #[test]
    fn filler_is_json_safe() {
        assert!(FILLER.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
        assert!(!FILLER.contains(&b'"') && !FILLER.contains(&b'\\'));
    }

    #[test]
    fn hex_has_requested_length() {
        let mut buf = Vec::new();
        push_hex(&mut buf, &mut Rng::new(3), 40);
        assert_eq!(buf.len(), 40);
        assert!(buf.iter().all(u8::is_ascii_hexdigit));
    }
}
