//! An entry as a block stores it, between its encoding and the [`Entry`](crate::entry::Entry) it
//! gives back: its identities as [`parts`](super::parts) ids, its elapsed time in the form both
//! the row-wise ([`codec`](super::codec)) and the column-wise ([`block_columns`](super::block_columns))
//! block formats write.

use serde::Deserialize;

use super::binary;
use crate::entry::{Message, PacketSpan, Protocol};

/// The node and endpoint identities of an entry, as ids of the `parts` table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartIds {
    pub node: i64,
    pub src: i64,
    pub dst: i64,
}

/// An entry as a block stores it, its identities as [`parts`](super::parts) ids. Format-1 blocks
/// (indexes before schema version 3) keep it as JSON, with these field names.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Stored {
    pub id: u64,
    pub timestamp: i64,
    pub elapsed_time: f64,
    pub node: i64,
    pub src: i64,
    pub src_port: u16,
    pub dst: i64,
    pub dst_port: u16,
    pub protocol: Protocol,
    #[serde(default)]
    pub request: Message,
    #[serde(default)]
    pub response: Message,
    #[serde(default)]
    pub error: Option<String>,
    pub stream: u64,
    pub packets: PacketSpan,
}

/// Appends the elapsed time (milliseconds, as the pipeline computes it from nanoseconds): as a tag
/// 0 and the nanoseconds when they give back exactly the same float, else as a tag 1 and the float.
pub(crate) fn put_elapsed(out: &mut Vec<u8>, ms: f64) {
    let ns = (ms * 1e6).round() as i64;
    if (ns as f64 / 1e6).to_bits() == ms.to_bits() {
        out.push(0);
        binary::put_i64(out, ns);
    } else {
        out.push(1);
        binary::put_f64(out, ms);
    }
}

/// Reads what [`put_elapsed`] wrote.
pub(crate) fn read_elapsed(r: &mut binary::Reader<'_>) -> Result<f64, String> {
    match r.small::<u8>()? {
        0 => Ok(r.i64()? as f64 / 1e6),
        1 => r.f64(),
        other => Err(format!("elapsed tag {other}")),
    }
}

/// Passes over `n` values [`put_elapsed`] wrote.
pub(crate) fn skip_elapsed(r: &mut binary::Reader<'_>, n: usize) -> Result<(), String> {
    for _ in 0..n {
        match r.small::<u8>()? {
            0 => r.skip_varints(1)?,
            1 => r.f64().map(drop)?,
            other => return Err(format!("elapsed tag {other}")),
        }
    }
    Ok(())
}
