//! Redis RESP2 commands and replies: GET, SET, INCR, DEL, with nil replies and occasional errors.

use serde::Serialize;

use super::{push_filler, push_num};
use crate::rng::Rng;

/// What the Redis traffic of a corpus holds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RedisCounts {
    /// Commands sent; each gets exactly one reply, and each fits one TCP segment.
    pub commands: u64,
    /// Error replies (`-ERR …` / `-WRONGTYPE …`).
    pub errors: u64,
}

/// Writes one command into `request` and its reply into `response`, and counts them.
pub(crate) fn exchange(
    rng: &mut Rng,
    request: &mut Vec<u8>,
    response: &mut Vec<u8>,
    counts: &mut RedisCounts,
) {
    request.clear();
    response.clear();
    let mut key = Vec::with_capacity(24);
    key.extend_from_slice(b"cart:");
    push_num(&mut key, rng.below(50_000));
    let error = rng.percent(3);
    match rng.weighted(&[45, 30, 15, 10]) {
        0 => {
            push_command(request, &[b"GET", &key]);
            if error {
                response.extend_from_slice(
                    b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                );
            } else if rng.percent(15) {
                response.extend_from_slice(b"$-1\r\n");
            } else {
                let mut value = Vec::new();
                let len = rng.between(8, 1_000) as usize;
                push_filler(&mut value, rng, len);
                push_bulk(response, &value);
            }
        }
        1 => {
            let mut value = Vec::new();
            let len = rng.between(8, 1_000) as usize;
            push_filler(&mut value, rng, len);
            push_command(request, &[b"SET", &key, &value]);
            response.extend_from_slice(if error {
                b"-ERR out of memory\r\n" as &[u8]
            } else {
                b"+OK\r\n"
            });
        }
        2 => {
            push_command(request, &[b"INCR", b"orders:count"]);
            if error {
                response.extend_from_slice(b"-ERR value is not an integer or out of range\r\n");
            } else {
                response.push(b':');
                push_num(response, rng.below(1_000_000));
                response.extend_from_slice(b"\r\n");
            }
        }
        _ => {
            push_command(request, &[b"DEL", &key]);
            response.extend_from_slice(if error {
                b"-ERR busy\r\n" as &[u8]
            } else {
                b":1\r\n"
            });
        }
    }
    counts.commands += 1;
    counts.errors += u64::from(error);
}

fn push_command(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.push(b'*');
    push_num(out, parts.len() as u64);
    out.extend_from_slice(b"\r\n");
    for part in parts {
        push_bulk(out, part);
    }
}

fn push_bulk(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'$');
    push_num(out, value.len() as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_resp_arrays_within_one_segment() {
        let mut rng = Rng::new(9);
        let (mut req, mut resp) = (Vec::new(), Vec::new());
        let mut counts = RedisCounts::default();
        for _ in 0..1_000 {
            exchange(&mut rng, &mut req, &mut resp, &mut counts);
            assert_eq!(req.first(), Some(&b'*'));
            assert!(req.ends_with(b"\r\n") && resp.ends_with(b"\r\n"));
            assert!(req.len() <= 1460 && resp.len() <= 1460);
        }
        assert_eq!(counts.commands, 1_000);
    }
}
