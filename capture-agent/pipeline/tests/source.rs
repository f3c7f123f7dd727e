//! Reading capture files: formats, timestamps, and the one-line errors users see.

use std::fs;

use crate::common::{demo_capture, fixtures_dir};
use shark_pipeline::{FileSource, OwnedPacket, ReadAhead, SourceError};

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

/// The packets [`ReadAhead`] hands out, owned, and the error that ended them if one did.
fn read_ahead(path: &std::path::Path) -> (Vec<OwnedPacket>, Option<SourceError>) {
    let source = FileSource::open(path).expect("capture opens");
    let mut ahead = ReadAhead::start(source).expect("reader thread starts");
    let mut packets = Vec::new();
    loop {
        match ahead.next_packet() {
            Ok(Some(packet)) => packets.push(OwnedPacket {
                ts_ns: packet.ts_ns,
                orig_len: packet.orig_len,
                linktype: packet.linktype,
                data: packet.data.to_vec(),
            }),
            Ok(None) => return (packets, None),
            Err(e) => return (packets, Some(e)),
        }
    }
}

/// `original` cut `by` bytes short, written into `dir`.
fn cut(dir: &std::path::Path, original: &[u8], by: usize) -> std::path::PathBuf {
    let path = dir.join(format!("cut-{by}.pcap"));
    fs::write(&path, &original[..original.len() - by]).expect("write");
    path
}

/// A classic pcap file in `dir` holding the records of `fixture` `times` over.
fn repeated(dir: &std::path::Path, fixture: &std::path::Path, times: usize) -> std::path::PathBuf {
    let original = fs::read(fixture).expect("fixture");
    let (header, records) = original.split_at(24);
    let mut bytes = header.to_vec();
    for _ in 0..times {
        bytes.extend_from_slice(records);
    }
    let path = dir.join(format!("{times}x.pcap"));
    fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn reading_ahead_on_a_thread_gives_the_packets_and_errors_of_reading_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Batches end at 256 KiB (the demo's large packets) or at 1024 packets (deepflow's small
    // ones); pcapng too.
    for path in [
        repeated(dir.path(), &demo_capture(), 12),
        repeated(dir.path(), &fixtures_dir().join("deepflow/http.pcap"), 400),
        fixtures_dir().join("pcap-parser/test001-be.pcapng"),
    ] {
        let (direct, error) = read_all(&path);
        assert!(error.is_none());
        let (ahead, error) = read_ahead(&path);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(direct.len(), ahead.len(), "{}", path.display());
        assert!(
            direct == ahead,
            "{} reads differently ahead",
            path.display()
        );
    }
    // Cut mid-record: the same packets, then the same error.
    let original = fs::read(fixtures_dir().join("deepflow/http.pcap")).expect("fixture");
    let path = cut(dir.path(), &original, 10);
    let (direct, direct_error) = read_all(&path);
    let (ahead, ahead_error) = read_ahead(&path);
    assert_eq!(direct, ahead);
    assert_eq!(
        ahead_error.expect("the cut is reported").to_string(),
        direct_error.expect("cut").to_string()
    );
}

#[test]
fn counting_packets_finds_the_error_reading_them_would() {
    assert_eq!(
        FileSource::count_packets(demo_capture()).expect("counts"),
        read_all(&demo_capture()).0.len() as u64
    );
    let pcapng = fixtures_dir().join("pcap-parser/test001-le.pcapng");
    assert_eq!(FileSource::count_packets(&pcapng).expect("counts"), 4);
    let original = fs::read(fixtures_dir().join("deepflow/http.pcap")).expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    // Cut inside the last packet's bytes (which counting skips), inside its header, and by
    // exactly its bytes (its header then promises more than is left).
    for by in [10, 66 + 6, 66] {
        let path = cut(dir.path(), &original, by);
        let counted = FileSource::count_packets(&path).expect_err("refused");
        let read = read_all(&path).1.expect("refused");
        assert_eq!(counted.to_string(), read.to_string(), "cut by {by}");
        assert!(
            matches!(counted, SourceError::Truncated { .. }),
            "{counted}"
        );
    }
    // A whole file, one byte shorter than its last record, and one byte longer.
    let mut longer = original.clone();
    longer.push(0);
    let path = dir.path().join("longer.pcap");
    fs::write(&path, &longer).expect("write");
    assert!(FileSource::count_packets(&path).is_err());
    assert!(read_all(&path).1.is_some());
}
