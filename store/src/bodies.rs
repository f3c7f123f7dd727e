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

use crate::entry::{Entry, Message};
use crate::packets::StoredPacket;

/// Field set to `true` on a request or response whose `body` the index holds only a prefix of;
/// its `size` is still the whole size on the wire.
pub const BODY_TRUNCATED: &str = "bodyTruncated";

/// Dissects stored packets again, to give back what the index cut.
pub trait BodyLoader: Send + Sync {
    /// Dissects `packets` of node `node` again (bodies whole, up to the capture's `--max-body`),
    /// handing every exchange they give to `found`. `packets` come in the store's order, numbered
    /// as the store numbers them (so an exchange names its packets as the index does); they may
    /// start in the middle of flows and hold only some flows of the node.
    fn redissect(
        &self,
        node: &str,
        packets: &mut dyn Iterator<Item = StoredPacket>,
        found: &mut dyn FnMut(Entry),
    );
}

/// Field set to `"base64"` on a request or response whose `body` holds bytes that are not text.
pub const BODY_ENCODING: &str = "bodyEncoding";

/// Cuts `message`'s `body` to at most `max` bytes, on a character boundary (on a 4-character one
/// for a base64 body, so the prefix still decodes); whether it cut.
pub fn cut_body(message: &mut Message, max: usize) -> bool {
    let base64 = message.get(BODY_ENCODING).and_then(Json::as_str) == Some("base64");
    let Some(Json::String(body)) = message.get_mut("body") else {
        return false;
    };
    if body.len() <= max {
        return false;
    }
    let mut cut = if base64 { max - max % 4 } else { max };
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    body.truncate(cut);
    true
}

/// Keeps at most `keep` bytes of `message`'s body for the index, marking it when cut.
pub fn keep_body_prefix(message: &mut Message, keep: usize) {
    if cut_body(message, keep) {
        message.insert(BODY_TRUNCATED.into(), Json::Bool(true));
    }
}

fn is_cut(message: &Message) -> bool {
    message.get(BODY_TRUNCATED) == Some(&Json::Bool(true))
}

/// Whether the index holds only a prefix of a body of `entry`.
pub(crate) fn has_cut_body(entry: &Entry) -> bool {
    is_cut(&entry.request) || is_cut(&entry.response)
}

/// Whether `whole`'s body extends the prefix `cut` holds (or `cut` holds its whole body already).
pub(crate) fn extends(cut: &Message, whole: &Message) -> bool {
    if !is_cut(cut) {
        return true;
    }
    let prefix = cut.get("body").and_then(Json::as_str).unwrap_or_default();
    whole
        .get("body")
        .and_then(Json::as_str)
        .is_some_and(|body| body.starts_with(prefix) && body.len() > prefix.len())
}

/// Moves `whole`'s body into `cut` when it [`extends`] the prefix `cut` holds; whether it did.
pub(crate) fn restore(cut: &mut Message, whole: &mut Message) -> bool {
    if !extends(cut, whole) {
        return false;
    }
    if is_cut(cut)
        && let Some(body) = whole.remove("body")
    {
        cut.insert("body".into(), body);
        cut.remove(BODY_TRUNCATED);
    }
    true
}

/// Whether `found` (dissected again) is the exchange `indexed` stands for: same first packet,
/// timestamp, protocol and request and response sizes.
pub(crate) fn same_exchange(indexed: &Entry, found: &Entry) -> bool {
    found.timestamp == indexed.timestamp
        && found.packets.first == indexed.packets.first
        && found.protocol == indexed.protocol
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

    /// Whether `path` reads a body the index cut.
    fn reads_cut_body(&self, path: &[PathSegment]) -> bool {
        let message = match path {
            [PathSegment::Field(side), PathSegment::Field(field), ..] if &**field == "body" => {
                match &**side {
                    "request" => &self.entry.request,
                    "response" => &self.entry.response,
                    _ => return false,
                }
            }
            _ => return false,
        };
        is_cut(message)
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
        assert_eq!(m.get("body"), Some(&Json::String("AAEC".into())));
        assert!(is_cut(&m));
    }

    #[test]
    fn only_a_body_that_extends_the_prefix_is_restored() {
        let mut cut = message("héllo world");
        keep_body_prefix(&mut cut, 3);
        assert!(!restore(&mut cut.clone(), &mut message("other text")));
        assert!(!restore(&mut cut.clone(), &mut Message::new()));
        assert!(restore(&mut cut, &mut message("héllo world")));
        assert_eq!(cut, message("héllo world"));
    }
}
