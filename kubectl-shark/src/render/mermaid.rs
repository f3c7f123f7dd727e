//! The map as a Mermaid flowchart, to paste into Markdown: edges labelled with protocol and
//! requests, edges with errors drawn red and thick.

use std::collections::BTreeMap;
use std::fmt::Write;

use shark_store::{Peer, ServiceMap};

/// The map as a ```` ```mermaid ```` block's content.
pub fn map_mermaid(map: &ServiceMap) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut ids: BTreeMap<Peer, String> = BTreeMap::new();
    for (n, p) in map.peers().into_iter().enumerate() {
        let id = format!("n{n}");
        let (open, close) = if p.peer.kind == "External" {
            ("([", "])")
        } else {
            ("[", "]")
        };
        let _ = writeln!(out, "  {id}{open}\"{}\"{close}", text(&p.peer.to_string()));
        ids.insert(p.peer, id);
    }
    // `linkStyle` counts links in the order they are written.
    let (mut red, mut written) = (Vec::new(), 0usize);
    for e in &map.edges {
        let (Some(src), Some(dst)) = (ids.get(&e.src), ids.get(&e.dst)) else {
            continue;
        };
        let errors = if e.errors > 0 {
            format!(", {} errors", e.errors)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {src} -->|\"{} ×{}{errors}\"| {dst}",
            text(&e.protocol),
            e.requests
        );
        if e.errors > 0 {
            red.push(written.to_string());
        }
        written += 1;
    }
    if !red.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:3px,color:#d00",
            red.join(",")
        );
    }
    out
}

/// Text inside a quoted Mermaid label: quotes and markup characters as entity codes.
fn text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "#quot;".to_string(),
            '<' => "#lt;".to_string(),
            '>' => "#gt;".to_string(),
            '|' => "#124;".to_string(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}
