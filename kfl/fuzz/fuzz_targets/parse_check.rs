//! Fuzzes parse + check (and what follows a successful check): no input may panic, diagnostics
//! always render, a parsed tree prints back to itself, a compiled filter's canonical text
//! compiles again, and planning and evaluation run.

#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

use common::{INDEX, JsonRecord, NOW, entry_schema};

static SCHEMA: LazyLock<kfl::Schema> = LazyLock::new(entry_schema);

static ENTRY: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::json!({
        "timestamp": "2026-03-14T22:30:00Z",
        "elapsedTime": 12.5,
        "node": { "name": "worker-2" },
        "src": { "ip": "10.244.1.17", "port": 51512, "name": "frontend", "namespace": "ns1", "labels": { "app": "frontend" } },
        "dst": { "ip": "10.96.14.2", "port": 8080, "name": "api", "namespace": "ns2" },
        "protocol": { "name": "http", "version": "1.1" },
        "request": {
            "method": "GET", "path": "/v1/cars/9", "query": { "a": "43" },
            "headers": { "Authorization": "Token x" }, "questions": ["example.com"]
        },
        "response": { "status": 404, "body": "{\"brand\":{\"name\":\"Chevrolet\"},\"models\":[1,2]}" }
    })
});

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if let Ok(tree) = kfl::parse::parse(source) {
        let printed = tree.node.to_string();
        match kfl::parse::parse(&printed) {
            Ok(again) => assert!(again == tree, "`{source}` printed as `{printed}` parses differently"),
            Err(error) => panic!("`{source}` printed as `{printed}` does not parse: {error:?}"),
        }
    }
    match kfl::compile_at(source, &SCHEMA, NOW) {
        Ok(filter) => {
            let record = JsonRecord { json: ENTRY.clone(), root: &SCHEMA.root };
            let matched = filter.matches(&record);
            let plan = filter.plan(&INDEX);
            let _ = plan.to_string();
            let split = plan.index.matches(&record) && plan.residual.as_ref().is_none_or(|r| r.matches(&record));
            assert_eq!(matched, split, "plan of `{source}` disagrees:\n{plan}");
            let _ = plan.index.time_range();
            let canonical = filter.to_string();
            if let Err(diagnostics) = kfl::compile_at(&canonical, &SCHEMA, NOW) {
                panic!("`{source}` printed as `{canonical}` does not compile:\n{diagnostics}");
            }
        }
        Err(diagnostics) => {
            assert!(!diagnostics.codes().is_empty());
            let _ = diagnostics.to_string();
        }
    }
});
