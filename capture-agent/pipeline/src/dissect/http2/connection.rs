//! The HTTP/2 connection parser: frames from both directions drive the streams, each finished
//! stream becomes one exchange.

use std::collections::BTreeMap;

use shark_store::Message;

use super::super::{ChunkMeta, Direction, Exchange, Parser, ParserSettings, Unfinished};
use super::frame::{FrameHeader, HEADER_LEN, flag, kind, unpadded};
use super::headers::{HeaderBlocks, PendingBlock};
use super::reader::{Event, FrameReader};
use super::stream::{Side, Stream};

/// Streams tracked at once; past this the oldest is reported and dropped.
const MAX_OPEN_STREAMS: usize = 1024;
/// Body bytes kept across all open streams of a connection, unless one body may hold more (a
/// `--max-body` above it); past this, bodies are only counted.
const BODY_BUDGET: usize = 4 * 1024 * 1024;

/// Per-flow HTTP/2 state.
#[derive(Debug)]
pub(super) struct Http2Parser {
    /// Frame readers, indexed by [`index`].
    readers: [FrameReader; 2],
    /// HPACK state, indexed by [`index`].
    blocks: [HeaderBlocks; 2],
    streams: Streams,
}

/// The streams of a connection and what is known about the connection as a whole.
#[derive(Debug)]
struct Streams {
    /// Body bytes kept per stream half (`--max-body`).
    max_body: usize,
    /// Body bytes kept across open streams: [`BODY_BUDGET`], or one whole body if that is more.
    budget: usize,
    open: BTreeMap<u32, Stream>,
    /// Highest finished stream id per initiator (`[server-initiated, client-initiated]`, by parity).
    finished_up_to: [u32; 2],
    /// A GOAWAY with an error code, reported on streams still open at the end.
    goaway: Option<String>,
    /// The pipeline's directions are reversed (requests were seen going to the "client").
    swapped: Option<bool>,
    /// Body bytes held by open streams (bounded by `budget`).
    kept_bodies: usize,
    /// Packet spans carrying connection state (preface, SETTINGS, header blocks) not yet taken,
    /// adjacent ones merged; the last may still grow.
    state: Vec<(u64, u64)>,
    /// The connection ended: the last state span is final too.
    closed: bool,
    /// A chunk was seen in each direction (by [`index`]): the first carries the preface.
    started: [bool; 2],
}

impl Http2Parser {
    /// State for a connection that starts as HTTP/2 (prior knowledge) or is joined mid-way.
    pub fn new(settings: &ParserSettings) -> Http2Parser {
        Http2Parser {
            readers: [FrameReader::new(true), FrameReader::new(false)],
            blocks: [HeaderBlocks::new(), HeaderBlocks::new()],
            streams: Streams {
                max_body: settings.max_body,
                budget: BODY_BUDGET.max(settings.max_body),
                open: BTreeMap::new(),
                finished_up_to: [0; 2],
                goaway: None,
                swapped: None,
                kept_bodies: 0,
                state: Vec::new(),
                closed: false,
                started: [false; 2],
            },
        }
    }

    /// State after an HTTP/1.1 `Upgrade: h2c`: stream 1 is the upgraded request, already sent as
    /// HTTP/1.1 with the fields `request` (starting at `start`); its response comes as HTTP/2.
    pub fn after_upgrade(
        request: Message,
        start: Option<ChunkMeta>,
        settings: &ParserSettings,
    ) -> Http2Parser {
        let mut parser = Http2Parser::new(settings);
        let mut stream = Stream::new(settings.max_body);
        stream.request_elsewhere = Some(request);
        stream.request.ended = true;
        if let Some(start) = start {
            stream.touch(start, start);
        }
        parser.streams.open.insert(1, stream);
        parser
    }
}

impl Parser for Http2Parser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let i = dir.slot();
        let (Some(reader), Some(blocks)) = (self.readers.get_mut(i), self.blocks.get_mut(i)) else {
            return;
        };
        let streams = &mut self.streams;
        if let Some(started) = streams.started.get_mut(i)
            && !*started
        {
            *started = true;
            streams.keep_state(meta, meta);
        }
        reader.feed(data, meta, &mut |event| {
            streams.on_event(dir, event, blocks, out)
        });
    }

    fn gap(&mut self, dir: Direction, _out: &mut Vec<Exchange>) {
        let i = dir.slot();
        if let Some(reader) = self.readers.get_mut(i) {
            reader.lose_sync();
        }
        if let Some(blocks) = self.blocks.get_mut(i) {
            blocks.pending = None;
        }
        let side = self.streams.side_of(dir);
        for stream in self.streams.open.values_mut() {
            stream.lost(
                side,
                format!("bytes from the {} lost in capture", dir.sender()),
            );
        }
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.streams.closed = true;
        let goaway = self.streams.goaway.take();
        self.streams.kept_bodies = 0;
        for (_, mut stream) in std::mem::take(&mut self.streams.open) {
            if let Some(goaway) = &goaway {
                stream.fail(goaway.clone());
            }
            if stream.response.seen {
                stream.fail(format!(
                    "connection closed ({reason}) before the response ended"
                ));
            } else {
                stream.fail(format!("no response before connection closed ({reason})"));
            }
            out.push(stream.into_exchange());
        }
    }

    /// The preface, SETTINGS and header blocks: HPACK's dynamic table is built from every header
    /// block before an exchange, so decoding one needs them all. The last span stays until it
    /// can grow no more, so adjacent frames become one span.
    fn take_state_packets(&mut self, out: &mut Vec<(u64, u64)>) {
        let state = &mut self.streams.state;
        let keep = usize::from(!self.streams.closed).min(state.len());
        out.extend(state.drain(..state.len() - keep));
    }

    /// Streams still open, header blocks waiting for CONTINUATION and frames half read.
    fn unfinished(&self) -> Unfinished {
        if self.streams.open.values().any(|s| s.start().is_none()) {
            // A stream without a frame yet would be stamped from elsewhere.
            return Unfinished::Unknown;
        }
        let streams = self.streams.open.values().map(Stream::start);
        let blocks = self
            .blocks
            .iter()
            .map(|b| b.pending.as_ref().map(|p| p.start));
        let frames = self.readers.iter().map(FrameReader::held_since);
        Unfinished::earliest(streams.chain(blocks).chain(frames))
    }
}

impl Streams {
    /// Notes that the packets `start..=end` carry connection state, merged with the span before
    /// when they touch it.
    fn keep_state(&mut self, start: ChunkMeta, end: ChunkMeta) {
        let (first, last) = (start.packet, end.packet.max(start.packet));
        match self.state.last_mut() {
            Some(span) if first <= span.1.saturating_add(1) && last >= span.0 => {
                *span = (span.0.min(first), span.1.max(last));
            }
            _ => self.state.push((first, last)),
        }
    }

    /// Which half of a stream frames travelling in `dir` belong to.
    fn side_of(&self, dir: Direction) -> Side {
        match (dir, self.swapped == Some(true)) {
            (Direction::ToServer, false) | (Direction::ToClient, true) => Side::Request,
            _ => Side::Response,
        }
    }

    fn on_event(
        &mut self,
        dir: Direction,
        event: Event<'_>,
        blocks: &mut HeaderBlocks,
        out: &mut Vec<Exchange>,
    ) {
        match event {
            Event::Frame {
                header,
                payload,
                start,
                end,
            } => self.on_frame(dir, header, payload, start, end, blocks, out),
            Event::Oversized { header, start } => {
                if matches!(
                    header.kind,
                    kind::HEADERS | kind::PUSH_PROMISE | kind::CONTINUATION
                ) {
                    blocks.pending = None;
                }
                if let Some(stream) = self.stream(header.stream, out) {
                    stream.touch(start, start);
                    stream.fail(format!(
                        "frame of {} bytes too large to dissect, skipped",
                        header.len
                    ));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_frame(
        &mut self,
        dir: Direction,
        header: FrameHeader,
        payload: &[u8],
        start: ChunkMeta,
        end: ChunkMeta,
        blocks: &mut HeaderBlocks,
        out: &mut Vec<Exchange>,
    ) {
        if header.kind != kind::CONTINUATION
            && let Some(block) = blocks.pending.take()
            && let Some(stream) = self.open.get_mut(&block.stream)
        {
            stream.fail("header block interrupted by another frame");
        }
        if matches!(
            header.kind,
            kind::SETTINGS | kind::HEADERS | kind::CONTINUATION | kind::PUSH_PROMISE
        ) {
            self.keep_state(start, end);
        }
        let end_stream = header.flags & flag::END_STREAM != 0;
        let end_headers = header.flags & flag::END_HEADERS != 0;
        match header.kind {
            kind::DATA => {
                let side = self.side_of(dir);
                let allowance = self.budget.saturating_sub(self.kept_bodies);
                let Some(stream) = self.stream(header.stream, out) else {
                    return;
                };
                stream.touch(start, end);
                stream.count_frames(side, frame_bytes(&header));
                let kept = match unpadded(payload, header.flags, 0) {
                    Some(data) => stream.on_data(side, data, end_stream, allowance),
                    None => {
                        stream.fail("DATA frame padding longer than the frame");
                        stream.on_data(side, &[], end_stream, 0)
                    }
                };
                self.kept_bodies = self.kept_bodies.saturating_add(kept);
                self.finish_if_done(header.stream, out);
            }
            kind::HEADERS => {
                let priority = if header.flags & flag::PRIORITY != 0 {
                    5
                } else {
                    0
                };
                let Some(fragment) = unpadded(payload, header.flags, priority) else {
                    if let Some(stream) = self.stream(header.stream, out) {
                        stream.fail("HEADERS frame padding longer than the frame");
                    }
                    return;
                };
                let block = PendingBlock {
                    stream: header.stream,
                    promised: None,
                    end_stream,
                    start,
                    bytes: Vec::new(),
                    wire: frame_bytes(&header),
                };
                self.header_fragment(dir, block, fragment, end_headers, end, blocks, out);
            }
            kind::PUSH_PROMISE => {
                let Some(body) = unpadded(payload, header.flags, 0) else {
                    return;
                };
                let (Some(id), Some(fragment)) = (body.get(..4), body.get(4..)) else {
                    return;
                };
                let promised = u32::from_be_bytes([id[0], id[1], id[2], id[3]]) & 0x7fff_ffff;
                let block = PendingBlock {
                    stream: header.stream,
                    promised: Some(promised),
                    end_stream: false,
                    start,
                    bytes: Vec::new(),
                    wire: frame_bytes(&header),
                };
                self.header_fragment(dir, block, fragment, end_headers, end, blocks, out);
            }
            kind::CONTINUATION => {
                let expected = blocks
                    .pending
                    .as_ref()
                    .is_some_and(|b| b.stream == header.stream);
                if !expected {
                    return;
                }
                if let Some(block) = blocks.pending.as_mut() {
                    block.wire = block.wire.saturating_add(frame_bytes(&header));
                }
                if !blocks.extend(payload) {
                    blocks.pending = None;
                    if let Some(stream) = self.open.get_mut(&header.stream) {
                        stream.fail("header block larger than the dissector keeps");
                    }
                    return;
                }
                if end_headers && let Some(block) = blocks.pending.take() {
                    self.header_block_done(dir, block, end, blocks, out);
                }
            }
            kind::RST_STREAM => {
                let code = read_u32(payload, 0).unwrap_or(0);
                if let Some(mut stream) = self.open.remove(&header.stream) {
                    stream.touch(start, end);
                    stream.fail(format!(
                        "stream reset by {}: {}",
                        dir.sender(),
                        error_name(code)
                    ));
                    self.emit(header.stream, stream, out);
                }
            }
            kind::GOAWAY => self.on_goaway(dir, payload, start, end, out),
            _ => {}
        }
    }

    /// A HEADERS or PUSH_PROMISE fragment: decoded now when the block is complete, else kept.
    #[allow(clippy::too_many_arguments)]
    fn header_fragment(
        &mut self,
        dir: Direction,
        mut block: PendingBlock,
        fragment: &[u8],
        end_headers: bool,
        end: ChunkMeta,
        blocks: &mut HeaderBlocks,
        out: &mut Vec<Exchange>,
    ) {
        if end_headers {
            let decoded = blocks.decode(fragment);
            self.deliver(dir, &block, decoded, end, out);
        } else {
            block.bytes.extend_from_slice(fragment);
            blocks.pending = Some(block);
        }
    }

    fn header_block_done(
        &mut self,
        dir: Direction,
        block: PendingBlock,
        end: ChunkMeta,
        blocks: &mut HeaderBlocks,
        out: &mut Vec<Exchange>,
    ) {
        let decoded = blocks.decode(&block.bytes);
        self.deliver(dir, &block, decoded, end, out);
    }

    /// Gives a decoded header block to its stream (for PUSH_PROMISE, to the promised stream as its request).
    fn deliver(
        &mut self,
        dir: Direction,
        block: &PendingBlock,
        decoded: super::headers::Decoded,
        end: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        if let Some(promised) = block.promised {
            if let Some(stream) = self.stream(promised, out) {
                stream.touch(block.start, end);
                stream.count_frames(Side::Request, block.wire);
                stream.on_headers(Side::Request, decoded.fields, true);
                if let Some(error) = decoded.error {
                    stream.fail(error);
                }
            }
            return;
        }
        if self.swapped.is_none() {
            let has = |name: &str| decoded.fields.iter().any(|(n, _)| n == name);
            let request_like = has(":method");
            if request_like || has(":status") {
                self.swapped = Some((dir == Direction::ToClient) == request_like);
            }
        }
        let side = self.side_of(dir);
        let Some(stream) = self.stream(block.stream, out) else {
            return;
        };
        stream.touch(block.start, end);
        stream.count_frames(side, block.wire);
        stream.on_headers(side, decoded.fields, block.end_stream);
        if let Some(error) = decoded.error {
            stream.fail(error);
        }
        self.finish_if_done(block.stream, out);
    }

    /// GOAWAY: streams above the last processed id, opened by the side receiving it, end with an error.
    fn on_goaway(
        &mut self,
        dir: Direction,
        payload: &[u8],
        start: ChunkMeta,
        end: ChunkMeta,
        out: &mut Vec<Exchange>,
    ) {
        let last = read_u32(payload, 0).unwrap_or(0) & 0x7fff_ffff;
        let code = read_u32(payload, 4).unwrap_or(0);
        let message = format!(
            "{} sent GOAWAY {} (last stream {last})",
            dir.sender(),
            error_name(code)
        );
        // the server's GOAWAY refuses client (odd) streams, and the other way round
        let receiver_parity = u32::from(self.side_of(dir) == Side::Response);
        let refused: Vec<u32> = self
            .open
            .range(last.saturating_add(1)..)
            .map(|(&id, _)| id)
            .filter(|id| id % 2 == receiver_parity)
            .collect();
        for id in refused {
            if let Some(mut stream) = self.open.remove(&id) {
                stream.touch(start, end);
                stream.fail(format!("not processed: {message}"));
                self.emit(id, stream, out);
            }
        }
        if code != 0 {
            self.goaway = Some(message);
        }
    }

    /// The stream `id`, created on first sight unless it already finished; `None` for stream 0 or a
    /// late frame of a finished stream.
    fn stream(&mut self, id: u32, out: &mut Vec<Exchange>) -> Option<&mut Stream> {
        if id == 0 {
            return None;
        }
        if !self.open.contains_key(&id) {
            let parity = usize::from(id % 2 == 1);
            if self
                .finished_up_to
                .get(parity)
                .is_some_and(|&done| id <= done)
            {
                return None;
            }
            if self.open.len() >= MAX_OPEN_STREAMS
                && let Some((oldest, mut stream)) = self.open.pop_first()
            {
                stream.fail(format!(
                    "dropped: more than {MAX_OPEN_STREAMS} concurrent streams"
                ));
                self.emit(oldest, stream, out);
            }
        }
        let max_body = self.max_body;
        Some(self.open.entry(id).or_insert_with(|| Stream::new(max_body)))
    }

    fn finish_if_done(&mut self, id: u32, out: &mut Vec<Exchange>) {
        if self.open.get(&id).is_some_and(Stream::finished)
            && let Some(stream) = self.open.remove(&id)
        {
            self.emit(id, stream, out);
        }
    }

    fn emit(&mut self, id: u32, stream: Stream, out: &mut Vec<Exchange>) {
        self.kept_bodies = self.kept_bodies.saturating_sub(stream.kept());
        if let Some(done) = self.finished_up_to.get_mut(usize::from(id % 2 == 1)) {
            *done = (*done).max(id);
        }
        out.push(stream.into_exchange());
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// The name of an HTTP/2 error code (RFC 9113 §7).
fn error_name(code: u32) -> String {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("error 0x{code:x}"), |name| (*name).to_owned())
}

/// Bytes a frame takes on the wire: its 9-byte header and its payload.
fn frame_bytes(header: &FrameHeader) -> u64 {
    u64::try_from(HEADER_LEN.saturating_add(header.len)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use loona_hpack::Encoder;
    use serde_json::json;

    use super::*;

    fn meta(packet: u64) -> ChunkMeta {
        ChunkMeta {
            ts_ns: packet as i64 * 1000,
            packet,
        }
    }

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len().to_be_bytes();
        let mut out = vec![len[5], len[6], len[7], kind, flags];
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// A connection driven by test frames, with one HPACK encoder per direction.
    struct Conn {
        parser: Http2Parser,
        encoders: [Encoder<'static>; 2],
        out: Vec<Exchange>,
        packet: u64,
    }

    impl Conn {
        fn new() -> Conn {
            let mut conn = Conn {
                parser: Http2Parser::new(&ParserSettings::default()),
                encoders: [Encoder::new(), Encoder::new()],
                out: Vec::new(),
                packet: 0,
            };
            conn.send(Direction::ToServer, super::super::frame::PREFACE.to_vec());
            conn
        }

        fn send(&mut self, dir: Direction, bytes: Vec<u8>) {
            self.packet += 1;
            self.parser
                .feed(dir, &bytes, meta(self.packet), &mut self.out);
        }

        fn block(&mut self, dir: Direction, fields: &[(&str, &str)]) -> Vec<u8> {
            let encoder = &mut self.encoders[dir.slot()];
            encoder.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
        }

        fn headers(&mut self, dir: Direction, stream: u32, flags: u8, fields: &[(&str, &str)]) {
            let block = self.block(dir, fields);
            self.send(
                dir,
                frame(kind::HEADERS, flags | flag::END_HEADERS, stream, &block),
            );
        }
    }

    #[test]
    fn the_preface_settings_and_header_blocks_are_kept_for_export() {
        let mut c = Conn::new(); // packet 1: the preface
        c.send(Direction::ToServer, frame(kind::SETTINGS, 0, 0, &[])); // 2
        c.headers(Direction::ToServer, 1, 0, GET); // 3
        c.send(
            Direction::ToServer,
            frame(kind::DATA, flag::END_STREAM, 1, b"x"),
        ); // 4
        c.headers(Direction::ToClient, 1, 0, &[(":status", "200")]); // 5
        c.send(
            Direction::ToClient,
            frame(kind::DATA, flag::END_STREAM, 1, b"y"),
        ); // 6
        c.headers(Direction::ToServer, 3, flag::END_STREAM, GET); // 7
        let mut taken = Vec::new();
        c.parser.take_state_packets(&mut taken);
        assert_eq!(taken, [(1, 3), (5, 5)], "the last span may still grow");
        c.headers(
            Direction::ToClient,
            3,
            flag::END_STREAM,
            &[(":status", "200")],
        ); // 8
        c.parser.close("FIN", &mut c.out);
        taken.clear();
        c.parser.take_state_packets(&mut taken);
        assert_eq!(taken, [(7, 8)], "closed: the last span too");
    }

    #[test]
    fn size_counts_the_headers_continuation_and_data_frames_of_each_side() {
        let mut c = Conn::new();
        let request = c.block(Direction::ToServer, GET);
        let (first, rest) = request.split_at(request.len() / 2);
        let frames = [
            frame(kind::HEADERS, 0, 1, first),
            frame(kind::CONTINUATION, flag::END_HEADERS, 1, rest),
            frame(kind::DATA, flag::END_STREAM, 1, b"hello"),
        ];
        let request_bytes: usize = frames.iter().map(Vec::len).sum();
        for bytes in frames {
            c.send(Direction::ToServer, bytes);
        }
        let response = c.block(Direction::ToClient, &[(":status", "200")]);
        let frames = [
            frame(kind::HEADERS, flag::END_HEADERS, 1, &response),
            frame(kind::DATA, flag::END_STREAM, 1, b"[1,2]"),
        ];
        let response_bytes: usize = frames.iter().map(Vec::len).sum();
        for bytes in frames {
            c.send(Direction::ToClient, bytes);
        }
        assert_eq!(c.out.len(), 1);
        assert_eq!(c.out[0].request["size"], json!(request_bytes));
        assert_eq!(c.out[0].request["bodySize"], json!(5));
        assert_eq!(c.out[0].response["size"], json!(response_bytes));
        assert_eq!(c.out[0].response["bodySize"], json!(5));
    }

    const GET: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "api"),
        (":path", "/items"),
    ];

    #[test]
    fn interleaved_streams_with_padding_continuation_and_trailers() {
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        // stream 3: header block split over HEADERS (padded, with priority) and CONTINUATION
        let block = c.block(
            Direction::ToServer,
            &[
                (":method", "POST"),
                (":scheme", "http"),
                (":path", "/upload"),
            ],
        );
        let (head, tail) = block.split_at(2);
        let mut payload = vec![3, 0, 0, 0, 1, 16];
        payload.extend_from_slice(head);
        payload.extend_from_slice(&[0, 0, 0]);
        c.send(
            Direction::ToServer,
            frame(kind::HEADERS, flag::PADDED | flag::PRIORITY, 3, &payload),
        );
        c.send(
            Direction::ToServer,
            frame(kind::CONTINUATION, flag::END_HEADERS, 3, tail),
        );
        c.send(
            Direction::ToServer,
            frame(
                kind::DATA,
                flag::END_STREAM | flag::PADDED,
                3,
                b"\x02hi\0\0",
            ),
        );
        c.headers(Direction::ToClient, 3, 0, &[(":status", "201")]);
        c.headers(Direction::ToClient, 1, 0, &[(":status", "200")]);
        c.send(Direction::ToClient, frame(kind::DATA, 0, 1, b"[1,"));
        c.send(Direction::ToClient, frame(kind::DATA, 0, 3, b"created"));
        c.headers(
            Direction::ToClient,
            3,
            flag::END_STREAM,
            &[("x-checksum", "abc")],
        );
        c.send(
            Direction::ToClient,
            frame(kind::DATA, flag::END_STREAM, 1, b"2]"),
        );
        assert_eq!(c.out.len(), 2);
        let upload = &c.out[0];
        assert_eq!(upload.request["path"], json!("/upload"));
        assert_eq!(upload.request["body"], json!("hi"));
        assert_eq!(upload.response["status"], json!(201));
        assert_eq!(upload.response["body"], json!("created"));
        assert_eq!(upload.response["trailers"], json!({"x-checksum": "abc"}));
        assert_eq!(upload.error, None);
        let items = &c.out[1];
        assert_eq!(items.request["url"], json!("http://api/items"));
        assert_eq!(items.response["body"], json!("[1,2]"));
        assert_eq!(items.start, Some(meta(2)));
        assert_eq!(items.end, Some(meta(11)));
    }

    #[test]
    fn compressed_and_binary_bodies_are_shown_decoded_and_as_base64() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, b"{\"items\": []}").expect("write to memory");
        let zipped = gz.finish().expect("compress in memory");
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        c.headers(
            Direction::ToClient,
            1,
            0,
            &[(":status", "200"), ("content-encoding", "gzip")],
        );
        let (head, tail) = zipped.split_at(zipped.len() / 2);
        c.send(Direction::ToClient, frame(kind::DATA, 0, 1, head));
        c.send(
            Direction::ToClient,
            frame(kind::DATA, flag::END_STREAM, 1, tail),
        );
        c.headers(Direction::ToServer, 3, flag::END_STREAM, GET);
        c.headers(Direction::ToClient, 3, 0, &[(":status", "200")]);
        c.send(
            Direction::ToClient,
            frame(kind::DATA, flag::END_STREAM, 3, &[0, 1, 0xfe, 0xff]),
        );
        assert_eq!(c.out.len(), 2);
        assert_eq!(c.out[0].response["body"], json!("{\"items\": []}"));
        assert_eq!(c.out[0].response["bodySize"], json!(zipped.len()));
        assert_eq!(c.out[1].response["body"], json!("AAH+/w=="));
        assert_eq!(c.out[1].response["bodyEncoding"], json!("base64"));
    }

    #[test]
    fn rst_stream_ends_the_stream_with_an_error() {
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        c.send(
            Direction::ToClient,
            frame(kind::RST_STREAM, 0, 1, &8u32.to_be_bytes()),
        );
        assert_eq!(c.out.len(), 1);
        assert_eq!(
            c.out[0].error.as_deref(),
            Some("stream reset by server: CANCEL")
        );
        // a late frame on the finished stream does not resurrect it
        c.headers(
            Direction::ToClient,
            1,
            flag::END_STREAM,
            &[(":status", "200")],
        );
        assert_eq!(c.out.len(), 1);
    }

    #[test]
    fn goaway_refuses_streams_above_the_last_id_and_marks_the_rest_at_close() {
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        c.headers(Direction::ToServer, 3, flag::END_STREAM, GET);
        let mut goaway = 1u32.to_be_bytes().to_vec();
        goaway.extend_from_slice(&2u32.to_be_bytes());
        c.send(Direction::ToClient, frame(kind::GOAWAY, 0, 0, &goaway));
        assert_eq!(c.out.len(), 1);
        assert_eq!(
            c.out[0].error.as_deref(),
            Some("not processed: server sent GOAWAY INTERNAL_ERROR (last stream 1)")
        );
        c.parser.close("FIN", &mut c.out);
        assert_eq!(c.out.len(), 2);
        assert_eq!(
            c.out[1].error.as_deref(),
            Some(
                "server sent GOAWAY INTERNAL_ERROR (last stream 1); no response before connection closed (FIN)"
            )
        );
    }

    #[test]
    fn push_promise_becomes_its_own_exchange() {
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        let mut payload = 2u32.to_be_bytes().to_vec();
        let promised = c.block(
            Direction::ToClient,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/style.css"),
            ],
        );
        payload.extend_from_slice(&promised);
        c.send(
            Direction::ToClient,
            frame(kind::PUSH_PROMISE, flag::END_HEADERS, 1, &payload),
        );
        c.headers(
            Direction::ToClient,
            1,
            flag::END_STREAM,
            &[(":status", "204")],
        );
        c.headers(
            Direction::ToClient,
            2,
            0,
            &[(":status", "200"), ("content-type", "text/css")],
        );
        c.send(
            Direction::ToClient,
            frame(kind::DATA, flag::END_STREAM, 2, b"a{}"),
        );
        let paths: Vec<_> = c
            .out
            .iter()
            .map(|e| (e.request["path"].clone(), e.response["status"].clone()))
            .collect();
        assert_eq!(
            paths,
            vec![
                (json!("/items"), json!(204)),
                (json!("/style.css"), json!(200))
            ]
        );
    }

    #[test]
    fn lost_bytes_mark_open_streams_and_later_streams_still_parse() {
        let mut c = Conn::new();
        c.headers(Direction::ToServer, 1, flag::END_STREAM, GET);
        c.headers(Direction::ToClient, 1, 0, &[(":status", "200")]);
        c.parser.gap(Direction::ToClient, &mut c.out);
        // the reader resynchronises on the next frames: the end of stream 1, then stream 3
        c.send(
            Direction::ToClient,
            [
                &b"lost-tail"[..],
                &frame(kind::DATA, flag::END_STREAM, 1, b"ok"),
            ]
            .concat(),
        );
        c.headers(Direction::ToServer, 3, flag::END_STREAM, GET);
        c.headers(
            Direction::ToClient,
            3,
            flag::END_STREAM,
            &[(":status", "404")],
        );
        assert_eq!(c.out.len(), 2);
        assert_eq!(
            c.out[0].error.as_deref(),
            Some("bytes from the server lost in capture")
        );
        assert_eq!(c.out[1].response["status"], json!(404));
        assert_eq!(c.out[1].error, None);
    }

    #[test]
    fn reversed_directions_are_detected_from_pseudo_headers() {
        let mut c = Conn {
            parser: Http2Parser::new(&ParserSettings::default()),
            encoders: [Encoder::new(), Encoder::new()],
            out: Vec::new(),
            packet: 0,
        };
        // the pipeline guessed wrong: requests arrive as "ToClient"
        c.headers(Direction::ToClient, 1, flag::END_STREAM, GET);
        c.headers(Direction::ToServer, 1, 0, &[(":status", "200")]);
        c.send(
            Direction::ToServer,
            frame(kind::DATA, flag::END_STREAM, 1, b"fine"),
        );
        assert_eq!(c.out.len(), 1);
        assert_eq!(c.out[0].request["method"], json!("GET"));
        assert_eq!(c.out[0].response["body"], json!("fine"));
    }

    #[test]
    fn bodies_of_many_open_streams_stay_within_the_connection_budget() {
        let mut c = Conn::new();
        let chunk = vec![b'b'; 16 * 1024];
        for id in (1..=161).step_by(2) {
            c.headers(Direction::ToServer, id, 0, GET);
            for _ in 0..4 {
                c.send(Direction::ToServer, frame(kind::DATA, 0, id, &chunk));
            }
        }
        assert_eq!(c.parser.streams.open.len(), 81);
        assert_eq!(c.parser.streams.kept_bodies, BODY_BUDGET);
        c.parser.close("FIN", &mut c.out);
        assert_eq!(c.out.len(), 81);
        // every request still reports its full size
        assert!(
            c.out
                .iter()
                .all(|e| e.request["bodySize"] == json!(64 * 1024))
        );
    }
}
