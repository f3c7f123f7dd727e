//! Reaching agents directly (`--agents [CLUSTER=]URL,…`): the token each cluster's agents demand
//! (`--token [CLUSTER=]TOKEN`, a token given as `@FILE` read from that file), and each agent
//! named after the node it reports rather than its URL.

use super::agents::Agents;

/// The tokens of `--token`: one for every cluster, and per-cluster ones that take precedence.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    /// The token of every cluster not named.
    all: Option<String>,
    /// `(cluster, token)`.
    per_cluster: Vec<(String, String)>,
}

impl Tokens {
    /// Reads `--token` values: `CLUSTER=TOKEN` when CLUSTER is one of `clusters` (a token may
    /// itself hold `=`), else a token for every cluster; `@FILE` is the token in FILE (trimmed).
    pub fn parse(values: &[String], clusters: &[&str]) -> anyhow::Result<Tokens> {
        let mut tokens = Tokens::default();
        for value in values {
            let named = value
                .split_once('=')
                .filter(|(name, _)| clusters.contains(&name.trim()));
            let token = read(named.map_or(value.as_str(), |(_, token)| token))?;
            match named {
                Some((name, _)) => {
                    let name = name.trim().to_string();
                    anyhow::ensure!(
                        tokens.per_cluster.iter().all(|(n, _)| *n != name),
                        "--token: two tokens for cluster `{name}`"
                    );
                    tokens.per_cluster.push((name, token));
                }
                None => {
                    anyhow::ensure!(
                        tokens.all.is_none(),
                        "--token: two tokens for every cluster: write CLUSTER=TOKEN for each"
                    );
                    tokens.all = Some(token);
                }
            }
        }
        Ok(tokens)
    }

    /// The token of cluster `name`, or what to give.
    pub fn of(&self, name: &str) -> anyhow::Result<String> {
        self.per_cluster
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, token)| token.clone())
            .or_else(|| self.all.clone())
            .ok_or_else(|| {
                let which = if name.is_empty() {
                    String::new()
                } else {
                    format!(" of cluster `{name}`")
                };
                anyhow::anyhow!(
                    "--agents needs the agents' token{which}: --token [CLUSTER=]TOKEN (or @FILE), or SHARK_TOKEN"
                )
            })
    }
}

/// A `--token` value: the token, or the one in FILE for `@FILE`.
fn read(value: &str) -> anyhow::Result<String> {
    let token = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--token: cannot read the token file {path}: {e}"))?,
        None => value.to_string(),
    };
    let token = token.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "--token: the token `{value}` is empty");
    Ok(token)
}

impl Agents {
    /// Names each agent after the node its status reports (its URL until then), all at once; an
    /// agent that does not answer, or reports a name another agent has, keeps its URL.
    pub async fn name_by_status(&mut self) {
        let this: &Agents = self;
        let names = futures::future::join_all(this.list.iter().map(|agent| async move {
            let mut text = String::new();
            let mut body = this.get(agent, "/v1/status").await.ok()?;
            futures::AsyncReadExt::read_to_string(&mut body, &mut text)
                .await
                .ok()?;
            let status: serde_json::Value = serde_json::from_str(&text).ok()?;
            status["node"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        }))
        .await;
        for (agent, name) in self.list.iter_mut().zip(&names) {
            if let Some(name) = name
                && names.iter().filter(|n| n.as_ref() == Some(name)).count() == 1
            {
                agent.node.clone_from(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_a_clusters_own_only_when_it_names_a_cluster_asked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("west.token");
        std::fs::write(&file, "from-file\n").expect("written");
        let values = [
            "east=e-token".to_string(),
            format!("west=@{}", file.display()),
            "abc==".to_string(),
        ];
        let tokens = Tokens::parse(&values, &["east", "west", "north"]).expect("parses");
        assert_eq!(tokens.of("east").expect("east"), "e-token");
        assert_eq!(tokens.of("west").expect("west"), "from-file");
        assert_eq!(tokens.of("north").expect("the token for all"), "abc==");
        let only = Tokens::parse(&["east=x".into()], &["east", "west"]).expect("parses");
        let err = only.of("west").expect_err("no token for west");
        assert!(err.to_string().contains("of cluster `west`"), "{err}");
        assert!(Tokens::parse(&["a".into(), "b".into()], &[]).is_err());
        assert!(Tokens::parse(&["@/nonexistent/token".into()], &[]).is_err());
    }
}
