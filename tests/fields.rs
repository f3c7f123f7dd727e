//! `kubectl shark fields`: what a filter can name, and the promise that it is complete — every
//! field a real entry carries is listed, and every listed field is accepted by a filter.

use crate::util::{fixture, import, query_json, run_ok, shark};

/// The FIELD column of `fields`.
fn listed_fields() -> Vec<String> {
    let out = run_ok(shark().arg("fields")).stdout;
    out.lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Fails naming the fields of `entries` (as `query -o json` prints them) that `kubectl shark
/// fields` does not list.
pub(crate) fn assert_every_field_listed(entries: &[serde_json::Value]) {
    let listed = listed_fields();
    let mut missing = Vec::new();
    for entry in entries {
        unlisted("", entry, &listed, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields `kubectl shark fields` does not list: {missing:?}"
    );
}

/// The line of the `query` table `table` holding `needle`; fails showing the table when none does.
pub(crate) fn table_row(table: &str, needle: &str) -> String {
    table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}:\n{table}"))
        .to_string()
}

/// Where `value` (an entry as `query -o json` prints it, below `path`) has fields the listing
/// does not name: a listed field covers everything below it.
fn unlisted(path: &str, value: &serde_json::Value, listed: &[String], out: &mut Vec<String>) {
    if listed
        .iter()
        .any(|f| f == path || *f == format!("{path}[\"KEY\"]"))
    {
        return;
    }
    match value {
        serde_json::Value::Object(members) => {
            for (name, member) in members {
                let below = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                unlisted(&below, member, listed, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

#[test]
fn every_field_real_entries_carry_is_listed_and_accepted_by_a_filter() {
    let store = tempfile::tempdir().expect("temp dir");
    // One capture per protocol (and a flow no dissector claims).
    for capture in [
        "deepflow/http__sw8.pcap",
        "deepflow/http__h2c_ascii.pcap",
        "deepflow/http__http2-multi.pcap",
        "deepflow/dns__a-and-ns.pcap",
        "deepflow/redis__redis-error.pcap",
        "deepflow/postgre__pgsql-all.pcap",
        "deepflow/kafka__mixed-with-unsupported.pcap",
        "deepflow/tls__tls.pcap",
        "deepflow/server-reset.pcap",
    ] {
        import(store.path(), &fixture(capture), "node-a");
    }
    let listed = listed_fields();
    let entries = query_json(store.path(), &[]);
    let protocols: std::collections::BTreeSet<String> = entries
        .iter()
        .map(|e| crate::util::text(&e["protocol"]["name"]))
        .collect();
    assert_eq!(
        protocols.len(),
        9,
        "http, grpc, dns, redis, postgres, kafka, tls, tcp, udp: {protocols:?}"
    );
    let mut missing = Vec::new();
    for entry in &entries {
        unlisted("", entry, &listed, &mut missing);
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "entries carry fields `fields` does not list (and filters reject): {missing:?}"
    );
    // Every listed field is one a filter may name (in filters of 50, below the nesting limit).
    for some in listed.chunks(50) {
        let any = some
            .iter()
            .map(|f| format!("{} != nil", f.replace("[\"KEY\"]", "[\"x\"]")))
            .collect::<Vec<_>>()
            .join(" or ");
        run_ok(shark().args(["query", "--explain", &any]));
    }
}

#[test]
fn the_listing_names_the_protocol_words_functions_and_methods() {
    let out = run_ok(shark().arg("fields")).stdout;
    for word in ["http1", "grpc", "postgres", "udp", "mysql"] {
        assert!(out.lines().any(|l| l.starts_with("protocol words") && l.split_whitespace().any(|w| w == word)), "{word}: {out}");
    }
    for call in ["datetime(", "limit(", ".contains(", ".json()"] {
        assert!(out.contains(call), "{call}: {out}");
    }
}
