//! What Kafka requests and responses say: a request's header (v1, v2 when flexible), the
//! topics of Produce (v0–v12) and Fetch (v0–v12) requests, and a response's top-level error code.

use super::apis::{api, error_code_offset};
use super::reader::Reader;

/// Highest api version believed; higher ones mean the bytes are not a request header.
const MAX_API_VERSION: i16 = 20;
/// Topic names kept per request.
const MAX_TOPICS: usize = 64;
/// Api key of ApiVersions, whose response header is always v0.
const API_VERSIONS: i16 = 18;

/// One request header, read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RequestHeader {
    /// The api called.
    pub(super) api_key: i16,
    /// Its version.
    pub(super) api_version: i16,
    /// What the response will carry to name this request.
    pub(super) correlation_id: i32,
    /// The client's name for itself, if it gave one.
    pub(super) client_id: Option<String>,
    /// Offset of the body within the message.
    pub(super) body_at: usize,
}

/// Reads a request header (v1, or v2 for flexible versions); `None` when it is not one.
pub(super) fn request_header(message: &[u8]) -> Option<RequestHeader> {
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

/// Topic names of a Produce (v0–v12) or Fetch (v0–v12) request body, as far as they can be read.
pub(super) fn topics(api_key: i16, version: i16, body: &[u8]) -> Vec<String> {
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

/// The top-level error code of a response body, where its api and version carry one.
pub(super) fn error_code(reader: &mut Reader<'_>, api_key: i16, version: i16) -> Option<i16> {
    let offset = error_code_offset(api_key, version)?;
    let flexible = api(api_key)?.flexible_from.is_some_and(|v| version >= v);
    if flexible && api_key != API_VERSIONS {
        reader.tagged_fields()?;
    }
    reader.skip(offset)?;
    reader.i16()
}
