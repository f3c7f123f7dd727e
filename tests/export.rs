//! `export` of some exchanges of a connection: their packets and the connection's TCP handshake,
//! as tshark reads them back; and of a whole node that imported older traffic after newer.

use crate::bodies::{keep_alive_capture, page};
use crate::util::{fixture, run_ok, shark, shifted_to_seconds_ago, tshark};

#[test]
fn exporting_one_exchange_of_a_keep_alive_connection_brings_its_handshake() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("keepalive.pcap");
    std::fs::write(
        &capture,
        keep_alive_capture(&[page("a", 900), page("b", 1200), page("c", 700)]),
    )
    .expect("write capture");
    let store = dir.path().join("store");
    run_ok(
        shark()
            .arg("import")
            .arg(&capture)
            .arg("--store")
            .arg(&store),
    );
    let exported = dir.path().join("second.pcap");
    run_ok(
        shark()
            .arg("export")
            .arg("--store")
            .arg(&store)
            .arg(r#"request.path == "/page/1""#)
            .arg("-o")
            .arg(&exported),
    );
    let read = |filter: &str, field: &str| {
        tshark(&[
            "-r",
            exported.to_str().expect("utf-8"),
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            field,
        ])
        .into_iter()
        .map(|row| row.join(","))
        .collect::<Vec<_>>()
    };
    // Exactly the matching exchange, on a connection tshark sees open with SYN and SYN-ACK.
    assert_eq!(read("http.request", "http.request.uri"), ["/page/1"]);
    assert_eq!(read("http.response", "http.response.code"), ["200"]);
    assert_eq!(
        read("tcp.flags.syn == 1", "tcp.flags.ack"),
        ["0", "1"],
        "SYN, then SYN-ACK"
    );
    // The third packet is the handshake's ACK: no payload, before the request.
    let first_three = tshark(&[
        "-r",
        exported.to_str().expect("utf-8"),
        "-c",
        "3",
        "-T",
        "fields",
        "-e",
        "tcp.len",
    ]);
    assert_eq!(first_three, [["0"], ["0"], ["0"]]);
    // Nothing of the other two exchanges: every data packet belongs to /page/1's request or response.
    let whole = tshark(&["-r", capture.to_str().expect("utf-8"), "-Y", "tcp.len > 0"]).len();
    let data = tshark(&["-r", exported.to_str().expect("utf-8"), "-Y", "tcp.len > 0"]).len();
    assert!(data > 0 && data < whole, "{data} of {whole} data packets");
}

#[test]
fn a_node_that_imported_older_traffic_last_exports_in_time_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    // 100 s of Redis, then 2 s of HTTP from the middle of them, into the same node: the older
    // packets of the second import sort between those of the first.
    let captures = [
        shifted_to_seconds_ago(&fixture("deepflow/redis__redis.pcap"), dir.path(), 200.0),
        shifted_to_seconds_ago(&fixture("deepflow/http__sw8.pcap"), dir.path(), 150.0),
    ];
    for capture in &captures {
        run_ok(
            shark()
                .arg("import")
                .arg(capture)
                .arg("--store")
                .arg(&store),
        );
    }
    let exported = dir.path().join("all.pcap");
    run_ok(
        shark()
            .arg("export")
            .arg("--store")
            .arg(&store)
            .arg("-o")
            .arg(&exported),
    );
    let times = |path: &std::path::Path| {
        tshark(&[
            "-r",
            path.to_str().expect("utf-8"),
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
        ])
        .into_iter()
        .map(|row| row.join(""))
        .collect::<Vec<_>>()
    };
    let mut expected: Vec<String> = captures.iter().flat_map(|c| times(c)).collect();
    expected.sort_by(|a, b| {
        a.parse::<f64>()
            .unwrap_or(0.0)
            .total_cmp(&b.parse().unwrap_or(0.0))
    });
    assert_eq!(times(&exported), expected, "every packet, in time order");
}
