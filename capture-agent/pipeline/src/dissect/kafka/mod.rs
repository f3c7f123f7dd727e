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
//!
//! # Files
//! `framing` tells the shared PDU framer how Kafka frames messages and where to resume after a
//! gap; `reader` reads Kafka's primitive types; `apis` holds the api key table; `messages` reads
//! request headers, topics and error codes; `parser` pairs responses with requests.

use super::{Confidence, Direction, Dissector, Parser, ParserSettings};
use framing::{MIN_REQUEST, plausible_size};
use messages::request_header;
use parser::KafkaParser;

mod apis;
mod framing;
mod messages;
mod parser;
mod reader;
#[cfg(test)]
mod tests;

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
