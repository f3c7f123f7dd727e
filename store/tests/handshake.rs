//! A filtered export holds each matching exchange's packets and its connection's TCP handshake,
//! from the store's own API (not only end to end).

use std::path::Path;

use shark_store::{Query, Store, StoreConfig, entry_schema};

use crate::util::{self, fixture, tshark_fields};

/// `tcp.flags.syn` and `tcp.len` of every frame of `path`.
fn frames(path: &Path) -> Vec<(bool, u64)> {
    tshark_fields(path, "", &["tcp.flags.syn", "tcp.len"])
        .into_iter()
        .map(|f| {
            let syn = matches!(f.first().map(String::as_str), Some("1" | "True"));
            (syn, f.get(1).and_then(|l| l.parse().ok()).unwrap_or(0))
        })
        .collect()
}

fn export_http(root: &Path, out: &Path) -> Vec<(bool, u64)> {
    let q = Query {
        filter: Some(kfl::compile("http", &entry_schema()).unwrap()),
        ..Query::default()
    };
    let mut file = std::fs::File::create(out).unwrap();
    let summary = Store::open(root)
        .unwrap()
        .export(&q, false, &mut file)
        .unwrap();
    assert_eq!(summary.entries, 1);
    frames(out)
}

#[test]
fn an_exchange_exports_with_its_connections_handshake() {
    let capture = fixture("deepflow/http.pcap");
    let all = frames(&capture);
    // tshark: SYN, SYN-ACK, ACK, then the GET (frame 4).
    assert_eq!(
        all.iter().take(4).map(|f| f.0).collect::<Vec<_>>(),
        [true, true, false, false]
    );
    let dir = tempfile::tempdir().unwrap();
    let entries = util::import_with_handshakes(dir.path(), "n", &capture);
    let exchange = (entries[0].packets.last - entries[0].packets.first + 1) as usize;
    let exported = export_http(dir.path(), &dir.path().join("with.pcap"));
    assert_eq!(
        exported.len(),
        3 + exchange,
        "the handshake's three packets and the exchange's"
    );
    assert_eq!(
        exported[..3],
        all[..3],
        "the handshake comes first, as captured"
    );
    assert_eq!(exported.iter().filter(|f| f.0).count(), 2);

    // Without a recorded handshake (an index from before they were kept), only the exchange.
    let bare = tempfile::tempdir().unwrap();
    util::import(bare.path(), "n", &capture, StoreConfig::default());
    let exported = export_http(bare.path(), &bare.path().join("without.pcap"));
    assert_eq!(exported.len(), exchange);
    assert!(exported.iter().all(|f| !f.0));
}
