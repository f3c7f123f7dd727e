//! Reading capture files: formats, timestamps, and the one-line errors users see.

use std::fs;

use crate::common::fixtures_dir;
use shark_pipeline::{FileSource, SourceError};

fn read_all(path: &std::path::Path) -> (Vec<shark_pipeline::OwnedPacket>, Option<SourceError>) {
    let mut packets = Vec::new();
    let source = match FileSource::open(path) {
        Ok(source) => source,
        Err(e) => return (packets, Some(e)),
    };
    for item in source {
        match item {
            Ok(p) => packets.push(p),
            Err(e) => return (packets, Some(e)),
        }
    }
    (packets, None)
}

#[test]
fn nanosecond_pcap_keeps_nanoseconds() {
    // tshark: frame 1 at 1418145369.924505488, 76 bytes, Linux cooked (113).
    let (packets, error) = read_all(&fixtures_dir().join("tcpdump/tcp-handshake-nano.pcap"));
    assert!(error.is_none());
    assert_eq!(packets.len(), 3);
    assert_eq!(packets[0].ts_ns, 1_418_145_369_924_505_488);
    assert_eq!(packets[0].data.len(), 76);
    assert_eq!(packets[0].linktype, 113);
}

#[test]
fn pcapng_in_both_byte_orders_reads_the_same_packets() {
    let (le, e1) = read_all(&fixtures_dir().join("pcap-parser/test001-le.pcapng"));
    let (be, e2) = read_all(&fixtures_dir().join("pcap-parser/test001-be.pcapng"));
    assert!(e1.is_none() && e2.is_none());
    // tshark: 4 DHCP packets of 314, 342, 314, 342 bytes.
    let sizes: Vec<usize> = le.iter().map(|p| p.data.len()).collect();
    assert_eq!(sizes, [314, 342, 314, 342]);
    assert_eq!(le, be);
}

#[test]
fn a_file_cut_mid_record_says_where_and_keeps_the_packets_before() {
    let original = fs::read(fixtures_dir().join("deepflow/http.pcap")).expect("fixture");
    // The last record (packet 13, 66 captured bytes per tshark) starts 16 + 66 bytes before the end.
    let last_record = original.len() - 16 - 66;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cut.pcap");
    fs::write(&path, &original[..original.len() - 10]).expect("write");
    let (packets, error) = read_all(&path);
    assert_eq!(packets.len(), 12);
    let message = error.expect("a truncation error").to_string();
    assert_eq!(
        message,
        format!(
            "{} is cut off mid-record at byte {last_record} (after packet 12)",
            path.display()
        )
    );
}

#[test]
fn not_a_capture_and_missing_files_get_one_clear_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("x.txt");
    fs::write(&text, "hello, this is text").expect("write");
    let error = FileSource::open(&text).err().expect("refused").to_string();
    assert_eq!(
        error,
        format!("{} is not a pcap or pcapng file", text.display())
    );
    let missing = dir.path().join("missing.pcap");
    let error = FileSource::open(&missing)
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(error, format!("{} does not exist", missing.display()));
}

#[test]
fn unsupported_link_type_is_named() {
    // truncated-aack.pcap is PPP (link type 9).
    let error = FileSource::open(fixtures_dir().join("tcpdump/truncated-aack.pcap"))
        .err()
        .expect("refused");
    assert!(
        matches!(error, SourceError::UnsupportedLinkType { linktype: 9, .. }),
        "{error}"
    );
}
