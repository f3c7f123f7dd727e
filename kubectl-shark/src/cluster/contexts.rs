//! Which clusters `--context a,b` or `--all-contexts` name, and what each is called: the
//! context's cluster name from the kubeconfig, unless renamed with `--context NAME=CONTEXT`.

use std::path::Path;

use kube::config::Kubeconfig;

use super::fleet::{Reach, Target};

/// The clusters to ask: one unnamed target for the current context when no `--context` is given;
/// else one per context, named.
pub fn context_targets(
    kubeconfig: Option<&Path>,
    contexts: &[String],
    all: bool,
) -> anyhow::Result<Vec<Target>> {
    if contexts.is_empty() && !all {
        return Ok(vec![Target {
            name: String::new(),
            reach: Reach::Context(None),
        }]);
    }
    let file = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?,
        None => {
            Kubeconfig::read().map_err(|e| anyhow::anyhow!("cannot read the kubeconfig: {e}"))?
        }
    };
    let wanted: Vec<(Option<String>, String)> = if all {
        file.contexts
            .iter()
            .map(|c| (None, c.name.clone()))
            .collect()
    } else {
        contexts
            .iter()
            .map(|value| match value.split_once('=') {
                Some((name, context)) => {
                    (Some(name.trim().to_string()), context.trim().to_string())
                }
                None => (None, value.trim().to_string()),
            })
            .collect()
    };
    anyhow::ensure!(!wanted.is_empty(), "the kubeconfig has no contexts");
    let mut targets: Vec<Target> = Vec::new();
    for (rename, context) in wanted {
        let known = file.contexts.iter().find(|c| c.name == context);
        anyhow::ensure!(known.is_some(), "no context `{context}` in the kubeconfig");
        let name = rename.unwrap_or_else(|| {
            known
                .and_then(|c| c.context.as_ref())
                .map(|c| c.cluster.clone())
                .filter(|cluster| !cluster.is_empty())
                .unwrap_or_else(|| context.clone())
        });
        anyhow::ensure!(
            targets.iter().all(|t| t.name != name),
            "two contexts are cluster `{name}`: name each with --context NAME=CONTEXT"
        );
        targets.push(Target {
            name,
            reach: Reach::Context(Some(context)),
        });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r"
apiVersion: v1
kind: Config
clusters:
- name: prod-eu
  cluster: {server: 'https://10.0.0.1:6443'}
- name: staging
  cluster: {server: 'https://10.1.0.1:6443'}
users:
- name: me
  user: {token: x}
contexts:
- name: admin@prod-eu
  context: {cluster: prod-eu, user: me}
- name: admin@staging
  context: {cluster: staging, user: me}
- name: again@prod-eu
  context: {cluster: prod-eu, user: me}
current-context: admin@prod-eu
";

    fn names(contexts: &[&str], all: bool) -> anyhow::Result<Vec<(String, Reach)>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG)?;
        let contexts: Vec<String> = contexts.iter().map(|c| c.to_string()).collect();
        Ok(context_targets(Some(&path), &contexts, all)?
            .into_iter()
            .map(|t| (t.name, t.reach))
            .collect())
    }

    #[test]
    fn each_context_is_named_after_its_cluster_unless_renamed() {
        let found = names(&["admin@prod-eu", "staging=admin@staging"], false).expect("resolves");
        assert_eq!(
            found,
            [
                (
                    "prod-eu".into(),
                    Reach::Context(Some("admin@prod-eu".into()))
                ),
                (
                    "staging".into(),
                    Reach::Context(Some("admin@staging".into()))
                ),
            ]
        );
        let renamed = names(&["eu=admin@prod-eu", "eu2=again@prod-eu"], false).expect("resolves");
        assert_eq!(renamed[1].0, "eu2");
        let none = names(&[], false).expect("resolves");
        assert_eq!(none, [(String::new(), Reach::Context(None))]);
    }

    #[test]
    fn two_contexts_of_one_cluster_must_be_told_apart_and_unknown_ones_are_refused() {
        let err = names(&[], true).expect_err("two contexts of prod-eu");
        assert!(err.to_string().contains("--context NAME=CONTEXT"), "{err}");
        let err = names(&["nope"], false).expect_err("unknown");
        assert!(err.to_string().contains("no context `nope`"), "{err}");
    }
}
