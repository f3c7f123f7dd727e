//! Why a capture file could not be read.

use std::path::PathBuf;

/// Why a capture file could not be read. Each message names the file and says what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file does not exist.
    #[error("{} does not exist", .path.display())]
    NotFound {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable {
        /// The file asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start like a pcap or pcapng file.
    #[error("{} is not a pcap or pcapng file", .path.display())]
    NotACapture {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file ends in the middle of a record.
    #[error("{} is cut off mid-record at byte {offset} (after packet {packets})", .path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Byte offset where the incomplete record starts.
        offset: u64,
        /// Packets read before it.
        packets: u64,
    },
    /// A record or block header holds impossible values (a length too large or too small).
    #[error("{} has a malformed record at byte {offset} (after packet {packets}): {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// Packets read before it.
        packets: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The capture's link-layer type is one the decoder does not know.
    #[error("{} uses link type {linktype}, which is not supported (Ethernet, Linux cooked SLL/SLL2, raw IP and BSD loopback are)", .path.display())]
    UnsupportedLinkType {
        /// The file.
        path: PathBuf,
        /// LINKTYPE_* number found.
        linktype: u32,
    },
}
