//! Why deploying the agents failed: each cause said once, with what to do about it.

use super::credentials::CredentialsError;
use super::manifests::{ManifestError, POD_SECURITY_LEVEL};

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
    #[error(
        "the agents' rollout did not complete within {waited}s: {ready}/{desired} nodes ready (check `kubectl -n {namespace} get pods`)"
    )]
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
    /// The agents' pods cannot pull their image.
    #[error(
        "the agents cannot pull their image {image} ({reason} on pod {pod}: {message}); push the image to a registry the nodes can reach and give `capture --image` (README: \"The agent image\")"
    )]
    ImagePull {
        /// The image the pod asks for.
        image: String,
        /// The kubelet's waiting reason (`ErrImagePull`, `ImagePullBackOff`, …).
        reason: String,
        /// The kubelet's message (the registry's answer).
        message: String,
        /// The pod.
        pod: String,
    },
    /// An agent's container starts and exits, again and again.
    #[error(
        "agent pod {pod} is crash-looping ({restarts} restarts, last {exit}); see `kubectl -n {namespace} logs {pod} --previous`"
    )]
    CrashLoop {
        /// The pod.
        pod: String,
        /// Its namespace.
        namespace: String,
        /// Restarts so far.
        restarts: i32,
        /// How the last run ended.
        exit: String,
    },
    /// The kubelet cannot create or start an agent's container as specified.
    #[error("agent pod {pod} cannot start its container ({reason}: {message})")]
    CannotStart {
        /// The pod.
        pod: String,
        /// The kubelet's waiting reason.
        reason: String,
        /// The kubelet's message.
        message: String,
    },
    /// The cluster refuses to create the agents' pods (Pod Security, an admission policy, a quota).
    #[error(
        "the cluster refuses to create the agents' pods: {message} (the agents need the host network and a hostPath store, Pod Security level \"{level}\": capture labels namespace {namespace} with it, unless a policy overrides that)",
        level = POD_SECURITY_LEVEL
    )]
    PodsRefused {
        /// The agents' namespace.
        namespace: String,
        /// The DaemonSet controller's `FailedCreate` message.
        message: String,
    },
    /// The manifests could not be built.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The token or the certificate could not be made.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}
