//! The map in Graphviz DOT (`dot -Tpng`): boxes for cluster peers, dashed ellipses for external
//! ones; edge labels say protocol, requests and p95; edges with errors are red and bold.

use std::fmt::Write;

use shark_store::ServiceMap;

use super::map_table::latency;

/// The map as a DOT digraph.
pub fn map_dot(map: &ServiceMap) -> String {
    let mut out = String::from(
        "digraph shark {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for p in map.peers() {
        let shape = if p.peer.kind == "External" {
            ", shape=ellipse, style=dashed"
        } else {
            ""
        };
        let mut label = if p.peer.namespace.is_empty() {
            p.peer.name.clone()
        } else {
            format!("{}\n{}", p.peer.name, p.peer.namespace)
        };
        if !p.peer.cluster.is_empty() && p.peer.kind != "Cluster" {
            label = format!("{label}\n({})", p.peer.cluster);
        }
        let _ = writeln!(
            out,
            "  {} [label={}{shape}];",
            quote(&p.peer.to_string()),
            quote(&label)
        );
    }
    for e in &map.edges {
        let mut label = format!("{} ×{}", e.protocol, e.requests);
        if e.errors > 0 {
            let _ = write!(label, " ({} errors)", e.errors);
        }
        if let Some(p95) = e.latency_ms(0.95) {
            let _ = write!(label, "\np95 {}", latency(Some(p95)));
        }
        let style = if e.errors > 0 {
            ", color=red, fontcolor=red, penwidth=2.5, style=bold"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            quote(&e.src.to_string()),
            quote(&e.dst.to_string()),
            quote(&label)
        );
    }
    out.push_str("}\n");
    out
}

/// A DOT string literal: quotes and backslashes escaped, line breaks as `\n`.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if c.is_control() => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_quotes_cannot_break_out_of_their_literal() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
