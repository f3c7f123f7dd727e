//! Redis: RESP2 and RESP3 (<https://redis.io/docs/latest/develop/reference/protocol-spec/>),
//! inline commands and pipelining; responses are paired with requests in order.
//!
//! Both directions run through one streaming RESP reader that never holds more than one line and
//! a capped prefix of each bulk string: bulk payloads are skipped by count, so a 500 MB value costs
//! no memory, and bytes are looked at once however they are chunked. Requests are read the way the
//! server reads them (`processMultibulkBuffer` / `processInlineBuffer`): a `*N` array of bulk
//! strings, or an inline line of words; `*0` and negative counts and empty lines are no commands.
//!
//! Each request and response carries `size`: the RESP bytes of that one command or reply, counted
//! as they pass (a pipelined batch gives every command and every reply its own). Bytes that belong
//! to no value (empty lines between commands, bytes skipped to resynchronise) are not counted, nor
//! are the confirmations after the first of a multi-channel SUBSCRIBE, whose entry went out with
//! the first.
//!
//! # Files
//! `reader` is the streaming RESP reader; `value` the value it hands over; `fields` turns values
//! into request and response fields; `parser` pairs replies with commands.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use parser::RedisParser;
use reader::{MAX_MULTIBULK, trim_cr};

mod fields;
mod parser;
mod reader;
#[cfg(test)]
mod tests;
mod value;

/// Redis RESP2/RESP3: command, key, args; response type, error text.
pub struct RedisDissector;

impl Dissector for RedisDissector {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn ports(&self) -> &'static [u16] {
        &[6379]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        // The server skips empty lines before a command.
        let blank = data
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let data = match dir {
            Direction::ToServer => data.get(blank..).unwrap_or_default(),
            Direction::ToClient => data,
        };
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            return if data.len() < 16 {
                Confidence::NeedMore
            } else {
                Confidence::No
            };
        };
        let line = trim_cr(data.get(..end).unwrap_or_default());
        let (kind, rest) = match line.split_first() {
            Some((&kind, rest)) => (kind, rest),
            None => return Confidence::No,
        };
        let number = || {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
        };
        match dir {
            Direction::ToServer if kind == b'*' => {
                // `*N\r\n$L\r\n`: an array of bulk strings is how every client sends commands.
                let bulk_follows = data.get(end + 1) == Some(&b'$');
                let next = data.get(end + 1).is_none();
                match number() {
                    Some(n) if (1..=MAX_MULTIBULK).contains(&n) && bulk_follows => Confidence::Yes,
                    Some(n) if (1..=MAX_MULTIBULK).contains(&n) && next => Confidence::NeedMore,
                    // Empty, negative or oversized arrays: only a Redis client (or an attacker
                    // probing one) sends these.
                    _ if printable(rest) => Confidence::Maybe,
                    _ => Confidence::No,
                }
            }
            Direction::ToServer => {
                let word = line.split(|&b| b == b' ').next().unwrap_or_default();
                let known = INLINE_COMMANDS
                    .iter()
                    .any(|c| c.as_bytes().eq_ignore_ascii_case(word));
                // An inline line that starts like a RESP value is what redis-cli users and
                // fuzzers send to a server; other text protocols do not open that way.
                let resp_like = matches!(kind, b'$' | b'+' | b'-' | b':') && printable(rest);
                if known || resp_like {
                    Confidence::Maybe
                } else {
                    Confidence::No
                }
            }
            Direction::ToClient => match kind {
                b'+' | b'-' if line.iter().all(|b| b.is_ascii_graphic() || *b == b' ') => {
                    Confidence::Maybe
                }
                b':' | b'$' | b'*' if number().is_some() => Confidence::Maybe,
                _ => Confidence::No,
            },
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(RedisParser::default())
    }
}

/// Whether a line holds only printable ASCII (and tabs).
fn printable(line: &[u8]) -> bool {
    line.iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
}

/// Commands commonly typed inline (redis-cli, telnet); a weak hint on an unknown port.
const INLINE_COMMANDS: &[&str] = &[
    "PING", "GET", "SET", "DEL", "INCR", "AUTH", "SELECT", "INFO", "KEYS", "HGET", "LPUSH",
    "EXISTS",
];
