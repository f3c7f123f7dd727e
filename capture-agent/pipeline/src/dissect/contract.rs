//! What the pipeline and every dissector agree on: directions, probes' confidence, chunk
//! metadata, the exchanges parsers yield, the [`Dissector`] and [`Parser`] traits, body caps and
//! what a parser holds unfinished. Dissectors import these through `crate::dissect`.

use shark_store::Message;

/// Which way bytes travel in a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the side that opened the connection or sent the first request).
    ToServer,
    /// From the server.
    ToClient,
}

impl Direction {
    /// The index of this direction in per-direction arrays: 0 to the server, 1 to the client.
    pub fn slot(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// The other direction.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }

    /// Who sends the bytes going this way, as error texts name it: `client` or `server`.
    pub fn sender(self) -> &'static str {
        match self {
            Direction::ToServer => "client",
            Direction::ToClient => "server",
        }
    }
}

/// How sure a probe is that bytes belong to its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Certainly not this protocol.
    No,
    /// Not enough bytes to tell yet.
    NeedMore,
    /// Could be; a weak match (e.g. only the port fits).
    Maybe,
    /// Certainly this protocol (a magic, a method token, a valid header).
    Yes,
}

/// Where a piece of reassembled payload came from: the packet that carried its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Capture timestamp of that packet, nanoseconds since the epoch.
    pub ts_ns: i64,
    /// The packet's number in the node's packet series.
    pub packet: u64,
}

/// A message exchange found by a parser; the pipeline adds identities, node and flow to make an `Entry`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// `protocol.name`, e.g. `http`, `grpc`, `dns`.
    pub protocol: &'static str,
    /// `protocol.version`, e.g. `1.1`, `2`, or "".
    pub version: String,
    /// Request fields (KFL names, as `kubectl shark fields` lists them).
    pub request: Message,
    /// Response fields; empty when no response was seen.
    pub response: Message,
    /// Why the exchange failed (reset, timeout, unpaired, dissection error), if it did.
    pub error: Option<String>,
    /// First packet of the request (timestamp = the entry's `timestamp`).
    pub start: Option<ChunkMeta>,
    /// Last packet of the response (or request, when unanswered).
    pub end: Option<ChunkMeta>,
}

/// A protocol: name, usual ports and a content probe. Stateless; one instance serves all flows.
pub trait Dissector: Send + Sync {
    /// Protocol name as in `protocol.name`.
    fn name(&self) -> &'static str;
    /// Ports this protocol usually runs on (server side); tried first.
    fn ports(&self) -> &'static [u16];
    /// Whether `data`, the first bytes seen in direction `dir`, look like this protocol. Never panics.
    fn probe(&self, data: &[u8], dir: Direction) -> Confidence;
    /// A fresh parser for one flow, keeping what `settings` allow (protocols without bodies
    /// ignore them).
    fn parser(&self, settings: &ParserSettings) -> Box<dyn Parser>;
}

/// Body bytes kept per message unless told otherwise (`--max-body`).
pub const DEFAULT_MAX_BODY: usize = 64 << 10;

/// The largest `--max-body` accepted: every open message may hold this much, so a larger cap
/// would let a few connections take the agent's memory.
pub const MAX_BODY_LIMIT: usize = 64 << 20;

/// What a parser keeps, chosen by the user and handed to every parser when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParserSettings {
    /// Most bytes of a request or response body kept per message (`--max-body`), both as sent
    /// and once its content coding is undone: a compressed body never decodes to more, so a zip
    /// bomb costs no more memory than a plain body. The wire `size` is counted whole regardless.
    pub max_body: usize,
}

impl Default for ParserSettings {
    /// Bodies up to [`DEFAULT_MAX_BODY`].
    fn default() -> Self {
        ParserSettings {
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// Why a body cap was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// `--max-body` is above [`MAX_BODY_LIMIT`].
    #[error(
        "--max-body {asked} bytes is more than the {limit} bytes (64 MiB) allowed: every open message may hold that much"
    )]
    MaxBodyTooLarge {
        /// The cap asked for, in bytes.
        asked: u64,
        /// The largest cap allowed.
        limit: usize,
    },
}

impl ParserSettings {
    /// Settings keeping bodies up to `max_body` bytes (the parsed `--max-body`), refused above
    /// [`MAX_BODY_LIMIT`].
    pub fn with_max_body(max_body: u64) -> Result<Self, SettingsError> {
        usize::try_from(max_body)
            .ok()
            .filter(|&bytes| bytes <= MAX_BODY_LIMIT)
            .map(|max_body| ParserSettings { max_body })
            .ok_or(SettingsError::MaxBodyTooLarge {
                asked: max_body,
                limit: MAX_BODY_LIMIT,
            })
    }
}

/// Per-flow protocol state, fed reassembled bytes in order, each direction separately.
pub trait Parser: Send {
    /// Feeds the next in-order bytes of direction `dir`; completed exchanges are pushed to `out`.
    /// Malformed input must not panic: report it as an exchange with `error`, or resynchronise.
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>);
    /// Bytes were lost in direction `dir` (a gap the reassembler could not fill).
    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>);
    /// The flow ended (FIN, RST or idle timeout, named in `reason`): flush what is pending,
    /// e.g. requests without a response become exchanges with an `error`.
    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>);
    /// Moves the packet spans (first, last packet numbers) fed so far that carry state later
    /// exchanges need to be decoded into `out`: what an export of one exchange must include
    /// besides its own packets (HTTP/2: the preface, SETTINGS and header blocks). Adjacent spans
    /// come merged. The default, for protocols whose exchanges stand alone, has none.
    fn take_state_packets(&mut self, out: &mut Vec<(u64, u64)>) {
        let _ = out;
    }
    /// Where the earliest exchange this parser can still send starts, given the bytes fed so
    /// far: what lets replay show an entry without waiting for the flow to end. The default,
    /// [`Unfinished::Unknown`], is always right.
    fn unfinished(&self) -> Unfinished {
        Unfinished::Unknown
    }
}

/// What a parser still holds that can become an exchange (see [`Parser::unfinished`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// It cannot tell: any exchange since the flow began may still come.
    Unknown,
    /// An exchange that began at this timestamp (ns) may still come; none began earlier.
    Since(i64),
    /// Nothing fed so far is waiting: the next exchange begins with bytes not yet fed.
    Nothing,
}

impl Unfinished {
    /// [`Since`](Unfinished::Since) the earliest of `starts` (the first chunks of what a parser
    /// holds), or [`Nothing`](Unfinished::Nothing) when it holds nothing.
    pub fn earliest(starts: impl IntoIterator<Item = Option<ChunkMeta>>) -> Self {
        starts
            .into_iter()
            .flatten()
            .map(|meta| meta.ts_ns)
            .min()
            .map_or(Unfinished::Nothing, Unfinished::Since)
    }
}
