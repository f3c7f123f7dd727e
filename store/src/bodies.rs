//! Bodies kept out of the index. The index holds at most a prefix of each request or response body
//! and marks a cut one with [`BODY_TRUNCATED`]; the packets, already in the PCAP segments, hold the
//! rest. A [`BodyLoader`] (the capture pipeline, which this crate cannot depend on) dissects stored
//! packets again to give the whole body back ([`readback`](crate::readback) reads them in bulk):
//! for the entries whose cut body a residual filter reads, and for every entry a query asks whole
//! bodies for.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use kfl::{PathSegment, Record, Value};
use serde_json::Value as Json;

use crate::entry::{Entry, Message, Protocol};
use crate::packets::StoredPacket;
use crate::text_eq::same_text;

/// Field set to `true` on a request or response whose `body` the index holds only a prefix of;
/// its `size` is still the whole size on the wire.
pub const BODY_TRUNCATED: &str = "bodyTruncated";

/// Dissects stored packets again, to give back what the index cut.
pub trait BodyLoader: Send + Sync {
    /// Dissects `packets` of node `node` again (bodies whole, up to the capture's `--max-body`),
    /// handing every exchange they give to `found`. `packets` come in the store's order, numbered
    /// as the store numbers them (so an exchange names its packets as the index does); they may
    /// start in the middle of flows and hold only some flows of the node.
    fn redissect(&self, node: &str, packets: &mut dyn LentPackets, found: &mut dyn FnMut(Entry));
}

/// Stored packets lent one at a time: each lives until the next is asked for, so one buffer
/// holds them all in turn (a read-back reads a million packets for a whole store).
pub trait LentPackets {
    /// The next packet, or `None` after the last.
    fn next_packet(&mut self) -> Option<&StoredPacket>;
}

/// Field set to `"base64"` on a request or response whose `body` holds bytes that are not text.
pub const BODY_ENCODING: &str = "bodyEncoding";

/// Cuts `message`'s `body` to at most `max` bytes, on a character boundary, and its `args` to
/// `max` bytes in all; the marks of the values it cut ([`BODY_TRUNCATED`], [`ARGS_TRUNCATED`]).
/// A base64 body's bytes are the ones it decodes to (`--max-body` counts what was on the wire, not
/// the 4/3 as many characters that spell it), and it is cut on a 4-character boundary so the
/// prefix still decodes.
pub fn cut_inline(message: &mut Message, max: usize) -> Vec<&'static str> {
    let mut cut = Vec::new();
    if cut_body(message, max) {
        cut.push(BODY_TRUNCATED);
    }
    if let Some(Json::Array(args)) = message.get_mut("args")
        && cut_strings(args, max)
    {
        cut.push(ARGS_TRUNCATED);
    }
    cut
}

/// How many bytes the base64 text `body` (standard, padded) decodes to.
fn decoded_len(body: &str) -> usize {
    let padding = body.bytes().rev().take_while(|&b| b == b'=').count().min(2);
    (body.len() / 4 * 3).saturating_sub(padding)
}

/// Cuts `message`'s `body` as [`cut_inline`] says; whether it cut.
fn cut_body(message: &mut Message, max: usize) -> bool {
    let base64 = message.get(BODY_ENCODING).and_then(Json::as_str) == Some("base64");
    let Some(Json::String(body)) = message.get_mut("body") else {
        return false;
    };
    let (len, chars) = if base64 {
        (decoded_len(body), (max / 3).saturating_mul(4))
    } else {
        (body.len(), max)
    };
    if len <= max {
        return false;
    }
    cut_text(body, chars);
    true
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
fn cut_text(text: &mut String, max: usize) {
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
}

/// Field set to `true` on a request whose `args` (a Redis command's arguments) the index holds
/// only a prefix of: their first `--index-body` bytes in all, the argument crossing the limit cut
/// and the later ones left out. Read-back gives them back whole, as it does a cut body.
pub const ARGS_TRUNCATED: &str = "argsTruncated";

/// The fields of a message the index may cut, with the mark each gets when cut.
const CUT_FIELDS: [(&str, &str); 2] = [("body", BODY_TRUNCATED), ("args", ARGS_TRUNCATED)];

/// Cuts the array of strings `values` to at most `max` bytes of text in all; whether it cut.
fn cut_strings(values: &mut Vec<Json>, max: usize) -> bool {
    let mut left = max;
    let crossing = values.iter().position(|v| {
        let len = v.as_str().map_or(0, str::len);
        let over = len > left;
        left = left.saturating_sub(len);
        over
    });
    let Some(at) = crossing else {
        return false;
    };
    let before: usize = values
        .iter()
        .take(at)
        .filter_map(Json::as_str)
        .map(str::len)
        .sum();
    values.truncate(at + 1);
    if let Some(Json::String(text)) = values.last_mut() {
        cut_text(text, max - before);
    }
    true
}

/// Keeps at most `keep` bytes of `message`'s body for the index, marking it when cut.
/// A base64 body keeps `keep` of the bytes it spells, as [`cut_inline`] counts them.
pub fn keep_body_prefix(message: &mut Message, keep: usize) {
    if cut_body(message, keep) {
        message.insert(BODY_TRUNCATED.into(), Json::Bool(true));
    }
}

/// Keeps at most `keep` bytes of `message`'s `args` in all for the index, marking them when cut.
/// Only for an exchange its own packets rebuild (one that completed): read-back could not give
/// back the arguments of another.
pub fn keep_args_prefix(message: &mut Message, keep: usize) {
    if let Some(Json::Array(args)) = message.get_mut("args")
        && cut_strings(args, keep)
    {
        message.insert(ARGS_TRUNCATED.into(), Json::Bool(true));
    }
}

/// Whether `message`'s field marked `mark` is cut.
fn marked(message: &Message, mark: &str) -> bool {
    message.get(mark) == Some(&Json::Bool(true))
}

fn is_cut(message: &Message) -> bool {
    CUT_FIELDS.iter().any(|(_, mark)| marked(message, mark))
}

/// Whether the index holds only a prefix of a body (or another cut value) of `entry`.
pub(crate) fn has_cut_body(entry: &Entry) -> bool {
    is_cut(&entry.request) || is_cut(&entry.response)
}

/// Whether `whole` is longer than `cut` and begins with it: a string with its text, an array of
/// strings with its elements (the last one cut).
fn extends_value(cut: &Json, whole: &Json) -> bool {
    match (cut, whole) {
        (Json::String(cut), Json::String(whole)) => {
            whole.starts_with(cut.as_str()) && whole.len() > cut.len()
        }
        (Json::Array(cut), Json::Array(whole)) => {
            let Some((last, kept)) = cut.split_last() else {
                return false;
            };
            let (Some(Json::String(last)), Some(Json::String(same))) =
                (Some(last), whole.get(kept.len()))
            else {
                return false;
            };
            whole.get(..kept.len()) == Some(kept)
                && same.starts_with(last.as_str())
                && (whole.len() > cut.len() || same.len() > last.len())
        }
        _ => false,
    }
}

/// The prefix a value marked cut but left out holds (a body whose bytes were dropped).
static NOTHING: Json = Json::String(String::new());

/// Whether `whole`'s values extend the prefixes `cut` holds (or `cut` holds them whole already).
pub(crate) fn extends(cut: &Message, whole: &Message) -> bool {
    CUT_FIELDS.iter().all(|(field, mark)| {
        !marked(cut, mark)
            || whole
                .get(*field)
                .is_some_and(|whole| extends_value(cut.get(*field).unwrap_or(&NOTHING), whole))
    })
}

/// Moves `whole`'s cut values into `cut` when they [`extends`] the prefixes `cut` holds; whether
/// it did.
pub(crate) fn restore(cut: &mut Message, whole: &mut Message) -> bool {
    if !extends(cut, whole) {
        return false;
    }
    for (field, mark) in CUT_FIELDS {
        if marked(cut, mark)
            && let Some(value) = whole.remove(field)
        {
            cut.insert(field.into(), value);
            cut.remove(mark);
        }
    }
    true
}

/// Whether `found` (dissected again) is the exchange `indexed` stands for: same first packet,
/// timestamp, protocol and request and response sizes.
pub(crate) fn same_exchange(indexed: &Entry, found: &Entry) -> bool {
    // Every field of the protocol named; an empty version (Redis, DNS…) compared without `memcmp`.
    let Protocol { name, version } = &found.protocol;
    found.timestamp == indexed.timestamp
        && found.packets.first == indexed.packets.first
        && same_text(name, &indexed.protocol.name)
        && same_text(version, &indexed.protocol.version)
        && found.request.get("size") == indexed.request.get("size")
        && found.response.get("size") == indexed.response.get("size")
}

/// How a query reads bodies: who dissects again, and whether every returned entry gets them whole.
#[derive(Clone)]
pub(crate) struct BodyReading {
    /// The store's loader.
    pub loader: Arc<dyn BodyLoader>,
    /// Whether every returned entry gets its whole bodies (output that shows them), not only
    /// those a filter reads.
    pub whole: bool,
}

impl fmt::Debug for BodyReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReading")
            .field("whole", &self.whole)
            .finish_non_exhaustive()
    }
}

/// An entry as a filter sees it before any body is read back: its prefixes, noting whether the
/// filter read a body the index cut (then the entry is read back and the filter asked again).
pub(crate) struct CutReads<'a> {
    entry: &'a Entry,
    read: Cell<bool>,
}

impl<'a> CutReads<'a> {
    /// `entry`, noting reads of its cut bodies.
    pub fn new(entry: &'a Entry) -> Self {
        CutReads {
            entry,
            read: Cell::new(false),
        }
    }

    /// Whether a cut body was read.
    pub fn read_cut_body(&self) -> bool {
        self.read.get()
    }

    /// Whether `path` reads a body (or another value) the index cut.
    fn reads_cut_body(&self, path: &[PathSegment]) -> bool {
        let [PathSegment::Field(side), PathSegment::Field(field), ..] = path else {
            return false;
        };
        let message = match &**side {
            "request" => &self.entry.request,
            "response" => &self.entry.response,
            _ => return false,
        };
        CUT_FIELDS
            .iter()
            .any(|(cut, mark)| *cut == &**field && marked(message, mark))
    }
}

impl Record for CutReads<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        if self.reads_cut_body(path) {
            self.read.set(true);
        }
        self.entry.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Message {
        let mut m = Message::new();
        m.insert("body".into(), Json::String(body.into()));
        m.insert("size".into(), Json::from(body.len()));
        m
    }

    #[test]
    fn a_long_body_keeps_a_marked_prefix_cut_on_a_character_boundary() {
        let mut m = message("héllo world");
        keep_body_prefix(&mut m, 2);
        assert_eq!(m.get("body"), Some(&Json::String("h".into())));
        assert!(is_cut(&m));
        assert_eq!(m.get("size"), Some(&Json::from(12)));
        let mut short = message("ok");
        keep_body_prefix(&mut short, 2);
        assert!(!is_cut(&short));
        let mut none = message("abc");
        keep_body_prefix(&mut none, 0);
        assert_eq!(none.get("body"), Some(&Json::String(String::new())));
        assert!(is_cut(&none));
    }

    #[test]
    fn a_base64_body_is_cut_at_a_multiple_of_four_characters() {
        let mut m = message("AAECAwQFBgcICQ==");
        m.insert(BODY_ENCODING.into(), Json::String("base64".into()));
        keep_body_prefix(&mut m, 7);
        assert_eq!(m.get("body"), Some(&Json::String("AAECAwQF".into())));
        assert!(is_cut(&m));
    }

    #[test]
    fn max_body_counts_a_base64_bodys_bytes_not_its_characters() {
        let base64 = |body: &str| {
            let mut m = message(body);
            m.insert(BODY_ENCODING.into(), Json::String("base64".into()));
            m
        };
        // 10 bytes, 16 characters: a 10-byte cap keeps them all.
        let mut whole = base64("AAECAwQFBgcICQ==");
        assert!(cut_inline(&mut whole, 10).is_empty());
        assert_eq!(
            whole.get("body"),
            Some(&Json::String("AAECAwQFBgcICQ==".into()))
        );
        // A 7-byte cap keeps 6 bytes (8 characters), not the 4 characters (3 bytes) it kept
        // when it counted characters.
        let mut cut = base64("AAECAwQFBgcICQ==");
        assert_eq!(cut_inline(&mut cut, 7), vec![BODY_TRUNCATED]);
        assert_eq!(cut.get("body"), Some(&Json::String("AAECAwQF".into())));
        let mut nine = base64("AAECAwQFBgcICQ==");
        assert_eq!(cut_inline(&mut nine, 9), vec![BODY_TRUNCATED]);
        assert_eq!(nine.get("body"), Some(&Json::String("AAECAwQFBgcI".into())));
    }

    #[test]
    fn an_exchange_is_the_same_only_when_time_first_packet_protocol_and_sizes_are() {
        let indexed = Entry {
            timestamp: 7,
            protocol: Protocol {
                name: "redis".into(),
                version: String::new(),
            },
            request: message("SET k v"),
            response: message("OK"),
            ..Entry::default()
        };
        assert!(same_exchange(&indexed, &indexed.clone()));
        let changes: [fn(&mut Entry); 6] = [
            |e| e.timestamp += 1,
            |e| e.packets.first += 1,
            |e| e.protocol.name = "http".into(),
            |e| e.protocol.version = "1.1".into(),
            |e| {
                e.request.insert("size".into(), Json::from(99));
            },
            |e| {
                e.response.insert("size".into(), Json::from(99));
            },
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut found = indexed.clone();
            change(&mut found);
            assert!(!same_exchange(&indexed, &found), "change {i}");
        }
    }

    #[test]
    fn only_a_body_that_extends_the_prefix_is_restored() {
        let mut cut = message("héllo world");
        keep_body_prefix(&mut cut, 3);
        assert!(!restore(&mut cut.clone(), &mut message("other text")));
        assert!(!restore(&mut cut.clone(), &mut Message::new()));
        assert!(restore(&mut cut, &mut message("héllo world")));
        assert_eq!(cut, message("héllo world"));
        let mut dropped = Message::new();
        dropped.insert(BODY_TRUNCATED.into(), Json::Bool(true));
        dropped.insert("size".into(), Json::from(12));
        assert!(restore(&mut dropped, &mut message("héllo world")));
        assert_eq!(dropped, message("héllo world"));
    }

    fn request(args: &[&str]) -> Message {
        let mut m = Message::new();
        m.insert("command".into(), Json::String("SET".into()));
        m.insert("args".into(), serde_json::json!(args));
        m
    }

    #[test]
    fn redis_args_keep_a_marked_prefix_of_index_body_bytes_in_all() {
        let mut short = request(&["key", "value"]);
        keep_args_prefix(&mut short, 8);
        assert_eq!(short, request(&["key", "value"]), "8 bytes fit whole");
        let mut m = request(&["key", "héllo world", "EX", "10"]);
        keep_args_prefix(&mut m, 5);
        assert_eq!(m.get("args"), Some(&serde_json::json!(["key", "h"])));
        assert!(marked(&m, ARGS_TRUNCATED));
        let mut at_end = request(&["key", "value", "EX"]);
        keep_args_prefix(&mut at_end, 8);
        assert_eq!(
            at_end.get("args"),
            Some(&serde_json::json!(["key", "value", ""]))
        );
        assert!(marked(&at_end, ARGS_TRUNCATED));
    }

    #[test]
    fn cut_args_are_read_and_restored_like_a_cut_body() {
        let whole = request(&["key", "héllo world", "EX", "10"]);
        let mut cut = whole.clone();
        keep_args_prefix(&mut cut, 5);
        let entry = Entry {
            request: cut.clone(),
            ..Entry::default()
        };
        assert!(has_cut_body(&entry));
        let probe = CutReads::new(&entry);
        probe.get(&[
            PathSegment::Field("request".into()),
            PathSegment::Field("command".into()),
        ]);
        assert!(!probe.read_cut_body());
        probe.get(&[
            PathSegment::Field("request".into()),
            PathSegment::Field("args".into()),
        ]);
        assert!(probe.read_cut_body());
        assert!(!restore(
            &mut cut.clone(),
            &mut request(&["key", "xyz", "EX"])
        ));
        assert!(!restore(
            &mut cut.clone(),
            &mut request(&["other", "héllo world"])
        ));
        assert!(!restore(&mut cut.clone(), &mut request(&["key", "h"])));
        assert!(restore(&mut cut, &mut whole.clone()));
        assert_eq!(cut, whole);
    }
}
