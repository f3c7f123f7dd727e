//! Finding the node agents and talking to them: through the API server's pod proxy in a cluster,
//! or directly (`--agents URL,…`) where tests or a port-forward reach them.
//!
//! Agents serve TLS with the certificate kept in their Secret. Directly, the client trusts only
//! that CA (`--agent-ca`) and verifies the agents' one name ([`SERVER_NAME`]), whatever address it
//! dials. Through the pod proxy it is the API server that speaks TLS to the agent (`https:` in the
//! proxy path), as the API server does for every pod it proxies: it does not verify pods'
//! certificates, so there the token and the user's own credentials are what guard the answer.

use std::time::Duration;

use futures::AsyncBufRead;
use http::Request;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::ListParams;
use kube::{Api, Client, Config};

use shark_agent::server::tls::SERVER_NAME;

use super::credentials::keys;
use super::manifests::{AGENT_LABEL, AGENT_PORT, TOKEN_SECRET};

/// One agent and how to reach it.
#[derive(Clone)]
pub struct Agent {
    /// The node it runs on (or its URL in direct mode).
    pub node: String,
    /// The agent pod (empty in direct mode).
    pub pod: String,
    /// Whether the pod reports ready (always true in direct mode).
    pub ready: bool,
    client: Client,
    prefix: String,
}

/// Every agent, and the token they demand.
#[derive(Clone)]
pub struct Agents {
    /// The agents, one per node.
    pub list: Vec<Agent>,
    token: String,
    /// How long one agent may take to start answering.
    pub timeout: Duration,
    /// The namespace they were found in (none for explicit URLs): to find a node's agent again
    /// after its pod was replaced.
    namespace: Option<String>,
}

/// Why the agents could not be found or reached.
#[derive(Debug, thiserror::Error)]
pub enum AgentsError {
    /// The Kubernetes API refused or failed.
    #[error("{}", kube_reason(.0))]
    Kube(#[from] kube::Error),
    /// No agent pods: `capture` was not run, or ran in another namespace.
    #[error("no shark agents found in namespace `{0}`: deploy them with `kubectl shark capture`")]
    NoAgents(String),
    /// The token Secret is missing or empty.
    #[error("the agents' token Secret {0} is missing or empty: run `kubectl shark capture` again")]
    NoToken(String),
    /// A `--agents` URL is not a URL.
    #[error("`{0}` is not an agent URL (like https://10.0.0.5:8898)")]
    BadUrl(String),
    /// An https URL without the CA to verify it.
    #[error(
        "`{0}` is https: give the agents' CA with --agent-ca FILE (the Secret's ca.crt: kubectl get secret -n shark shark-agent-token -o jsonpath='{{.data.ca\\.crt}}' | base64 -d)"
    )]
    NoCa(String),
    /// `--agent-ca` holds no usable certificate.
    #[error("--agent-ca: {0}")]
    BadCa(String),
}

/// What the API server said in one line (`API server answered 401 Unauthorized`), rather than
/// the debug form of its whole Status object; other errors as they read.
fn kube_reason(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status)
            if status.message.is_empty() || status.message == status.reason =>
        {
            format!("API server answered {} {}", status.code, status.reason)
        }
        kube::Error::Api(status) => format!(
            "API server answered {} {}: {}",
            status.code, status.reason, status.message
        ),
        other => other.to_string(),
    }
}

impl Agents {
    /// The agents deployed in `namespace`, reached through the API server.
    pub async fn discover(
        client: Client,
        namespace: &str,
        timeout: Duration,
    ) -> Result<Self, AgentsError> {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get_opt(TOKEN_SECRET)
            .await?
            .ok_or_else(|| AgentsError::NoToken(format!("{namespace}/{TOKEN_SECRET}")))?;
        let value = |key: &str| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| String::from_utf8_lossy(&b.0).trim().to_string())
                .filter(|t| !t.is_empty())
        };
        let token = value(keys::TOKEN)
            .ok_or_else(|| AgentsError::NoToken(format!("{namespace}/{TOKEN_SECRET}")))?;
        // Agents deployed with a certificate serve TLS: the API server must speak it to them.
        let scheme = if value(keys::CERT).is_some() {
            "https:"
        } else {
            ""
        };
        let selector = format!("{}={}", AGENT_LABEL.0, AGENT_LABEL.1);
        let pods = Api::<Pod>::namespaced(client.clone(), namespace)
            .list(&ListParams::default().labels(&selector))
            .await?;
        let mut list: Vec<Agent> = pods
            .items
            .iter()
            .filter_map(|pod| {
                let name = pod.metadata.name.clone()?;
                let node = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_else(|| "(unscheduled)".into());
                let ready = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                let prefix = format!(
                    "/api/v1/namespaces/{namespace}/pods/{scheme}{name}:{AGENT_PORT}/proxy"
                );
                Some(Agent {
                    node,
                    pod: name,
                    ready,
                    client: client.clone(),
                    prefix,
                })
            })
            .collect();
        if list.is_empty() {
            return Err(AgentsError::NoAgents(namespace.to_string()));
        }
        list.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(Agents {
            list,
            token,
            timeout,
            namespace: Some(namespace.to_string()),
        })
    }

    /// Agents at explicit URLs (tests, or a port-forward), with the token given; `https` ones
    /// verified against the CA certificates in `ca` (PEM), which they need.
    pub fn direct(
        urls: &[String],
        token: String,
        ca: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Self, AgentsError> {
        let roots = ca.map(ca_certificates).transpose()?;
        let list = urls
            .iter()
            .map(|url| {
                let uri: http::Uri = url.parse().map_err(|_| AgentsError::BadUrl(url.clone()))?;
                if uri.host().is_none() {
                    return Err(AgentsError::BadUrl(url.clone()));
                }
                let mut config = Config::new(uri.clone());
                if uri.scheme_str() == Some("https") {
                    let roots = roots
                        .clone()
                        .ok_or_else(|| AgentsError::NoCa(url.clone()))?;
                    config.root_cert = Some(roots);
                    config.tls_server_name = Some(SERVER_NAME.to_string());
                }
                let client = Client::try_from(config)?;
                Ok(Agent {
                    node: url.clone(),
                    pod: String::new(),
                    ready: true,
                    client,
                    prefix: String::new(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Agents {
            list,
            token,
            timeout,
            namespace: None,
        })
    }

    /// The agent of `node` as it is now: in a cluster, found again (a restarted agent is a new
    /// pod); at an explicit URL, the same one.
    pub async fn find_again(&self, node: &str) -> Result<Option<Agent>, AgentsError> {
        let list = match (&self.namespace, self.list.first()) {
            (Some(namespace), Some(any)) => {
                Self::discover(any.client.clone(), namespace, self.timeout)
                    .await?
                    .list
            }
            _ => self.list.clone(),
        };
        Ok(list.into_iter().find(|agent| agent.node == node))
    }

    /// Sends `body` (JSON) to `path` of `agent` and returns the response body to read as it streams.
    pub async fn post(
        &self,
        agent: &Agent,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<impl AsyncBufRead + use<>, String> {
        self.call(
            agent,
            http::Method::POST,
            path,
            serde_json::to_vec(body).map_err(|e| e.to_string())?,
        )
        .await
    }

    /// GETs `path` of `agent`.
    pub async fn get(
        &self,
        agent: &Agent,
        path: &str,
    ) -> Result<impl AsyncBufRead + use<>, String> {
        self.call(agent, http::Method::GET, path, Vec::new()).await
    }

    /// Sends `method path` with `body` to `agent` and returns the response body to read as it streams.
    pub async fn call(
        &self,
        agent: &Agent,
        method: http::Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<impl AsyncBufRead + use<>, String> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", agent.prefix))
            .header(http::header::CONTENT_TYPE, "application/json")
            // Through the API server, `Authorization` carries the user's own credentials, so the
            // agent token travels in its own header; agents accept either.
            .header("X-Shark-Token", &self.token)
            .body(body)
            .map_err(|e| e.to_string())?;
        let request = if agent.pod.is_empty() {
            let (mut parts, body) = request.into_parts();
            let bearer = format!("Bearer {}", self.token);
            parts.headers.insert(
                http::header::AUTHORIZATION,
                bearer.parse().map_err(|_| "bad token".to_string())?,
            );
            Request::from_parts(parts, body)
        } else {
            request
        };
        tokio::time::timeout(self.timeout, agent.client.request_stream(request))
            .await
            .map_err(|_| format!("no answer within {}s", self.timeout.as_secs()))?
            .map_err(|e| failure(&e))
    }
}

/// The DER certificates of a PEM CA bundle.
fn ca_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, AgentsError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|cert| cert.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AgentsError::BadCa(e.to_string()))?;
    if certs.is_empty() {
        return Err(AgentsError::BadCa("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// One line saying why a call failed: its causes (each once), and what to do when the agent's
/// certificate is not the one expected or the URL's scheme is not what the agent speaks.
fn failure(e: &kube::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(cause) = next {
        let text = one_line(&cause.to_string());
        if !causes.iter().any(|seen| seen.contains(&text)) {
            causes.push(text);
        }
        next = cause.source();
    }
    let all = causes.join(": ");
    let innermost = causes.last().cloned().unwrap_or_default();
    if all.contains("invalid peer certificate") {
        format!(
            "the agent's TLS certificate is not one the --agent-ca vouches for as `{SERVER_NAME}` ({innermost}): give the CA of this cluster's agents (its Secret's ca.crt)"
        )
    } else if all.contains("invalid HTTP version parsed") {
        "the agent answered in TLS, not plain HTTP: use its https:// URL with --agent-ca".into()
    } else if all.contains("InvalidContentType") || all.contains("corrupt message") {
        format!("the agent does not speak TLS ({innermost}): use its http:// URL")
    } else {
        all
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use futures::AsyncReadExt;
    use serde_json::json;

    use super::*;
    use crate::cluster::mock_api::{fake_api, status};

    /// An API server with two agent pods (one not ready), the token Secret, and the pod proxy
    /// answering each agent's `/v1/status`.
    fn cluster(method: &str, path: &str, _body: &serde_json::Value) -> (u16, serde_json::Value) {
        let pod = |name: &str, node: &str, ready: &str| {
            json!({"metadata": {"name": name, "namespace": "shark"}, "spec": {"nodeName": node, "containers": []},
                   "status": {"conditions": [{"type": "Ready", "status": ready}]}})
        };
        match (method, path) {
            ("GET", "/api/v1/namespaces/shark/secrets/shark-agent-token") => (
                200,
                json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shark-agent-token"},
                // base64("0123456789abcdef0123456789abcdef")
                "data": {"token": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}),
            ),
            ("GET", "/api/v1/namespaces/shark/pods") => (
                200,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod("shark-agent-b", "worker-2", "False"), pod("shark-agent-a", "worker-1", "True")]}),
            ),
            ("GET", p) if p.ends_with("/proxy/v1/status") => (
                200,
                json!({"node": p.split('/').nth(6).unwrap_or_default()}),
            ),
            _ => status(404, "NotFound", "not found"),
        }
    }

    #[tokio::test]
    async fn agents_are_found_by_label_and_reached_through_the_pod_proxy_with_the_token() {
        let (client, calls) = fake_api(cluster);
        let agents = Agents::discover(client, "shark", Duration::from_secs(5))
            .await
            .expect("discovers");
        let found: Vec<(&str, &str, bool)> = agents
            .list
            .iter()
            .map(|a| (a.node.as_str(), a.pod.as_str(), a.ready))
            .collect();
        assert_eq!(
            found,
            [
                ("worker-1", "shark-agent-a", true),
                ("worker-2", "shark-agent-b", false)
            ]
        );
        let mut body = agents
            .get(&agents.list[0], "/v1/status")
            .await
            .expect("proxied");
        let mut text = String::new();
        body.read_to_string(&mut text).await.expect("body");
        assert!(text.contains("shark-agent-a:8898"), "{text}");
        let calls = calls.lock().expect("calls").clone();
        let list = calls
            .iter()
            .find(|c| c.uri.starts_with("/api/v1/namespaces/shark/pods?"))
            .expect("pods listed");
        assert!(
            list.uri
                .contains("labelSelector=app.kubernetes.io%2Fname%3Dshark-agent"),
            "{}",
            list.uri
        );
        let proxied = calls
            .iter()
            .find(|c| c.uri == "/api/v1/namespaces/shark/pods/shark-agent-a:8898/proxy/v1/status");
        let token = proxied
            .expect("status went through the pod proxy")
            .shark_token
            .as_deref();
        assert_eq!(
            token,
            Some("0123456789abcdef0123456789abcdef"),
            "the agent token travels in X-Shark-Token"
        );
    }

    #[tokio::test]
    async fn agents_deployed_with_a_certificate_are_proxied_over_tls() {
        let (client, calls) = fake_api(|method, path, body| {
            let (code, mut answer) = cluster(method, path, body);
            if path.ends_with("/secrets/shark-agent-token") {
                // base64("-----BEGIN CERTIFICATE-----")
                answer["data"]["tls.crt"] = json!("LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t");
            }
            (code, answer)
        });
        let agents = Agents::discover(client, "shark", Duration::from_secs(5))
            .await
            .expect("discovers");
        agents
            .get(&agents.list[0], "/v1/status")
            .await
            .expect("proxied");
        let calls = calls.lock().expect("calls").clone();
        assert!(
            calls.iter().any(|c| c.uri
                == "/api/v1/namespaces/shark/pods/https:shark-agent-a:8898/proxy/v1/status"),
            "{:?}",
            calls.iter().map(|c| &c.uri).collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn a_nodes_agent_is_found_again_after_its_pod_was_replaced() {
        // The first pod list has shark-agent-a on worker-1; a rollout replaces it by shark-agent-c.
        let lists = std::sync::atomic::AtomicUsize::new(0);
        let (client, _) = fake_api(move |method, path, body| {
            if path.starts_with("/api/v1/namespaces/shark/pods")
                && lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0
            {
                let (code, mut list) = cluster(method, path, body);
                list["items"][1]["metadata"]["name"] = json!("shark-agent-c");
                return (code, list);
            }
            cluster(method, path, body)
        });
        let agents = Agents::discover(client, "shark", Duration::from_secs(5))
            .await
            .expect("discovers");
        assert_eq!(agents.list[0].pod, "shark-agent-a");
        let again = agents
            .find_again("worker-1")
            .await
            .expect("lists again")
            .expect("worker-1 has an agent");
        assert_eq!(
            (again.node.as_str(), again.pod.as_str()),
            ("worker-1", "shark-agent-c")
        );
        assert!(
            agents
                .find_again("worker-9")
                .await
                .expect("lists again")
                .is_none()
        );
    }

    #[tokio::test]
    async fn no_agents_or_no_token_say_to_run_capture() {
        let (client, _) = fake_api(|_, _, _| status(404, "NotFound", "not found"));
        let err = Agents::discover(client, "shark", Duration::from_secs(5))
            .await
            .err()
            .expect("fails")
            .to_string();
        assert!(err.contains("kubectl shark capture"), "{err}");
    }
}
