//! Waiting for the agents' rollout, and saying within seconds why it cannot finish: pods that
//! cannot pull their image, crash-loop or cannot start (from the pods' status), and pods the
//! cluster refuses to create, as Pod Security does (from the DaemonSet's `FailedCreate` events).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ContainerStatus, Event, Pod};
use kube::api::ListParams;
use kube::{Api, Client};

use super::deploy_error::DeployError;
use super::manifests::{AGENT, AGENT_LABEL};

/// How often the rollout is checked.
const POLL: Duration = Duration::from_secs(1);

/// Waits until every scheduled agent of the current generation is ready, calling
/// `progress(ready, desired)` on each check; fails as soon as the pods' status or the DaemonSet's
/// events say they cannot become ready, else after `timeout`.
pub async fn wait_for_rollout(
    client: Client,
    ns: &str,
    timeout: Duration,
    progress: &mut impl FnMut(i32, i32),
) -> Result<i32, DeployError> {
    let api = Api::<DaemonSet>::namespaced(client.clone(), ns);
    let started = Instant::now();
    let (mut ready, mut desired) = (0, 0);
    // Refusals already reported before this rollout (event name → count) are not this rollout's.
    let mut earlier_refusals: Option<HashMap<String, i32>> = None;
    loop {
        let ds = api.get(AGENT).await.map_err(|source| DeployError::Api {
            object: format!("DaemonSet {ns}/{AGENT}"),
            source,
        })?;
        let generation = ds.metadata.generation.unwrap_or(0);
        let mut missing = true;
        if let Some(status) = &ds.status {
            desired = status.desired_number_scheduled;
            ready = status.number_ready;
            progress(ready, desired);
            let observed = status.observed_generation.unwrap_or(0) >= generation;
            let updated = status.updated_number_scheduled.unwrap_or(0);
            if observed && desired > 0 && ready == desired && updated == desired {
                return Ok(ready);
            }
            missing = status.current_number_scheduled < desired;
        }
        let refusals = refusals(&client, ns).await;
        let earlier = earlier_refusals
            .get_or_insert_with(|| refusals.iter().map(|r| (r.name.clone(), r.count)).collect());
        let new_refusal = refusals
            .iter()
            .find(|r| earlier.get(&r.name).is_none_or(|&count| r.count > count));
        if let (true, Some(refusal)) = (missing, new_refusal) {
            return Err(DeployError::PodsRefused {
                namespace: ns.to_string(),
                message: refusal.message.clone(),
            });
        }
        if let Some(stuck) = stuck_pod(&client, ns, generation).await {
            return Err(stuck);
        }
        if started.elapsed() >= timeout {
            return Err(DeployError::RolloutTimeout {
                waited: timeout.as_secs(),
                ready,
                desired,
                namespace: ns.to_string(),
            });
        }
        tokio::time::sleep(POLL.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}

/// A `FailedCreate` event of the agents' DaemonSet: the cluster refused to create a pod.
struct Refusal {
    /// The event's name (one per distinct message; a repeat raises its count).
    name: String,
    /// How often it happened.
    count: i32,
    /// Why, as the API server said (e.g. `pods "shark-agent-x" is forbidden: violates PodSecurity …`).
    message: String,
}

/// The DaemonSet's `FailedCreate` events; none when they cannot be read (the timeout still holds).
async fn refusals(client: &Client, ns: &str) -> Vec<Refusal> {
    let selector =
        format!("involvedObject.kind=DaemonSet,involvedObject.name={AGENT},reason=FailedCreate");
    let Ok(events) = Api::<Event>::namespaced(client.clone(), ns)
        .list(&ListParams::default().fields(&selector))
        .await
    else {
        return Vec::new();
    };
    events
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
        .map(|e| Refusal {
            name: e.metadata.name.unwrap_or_default(),
            count: e.count.unwrap_or(1),
            message: e.message.unwrap_or_default(),
        })
        .collect()
}

/// The first agent pod of `generation` whose container cannot become ready, as an error; `None`
/// while every pod is starting or running (or the pods cannot be read).
async fn stuck_pod(client: &Client, ns: &str, generation: i64) -> Option<DeployError> {
    let selector = format!("{}={}", AGENT_LABEL.0, AGENT_LABEL.1);
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels(&selector))
        .await
        .ok()?;
    pods.items
        .iter()
        .filter(|pod| of_generation(pod, generation))
        .find_map(|pod| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
            statuses
                .iter()
                .find_map(|status| stuck_container(ns, &name, status))
        })
}

/// Whether `pod` belongs to the DaemonSet's `generation` (the label the DaemonSet controller
/// puts on its pods); a pod without the label counts, pods of an earlier one are on their way out.
fn of_generation(pod: &Pod, generation: i64) -> bool {
    let label = pod
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("pod-template-generation"));
    label.is_none_or(|g| g.parse::<i64>().ok() == Some(generation))
}

/// Waiting reasons that mean the image cannot be had.
const PULL_FAILURES: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];
/// Waiting reasons that mean the container cannot be created or started as specified.
const START_FAILURES: [&str; 3] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Why one container of agent pod `pod` cannot become ready, if it cannot.
fn stuck_container(ns: &str, pod: &str, status: &ContainerStatus) -> Option<DeployError> {
    let waiting = status.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.clone().unwrap_or_default();
    let message = waiting.message.clone().unwrap_or_default();
    let pod = pod.to_string();
    if PULL_FAILURES.contains(&reason.as_str()) {
        return Some(DeployError::ImagePull {
            image: status.image.clone(),
            reason,
            message,
            pod,
        });
    }
    if START_FAILURES.contains(&reason.as_str()) {
        return Some(DeployError::CannotStart {
            pod,
            reason,
            message,
        });
    }
    if reason == "CrashLoopBackOff" {
        let last = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        let exit = last.map_or(String::from("unknown exit"), |t| {
            match (&t.reason, &t.message) {
                (_, Some(message)) if !message.trim().is_empty() => {
                    format!("exit {}: {}", t.exit_code, message.trim())
                }
                (Some(reason), _) => format!("exit {} ({reason})", t.exit_code),
                _ => format!("exit {}", t.exit_code),
            }
        });
        return Some(DeployError::CrashLoop {
            pod,
            namespace: ns.to_string(),
            restarts: status.restart_count,
            exit,
        });
    }
    None
}
