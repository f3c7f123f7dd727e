//! One re-dissection path: reindex, body read-back and replay give back the entries the node's
//! writer made, with the caps it recorded (non-default `--index-body` and `--max-body` here, so a
//! path that falls back to a default shows).

use std::path::Path;

use crate::common::{demo_capture, index_rows};
use shark_pipeline::identities::{IdentityHistory, SharedIdentities};
use shark_pipeline::{
    Bodies, FileSource, Ingest, PipelineConfig, Redissection, Replay, open_store, reindex_node,
    written_config,
};
use shark_store::{
    ARGS_TRUNCATED, BODY_TRUNCATED, Entry, Node, Query, Store, StoreConfig, WriteSettings,
};

/// `--index-body` of the stores written here.
const INDEX_BODY: usize = 10;
/// `--max-body` of the stores written here.
const MAX_BODY: usize = 100;

/// Imports `capture` as node `n` of a new store, as `kubectl shark import` does.
fn import(capture: &Path, index_body: usize, max_body: usize) -> tempfile::TempDir {
    import_with(capture, index_body, max_body, StoreConfig::default())
}

/// Imports `capture` as node `n` of a new store whose segments rotate as `config` says.
fn import_with(
    capture: &Path,
    index_body: usize,
    max_body: usize,
    config: StoreConfig,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let identities = SharedIdentities::new(IdentityHistory::new());
    let mut ingest = Ingest::open(dir.path(), "n", config, identities, index_body, max_body)
        .expect("store opens");
    for packet in FileSource::open(capture).expect("capture opens") {
        ingest
            .push_packet(packet.expect("packet reads").as_packet())
            .expect("packet stored");
    }
    ingest.finish().expect("import finishes");
    dir
}

fn entries(store: &Store, query: &Query, whole_bodies: bool) -> Vec<Entry> {
    let found = if whole_bodies {
        store.query_with_bodies(query)
    } else {
        store.query(query)
    };
    found
        .expect("query runs")
        .collect::<Result<_, _>>()
        .expect("entries read")
}

/// How many requests and responses of `entries` are longer than `bytes` on the wire.
fn bodies_longer_than(entries: &[Entry], bytes: u64) -> usize {
    entries
        .iter()
        .flat_map(|e| [&e.request, &e.response])
        .filter(|m| {
            m.get("body").is_some()
                && m.get("size")
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(|size| size > bytes)
        })
        .count()
}

#[test]
fn reindex_gives_back_the_index_import_wrote() {
    let store_dir = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let root = store_dir.path();
    let written = index_rows(root);
    let store = Store::open(root).expect("store");
    let indexed = entries(&store, &Query::default(), false);
    assert!(
        bodies_longer_than(&indexed, MAX_BODY as u64) >= 3,
        "the capture has bodies past both caps"
    );
    assert!(
        indexed
            .iter()
            .any(|e| e.response.get(BODY_TRUNCATED).is_some()),
        "the index keeps prefixes"
    );

    let identities = SharedIdentities::new(IdentityHistory::new());
    reindex_node(&store, "n", identities, None).expect("reindex");

    let rebuilt = index_rows(root);
    assert_eq!(
        rebuilt.iter().map(|(t, _)| t).collect::<Vec<_>>(),
        written.iter().map(|(t, _)| t).collect::<Vec<_>>(),
        "the same tables"
    );
    for ((table, after), (_, before)) in rebuilt.iter().zip(&written) {
        assert!(
            after == before,
            "table {table} differs after reindex: {} rows before, {} after",
            before.len(),
            after.len()
        );
    }
    let store = Store::open(root).expect("store");
    assert_eq!(entries(&store, &Query::default(), false), indexed);
}

#[test]
fn bodies_read_back_are_cut_at_the_recorded_max_body() {
    // The index keeps 10 bytes, so every longer body shown is read back from the packets; a store
    // whose index keeps bodies whole up to the same --max-body shows what capture cut.
    let cut = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let inline = import(&demo_capture(), MAX_BODY, MAX_BODY);
    let expected = entries(
        &Store::open(inline.path()).expect("store"),
        &Query::default(),
        false,
    );
    assert!(bodies_longer_than(&expected, MAX_BODY as u64) >= 3);
    let read_back = entries(
        &open_store(cut.path()).expect("store"),
        &Query::default(),
        true,
    );
    assert_eq!(read_back, expected);

    // A store written before the settings were recorded holds only `bodies.json`, still honoured.
    let node = cut.path().join("n");
    std::fs::remove_file(node.join("settings.json")).expect("record there");
    std::fs::write(
        node.join("bodies.json"),
        format!(r#"{{"maxBody":{MAX_BODY}}}"#),
    )
    .expect("old record");
    let read_back = entries(
        &open_store(cut.path()).expect("store"),
        &Query::default(),
        true,
    );
    assert_eq!(read_back, expected);
}

#[test]
fn replay_of_a_window_equals_a_query_of_it_with_bodies() {
    let store_dir = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let root = store_dir.path();
    let all = entries(&Store::open(root).expect("store"), &Query::default(), false);
    // A window cut inside the traffic.
    let query = Query {
        from: all.get(3).map(|e| e.timestamp),
        to: all.last().map(|e| e.timestamp),
        ..Query::default()
    };
    let anonymous = |mut e: Entry| {
        // Numbered by the index, not by the packets.
        e.id = 0;
        e.stream = 0;
        e
    };
    let queried: Vec<Entry> = entries(&open_store(root).expect("store"), &query, true)
        .into_iter()
        .map(anonymous)
        .collect();
    assert!(
        queried.len() >= 10,
        "the window holds traffic: {}",
        queried.len()
    );
    assert!(bodies_longer_than(&queried, MAX_BODY as u64) >= 3);

    let store = Store::open(root).expect("store");
    let identities = SharedIdentities::new(IdentityHistory::new());
    let mut replay =
        Replay::new(&store, &query, identities, |e: &Entry| Ok(e.clone())).expect("replay");
    let mut replayed = Vec::new();
    while let Some((_, entry)) = replay.next_entry().expect("replay reads") {
        replayed.push(anonymous(entry));
    }
    assert_eq!(replayed, queried);
}

#[test]
fn every_recorded_setting_reaches_the_redissection() {
    let store_dir = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let root = store_dir.path();
    let recorded = WriteSettings {
        flow_timeout_ns: 1_500_000_000,
        udp_timeout_ns: 700_000_000,
        max_flows: 9,
        reassembly_bytes: 1000,
        reassembly_segments: 5,
        buffered_total: 4000,
        fragment_datagrams: 3,
        fragment_bytes: 2000,
        fragment_timeout_ns: 1_000_000,
        ..written_config(root, "n", Bodies::Indexed).write_settings()
    };
    assert_eq!(
        (recorded.index_body, recorded.max_body),
        (INDEX_BODY, MAX_BODY)
    );
    recorded.record(root, "n").expect("recorded");
    let redissection = Redissection::new(root, "n", Bodies::Indexed);
    assert_eq!(redissection.config().write_settings(), recorded);
    let whole = Redissection::new(root, "n", Bodies::Whole);
    assert_eq!(
        whole.config().write_settings(),
        WriteSettings {
            index_body: MAX_BODY,
            ..recorded
        }
    );
}

#[test]
fn the_memory_limit_import_ran_with_is_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let identities = SharedIdentities::new(IdentityHistory::new());
    let ingest = Ingest::open(
        dir.path(),
        "n",
        StoreConfig::default(),
        identities,
        INDEX_BODY,
        MAX_BODY,
    )
    .and_then(|ingest| ingest.with_memory_limit(2 << 20))
    .expect("store opens");
    ingest.finish().expect("import finishes");
    let limited = PipelineConfig::for_writing(Node::default()).with_memory_limit(2 << 20);
    let reread = written_config(dir.path(), "n", Bodies::Indexed);
    assert_eq!(
        (reread.max_flows, reread.max_buffered_total),
        (limited.max_flows, limited.max_buffered_total)
    );
}

/// Segments of a few KiB: the demo capture's flows, and many of its exchanges, span several.
fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_size: 8 << 10,
        ..StoreConfig::default()
    }
}

/// How many flows of node `n`'s index have packets in more than one segment.
fn flows_spanning_segments(root: &Path) -> i64 {
    let conn = rusqlite::Connection::open(root.join("n").join("index.sqlite")).expect("index");
    conn.query_row(
        "SELECT count(*) FROM (SELECT stream FROM flows GROUP BY stream HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )
    .expect("flows")
}

#[test]
fn bodies_read_back_in_bulk_equal_one_entry_at_a_time_and_the_inline_index() {
    let cut = import_with(&demo_capture(), INDEX_BODY, MAX_BODY, small_segments());
    let inline = import_with(&demo_capture(), MAX_BODY, MAX_BODY, small_segments());
    assert!(
        flows_spanning_segments(cut.path()) >= 3,
        "flows span segments"
    );
    let expected = entries(
        &Store::open(inline.path()).expect("store"),
        &Query::default(),
        false,
    );
    assert!(bodies_longer_than(&expected, INDEX_BODY as u64) >= 10);
    let store = open_store(cut.path()).expect("store");
    let bulk = entries(&store, &Query::default(), true);
    assert_eq!(
        bulk, expected,
        "bulk read-back gives what the index held whole"
    );
    for entry in &bulk {
        let alone = store
            .entry("n", entry.id, true)
            .expect("lookup runs")
            .expect("entry there");
        assert_eq!(&alone, entry, "entry {} read back alone", entry.id);
    }
}

#[test]
fn a_lost_segment_costs_the_bodies_of_its_exchanges_only() {
    let cut = import_with(&demo_capture(), INDEX_BODY, MAX_BODY, small_segments());
    let inline = import_with(&demo_capture(), MAX_BODY, MAX_BODY, small_segments());
    let expected = entries(
        &Store::open(inline.path()).expect("store"),
        &Query::default(),
        false,
    );
    // Lose the segment holding the first packet of the middle entry whose body the index cut.
    let indexed = entries(
        &Store::open(cut.path()).expect("store"),
        &Query::default(),
        false,
    );
    let cut_entries: Vec<&Entry> = indexed
        .iter()
        .filter(|e| e.response.get(BODY_TRUNCATED).is_some())
        .collect();
    let victim = cut_entries[cut_entries.len() / 2];
    let conn =
        rusqlite::Connection::open(cut.path().join("n").join("index.sqlite")).expect("index");
    let (file, first, last): (String, i64, i64) = conn
        .query_row(
            "SELECT file, first_packet, first_packet + packets - 1 FROM segments
             WHERE first_packet <= ?1 ORDER BY first_packet DESC LIMIT 1",
            [victim.packets.first as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("segment row");
    std::fs::remove_file(cut.path().join("n").join("segments").join(&file)).expect("segment gone");
    let read_back = entries(
        &open_store(cut.path()).expect("store"),
        &Query::default(),
        true,
    );
    assert_eq!(read_back.len(), expected.len());
    let (first, last) = (first as u64, last as u64);
    let mut lost = 0;
    for (got, want) in read_back.iter().zip(&expected) {
        let touches = got.packets.first <= last && first <= got.packets.last;
        if got == want {
            continue;
        }
        lost += 1;
        assert!(
            touches || got.protocol.version == "2",
            "entry {} lost its body, but none of its packets was in the lost segment",
            got.id
        );
        let marked = |m: &shark_store::Message, mark| m.get(mark) == Some(&true.into());
        assert!(
            marked(&got.response, BODY_TRUNCATED) || marked(&got.request, ARGS_TRUNCATED),
            "entry {} keeps its prefix, marked",
            got.id
        );
    }
    assert!(lost >= 1, "the victim lost its body");
    assert!(
        read_back
            .iter()
            .zip(&expected)
            .filter(|(g, w)| g == w)
            .count()
            > lost,
        "the others were read back"
    );
}

/// Imports `capture` as node `n` of a new store as the node agent does, keeping `secret` (its
/// token) out of the index.
fn import_redacting(capture: &Path, secret: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let identities = SharedIdentities::new(IdentityHistory::new());
    let mut ingest = Ingest::open(
        dir.path(),
        "n",
        StoreConfig::default(),
        identities,
        INDEX_BODY,
        MAX_BODY,
    )
    .expect("store opens")
    .with_redacted(secret);
    for packet in FileSource::open(capture).expect("capture opens") {
        ingest
            .push_packet(packet.expect("packet reads").as_packet())
            .expect("packet stored");
    }
    ingest.finish().expect("import finishes");
    dir
}

fn shown(entries: &[Entry]) -> String {
    serde_json::to_string(entries).expect("json")
}

#[test]
fn a_redacted_secret_stays_out_of_bodies_read_back_and_of_a_reindex() {
    use shark_pipeline::open_store_redacting;
    let plain = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let whole = entries(
        &open_store(plain.path()).expect("store"),
        &Query::default(),
        true,
    );
    // A "secret" past the index's prefix of a body: only reading it back from the packets shows it.
    let body_secret = whole
        .iter()
        .filter_map(|e| e.request.get("body").and_then(serde_json::Value::as_str))
        .find_map(|body| body.get(INDEX_BODY + 2..INDEX_BODY + 14))
        .expect("a body longer than the index keeps")
        .to_string();
    let store = import_redacting(&demo_capture(), &body_secret);
    let read_back = |store: Store| shown(&entries(&store, &Query::default(), true));
    let unredacted = read_back(open_store(store.path()).expect("store"));
    assert!(unredacted.contains(&body_secret), "the packets hold it");
    let redacted =
        read_back(open_store_redacting(store.path(), Some(&body_secret)).expect("store"));
    assert!(!redacted.contains(&body_secret), "read back without it");
    assert!(redacted.contains("[redacted]"), "{redacted}");

    // A header value the index holds: a reindex keeps it out only when told the secret.
    let header_secret = whole
        .iter()
        .find_map(|e| e.request.get("headers")?.get("User-Agent")?.as_str())
        .expect("a User-Agent")
        .to_string();
    let store = import_redacting(&demo_capture(), &header_secret);
    let indexed = |dir: &Path| {
        shown(&entries(
            &Store::open(dir).expect("store"),
            &Query::default(),
            false,
        ))
    };
    assert!(
        !indexed(store.path()).contains(&header_secret),
        "the writer redacted it"
    );
    let identities = || SharedIdentities::new(IdentityHistory::new());
    let opened = Store::open(store.path()).expect("store");
    reindex_node(&opened, "n", identities(), Some(&header_secret)).expect("reindex");
    let rebuilt = indexed(store.path());
    assert!(!rebuilt.contains(&header_secret), "the reindex redacted it");
    assert!(rebuilt.contains("[redacted]"));
    reindex_node(&opened, "n", identities(), None).expect("reindex");
    assert!(
        indexed(store.path()).contains(&header_secret),
        "without the secret a reindex cannot know it"
    );
}

#[test]
fn a_filter_reading_redis_arguments_past_the_prefix_sees_them_whole() {
    let store_dir = import(&demo_capture(), INDEX_BODY, MAX_BODY);
    let indexed = entries(
        &Store::open(store_dir.path()).expect("store"),
        &Query::default(),
        false,
    );
    let cut: Vec<&Entry> = indexed
        .iter()
        .filter(|e| e.request.get(ARGS_TRUNCATED).is_some())
        .collect();
    assert!(
        cut.iter()
            .any(|e| e.request.get("command") == Some(&"GET".into())),
        "the index keeps a prefix of Redis arguments"
    );
    let filtered = |src: &str| {
        let query = Query {
            filter: Some(kfl::compile(src, &shark_store::entry_schema()).expect("filter")),
            ..Query::default()
        };
        entries(&open_store(store_dir.path()).expect("store"), &query, false)
    };
    let found = filtered(r#"request.args[0] == "user_conf_config_1""#);
    assert!(!found.is_empty(), "the whole first argument matches");
    assert!(
        found
            .iter()
            .all(|e| e.request.get("key") == Some(&"user_conf_config_1".into())),
        "only its entries"
    );
    assert!(filtered(r#"request.args[0] == "user_conf_""#).is_empty());
}
