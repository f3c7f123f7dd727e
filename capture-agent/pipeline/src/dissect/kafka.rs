//! Kafka wire protocol (<https://kafka.apache.org/protocol>): 4-byte size framing, request
//! headers v0–v2, topics of Produce (v0–v12) and Fetch (v0–v12), and the top-level error code of
//! the responses whose version carries one.
//!
//! A response header holds only the correlation id, so each connection keeps its requests (api
//! key, version) until answered. The broker answers in order: when a later request is answered,
//! earlier ones still waiting have lost their response. Only a capped prefix of each message is
//! kept (responses: enough for header and error code), the rest skipped by count, so multi-MB
//! fetch responses cost no memory.
//!
//! Each request and response carries `size`: its frame on the wire, the 4-byte size field plus
//! the size it gives, less any bytes a capture gap or the end of the flow kept from passing. A
//! response's exchange goes out once the frame's last byte has passed, so it ends with the packet
//! that carried it.

use std::collections::VecDeque;

use serde_json::json;
use shark_store::Message;

use super::{
    ChunkMeta, Confidence, Direction, Dissector, Exchange, Parser, ParserSettings, Unfinished,
};

/// Largest message accepted as framing; larger sizes mean the stream is not Kafka or lost sync.
const MAX_MESSAGE: usize = 256 << 20;
/// Request bytes kept for parsing the header and topic names.
const MAX_REQUEST_PREFIX: usize = 64 * 1024;
/// Response bytes kept: header, tagged fields and the top-level error code.
const MAX_RESPONSE_PREFIX: usize = 1024;
/// Requests waiting for a response per connection.
const MAX_PENDING: usize = 1024;
/// Topic names kept per request.
const MAX_TOPICS: usize = 64;
/// Highest api version believed; higher ones mean the bytes are not a request header.
const MAX_API_VERSION: i16 = 20;
/// Smallest request: api key, api version, correlation id.
const MIN_REQUEST: usize = 8;
/// Smallest response: correlation id.
const MIN_RESPONSE: usize = 4;
/// Api key of ApiVersions, whose response header is always v0.
const API_VERSIONS: i16 = 18;

/// Kafka: api key and name, version, correlation id, client id, topics; error code.
pub struct KafkaDissector;

impl Dissector for KafkaDissector {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn ports(&self) -> &'static [u16] {
        &[9092]
    }

    fn probe(&self, data: &[u8], dir: Direction) -> Confidence {
        match dir {
            Direction::ToServer => match request_header(data.get(4..).unwrap_or_default()) {
                Some(_) if plausible_size(data, MIN_REQUEST) => Confidence::Yes,
                Some(_) => Confidence::No,
                None if data.len() < 14 => Confidence::NeedMore,
                None => Confidence::No,
            },
            // A response is a size and a correlation id: nothing to recognise it by. Saying "No"
            // (not "NeedMore") lets the request side decide without holding every binary flow.
            Direction::ToClient => Confidence::No,
        }
    }

    fn parser(&self, _settings: &ParserSettings) -> Box<dyn Parser> {
        Box::new(KafkaParser::default())
    }
}

/// Whether `data` starts with a size of at least `min` bytes that Kafka could send.
fn plausible_size(data: &[u8], min: usize) -> bool {
    Reader::new(data)
        .i32()
        .and_then(|n| usize::try_from(n).ok())
        .is_some_and(|n| (min..=MAX_MESSAGE).contains(&n))
}

/// One request header, read.
#[derive(Debug, Clone, PartialEq)]
struct RequestHeader {
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    client_id: Option<String>,
    /// Offset of the body within the message.
    body_at: usize,
}

/// Reads a request header (v1, or v2 for flexible versions); `None` when it is not one.
fn request_header(message: &[u8]) -> Option<RequestHeader> {
    let mut reader = Reader::new(message);
    let api_key = reader.i16()?;
    let api_version = reader.i16()?;
    let info = api(api_key)?;
    if !(0..=MAX_API_VERSION).contains(&api_version) {
        return None;
    }
    let correlation_id = reader.i32()?;
    let client_id = reader.nullable_string()?;
    if client_id
        .as_deref()
        .is_some_and(|id| id.chars().any(char::is_control))
    {
        return None;
    }
    if info.flexible_from.is_some_and(|v| api_version >= v) {
        reader.tagged_fields()?;
    }
    Some(RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id,
        body_at: reader.pos,
    })
}

/// Name and first flexible version (KIP-482) of an api key.
struct ApiInfo {
    name: &'static str,
    flexible_from: Option<i16>,
}

/// The api keys of Apache Kafka 3.x/4.0 with their first flexible version.
fn api(key: i16) -> Option<ApiInfo> {
    let (name, flexible_from) = match key {
        0 => ("Produce", Some(9)),
        1 => ("Fetch", Some(12)),
        2 => ("ListOffsets", Some(6)),
        3 => ("Metadata", Some(9)),
        4 => ("LeaderAndIsr", Some(4)),
        5 => ("StopReplica", Some(2)),
        6 => ("UpdateMetadata", Some(6)),
        7 => ("ControlledShutdown", Some(3)),
        8 => ("OffsetCommit", Some(8)),
        9 => ("OffsetFetch", Some(6)),
        10 => ("FindCoordinator", Some(3)),
        11 => ("JoinGroup", Some(6)),
        12 => ("Heartbeat", Some(4)),
        13 => ("LeaveGroup", Some(4)),
        14 => ("SyncGroup", Some(4)),
        15 => ("DescribeGroups", Some(5)),
        16 => ("ListGroups", Some(3)),
        17 => ("SaslHandshake", None),
        18 => ("ApiVersions", Some(3)),
        19 => ("CreateTopics", Some(5)),
        20 => ("DeleteTopics", Some(4)),
        21 => ("DeleteRecords", Some(2)),
        22 => ("InitProducerId", Some(2)),
        23 => ("OffsetForLeaderEpoch", Some(4)),
        24 => ("AddPartitionsToTxn", Some(3)),
        25 => ("AddOffsetsToTxn", Some(3)),
        26 => ("EndTxn", Some(3)),
        27 => ("WriteTxnMarkers", Some(1)),
        28 => ("TxnOffsetCommit", Some(3)),
        29 => ("DescribeAcls", Some(2)),
        30 => ("CreateAcls", Some(2)),
        31 => ("DeleteAcls", Some(2)),
        32 => ("DescribeConfigs", Some(4)),
        33 => ("AlterConfigs", Some(2)),
        34 => ("AlterReplicaLogDirs", Some(2)),
        35 => ("DescribeLogDirs", Some(2)),
        36 => ("SaslAuthenticate", Some(2)),
        37 => ("CreatePartitions", Some(2)),
        38 => ("CreateDelegationToken", Some(2)),
        39 => ("RenewDelegationToken", Some(2)),
        40 => ("ExpireDelegationToken", Some(2)),
        41 => ("DescribeDelegationToken", Some(2)),
        42 => ("DeleteGroups", Some(2)),
        43 => ("ElectLeaders", Some(2)),
        44 => ("IncrementalAlterConfigs", Some(1)),
        45 => ("AlterPartitionReassignments", Some(0)),
        46 => ("ListPartitionReassignments", Some(0)),
        47 => ("OffsetDelete", None),
        48 => ("DescribeClientQuotas", Some(1)),
        49 => ("AlterClientQuotas", Some(1)),
        50 => ("DescribeUserScramCredentials", Some(0)),
        51 => ("AlterUserScramCredentials", Some(0)),
        52 => ("Vote", Some(0)),
        53 => ("BeginQuorumEpoch", Some(1)),
        54 => ("EndQuorumEpoch", Some(1)),
        55 => ("DescribeQuorum", Some(0)),
        56 => ("AlterPartition", Some(0)),
        57 => ("UpdateFeatures", Some(0)),
        58 => ("Envelope", Some(0)),
        59 => ("FetchSnapshot", Some(0)),
        60 => ("DescribeCluster", Some(0)),
        61 => ("DescribeProducers", Some(0)),
        62 => ("BrokerRegistration", Some(0)),
        63 => ("BrokerHeartbeat", Some(0)),
        64 => ("UnregisterBroker", Some(0)),
        65 => ("DescribeTransactions", Some(0)),
        66 => ("ListTransactions", Some(0)),
        67 => ("AllocateProducerIds", Some(0)),
        68 => ("ConsumerGroupHeartbeat", Some(0)),
        69 => ("ConsumerGroupDescribe", Some(0)),
        70 => ("ControllerRegistration", Some(0)),
        71 => ("GetTelemetrySubscriptions", Some(0)),
        72 => ("PushTelemetry", Some(0)),
        73 => ("AssignReplicasToDirs", Some(0)),
        74 => ("ListClientMetricsResources", Some(0)),
        75 => ("DescribeTopicPartitions", Some(0)),
        _ => return None,
    };
    Some(ApiInfo {
        name,
        flexible_from,
    })
}

/// Where the top-level error code sits in a response body (after its header), if it has one.
fn error_code_offset(api_key: i16, version: i16) -> Option<usize> {
    const FIRST: usize = 0;
    const AFTER_THROTTLE: usize = 4;
    match (api_key, version) {
        (1, 7..) => Some(AFTER_THROTTLE),
        (10, 0) | (11, 0..=1) | (12, 0) | (13, 0) | (14, 0) | (16, 0) => Some(FIRST),
        (10, 1..=3) | (11, 2..) | (12, 1..) | (13, 1..) | (14, 1..) | (16, 1..) => {
            Some(AFTER_THROTTLE)
        }
        (17 | 18 | 36 | 38 | 39 | 40 | 41, _) => Some(FIRST),
        (22 | 25 | 26 | 29 | 45 | 46 | 48 | 50 | 57 | 60 | 66 | 68, _) | (43, 1..) => {
            Some(AFTER_THROTTLE)
        }
        _ => None,
    }
}

/// Topic names of a Produce (v0–v12) or Fetch (v0–v12) request body, as far as they can be read.
fn topics(api_key: i16, version: i16, body: &[u8]) -> Vec<String> {
    let mut reader = Reader::new(body);
    let mut names = Vec::new();
    let _ = match api_key {
        0 => produce_topics(&mut reader, version, &mut names),
        1 => fetch_topics(&mut reader, version, &mut names),
        _ => None,
    };
    names
}

fn produce_topics(r: &mut Reader<'_>, version: i16, names: &mut Vec<String>) -> Option<()> {
    let flexible = version >= 9;
    match version {
        0..=2 => {}
        3..=8 => {
            r.nullable_string()?;
        }
        9..=12 => {
            r.compact_nullable_string()?;
        }
        _ => return None,
    }
    r.skip(2 + 4)?; // acks, timeout_ms
    read_topic_names(r, flexible, names, |r| {
        r.skip(4)?; // index
        let records = if flexible {
            r.compact_len()?
        } else {
            r.i32().map(|n| usize::try_from(n).unwrap_or(0))?
        };
        r.skip(records)
    })
}

fn fetch_topics(r: &mut Reader<'_>, version: i16, names: &mut Vec<String>) -> Option<()> {
    if version > 12 {
        // v13 names topics by id, not by name.
        return None;
    }
    let flexible = version >= 12;
    // replica_id, max_wait_ms, min_bytes; then max_bytes (v3+), isolation_level (v4+),
    // session_id and session_epoch (v7+).
    let header = 12
        + if version >= 3 { 4 } else { 0 }
        + if version >= 4 { 1 } else { 0 }
        + if version >= 7 { 8 } else { 0 };
    r.skip(header)?;
    // partition, [current_leader_epoch v9+], fetch_offset, [last_fetched_epoch v12+],
    // [log_start_offset v5+], partition_max_bytes.
    let partition = match version {
        0..=4 => 16,
        5..=8 => 24,
        9..=11 => 28,
        _ => 32,
    };
    read_topic_names(r, flexible, names, |r| r.skip(partition))
}

/// Reads a request's topics array: each topic's name into `names` (at most [`MAX_TOPICS`]), its
/// partitions passed over by `skip_partition`, tagged fields skipped in flexible versions.
fn read_topic_names(
    r: &mut Reader<'_>,
    flexible: bool,
    names: &mut Vec<String>,
    mut skip_partition: impl FnMut(&mut Reader<'_>) -> Option<()>,
) -> Option<()> {
    let count = r.array_len(flexible)?;
    for _ in 0..count {
        names.push(r.any_string(flexible)?);
        let partitions = r.array_len(flexible)?;
        for _ in 0..partitions {
            skip_partition(r)?;
            if flexible {
                r.tagged_fields()?;
            }
        }
        if flexible {
            r.tagged_fields()?;
        }
        if names.len() >= MAX_TOPICS {
            break;
        }
    }
    Some(())
}

/// A bounds-checked cursor over Kafka primitive types.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Unsigned varint (at most 5 bytes for a 32-bit value).
    fn uvarint(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let byte = *self.take(1)?.first()?;
            value |= u32::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// Length of a compact (varint N+1) string, bytes or array; 0 for null.
    fn compact_len(&mut self) -> Option<usize> {
        Some(usize::try_from(self.uvarint()?).ok()?.saturating_sub(1))
    }

    fn text(&mut self, len: usize) -> Option<String> {
        Some(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn nullable_string(&mut self) -> Option<Option<String>> {
        match self.i16()? {
            -1 => Some(None),
            len => self.text(usize::try_from(len).ok()?).map(Some),
        }
    }

    fn compact_nullable_string(&mut self) -> Option<Option<String>> {
        match self.uvarint()? {
            0 => Some(None),
            len => self.text(usize::try_from(len - 1).ok()?).map(Some),
        }
    }

    /// A (compact when `flexible`) non-null string.
    fn any_string(&mut self, flexible: bool) -> Option<String> {
        if flexible {
            self.compact_nullable_string()?
        } else {
            self.nullable_string()?
        }
    }

    /// Element count of a (compact when `flexible`) array, at most the bytes left (every element
    /// takes at least one), so a hostile count cannot drive a long loop.
    fn array_len(&mut self, flexible: bool) -> Option<usize> {
        let count = if flexible {
            self.compact_len()?
        } else {
            usize::try_from(self.i32()?).unwrap_or(0)
        };
        (count <= self.data.len().saturating_sub(self.pos)).then_some(count)
    }

    fn tagged_fields(&mut self) -> Option<()> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?; // tag
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.skip(size)?;
        }
        Some(())
    }
}

/// A request waiting for its response.
struct Pending {
    correlation_id: i32,
    api_key: i16,
    api_version: i16,
    request: Message,
    /// Bytes of the request frame on the wire.
    size: u64,
    start: ChunkMeta,
    end: ChunkMeta,
}

impl Pending {
    /// The request fields, with the frame's `size`.
    fn into_request(mut self) -> Message {
        self.request.insert("size".into(), json!(self.size));
        self.request
    }
}

/// A response whose first bytes were read but not yet its last: its exchange waits for them.
struct Answering {
    exchange: Exchange,
    /// Bytes of the response frame on the wire, as its size field gives them.
    size: u64,
}

impl Answering {
    /// The exchange, with the response's `size` less the `unseen` bytes that never passed.
    fn finish(mut self, unseen: usize) -> Exchange {
        let size = self.size.saturating_sub(unseen as u64);
        self.exchange.response.insert("size".into(), json!(size));
        self.exchange
    }
}

/// A framed message: the kept prefix of its bytes after the size.
struct Frame {
    prefix: Vec<u8>,
    /// Bytes of the frame on the wire: the size field and the message.
    size: u64,
    start: ChunkMeta,
    end: ChunkMeta,
}

/// Splits one direction into size-prefixed messages, keeping a capped prefix of each.
#[derive(Default)]
struct Framer {
    buf: Vec<u8>,
    skip: usize,
    start: Option<ChunkMeta>,
    /// Framing was lost (gap or implausible size): look for a plausible message start.
    lost: bool,
}

impl Framer {
    fn feed(
        &mut self,
        mut data: &[u8],
        meta: ChunkMeta,
        cap: usize,
        frames: &mut Vec<Frame>,
        resync: &dyn Fn(&[u8]) -> bool,
    ) {
        while !data.is_empty() {
            if self.skip > 0 {
                let take = self.skip.min(data.len());
                self.skip -= take;
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            if self.buf.is_empty() {
                self.start = Some(meta);
                if self.lost {
                    // Look for a size followed by a recognisable message start.
                    match (0..data.len()).find(|&at| resync(data.get(at..).unwrap_or_default())) {
                        Some(at) => {
                            self.lost = false;
                            data = data.get(at..).unwrap_or_default();
                        }
                        None => return,
                    }
                }
            }
            data = fill(&mut self.buf, 4, data);
            let Some(size) = Reader::new(&self.buf).i32() else {
                return;
            };
            let Some(size) = usize::try_from(size)
                .ok()
                .filter(|n| (4..=MAX_MESSAGE).contains(n))
            else {
                self.buf.clear();
                self.lost = true;
                continue;
            };
            let keep = size.min(cap);
            data = fill(&mut self.buf, 4 + keep, data);
            if self.buf.len() < 4 + keep {
                return;
            }
            let prefix = self.buf.split_off(4);
            self.buf.clear();
            self.skip = size - keep;
            frames.push(Frame {
                prefix,
                size: 4 + size as u64,
                start: self.start.take().unwrap_or(meta),
                end: meta,
            });
        }
    }
}

/// Appends to `buf` from `data` until `buf` holds `want` bytes; returns what is left of `data`.
fn fill<'a>(buf: &mut Vec<u8>, want: usize, data: &'a [u8]) -> &'a [u8] {
    let take = want.saturating_sub(buf.len()).min(data.len());
    let (now, rest) = data.split_at(take);
    buf.extend_from_slice(now);
    rest
}

/// Per-connection Kafka state.
#[derive(Default)]
struct KafkaParser {
    requests: Framer,
    responses: Framer,
    pending: VecDeque<Pending>,
    /// The response whose frame is still passing.
    answering: Option<Answering>,
}

impl Parser for KafkaParser {
    fn feed(&mut self, dir: Direction, data: &[u8], meta: ChunkMeta, out: &mut Vec<Exchange>) {
        let mut frames = Vec::new();
        match dir {
            Direction::ToServer => {
                let resync = |bytes: &[u8]| {
                    plausible_size(bytes, MIN_REQUEST)
                        && request_header(bytes.get(4..).unwrap_or_default()).is_some()
                };
                self.requests
                    .feed(data, meta, MAX_REQUEST_PREFIX, &mut frames, &resync);
                for frame in frames {
                    self.request(frame, out);
                }
            }
            Direction::ToClient => {
                let waiting: Vec<i32> = self.pending.iter().map(|p| p.correlation_id).collect();
                let resync = |bytes: &[u8]| {
                    let mut reader = Reader::new(bytes);
                    reader.i32().is_some()
                        && reader.i32().is_some_and(|id| waiting.contains(&id))
                        && plausible_size(bytes, MIN_RESPONSE)
                };
                if let Some(open) = self.answering.as_mut() {
                    // These bytes carry more of the response still passing, if not its end.
                    open.exchange.end = Some(meta);
                }
                self.responses
                    .feed(data, meta, MAX_RESPONSE_PREFIX, &mut frames, &resync);
                // The response still passing has ended if another began or no bytes remain.
                if (!frames.is_empty() || self.responses.skip == 0)
                    && let Some(open) = self.answering.take()
                {
                    out.push(open.finish(0));
                }
                let count = frames.len();
                for (i, frame) in frames.into_iter().enumerate() {
                    let answer = self.response(frame, out);
                    if i + 1 == count && self.responses.skip > 0 {
                        self.answering = Some(answer);
                    } else {
                        out.push(answer.finish(0));
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        // Requests lost with the gap show up as unmatched responses; responses lost show up as
        // requests passed over by a later answer (or unanswered at close).
        self.cut_short(dir, out);
        let framer = match dir {
            Direction::ToServer => &mut self.requests,
            Direction::ToClient => &mut self.responses,
        };
        *framer = Framer {
            lost: true,
            ..Framer::default()
        };
    }

    fn close(&mut self, reason: &str, out: &mut Vec<Exchange>) {
        self.cut_short(Direction::ToServer, out);
        self.cut_short(Direction::ToClient, out);
        for pending in self.pending.drain(..) {
            out.push(unanswered(
                pending,
                &format!("no response before the flow ended ({reason})"),
            ));
        }
    }

    /// Requests waiting for their responses, a response still passing, and frames half read.
    fn unfinished(&self) -> Unfinished {
        let waiting = self.pending.iter().map(|p| Some(p.start));
        let open = [
            self.answering.as_ref().and_then(|a| a.exchange.start),
            self.requests.start,
            self.responses.start,
        ];
        Unfinished::earliest(waiting.chain(open))
    }
}

impl KafkaParser {
    /// The frame passing in direction `dir` will not pass whole (a gap, or the flow ended): its
    /// exchange counts only the bytes that did.
    fn cut_short(&mut self, dir: Direction, out: &mut Vec<Exchange>) {
        match dir {
            Direction::ToServer => {
                // A request still passing is the last one queued, unless already answered.
                let unseen = std::mem::take(&mut self.requests.skip);
                if unseen > 0
                    && let Some(last) = self.pending.back_mut()
                {
                    last.size = last.size.saturating_sub(unseen as u64);
                }
            }
            Direction::ToClient => {
                let unseen = std::mem::take(&mut self.responses.skip);
                if let Some(open) = self.answering.take() {
                    out.push(open.finish(unseen));
                }
            }
        }
    }

    fn request(&mut self, frame: Frame, out: &mut Vec<Exchange>) {
        let Some(header) = request_header(&frame.prefix) else {
            // Framing is likely off: look for the next plausible request instead of trusting sizes.
            self.requests = Framer {
                lost: true,
                ..Framer::default()
            };
            let mut request = Message::new();
            request.insert("size".into(), json!(frame.size));
            out.push(Exchange {
                protocol: "kafka",
                request,
                error: Some("malformed Kafka request header".into()),
                start: Some(frame.start),
                end: Some(frame.end),
                ..Exchange::default()
            });
            return;
        };
        let mut request = Message::new();
        request.insert("apiKey".into(), json!(header.api_key));
        request.insert(
            "apiName".into(),
            json!(api(header.api_key).map_or("", |a| a.name)),
        );
        request.insert("apiVersion".into(), json!(header.api_version));
        request.insert("correlationId".into(), json!(header.correlation_id));
        if let Some(client_id) = &header.client_id {
            request.insert("clientId".into(), json!(client_id));
        }
        let topics = topics(
            header.api_key,
            header.api_version,
            frame.prefix.get(header.body_at..).unwrap_or_default(),
        );
        if let Some(first) = topics.first() {
            request.insert("topic".into(), json!(first));
        }
        if matches!(header.api_key, 0 | 1) {
            request.insert("topics".into(), json!(topics));
        }
        if self.pending.len() >= MAX_PENDING
            && let Some(oldest) = self.pending.pop_front()
        {
            out.push(unanswered(
                oldest,
                "no response (too many outstanding requests)",
            ));
        }
        self.pending.push_back(Pending {
            correlation_id: header.correlation_id,
            api_key: header.api_key,
            api_version: header.api_version,
            request,
            size: frame.size,
            start: frame.start,
            end: frame.end,
        });
    }

    /// Pairs a response with its request; requests it passed over are reported to `out`.
    fn response(&mut self, frame: Frame, out: &mut Vec<Exchange>) -> Answering {
        let mut reader = Reader::new(&frame.prefix);
        let correlation_id = reader.i32().unwrap_or(-1);
        let request = self
            .pending
            .iter()
            .position(|p| p.correlation_id == correlation_id)
            .and_then(|index| {
                // The broker answers in order: requests before this one will get no response now.
                for skipped in self.pending.drain(..index) {
                    out.push(unanswered(
                        skipped,
                        "no response (a later request was answered)",
                    ));
                }
                self.pending.pop_front()
            });
        let Some(pending) = request else {
            let mut response = Message::new();
            response.insert("correlationId".into(), json!(correlation_id));
            return Answering {
                exchange: Exchange {
                    protocol: "kafka",
                    response,
                    error: Some(
                        "response without a request (capture started mid-connection?)".into(),
                    ),
                    start: Some(frame.start),
                    end: Some(frame.end),
                    ..Exchange::default()
                },
                size: frame.size,
            };
        };
        let mut response = Message::new();
        if let Some(code) = error_code(&mut reader, pending.api_key, pending.api_version) {
            response.insert("status".into(), json!(code));
        }
        Answering {
            exchange: Exchange {
                protocol: "kafka",
                start: Some(pending.start),
                request: pending.into_request(),
                response,
                end: Some(frame.end),
                ..Exchange::default()
            },
            size: frame.size,
        }
    }
}

/// The top-level error code of a response body, where its api and version carry one.
fn error_code(reader: &mut Reader<'_>, api_key: i16, version: i16) -> Option<i16> {
    let offset = error_code_offset(api_key, version)?;
    let flexible = api(api_key)?.flexible_from.is_some_and(|v| version >= v);
    if flexible && api_key != API_VERSIONS {
        reader.tagged_fields()?;
    }
    reader.skip(offset)?;
    reader.i16()
}

fn unanswered(pending: Pending, error: &str) -> Exchange {
    Exchange {
        protocol: "kafka",
        error: Some(error.to_string()),
        start: Some(pending.start),
        end: Some(pending.end),
        request: pending.into_request(),
        ..Exchange::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::test_support::{META, feed_in_pieces, sizes};

    fn sized(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    fn string(s: &str) -> Vec<u8> {
        [
            (s.len() as i16).to_be_bytes().to_vec(),
            s.as_bytes().to_vec(),
        ]
        .concat()
    }

    /// A request with a v1 header.
    fn request(key: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
        let header = [
            key.to_be_bytes().to_vec(),
            version.to_be_bytes().to_vec(),
            correlation.to_be_bytes().to_vec(),
            string("cli"),
        ];
        sized(&[header.concat(), body.to_vec()].concat())
    }

    /// Fetch v4 body with two topics of one partition each.
    fn fetch_v4_body() -> Vec<u8> {
        let mut body = vec![
            0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0xf4, 0, 0, 0, 1, 0, 0x10, 0, 0, 0,
        ];
        body.extend_from_slice(&2i32.to_be_bytes());
        for topic in ["orders", "payments"] {
            body.extend_from_slice(&string(topic));
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&[0u8; 16]);
        }
        body
    }

    #[test]
    fn fetch_v4_lists_every_topic() {
        assert_eq!(topics(1, 4, &fetch_v4_body()), ["orders", "payments"]);
    }

    #[test]
    fn produce_v0_skips_record_sets_to_reach_the_next_topic() {
        let mut body = vec![0, 1, 0, 0, 0x03, 0xe8];
        body.extend_from_slice(&2i32.to_be_bytes());
        for topic in ["a", "b"] {
            body.extend_from_slice(&string(topic));
            body.extend_from_slice(&1i32.to_be_bytes());
            body.extend_from_slice(&0i32.to_be_bytes());
            body.extend_from_slice(&5i32.to_be_bytes());
            body.extend_from_slice(b"xxxxx");
        }
        assert_eq!(topics(0, 0, &body), ["a", "b"]);
    }

    #[test]
    fn hostile_counts_stop_at_the_bytes_present() {
        let mut body = vec![0, 1, 0, 0, 0x03, 0xe8];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(topics(0, 0, &body).is_empty());
        assert_eq!(Reader::new(&[0xff; 8]).uvarint(), None);
    }

    #[test]
    fn large_fetch_response_is_skipped_and_pairing_continues() {
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            &request(1, 4, 7, &fetch_v4_body()),
            META,
            &mut out,
        );
        parser.feed(Direction::ToServer, &request(18, 0, 8, &[]), META, &mut out);
        let size: u32 = 20 << 20;
        let mut response = size.to_be_bytes().to_vec();
        response.extend_from_slice(&7i32.to_be_bytes());
        parser.feed(Direction::ToClient, &response, META, &mut out);
        let block = vec![0u8; 1 << 20];
        // The size counts the 4-byte correlation id already fed.
        for _ in 0..19 {
            parser.feed(Direction::ToClient, &block, META, &mut out);
        }
        parser.feed(Direction::ToClient, &block[..(1 << 20) - 4], META, &mut out);
        parser.feed(
            Direction::ToClient,
            &sized(&[8i32.to_be_bytes().as_slice(), &[0, 35]].concat()),
            META,
            &mut out,
        );
        let got: Vec<_> = out
            .iter()
            .map(|e| {
                (
                    e.request.get("correlationId").cloned(),
                    e.response.get("status").cloned(),
                    e.error.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some(json!(7)), None, None),
                (Some(json!(8)), Some(json!(35)), None)
            ]
        );
        // The 20 MiB frame is measured from its size field, never held.
        assert_eq!(out[0].response.get("size"), Some(&json!(4 + (20 << 20))));
    }

    #[test]
    fn pipelined_frames_each_carry_their_size_on_the_wire_however_fragmented() {
        let requests = [
            request(1, 4, 7, &fetch_v4_body()),
            request(12, 0, 8, &[]),
            request(18, 0, 9, &[]),
        ];
        let responses = [
            sized(&[7i32.to_be_bytes().as_slice(), &[0; 40]].concat()),
            sized(&[8i32.to_be_bytes().as_slice(), &[0, 0]].concat()),
            sized(&[9i32.to_be_bytes().as_slice(), &[0, 0, 0, 0, 0, 0]].concat()),
        ];
        let expected: Vec<_> = requests
            .iter()
            .zip(&responses)
            .map(|(q, r)| (Some(json!(q.len())), Some(json!(r.len()))))
            .collect();
        for piece in [1, 3, 10, usize::MAX] {
            let mut parser = KafkaDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            let (requests, responses) = (requests.concat(), responses.concat());
            feed_in_pieces(
                parser.as_mut(),
                Direction::ToServer,
                &requests,
                piece,
                &mut out,
            );
            feed_in_pieces(
                parser.as_mut(),
                Direction::ToClient,
                &responses,
                piece,
                &mut out,
            );
            let sizes = sizes(&out);
            assert_eq!(sizes, expected, "pieces of {piece} bytes");
        }
    }

    #[test]
    fn a_response_ends_with_its_last_byte_and_one_cut_off_counts_what_passed() {
        let packet = |n: u64| ChunkMeta {
            ts_ns: n as i64,
            packet: n,
        };
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        let requests = [request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat();
        parser.feed(Direction::ToServer, &requests, packet(1), &mut out);
        let whole = sized(&[1i32.to_be_bytes().as_slice(), &[0; 3000]].concat());
        let cut = sized(&[2i32.to_be_bytes().as_slice(), &[0; 3000]].concat());
        let (head, tail) = whole.split_at(1500);
        parser.feed(Direction::ToClient, head, packet(2), &mut out);
        assert!(out.is_empty(), "the response is still passing");
        parser.feed(Direction::ToClient, tail, packet(3), &mut out);
        let arrived = cut.get(..2000).unwrap_or_default();
        parser.feed(Direction::ToClient, arrived, packet(4), &mut out);
        parser.close("FIN", &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|e| (e.response.get("size").cloned(), e.end.map(|m| m.packet)))
            .collect();
        assert_eq!(
            got,
            [
                (Some(json!(whole.len())), Some(3)),
                (Some(json!(arrived.len())), Some(4))
            ]
        );
    }

    #[test]
    fn a_later_answer_reports_earlier_requests_unanswered() {
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            &[request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat(),
            META,
            &mut out,
        );
        parser.feed(
            Direction::ToClient,
            &sized(&[2i32.to_be_bytes().as_slice(), &[0, 0]].concat()),
            META,
            &mut out,
        );
        let errors: Vec<_> = out.iter().map(|e| e.error.clone()).collect();
        assert_eq!(
            errors,
            [
                Some("no response (a later request was answered)".into()),
                None
            ]
        );
    }

    #[test]
    fn response_gap_resynchronises_on_a_waiting_correlation_id() {
        let mut parser = KafkaDissector.parser(&ParserSettings::default());
        let mut out = Vec::new();
        parser.feed(
            Direction::ToServer,
            &[request(12, 0, 1, &[]), request(12, 0, 2, &[])].concat(),
            META,
            &mut out,
        );
        parser.feed(Direction::ToClient, &[0, 0, 0, 6, 0, 0], META, &mut out);
        parser.gap(Direction::ToClient, &mut out);
        let second = sized(&[2i32.to_be_bytes().as_slice(), &[0, 27]].concat());
        parser.feed(
            Direction::ToClient,
            &[b"junk".as_slice(), &second].concat(),
            META,
            &mut out,
        );
        let last = out.last().map(|e| {
            (
                e.request.get("correlationId").cloned(),
                e.response.get("status").cloned(),
            )
        });
        assert_eq!(last, Some((Some(json!(2)), Some(json!(27)))));
    }

    #[test]
    fn probe_accepts_request_headers_only() {
        assert_eq!(
            KafkaDissector.probe(&request(3, 1, 9, &[0, 0, 0, 0]), Direction::ToServer),
            Confidence::Yes
        );
        assert_eq!(
            KafkaDissector.probe(b"GET / HTTP/1.1\r\nHost: x\r\n", Direction::ToServer),
            Confidence::No
        );
        assert_eq!(
            KafkaDissector.probe(&request(99, 1, 9, &[]), Direction::ToServer),
            Confidence::No
        );
        assert_eq!(
            KafkaDissector.probe(&[0, 0, 0], Direction::ToServer),
            Confidence::NeedMore
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0xdead_beef_u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    if i % 3 == 0 { 0 } else { (seed >> 24) as u8 }
                })
                .collect();
            let _ = KafkaDissector.probe(&bytes, Direction::ToServer);
            for version in 0..14 {
                let _ = topics(0, version, &bytes);
                let _ = topics(1, version, &bytes);
            }
            let mut parser = KafkaDissector.parser(&ParserSettings::default());
            let mut out = Vec::new();
            parser.feed(Direction::ToServer, &bytes, META, &mut out);
            parser.feed(Direction::ToClient, &bytes, META, &mut out);
            parser.close("end", &mut out);
        }
    }
}
