//! `capture` in a cluster: apply the agents' objects (create-or-update) and wait for the rollout
//! ([`super::rollout`], which says early why it cannot finish).

use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::credentials::{Credentials, CredentialsError};
pub use super::deploy_error::DeployError;
use super::manifests::{DeployOptions, Manifests, TOKEN_SECRET, build};
use super::rollout::wait_for_rollout;

/// The field manager kubectl-shark applies as.
const FIELD_MANAGER: &str = "kubectl-shark";

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
    let credentials = match existing_credentials(&client, ns).await {
        Some(kept) => kept?,
        None => Credentials::generate()?,
    };
    let m: Manifests = build(options, &credentials)?;
    let mut applied = Vec::new();
    applied.push(apply(Api::<Namespace>::all(client.clone()), &m.namespace).await?);
    applied.push(
        apply(
            Api::<ServiceAccount>::namespaced(client.clone(), ns),
            &m.service_account,
        )
        .await?,
    );
    applied.push(apply(Api::<ClusterRole>::all(client.clone()), &m.cluster_role).await?);
    applied.push(
        apply(
            Api::<ClusterRoleBinding>::all(client.clone()),
            &m.cluster_role_binding,
        )
        .await?,
    );
    applied.push(apply(Api::<Secret>::namespaced(client.clone(), ns), &m.secret).await?);
    applied.push(
        apply(
            Api::<DaemonSet>::namespaced(client.clone(), ns),
            &m.daemon_set,
        )
        .await?,
    );
    let ready = wait_for_rollout(client, ns, timeout, &mut progress).await?;
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
        Err(kube::Error::Api(status)) if status.code == 403 => Err(DeployError::Forbidden {
            object: label,
            message: status.message.clone(),
        }),
        Err(source) => Err(DeployError::Api {
            object: label,
            source,
        }),
    }
}

/// The token and certificate of an earlier deployment, so that running `capture` again rotates
/// neither.
async fn existing_credentials(
    client: &Client,
    ns: &str,
) -> Option<Result<Credentials, CredentialsError>> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(TOKEN_SECRET)
        .await
        .ok()??;
    Credentials::kept(&secret)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;
    use crate::cluster::manifests::AgentTuning;
    use crate::cluster::mock_api::{fake_api, status};

    fn options() -> DeployOptions {
        DeployOptions {
            namespace: "shark".into(),
            image: "shark-agent:test".into(),
            storage_limit: "1GiB".into(),
            retention: "1h".into(),
            node_selector: BTreeMap::new(),
            pods: None,
            namespaces: vec![],
            tuning: AgentTuning::default(),
        }
    }

    /// An API server where applies succeed (echoing the object) and the DaemonSet reports `ready`/`desired`.
    fn cluster(
        ready: i32,
        desired: i32,
        secret: Option<&'static str>,
    ) -> impl Fn(&str, &str, &Value) -> (u16, Value) {
        move |method, path, body| match (method, path) {
            ("PATCH", _) => {
                let mut object = body.clone();
                object["metadata"]["generation"] = json!(1);
                (200, object)
            }
            ("GET", p) if p.ends_with("/secrets/shark-agent-token") => match secret {
                // "token" base64-encoded, as the API returns Secret data.
                Some(b64) => (
                    200,
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shark-agent-token"},
                                          "data": {"token": b64}}),
                ),
                None => status(404, "NotFound", "secrets \"shark-agent-token\" not found"),
            },
            ("GET", p) if p.ends_with("/daemonsets/shark-agent") => {
                (200, daemon_set(ready, desired, desired))
            }
            _ => status(404, "NotFound", "not found"),
        }
    }

    /// The DaemonSet as the API reports it: `current` pods exist of the `desired`, `ready` of them ready.
    fn daemon_set(ready: i32, desired: i32, current: i32) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
               "metadata": {"name": "shark-agent", "namespace": "shark", "generation": 1},
               "spec": {"selector": {}, "template": {}},
               "status": {"desiredNumberScheduled": desired, "numberReady": ready, "updatedNumberScheduled": ready,
                          "currentNumberScheduled": current, "numberMisscheduled": 0, "observedGeneration": 1}})
    }

    /// `inner`, with the agents' pods and the namespace's events listed as given.
    fn with_pods_and_events(
        inner: impl Fn(&str, &str, &Value) -> (u16, Value),
        pods: Vec<Value>,
        events: impl Fn() -> Vec<Value> + Send + 'static,
    ) -> impl Fn(&str, &str, &Value) -> (u16, Value) {
        move |method, path, body| {
            let list = |items: Vec<Value>| {
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
                )
            };
            match (method, path) {
                ("GET", "/api/v1/namespaces/shark/pods") => list(pods.clone()),
                ("GET", "/api/v1/namespaces/shark/events") => list(events()),
                _ => inner(method, path, body),
            }
        }
    }

    /// An agent pod of generation 1 whose container waits with `reason` (and ended `last` before).
    fn waiting_pod(reason: &str, message: &str, last: Option<Value>) -> Value {
        let mut status = json!({"name": "agent", "image": "ghcr.io/kubectl-shark/shark-agent:0.1.0", "imageID": "",
                                "ready": false, "restartCount": 4,
                                "state": {"waiting": {"reason": reason, "message": message}}});
        if let Some(last) = last {
            status["lastState"] = json!({"terminated": last});
        }
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "shark-agent-x7k2p", "namespace": "shark",
                            "labels": {"app.kubernetes.io/name": "shark-agent", "pod-template-generation": "1"}},
               "status": {"containerStatuses": [status]}})
    }

    /// Deploys against `handler` with a long timeout; returns the error and how long it took.
    async fn deploy_error(
        handler: impl Fn(&str, &str, &Value) -> (u16, Value) + Send + 'static,
    ) -> (String, Duration) {
        let (client, _) = fake_api(handler);
        let started = std::time::Instant::now();
        let err = deploy(client, &options(), Duration::from_secs(60), |_, _| {})
            .await
            .expect_err("cannot roll out");
        (err.to_string(), started.elapsed())
    }

    #[tokio::test]
    async fn pods_that_cannot_pull_their_image_are_named_at_once_not_after_the_timeout() {
        let pod = waiting_pod(
            "ImagePullBackOff",
            "Back-off pulling image \"ghcr.io/kubectl-shark/shark-agent:0.1.0\"",
            None,
        );
        let (message, took) = deploy_error(with_pods_and_events(
            cluster(0, 1, None),
            vec![pod],
            Vec::new,
        ))
        .await;
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(
            message.starts_with(
                "the agents cannot pull their image ghcr.io/kubectl-shark/shark-agent:0.1.0"
            ),
            "{message}"
        );
        assert!(
            message.contains("ImagePullBackOff on pod shark-agent-x7k2p")
                && message.contains("--image"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }

    #[tokio::test]
    async fn a_crash_looping_agent_is_named_with_its_last_exit_and_where_its_logs_are() {
        let last = json!({"exitCode": 2, "reason": "Error", "message": "error: cannot capture on interface `any`"});
        let pod = waiting_pod(
            "CrashLoopBackOff",
            "back-off 40s restarting failed container",
            Some(last),
        );
        let (message, took) = deploy_error(with_pods_and_events(
            cluster(0, 1, None),
            vec![pod],
            Vec::new,
        ))
        .await;
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(
            message,
            "agent pod shark-agent-x7k2p is crash-looping (4 restarts, last exit 2: error: cannot capture on interface `any`); \
             see `kubectl -n shark logs shark-agent-x7k2p --previous`"
        );
    }

    #[tokio::test]
    async fn pods_of_an_earlier_generation_do_not_fail_the_rollout() {
        let mut old = waiting_pod("CrashLoopBackOff", "back-off", None);
        old["metadata"]["labels"]["pod-template-generation"] = json!("0");
        let (client, _) = fake_api(with_pods_and_events(
            cluster(0, 1, None),
            vec![old],
            Vec::new,
        ));
        let err = deploy(client, &options(), Duration::from_secs(2), |_, _| {})
            .await
            .expect_err("times out");
        assert!(err.to_string().contains("within 2s"), "{err}");
    }

    fn refusal(name: &str, count: i32) -> Value {
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": "shark"},
               "involvedObject": {"kind": "DaemonSet", "name": "shark-agent", "namespace": "shark"},
               "reason": "FailedCreate", "count": count, "type": "Warning",
               "message": "Error creating: pods \"shark-agent-4xq8z\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true), hostPath volumes (volume \"store\")"})
    }

    /// A DaemonSet none of whose pods exist, and events that report a refusal more often at each look.
    fn refused_cluster(earlier: Option<i32>) -> impl Fn(&str, &str, &Value) -> (u16, Value) {
        let looks = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let events = move || {
            let look = looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match earlier {
                // An event from before this rollout, not repeated since: the refusal is over.
                Some(count) => vec![refusal("shark-agent.old", count)],
                None if look == 0 => Vec::new(),
                None => vec![refusal("shark-agent.17e5", look)],
            }
        };
        let inner = cluster(0, 2, None);
        with_pods_and_events(
            move |method, path, body| match (method, path) {
                ("GET", p) if p.ends_with("/daemonsets/shark-agent") => (200, daemon_set(0, 2, 0)),
                _ => inner(method, path, body),
            },
            Vec::new(),
            events,
        )
    }

    #[tokio::test]
    async fn pods_refused_by_pod_security_are_explained_at_once() {
        let (message, took) = deploy_error(refused_cluster(None)).await;
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert!(
            message.starts_with(
                "the cluster refuses to create the agents' pods: Error creating: pods"
            ),
            "{message}"
        );
        assert!(
            message.contains("violates PodSecurity \"baseline:latest\"")
                && message.contains("\"privileged\""),
            "{message}"
        );
        assert!(message.contains("namespace shark"), "{message}");
    }

    #[tokio::test]
    async fn a_refusal_from_before_this_rollout_is_not_taken_for_its_reason() {
        let (client, _) = fake_api(refused_cluster(Some(3)));
        let err = deploy(client, &options(), Duration::from_secs(2), |_, _| {})
            .await
            .expect_err("times out");
        assert!(err.to_string().contains("within 2s"), "{err}");
    }

    fn applied_token(calls: &[crate::cluster::mock_api::Call]) -> String {
        calls
            .iter()
            .find(|c| c.method == "PATCH" && c.uri.contains("/secrets/"))
            .and_then(|c| c.body["stringData"]["token"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    #[tokio::test]
    async fn deploy_applies_every_object_once_and_waits_for_the_rollout() {
        let (client, calls) = fake_api(cluster(2, 2, None));
        let report = deploy(client, &options(), Duration::from_secs(5), |_, _| {})
            .await
            .expect("deploys");
        assert_eq!(report.ready, 2);
        assert_eq!(
            report.applied,
            [
                "Namespace shark",
                "ServiceAccount shark/shark-agent",
                "ClusterRole shark-agent-shark",
                "ClusterRoleBinding shark-agent-shark",
                "Secret shark/shark-agent-token",
                "DaemonSet shark/shark-agent"
            ]
        );
        let calls = calls.lock().expect("calls").clone();
        let patches: Vec<&str> = calls
            .iter()
            .filter(|c| c.method == "PATCH")
            .map(|c| c.uri.as_str())
            .collect();
        assert_eq!(patches.len(), 6);
        assert!(
            patches
                .iter()
                .all(|u| u.contains("fieldManager=kubectl-shark") && u.contains("force=true")),
            "{patches:?}"
        );
        let token = applied_token(&calls);
        assert!(
            token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{token}"
        );
    }

    #[tokio::test]
    async fn capture_makes_a_certificate_and_running_it_again_keeps_it() {
        let (client, calls) = fake_api(cluster(1, 1, None));
        deploy(client, &options(), Duration::from_secs(5), |_, _| {})
            .await
            .expect("deploys");
        let applied = calls
            .lock()
            .expect("calls")
            .iter()
            .find(|c| c.method == "PATCH" && c.uri.contains("/secrets/"))
            .map(|c| c.body["stringData"].clone())
            .expect("the Secret applied");
        for key in ["ca.crt", "tls.crt"] {
            assert!(
                applied[key]
                    .as_str()
                    .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE")),
                "{key}: {applied}"
            );
        }
        // The API returns Secret data base64-encoded: the next `capture` finds all of it.
        let data: serde_json::Map<String, Value> = applied
            .as_object()
            .expect("string data")
            .iter()
            .map(|(k, v)| {
                let text = v.as_str().unwrap_or_default().as_bytes().to_vec();
                let encoded = serde_json::to_value(k8s_openapi::ByteString(text)).expect("b64");
                (k.clone(), encoded)
            })
            .collect();
        let (client, again) = fake_api(move |method, path, body| {
            if method == "GET" && path.ends_with("/secrets/shark-agent-token") {
                return (
                    200,
                    json!({"apiVersion": "v1", "kind": "Secret",
                           "metadata": {"name": "shark-agent-token"}, "data": data}),
                );
            }
            cluster(1, 1, None)(method, path, body)
        });
        deploy(client, &options(), Duration::from_secs(5), |_, _| {})
            .await
            .expect("deploys again");
        let reapplied = again
            .lock()
            .expect("calls")
            .iter()
            .find(|c| c.method == "PATCH" && c.uri.contains("/secrets/"))
            .map(|c| c.body["stringData"].clone())
            .expect("the Secret applied again");
        assert_eq!(
            reapplied, applied,
            "neither the token nor the certificate rotates"
        );
    }

    #[tokio::test]
    async fn running_capture_again_keeps_the_token() {
        // base64("0123456789abcdef0123456789abcdef")
        let existing = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let (client, calls) = fake_api(cluster(1, 1, Some(existing)));
        deploy(client, &options(), Duration::from_secs(5), |_, _| {})
            .await
            .expect("deploys");
        assert_eq!(
            applied_token(&calls.lock().expect("calls")),
            "0123456789abcdef0123456789abcdef"
        );
    }

    #[tokio::test]
    async fn running_capture_again_with_the_same_tuning_flags_applies_the_same_objects() {
        let mut tuned = options();
        tuned.tuning = AgentTuning {
            queue_size: Some("2GiB".into()),
            segment_age: Some("30s".into()),
            index_body: Some(4096),
            capture_buffers: Some((2048 + 32) << 20),
            ..AgentTuning::default()
        };
        // The fake keeps no state, so each run finds the token-only Secret from before TLS and
        // makes a certificate (a real second run finds the first one's): leave those out.
        let patches = |calls: &[crate::cluster::mock_api::Call]| -> Vec<(String, Value)> {
            calls
                .iter()
                .filter(|c| c.method == "PATCH")
                .map(|c| {
                    let mut body = c.body.clone();
                    if let Some(data) = body["stringData"].as_object_mut() {
                        data.retain(|key, _| key == "token");
                    }
                    (c.uri.clone(), body)
                })
                .collect()
        };
        // base64("0123456789abcdef0123456789abcdef"): the token both runs find, as on a deployed cluster.
        let existing = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let (client, first) = fake_api(cluster(1, 1, Some(existing)));
        deploy(client, &tuned, Duration::from_secs(5), |_, _| {})
            .await
            .expect("first deploy");
        let first = patches(&first.lock().expect("calls"));
        let (client, second) = fake_api(cluster(1, 1, Some(existing)));
        deploy(client, &tuned, Duration::from_secs(5), |_, _| {})
            .await
            .expect("second deploy");
        assert_eq!(
            patches(&second.lock().expect("calls")),
            first,
            "a second apply must send exactly the same objects"
        );
        let daemon_set = &first
            .iter()
            .find(|(uri, _)| uri.contains("/daemonsets/"))
            .expect("DaemonSet applied")
            .1;
        let args = &daemon_set["spec"]["template"]["spec"]["containers"][0]["args"];
        for flag in [
            "--queue-size=2GiB",
            "--segment-age=30s",
            "--index-body=4096",
        ] {
            assert!(
                args.as_array().is_some_and(|a| a.contains(&json!(flag))),
                "{flag} missing from {args}"
            );
        }
        let resources = &daemon_set["spec"]["template"]["spec"]["containers"][0]["resources"];
        assert_eq!(
            resources["limits"]["memory"], "3008Mi",
            "1Gi + 2GiB queue + 32MiB buffer - their 96MiB defaults"
        );
    }

    #[tokio::test]
    async fn a_forbidden_apply_is_explained_in_one_line() {
        let inner = cluster(1, 1, None);
        let (client, _) = fake_api(move |method, path, body| {
            if method == "PATCH" && path.contains("clusterroles") {
                status(
                    403,
                    "Forbidden",
                    "clusterroles.rbac.authorization.k8s.io \"shark-agent\" is forbidden: User \"dev\" cannot patch resource",
                )
            } else {
                inner(method, path, body)
            }
        });
        let err = deploy(client, &options(), Duration::from_secs(5), |_, _| {})
            .await
            .expect_err("forbidden");
        let message = err.to_string();
        assert!(
            message.starts_with("forbidden to apply ClusterRole shark-agent-shark"),
            "{message}"
        );
        assert!(
            message.contains("cluster-admin") && !message.contains('\n'),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_rollout_that_never_completes_times_out_with_the_count() {
        let (client, _) = fake_api(cluster(1, 3, None));
        let err = deploy(client, &options(), Duration::from_secs(2), |_, _| {})
            .await
            .expect_err("times out");
        let message = err.to_string();
        assert!(
            message.contains("within 2s") && message.contains("1/3 nodes ready"),
            "{message}"
        );
    }
}
