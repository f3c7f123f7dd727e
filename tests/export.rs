//! `export` of some exchanges of a connection: their packets and the connection's TCP handshake,
//! as tshark reads them back.

use crate::bodies::{keep_alive_capture, page};
use crate::util::{run_ok, shark, tshark};

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
