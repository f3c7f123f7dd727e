//! `capture` in a cluster: apply the agents' objects (create-or-update) and wait for the rollout.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::manifests::{AGENT, DeployOptions, ManifestError, Manifests, TOKEN_SECRET, build};

/// The field manager kubectl-shark applies as.
const FIELD_MANAGER: &str = "kubectl-shark";

/// Why deploying failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The caller may not create or change one of the objects.
    #[error(
        "forbidden to apply {object}: {message} (capture needs rights to create namespaces, cluster roles and daemonsets; ask for cluster-admin)"
    )]
    Forbidden {
        /// `Kind/name`.
        object: String,
        /// The API server's message.
        message: String,
    },
    /// Any other API failure.
    #[error("cannot apply {object}: {source}")]
    Api {
        /// `Kind/name`.
        object: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The rollout did not finish in time.
    #[error("the agents' rollout did not complete within {waited}s: {ready}/{desired} nodes ready (check `kubectl -n {namespace} get pods`)")]
    RolloutTimeout {
        /// Seconds waited.
        waited: u64,
        /// Agents ready.
        ready: i32,
        /// Agents wanted.
        desired: i32,
        /// Their namespace.
        namespace: String,
    },
    /// The manifests could not be built.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// No randomness for the token.
    #[error("cannot generate the API token: {0}")]
    Random(String),
}

/// What was applied and how the rollout ended.
#[derive(Debug)]
pub struct DeployReport {
    /// `Kind namespace/name` of every object applied.
    pub applied: Vec<String>,
    /// Agents ready at the end.
    pub ready: i32,
}

/// Applies every object and waits until every scheduled agent is ready, calling `progress(ready, desired)` as it goes.
pub async fn deploy(
    client: Client,
    options: &DeployOptions,
    timeout: Duration,
    mut progress: impl FnMut(i32, i32),
) -> Result<DeployReport, DeployError> {
    let ns = options.namespace.as_str();
    let token = match existing_token(&client, ns).await {
        Some(token) => token,
        None => new_token()?,
    };
    let m: Manifests = build(options, &token)?;
    let mut applied = Vec::new();
    applied.push(apply(Api::<Namespace>::all(client.clone()), &m.namespace).await?);
    applied.push(apply(Api::<ServiceAccount>::namespaced(client.clone(), ns), &m.service_account).await?);
    applied.push(apply(Api::<ClusterRole>::all(client.clone()), &m.cluster_role).await?);
    applied.push(apply(Api::<ClusterRoleBinding>::all(client.clone()), &m.cluster_role_binding).await?);
    applied.push(apply(Api::<Secret>::namespaced(client.clone(), ns), &m.secret).await?);
    applied.push(apply(Api::<DaemonSet>::namespaced(client.clone(), ns), &m.daemon_set).await?);
    let ready = wait_for_rollout(Api::<DaemonSet>::namespaced(client, ns), ns, timeout, &mut progress).await?;
    Ok(DeployReport { applied, ready })
}

/// Server-side apply: creates the object, or updates it to this state; applying twice changes nothing.
async fn apply<K>(api: Api<K>, object: &K) -> Result<String, DeployError>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.name_any();
    let label = match object.namespace() {
        Some(ns) => format!("{} {ns}/{name}", K::kind(&())),
        None => format!("{} {name}", K::kind(&())),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api.patch(&name, &params, &Patch::Apply(object)).await {
        Ok(_) => Ok(label),
        Err(kube::Error::Api(status)) if status.code == 403 => {
            Err(DeployError::Forbidden { object: label, message: status.message.clone() })
        }
        Err(source) => Err(DeployError::Api { object: label, source }),
    }
}

/// The token of an earlier deployment, so that running `capture` again does not rotate it.
async fn existing_token(client: &Client, ns: &str) -> Option<String> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns).get_opt(TOKEN_SECRET).await.ok()??;
    let bytes = secret.data?.get("token")?.0.clone();
    String::from_utf8(bytes).ok().filter(|t| t.len() >= 16)
}

/// 32 random bytes as hex.
fn new_token() -> Result<String, DeployError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DeployError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How often the rollout is checked.
const POLL: Duration = Duration::from_secs(1);

async fn wait_for_rollout(
    api: Api<DaemonSet>,
    ns: &str,
    timeout: Duration,
    progress: &mut impl FnMut(i32, i32),
) -> Result<i32, DeployError> {
    let started = Instant::now();
    let (mut ready, mut desired) = (0, 0);
    loop {
        let ds = api.get(AGENT).await.map_err(|source| DeployError::Api { object: format!("DaemonSet {ns}/{AGENT}"), source })?;
        let generation = ds.metadata.generation.unwrap_or(0);
        if let Some(status) = &ds.status {
            desired = status.desired_number_scheduled;
            ready = status.number_ready;
            progress(ready, desired);
            let observed = status.observed_generation.unwrap_or(0) >= generation;
            let updated = status.updated_number_scheduled.unwrap_or(0);
            if observed && desired > 0 && ready == desired && updated == desired {
                return Ok(ready);
            }
        }
        if started.elapsed() >= timeout {
            return Err(DeployError::RolloutTimeout { waited: timeout.as_secs(), ready, desired, namespace: ns.to_string() });
        }
        tokio::time::sleep(POLL.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}
