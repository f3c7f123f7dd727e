//! Following every agent of every cluster at once: each node's matching entries as its agent
//! indexes them, each once, the connection to a node taken up again when it breaks (a restarted
//! agent, a rollout) and resumed after the newest entry shown from it, with a note saying so.
//! `query --follow` and the dashboard's Live share it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shark_store::Entry;
use tokio::sync::mpsc;

use super::agents::Agent;
use super::cluster_filter::for_cluster;
use super::fanout::{Ask, read_agent};
use super::fleet::{Fleet, Member};

/// Follows every agent of `fleet` for entries matching `kfl`, those stored since `from`
/// (default: now) first, each node named in `after` from just past the entry id given; ends
/// when no node is left to follow or the receiver is dropped.
pub fn follow_all(
    fleet: &Fleet,
    kfl: &str,
    from: Option<i64>,
    after: &BTreeMap<String, i64>,
) -> mpsc::Receiver<Followed> {
    // Without a start, from now: what is stored once following began is shown even if a node's
    // connection breaks before its first entry.
    let from = from.unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX));
    let (tx, rx) = mpsc::channel::<Followed>(256);
    for member in &fleet.members {
        let path = format!(
            "/v1/follow?kfl={}",
            percent_encode(&for_cluster(kfl, &member.name))
        );
        for agent in &member.agents.list {
            let (member, agent, path, tx) =
                (member.clone(), agent.clone(), path.clone(), tx.clone());
            tokio::spawn(follow_agent(member, agent, path, from, after.clone(), tx));
        }
    }
    rx
}

/// What following one agent gives.
pub enum Followed {
    /// A matching entry, and the cluster it came from.
    Entry(String, Box<Entry>),
    /// A line for stderr about the node's connection.
    Note(String),
}

/// How long a node that stopped answering is tried again (a rollout restarts every agent).
const RECONNECT_FOR: Duration = Duration::from_secs(300);
/// The pause between two tries.
const RECONNECT_EVERY: Duration = Duration::from_secs(2);

/// Follows one node's agent (`path` asks for the filter; `from`, the entries stored with a
/// timestamp since then first), reconnecting when the connection ends (the agent restarted, a network blip): it
/// resumes after the newest entry shown from each node, so nothing is shown twice, and nothing
/// is missed unless the connection broke in the middle of a burst. Gives up once the node has
/// not answered for [`RECONNECT_FOR`].
async fn follow_agent(
    member: Member,
    mut agent: Agent,
    path: String,
    from: i64,
    // Per node name in the entries: the newest entry id shown (ids grow as a node indexes).
    mut shown: BTreeMap<String, i64>,
    tx: mpsc::Sender<Followed>,
) {
    let agents = &member.agents;
    let node = agent.node.clone();
    let label = member.node_label(&node);
    let mut answered = Instant::now();
    let mut outage = false;
    loop {
        let (entries_tx, mut entries) = mpsc::channel::<Result<Entry, String>>(256);
        let ask = Ask::Get(resume_path(&path, from, &shown));
        let reader = {
            let (agents, agent) = (agents.clone(), agent.clone());
            async move { read_agent(&agents, &agent, &ask, &entries_tx, |item| item).await }
        };
        let forward = async {
            let mut failure = None;
            while let Some(item) = entries.recv().await {
                match item {
                    Ok(entry) => {
                        answered = Instant::now();
                        if std::mem::take(&mut outage) {
                            let _ = tx
                                .send(Followed::Note(format!("node {label}: following again")))
                                .await;
                        }
                        if let Ok(id) = i64::try_from(entry.id) {
                            let newest = shown.entry(entry.node.name.clone()).or_insert(id);
                            *newest = (*newest).max(id);
                        }
                        let followed = Followed::Entry(member.name.clone(), Box::new(entry));
                        if tx.send(followed).await.is_err() {
                            return Err(());
                        }
                    }
                    Err(reason) => failure = Some(reason),
                }
            }
            Ok(failure)
        };
        let ((), forwarded) = tokio::join!(reader, forward);
        let reason = match forwarded {
            Err(()) => return,
            Ok(Some(reason)) => reason,
            Ok(None) => {
                // The stream ended cleanly: the agent was there until then.
                answered = Instant::now();
                "the agent ended the stream".to_string()
            }
        };
        if answered.elapsed() > RECONNECT_FOR {
            let _ = tx
                .send(Followed::Note(format!(
                    "node {label} stopped following: {reason}"
                )))
                .await;
            return;
        }
        if !std::mem::replace(&mut outage, true) {
            let note = format!("node {label}: {reason}; following again once it answers");
            if tx.send(Followed::Note(note)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
        if let Ok(Some(found)) = agents.find_again(&node).await {
            agent = found;
        }
    }
}

/// `path` asking first for what was stored since `from`, and, once entries were shown, for each
/// node's entries after the newest shown (`after=NODE:ID,…`).
fn resume_path(path: &str, from: i64, shown: &BTreeMap<String, i64>) -> String {
    let path = format!("{path}&from={from}");
    if shown.is_empty() {
        return path;
    }
    let after: Vec<String> = shown
        .iter()
        .map(|(node, id)| format!("{node}:{id}"))
        .collect();
    format!("{path}&after={}", percent_encode(&after.join(",")))
}

/// `s` for a URL query value or path segment: every byte but the unreserved ones as `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn filters_survive_the_url() {
        assert_eq!(
            percent_encode(r#"dst.name == "web" and x"#),
            "dst.name%20%3D%3D%20%22web%22%20and%20x"
        );
    }
}
