//! The `cluster` field of a filter, answered here rather than by the agents: a store holds one
//! cluster and does not know its name, so each cluster's agents get the filter with `cluster`
//! replaced by that cluster's name, and a cluster the filter's top-level `cluster` conditions
//! exclude is not asked at all (pushed down, as an index answers its columns).

use kfl::ast::{Expr, Literal, Node};
use kfl::{IndexType, IndexedField, PathSegment, Record, Value};

/// The field a filter names the cluster with.
const FIELD: &str = "cluster";

/// `cluster`, declared to the planner as a column the CLI "indexes": the plan's index part is
/// what a cluster's name alone decides.
#[derive(Debug, Clone, Copy)]
struct ClusterColumn;

impl IndexedField for ClusterColumn {
    fn path(&self) -> &str {
        FIELD
    }

    fn ty(&self) -> IndexType {
        IndexType::Text
    }
}

/// A record with only its cluster, to test the plan's cluster conditions on.
struct Named<'a>(&'a str);

impl Record for Named<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        match path {
            [PathSegment::Field(name)] if &**name == FIELD => Value::Str(self.0.into()),
            _ => Value::Nil,
        }
    }
}

/// Whether `filter` can match an entry of cluster `name`: false when its top-level conditions on
/// `cluster` alone exclude it (then the cluster need not be asked).
pub fn may_match(filter: Option<&kfl::Filter>, name: &str) -> bool {
    filter.is_none_or(|filter| filter.plan(&[ClusterColumn]).index.matches(&Named(name)))
}

/// `source` for the agents of cluster `name`: every `cluster` replaced by the name as a string
/// literal, printed back as canonical KFL (unchanged when the filter does not name `cluster`).
pub fn for_cluster(source: &str, name: &str) -> String {
    if !source.contains(FIELD) {
        return source.to_string();
    }
    let Ok(mut tree) = kfl::parse::parse(source) else {
        // Checked before anything is asked; the agents will say what is wrong.
        return source.to_string();
    };
    let mut replaced = false;
    // Walked with a stack, not recursion: a long `and` chain is as deep as it is long.
    let mut pending: Vec<&mut Node<Expr>> = vec![&mut tree];
    while let Some(node) = pending.pop() {
        if matches!(&node.node, Expr::Ident(ident) if ident == FIELD) {
            node.node = Expr::Literal(Literal::Str(name.to_string()));
            replaced = true;
            continue;
        }
        match &mut node.node {
            Expr::Literal(_) | Expr::Ident(_) | Expr::Recursive(_) => {}
            Expr::Wildcard { base } => pending.push(base),
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                pending.push(condition);
                pending.push(then);
                pending.push(otherwise);
            }
            Expr::List(items) | Expr::Call { args: items, .. } => pending.extend(items.iter_mut()),
            Expr::Field { base, .. } | Expr::Index { base, .. } => pending.push(base),
            Expr::Method { receiver, args, .. } => {
                pending.push(receiver);
                pending.extend(args.iter_mut());
            }
            Expr::Unary { operand, .. } => pending.push(operand),
            Expr::Binary { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                pending.push(lhs);
                pending.push(rhs);
            }
        }
    }
    if replaced {
        tree.node.to_string()
    } else {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(source: &str) -> kfl::Filter {
        kfl::compile(source, &shark_store::entry_schema()).expect("compiles")
    }

    #[test]
    fn a_top_level_cluster_condition_decides_which_clusters_are_asked() {
        let filter = compiled(r#"http and cluster == "prod-eu""#);
        assert!(may_match(Some(&filter), "prod-eu"));
        assert!(!may_match(Some(&filter), "staging"));
        let filter = compiled(r#"cluster in ["a", "b"] and response.status >= 500"#);
        assert!(may_match(Some(&filter), "b"));
        assert!(!may_match(Some(&filter), "c"));
        let filter = compiled(r#"cluster != "a""#);
        assert!(!may_match(Some(&filter), "a"));
        assert!(may_match(Some(&filter), "b"));
        // A condition mixing cluster with other fields cannot exclude a cluster by itself.
        let filter = compiled(r#"cluster == "a" or http"#);
        assert!(may_match(Some(&filter), "b"));
        assert!(may_match(None, "b"));
    }

    #[test]
    fn each_cluster_gets_the_filter_with_its_name_in_place_of_cluster() {
        let rewritten = for_cluster(r#"cluster == "a" or src.cluster == "x""#, "b");
        assert_eq!(rewritten, r#""b" == "a" or src.cluster == "x""#);
        let schema = shark_store::entry_schema();
        let mixed = for_cluster(
            r#"(cluster == "a" or http) and cluster.startsWith("a")"#,
            "a",
        );
        let filter = kfl::compile(&mixed, &schema).expect("the rewritten filter compiles");
        let http = shark_store::Entry {
            protocol: shark_store::Protocol {
                name: "http".into(),
                version: "1.1".into(),
            },
            ..shark_store::Entry::default()
        };
        assert!(filter.matches(&http));
        let other =
            kfl::compile(&for_cluster(r#"cluster == "a""#, "b"), &schema).expect("compiles");
        assert!(!other.matches(&http));
        assert_eq!(for_cluster("http", "b"), "http");
    }
}
