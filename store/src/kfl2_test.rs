//! Tests of the KFL2 and legacy names (`kfl2.rs`) against the entry schema and the index: a file of
//! its own, so that `kfl2.rs` and `schema.rs` do not import each other.

use crate::{INDEXED_COLUMNS, entry_schema};

fn plan(source: &str) -> String {
    kfl::compile(source, &entry_schema())
        .unwrap_or_else(|d| panic!("{source}\n{d}"))
        .plan(&INDEXED_COLUMNS)
        .to_string()
        .lines()
        .filter(|line| !line.starts_with("read as:"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_alias_plans_as_what_it_stands_for() {
    for alias in entry_schema().aliases {
        assert_eq!(
            plan(&format!("{} != nil", alias.name)),
            plan(&format!("({}) != nil", alias.target)),
            "{}",
            alias.name
        );
    }
}

#[test]
fn kfl2_names_push_down_to_the_same_columns() {
    let both = [
        (
            r#"status_code >= 500 && node_name == "n1" && method in ["GET", "PUT"]"#,
            r#"response.status >= 500 and node.name == "n1" and request.method in ["GET", "PUT"]"#,
        ),
        (
            r#"src.pod.name == "a" || dst.service.namespace == "shop""#,
            r#"src.pod == "a" or dst.namespace == "shop""#,
        ),
    ];
    for (kfl2, legacy) in both {
        let plan_kfl2 = plan(kfl2);
        assert_eq!(plan_kfl2, plan(legacy));
        assert!(plan_kfl2.contains("residual: none"), "{plan_kfl2}");
    }
    let read = kfl::compile("status_code == 404", &entry_schema())
        .unwrap_or_else(|d| panic!("{d}"))
        .plan(&INDEXED_COLUMNS)
        .to_string();
    assert!(
        read.starts_with("read as:  response.status == 404\n"),
        "{read}"
    );
}

#[test]
fn undissected_protocols_are_named_not_unknown() {
    for source in ["diameter_method.contains(\"x\")", "ldap", "sctp_length > 1"] {
        let error = kfl::compile(source, &entry_schema()).err();
        let error = error.unwrap_or_else(|| panic!("{source} compiled"));
        assert_eq!(error.codes(), ["E112"], "{source}: {error}");
    }
    let mongo = kfl::compile("mongodb && mongodb_command == \"find\"", &entry_schema());
    assert!(mongo.is_ok(), "MongoDB is dissected");
    let typo = kfl::compile("status_cod == 1", &entry_schema()).err();
    assert_eq!(typo.map(|e| e.codes()), Some(vec!["E101"]));
}

#[test]
fn tls_warns_and_names_tlsx() {
    let schema = entry_schema();
    let tls = kfl::compile("tls", &schema).unwrap_or_else(|d| panic!("{d}"));
    assert!(tls.warnings().is_some_and(|w| w.contains("`tlsx`")));
    let tlsx = kfl::compile("tlsx", &schema).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(tlsx.warnings(), None);
    assert_eq!(plan("tls"), plan("tlsx"));
}

#[test]
fn connection_record_names_read_the_tcp_and_udp_entries() {
    use crate::entry::{Entry, Protocol};
    let mut record = Entry {
        protocol: Protocol {
            name: "tcp".into(),
            version: String::new(),
        },
        elapsed_time: 500.0,
        stream: 7,
        ..Entry::default()
    };
    record.request.insert("size".into(), 1000.into());
    record.request.insert("packets".into(), 10.into());
    record.response.insert("size".into(), 30000.into());
    record.response.insert("packets".into(), 25.into());
    record.response.insert("state".into(), "rst".into());
    record.response.insert("rtt".into(), 0.25.into());
    record.response.insert("l7".into(), vec!["http"].into());
    let mut http = record.clone();
    http.protocol.name = "http".into();
    let schema = entry_schema();
    for (filter, on_record, on_http) in [
        ("conn && flow && tcp_conn && !udp_conn", true, false),
        (
            "conn_state == \"closed\" && flow_state != \"open\"",
            true,
            false,
        ),
        (
            "conn_local_bytes == 1000 && conn_remote_bytes == 30000",
            true,
            false,
        ),
        (
            "conn_local_pkts == 10 && flow_remote_pkts == 25",
            true,
            false,
        ),
        (
            "\"http\" in conn_l7_detected && flow_l7_detected.contains(\"http\")",
            true,
            false,
        ),
        (
            "flow_local_bps == 16000 && flow_remote_pps == 50",
            true,
            false,
        ),
        ("conn_id == 7 && flow_id == 7", true, true),
        (
            "conn and response.state == \"rst\" and response.rtt < 1",
            true,
            false,
        ),
        ("conn.state == \"rst\" and conn.rtt == 0.25", true, false),
    ] {
        let compiled = kfl::compile(filter, &schema).unwrap_or_else(|d| panic!("{filter}: {d}"));
        assert_eq!(
            compiled.matches(&record),
            on_record,
            "{filter} on the record"
        );
        assert_eq!(
            compiled.matches(&http),
            on_http,
            "{filter} on an http entry"
        );
    }
    assert!(plan("conn").contains("residual: none"), "{}", plan("conn"));
}
