//! Pages for a dashboard: newest (or oldest) first across nodes with a keyset cursor, one entry
//! by node and id, and a histogram of a window.

use shark_store::{Entry, NodeWriter, Order, PageKey, Query, Store, StoreConfig, entry_schema};

const SECOND: i64 = 1_000_000_000;
const T0: i64 = 1_790_000_000 * SECOND;

/// An HTTP exchange on `node` at `ts` answered `status`; its path names its node and number.
fn exchange(node: &str, ts: i64, i: usize, status: i64) -> Entry {
    let mut e = Entry {
        timestamp: ts,
        stream: 1,
        ..Entry::default()
    };
    e.node.name = node.into();
    e.src.name = "checkout".into();
    e.dst.name = "web".into();
    e.dst.port = 80;
    e.protocol.name = "http".into();
    e.protocol.version = "1.1".into();
    e.request.insert("method".into(), "GET".into());
    e.request
        .insert("path".into(), format!("/{node}/{i}").into());
    e.response.insert("status".into(), status.into());
    e
}

/// Two nodes of 300 entries each; every third timestamp is shared by both nodes and by two
/// entries of node `a`, so pages must break ties by node and id.
fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    for node in ["b", "a"] {
        let mut writer = NodeWriter::open(dir.path(), node, StoreConfig::default()).unwrap();
        for i in 0..300 {
            let ts = T0 + (i as i64 / 3) * SECOND + if i % 3 == 0 { 0 } else { i as i64 };
            let status = if i % 7 == 0 { 503 } else { 200 };
            writer.write_entry(exchange(node, ts, i, status)).unwrap();
            if node == "a" && i % 3 == 0 {
                writer
                    .write_entry(exchange(node, ts, 1000 + i, 200))
                    .unwrap();
            }
        }
        writer.finish().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn query(kfl: &str) -> Query {
    let filter = (!kfl.is_empty()).then(|| kfl::compile(kfl, &entry_schema()).unwrap());
    Query {
        filter,
        ..Query::default()
    }
}

fn key(e: &Entry) -> (i64, String, u64) {
    (e.timestamp, e.node.name.clone(), e.id)
}

/// Every page of `q` in `order`, `size` at a time, through the cursors.
fn all_pages(store: &Store, q: &Query, order: Order, size: usize) -> Vec<(i64, String, u64)> {
    let mut keys = Vec::new();
    let mut after: Option<PageKey> = None;
    loop {
        let page = store.page(q, order, after.as_ref(), size).unwrap();
        assert!(page.entries.len() <= size);
        keys.extend(page.entries.iter().map(key));
        // The cursor goes through its text form, as a browser hands it back.
        match page.next {
            Some(next) => after = Some(next.to_string().parse().unwrap()),
            None => return keys,
        }
    }
}

#[test]
fn newest_first_pages_give_every_entry_once_in_reverse_timestamp_node_id_order() {
    let (_dir, store) = store();
    for kfl in ["", "response.status >= 500", "request.path.endsWith(\"0\")"] {
        let q = query(kfl);
        let oldest_first: Vec<_> = store.query(&q).unwrap().map(|e| key(&e.unwrap())).collect();
        let mut expected = oldest_first.clone();
        expected.sort();
        assert_eq!(
            oldest_first, expected,
            "{kfl}: query merges by (timestamp, node, id)"
        );
        expected.reverse();
        assert!(!expected.is_empty());
        for size in [1, 7, 200, 1000] {
            assert_eq!(
                all_pages(&store, &q, Order::NewestFirst, size),
                expected,
                "{kfl}, pages of {size}"
            );
        }
        assert_eq!(
            all_pages(&store, &q, Order::OldestFirst, 7),
            oldest_first,
            "{kfl}, oldest first"
        );
    }
}

#[test]
fn a_page_within_a_window_stays_in_it() {
    let (_dir, store) = store();
    let q = Query {
        from: Some(T0 + 10 * SECOND),
        to: Some(T0 + 20 * SECOND),
        ..query("")
    };
    let keys = all_pages(&store, &q, Order::NewestFirst, 13);
    assert!(
        keys.iter()
            .all(|(ts, _, _)| (T0 + 10 * SECOND..T0 + 20 * SECOND).contains(ts))
    );
    assert_eq!(keys.len(), store.query(&q).unwrap().count());
    assert_eq!(keys.first().map(|k| k.0 / SECOND), Some(T0 / SECOND + 19));
}

#[test]
fn a_filter_limit_caps_the_first_page_and_ends_the_listing() {
    let (_dir, store) = store();
    let page = store
        .page(&query("http and limit(5)"), Order::NewestFirst, None, 3)
        .unwrap();
    assert_eq!(page.entries.len(), 3);
    let next = page.next.expect("more than 3 of the 5");
    let more = store
        .page(
            &query("http and limit(5)"),
            Order::NewestFirst,
            Some(&next),
            3,
        )
        .unwrap();
    assert!(more.entries.is_empty() && more.next.is_none());
}

#[test]
fn a_cursor_that_is_not_one_is_refused() {
    for bad in ["", "12", "12.x.a", "12.3.", "x.3.a"] {
        assert!(bad.parse::<PageKey>().is_err(), "{bad:?}");
    }
    let key: PageKey = "-5.7.node.with.dots".parse().unwrap();
    assert_eq!(
        key,
        PageKey {
            timestamp: -5,
            node: "node.with.dots".into(),
            id: 7
        }
    );
}

#[test]
fn one_entry_by_node_and_id_is_the_one_query_returns() {
    let (_dir, store) = store();
    let all: Vec<Entry> = store
        .query(&Query::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for e in all.iter().step_by(37) {
        assert_eq!(
            store.entry(&e.node.name, e.id, false).unwrap().as_ref(),
            Some(e)
        );
    }
    let max_id = all.iter().map(|e| e.id).max().unwrap();
    assert_eq!(
        store.entry("a", max_id + 1, false).unwrap(),
        None,
        "past the last id"
    );
    assert_eq!(store.entry("a", 0, false).unwrap(), None, "ids start at 1");
    assert_eq!(store.entry("zz", 1, false).unwrap(), None, "no such node");
    assert_eq!(store.entry("a", u64::MAX, false).unwrap(), None);
}

#[test]
fn a_histogram_counts_entries_and_failures_per_slice() {
    let (_dir, store) = store();
    let q = Query {
        from: Some(T0),
        to: Some(T0 + 100 * SECOND),
        ..query("")
    };
    let h = store.histogram(&q, 10).unwrap().unwrap();
    assert_eq!(
        (h.from, h.to, h.width),
        (T0, T0 + 100 * SECOND, 10 * SECOND)
    );
    // Each 10 s holds 30 exchanges of each node plus 10 more of node `a`.
    assert_eq!(h.entries, vec![70; 10]);
    let errors: u64 = h.errors.iter().sum();
    assert_eq!(
        errors,
        store
            .query(&query("response.status >= 500"))
            .unwrap()
            .count() as u64
    );
    let filtered = store
        .histogram(
            &Query {
                from: q.from,
                to: q.to,
                ..query("node.name == \"b\"")
            },
            10,
        )
        .unwrap()
        .unwrap();
    assert_eq!(filtered.entries, vec![30; 10]);
    // An open window spans what is stored.
    let open = store.histogram(&query(""), 4).unwrap().unwrap();
    assert_eq!(open.entries.iter().sum::<u64>(), 700);
    assert_eq!(open.from, T0);
}
