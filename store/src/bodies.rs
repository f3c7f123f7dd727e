//! Bodies kept out of the index. The index holds at most a prefix of each request or response body
//! and marks a cut one with [`BODY_TRUNCATED`]; the packets, already in the PCAP segments, hold the
//! rest. A [`BodyLoader`] (the capture pipeline, which this crate cannot depend on) dissects an
//! exchange's packets again to give the whole body back: lazily, when a residual filter reads a
//! cut body, and for every entry a query asks whole bodies for.

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::sync::Arc;

use kfl::{PathSegment, Record, Value};
use rusqlite::Connection;
use serde_json::Value as Json;

use crate::entry::{Entry, Message};
use crate::error::StoreError;
use crate::export::{self, SegmentRows};
use crate::index::segments::SegmentRow;
use crate::layout::NodeLayout;
use crate::packets::StoredPacket;

/// Field set to `true` on a request or response whose `body` the index holds only a prefix of;
/// its `size` is still the whole size on the wire.
pub const BODY_TRUNCATED: &str = "bodyTruncated";

/// Dissects one exchange again from its packets, to give back what the index cut.
pub trait BodyLoader: Send + Sync {
    /// `entry`'s request and response as dissecting `packets` gives them (bodies whole, up to
    /// the capture's `--max-body`), or `None` when the packets do not give that exchange back.
    /// `packets` are packets of the entry's flow, in order, numbered as the store numbers them.
    fn redissect(&self, entry: &Entry, packets: &[StoredPacket]) -> Option<(Message, Message)>;
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

/// Puts `whole`'s body into `cut` when it extends the prefix `cut` holds; whether it did.
fn restore(cut: &mut Message, whole: &Message) -> bool {
    if !is_cut(cut) {
        return true;
    }
    let prefix = cut.get("body").and_then(Json::as_str).unwrap_or_default();
    match whole.get("body").and_then(Json::as_str) {
        Some(body) if body.starts_with(prefix) && body.len() > prefix.len() => {
            cut.insert("body".into(), Json::String(body.to_owned()));
            cut.remove(BODY_TRUNCATED);
            true
        }
        _ => false,
    }
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

/// Gives one node's entries their whole bodies.
pub(crate) struct NodeBodies {
    reading: BodyReading,
    layout: NodeLayout,
    /// The index's segments as last read, and one past the last packet they hold.
    segments: Option<(SegmentRows, u64)>,
    /// Entries whose bodies could not be read back so far (one warning per node and query).
    failed: u64,
}

impl NodeBodies {
    /// Whole bodies for the entries of `layout`.
    pub fn new(reading: BodyReading, layout: NodeLayout) -> Self {
        NodeBodies {
            reading,
            layout,
            segments: None,
            failed: 0,
        }
    }

    /// Whether every returned entry gets its whole bodies.
    pub fn whole(&self) -> bool {
        self.reading.whole
    }

    /// `entry` with its whole bodies, or `None` (after a warning) when its packets do not give
    /// them back: a segment gone or damaged, or an exchange its packets alone cannot rebuild.
    pub fn load(&mut self, conn: &Connection, entry: &Entry) -> Option<Entry> {
        match self.try_load(conn, entry) {
            Ok(Some(whole)) => return Some(whole),
            Ok(None) => self.warn(entry, "its packets do not give the exchange back"),
            Err(e) => self.warn(entry, &e.to_string()),
        }
        None
    }

    fn try_load(&mut self, conn: &Connection, entry: &Entry) -> Result<Option<Entry>, StoreError> {
        // The exchange's own packets first (HTTP/1 starts cleanly there); failing that, the flow
        // from its start, which HTTP/2 needs for its header compression state.
        for from_flow_start in [false, true] {
            let packets = self.packets(conn, entry, from_flow_start)?;
            let Some((request, response)) = self.reading.loader.redissect(entry, &packets) else {
                continue;
            };
            let mut whole = entry.clone();
            if restore(&mut whole.request, &request) && restore(&mut whole.response, &response) {
                return Ok(Some(whole));
            }
        }
        Ok(None)
    }

    /// The packets of `entry`, reading the segment rows again when they are older than it (a
    /// segment sealed, renamed or added since they were read).
    fn packets(
        &mut self,
        conn: &Connection,
        entry: &Entry,
        from_flow_start: bool,
    ) -> Result<Vec<StoredPacket>, StoreError> {
        let stale = self
            .segments
            .as_ref()
            .is_none_or(|(_, end)| entry.packets.last >= *end);
        if !stale
            && let Some((rows, _)) = &self.segments
            && let Ok(packets) =
                export::exchange_packets(&self.layout, conn, rows, entry, from_flow_start)
        {
            return Ok(packets);
        }
        let rows = export::segment_rows(conn, &self.layout)?;
        let end = rows.values().map(SegmentRow::end_packet).max().unwrap_or(0);
        let (rows, _) = self.segments.insert((rows, end));
        export::exchange_packets(&self.layout, conn, rows, entry, from_flow_start)
    }

    fn warn(&mut self, entry: &Entry, why: &str) {
        if self.failed == 0 {
            tracing::warn!(
                "entry {} on node {}: showing the first bytes of its body only ({BODY_TRUNCATED}): {why}",
                entry.id,
                entry.node.name
            );
        }
        self.failed += 1;
    }
}

/// An entry as a filter sees it: reading a body the index cut loads the whole one first, once.
pub(crate) struct LazyBodies<'a> {
    entry: &'a Entry,
    whole: OnceCell<Option<Entry>>,
    bodies: RefCell<&'a mut NodeBodies>,
    conn: &'a Connection,
}

impl<'a> LazyBodies<'a> {
    /// `entry`, loading through `bodies` (reading `conn`) when a filter reads one of its cut bodies.
    pub fn new(entry: &'a Entry, bodies: &'a mut NodeBodies, conn: &'a Connection) -> Self {
        LazyBodies {
            entry,
            whole: OnceCell::new(),
            bodies: RefCell::new(bodies),
            conn,
        }
    }

    /// `None` when no cut body was read; else the entry with whole bodies, if loading worked.
    pub fn into_loaded(self) -> Option<Option<Entry>> {
        self.whole.into_inner()
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

impl Record for LazyBodies<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        if !self.reads_cut_body(path) {
            return self.entry.get(path);
        }
        let whole = self
            .whole
            .get_or_init(|| self.bodies.borrow_mut().load(self.conn, self.entry));
        match whole {
            Some(entry) => entry.get(path),
            None => self.entry.get(path),
        }
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
        assert!(!restore(&mut cut.clone(), &message("other text")));
        assert!(!restore(&mut cut.clone(), &Message::new()));
        assert!(restore(&mut cut, &message("héllo world")));
        assert_eq!(cut, message("héllo world"));
    }
}
