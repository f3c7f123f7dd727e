//! The Kubernetes objects `kubectl shark capture` applies, and `--dry-run -o yaml` prints.
//!
//! Least privilege by construction: the agents run unprivileged with only NET_RAW (libpcap on
//! `any` needs no more; the container test runs the image with exactly this), a read-only root
//! filesystem, and a ClusterRole that can only get/list/watch the objects that name traffic. The
//! ClusterRole and its binding are named after the namespace, so agents deployed to two namespaces
//! each keep their own. The namespace is labelled for Pod Security "privileged": the agents need
//! the host's network and a hostPath store, which the "baseline" level forbids. Everything carries the `app.kubernetes.io/managed-by: kubectl-shark` label, which
//! is how `clean` finds exactly what was made.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde_json::{Value, json};

use super::credentials::Credentials;

/// The label every object made by kubectl-shark carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-shark");
/// The label that selects agent pods.
pub const AGENT_LABEL: (&str, &str) = ("app.kubernetes.io/name", "shark-agent");
/// Name of the agents' ServiceAccount and DaemonSet (the ClusterRole and its binding: [`cluster_role_name`]).
pub const AGENT: &str = "shark-agent";
/// The Pod Security level the agents' namespace is labelled with (enforce, audit and warn):
/// host network and hostPath volumes are beyond "baseline".
pub const POD_SECURITY_LEVEL: &str = "privileged";
/// The one capability the agents keep: raw packet sockets for libpcap.
pub const CAPABILITIES: [&str; 1] = ["NET_RAW"];
/// Name of the Secret holding the agents' API token.
pub const TOKEN_SECRET: &str = "shark-agent-token";
/// The agents' API port.
pub const AGENT_PORT: u16 = 8898;

/// What the user chose for the deployment.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Namespace the agents run in.
    pub namespace: String,
    /// Agent image.
    pub image: String,
    /// Disk budget per node (`--storage-limit`), passed to the agents.
    pub storage_limit: String,
    /// History to keep (`--retention`).
    pub retention: String,
    /// Only nodes with these labels (`--node-selector k=v`).
    pub node_selector: BTreeMap<String, String>,
    /// Keep only traffic of pods whose name matches (`--pods REGEX`).
    pub pods: Option<String>,
    /// Keep only traffic of pods in these namespaces (`--namespaces a,b`).
    pub namespaces: Vec<String>,
    /// How the agents capture and store; what is not set keeps the agent's default.
    pub tuning: AgentTuning,
}

/// The capture tuning flags given to `capture`, passed on to the agents as the user wrote them
/// (already checked); `None` leaves the flag out, so the agent's own default holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentTuning {
    /// `--bpf`: the capture filter.
    pub bpf: Option<String>,
    /// `--buffer-size`: the kernel capture buffer.
    pub buffer_size: Option<String>,
    /// `--queue-size`: packets held between capture and the pipeline.
    pub queue_size: Option<String>,
    /// `--segment-size`: seal a PCAP segment at this size.
    pub segment_size: Option<String>,
    /// `--segment-age`: seal a PCAP segment at this age.
    pub segment_age: Option<String>,
    /// `--index-body`: bytes of each body the index keeps.
    pub index_body: Option<usize>,
    /// `--max-body`: most bytes of each body kept.
    pub max_body: Option<String>,
    /// `--memory-limit`: the pipeline's memory budget.
    pub memory_limit: Option<String>,
    /// Bytes of `--queue-size` plus `--buffer-size` (defaults filled in) when either is given:
    /// what the memory limit has to hold for them.
    pub capture_buffers: Option<u64>,
    /// Bytes of `--memory-limit` when given: what the container's limit has to hold for it.
    pub pipeline_memory: Option<u64>,
    /// `--no-promiscuous`: leave the interfaces out of promiscuous mode.
    pub no_promiscuous: bool,
}

impl AgentTuning {
    /// The agent flags for what is set, as `--flag=value`.
    fn args(&self) -> Vec<String> {
        let index_body = self.index_body.map(|bytes| bytes.to_string());
        [
            ("--bpf", &self.bpf),
            ("--buffer-size", &self.buffer_size),
            ("--queue-size", &self.queue_size),
            ("--segment-size", &self.segment_size),
            ("--segment-age", &self.segment_age),
            ("--index-body", &index_body),
            ("--max-body", &self.max_body),
            ("--memory-limit", &self.memory_limit),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.as_ref().map(|value| format!("{flag}={value}")))
        .chain(self.no_promiscuous.then(|| "--no-promiscuous".to_string()))
        .collect()
    }

    /// The agent container's memory limit: 1Gi, sized for the agent's default 64MiB queue,
    /// 32MiB kernel buffer and 256MiB pipeline budget, raised by whatever larger ones add so a
    /// full queue or a flood is not OOM-killed.
    fn memory_limit(&self) -> String {
        const MIB: u64 = 1 << 20;
        const BASE_LIMIT: u64 = 1024 * MIB;
        const DEFAULT_CAPTURE_BUFFERS: u64 = (64 + 32) * MIB;
        const DEFAULT_PIPELINE_MEMORY: u64 = 256 * MIB;
        let extra = self
            .capture_buffers
            .unwrap_or(0)
            .saturating_sub(DEFAULT_CAPTURE_BUFFERS)
            .saturating_add(
                self.pipeline_memory
                    .unwrap_or(0)
                    .saturating_sub(DEFAULT_PIPELINE_MEMORY),
            );
        let mebibytes = BASE_LIMIT.saturating_add(extra).div_ceil(MIB);
        if mebibytes.is_multiple_of(1024) {
            format!("{}Gi", mebibytes / 1024)
        } else {
            format!("{mebibytes}Mi")
        }
    }
}

/// The objects, in the order they are applied.
#[derive(Debug, Clone)]
pub struct Manifests {
    /// The agents' namespace.
    pub namespace: Namespace,
    /// The agents' identity.
    pub service_account: ServiceAccount,
    /// Read-only access to pods, services, nodes, endpointslices, namespaces.
    pub cluster_role: ClusterRole,
    /// Binds the role to the service account.
    pub cluster_role_binding: ClusterRoleBinding,
    /// The API token the agents demand, their TLS certificate and its CA.
    pub secret: Secret,
    /// One agent per node.
    pub daemon_set: DaemonSet,
}

/// Why the manifests could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the {kind} manifest: {source}")]
pub struct ManifestError {
    kind: &'static str,
    #[source]
    source: serde_json::Error,
}

/// The name of the ClusterRole and ClusterRoleBinding of the agents in `namespace`: cluster-wide
/// objects, so each namespace's agents get their own (`capture -n b` leaves `a`'s agents theirs).
pub fn cluster_role_name(namespace: &str) -> String {
    format!("{AGENT}-{namespace}")
}

fn typed<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    value: Value,
) -> Result<T, ManifestError> {
    serde_json::from_value(value).map_err(|source| ManifestError { kind, source })
}

fn labels(extra: &[(&str, &str)]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(MANAGED_BY.0.into(), MANAGED_BY.1.into());
    map.insert("app.kubernetes.io/part-of".into(), "kubectl-shark".into());
    for (k, v) in extra {
        map.insert((*k).into(), (*v).into());
    }
    Value::Object(map)
}

/// Builds every object for `options`; `credentials` are the agents' API token and TLS
/// certificate (kept when already deployed).
pub fn build(
    options: &DeployOptions,
    credentials: &Credentials,
) -> Result<Manifests, ManifestError> {
    let ns = options.namespace.as_str();
    let role = cluster_role_name(ns);
    let mut args = vec![
        "--store=/var/lib/shark".to_string(),
        "--interface=any".to_string(),
        "--token-file=/etc/shark/token".to_string(),
        "--tls-cert=/etc/shark/tls.crt".to_string(),
        "--tls-key=/etc/shark/tls.key".to_string(),
        "--kube".to_string(),
        format!("--storage-limit={}", options.storage_limit),
        format!("--retention={}", options.retention),
    ];
    if let Some(pods) = &options.pods {
        args.push(format!("--pods={pods}"));
    }
    if !options.namespaces.is_empty() {
        args.push(format!("--namespaces={}", options.namespaces.join(",")));
    }
    args.extend(options.tuning.args());
    let probe = json!({"exec": {"command": ["/usr/local/bin/shark-agent", "probe", "--token-file=/etc/shark/token",
                                              "--ca-file=/etc/shark/ca.crt"]},
                       "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3});
    Ok(Manifests {
        namespace: typed(
            "Namespace",
            json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels(&[
                ("pod-security.kubernetes.io/enforce", POD_SECURITY_LEVEL),
                ("pod-security.kubernetes.io/audit", POD_SECURITY_LEVEL),
                ("pod-security.kubernetes.io/warn", POD_SECURITY_LEVEL),
            ])}}),
        )?,
        service_account: typed(
            "ServiceAccount",
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": AGENT, "namespace": ns, "labels": labels(&[])}}),
        )?,
        cluster_role: typed(
            "ClusterRole",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role, "labels": labels(&[])},
            "rules": [
                {"apiGroups": [""], "resources": ["pods", "services", "nodes", "namespaces"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]}
            ]}),
        )?,
        cluster_role_binding: typed(
            "ClusterRoleBinding",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding", "metadata": {"name": role, "labels": labels(&[])},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": AGENT, "namespace": ns}]}),
        )?,
        secret: typed(
            "Secret",
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": TOKEN_SECRET, "namespace": ns, "labels": labels(&[])},
            "stringData": credentials.string_data()}),
        )?,
        daemon_set: typed(
            "DaemonSet",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": AGENT, "namespace": ns, "labels": labels(&[AGENT_LABEL])},
            "spec": {
                "selector": {"matchLabels": {AGENT_LABEL.0: AGENT_LABEL.1}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%"}},
                "template": {
                    "metadata": {"labels": labels(&[AGENT_LABEL])},
                    "spec": {
                        "serviceAccountName": AGENT,
                        "hostNetwork": true,
                        "dnsPolicy": "ClusterFirstWithHostNet",
                        "nodeSelector": options.node_selector,
                        "tolerations": [{"operator": "Exists"}],
                        "terminationGracePeriodSeconds": 30,
                        "containers": [{
                            "name": "agent",
                            "image": options.image,
                            "args": args,
                            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                    // The agent listens on the node's address only (port 8898, IPv4 or
                                    // IPv6), and its probe finds it there.
                                    {"name": "NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}],
                            "ports": [{"name": "api", "containerPort": AGENT_PORT, "protocol": "TCP"}],
                            "securityContext": {
                                "privileged": false,
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"], "add": CAPABILITIES}
                            },
                            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                          "limits": {"cpu": "1", "memory": options.tuning.memory_limit()}},
                            "livenessProbe": probe,
                            "readinessProbe": probe,
                            "volumeMounts": [
                                {"name": "store", "mountPath": "/var/lib/shark"},
                                {"name": "token", "mountPath": "/etc/shark", "readOnly": true}
                            ]
                        }],
                        "volumes": [
                            {"name": "store", "hostPath": {"path": "/var/lib/shark", "type": "DirectoryOrCreate"}},
                            {"name": "token", "secret": {"secretName": TOKEN_SECRET, "defaultMode": 0o400}}
                        ]
                    }
                }
            }}),
        )?,
    })
}

impl Manifests {
    /// All objects as one multi-document YAML stream, in apply order.
    pub fn to_yaml(&self) -> Result<String, serde_yaml::Error> {
        let docs = [
            serde_yaml::to_string(&self.namespace)?,
            serde_yaml::to_string(&self.service_account)?,
            serde_yaml::to_string(&self.cluster_role)?,
            serde_yaml::to_string(&self.cluster_role_binding)?,
            serde_yaml::to_string(&self.secret)?,
            serde_yaml::to_string(&self.daemon_set)?,
        ];
        Ok(docs.iter().map(|d| format!("---\n{d}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            token: "t0ken-t0ken-t0ken-t0ken".into(),
            ca: "CA".into(),
            cert: "CERT".into(),
            key: "KEY".into(),
        }
    }

    fn options() -> DeployOptions {
        DeployOptions {
            namespace: "shark".into(),
            image: "ghcr.io/kubectl-shark/shark-agent:0.1.0".into(),
            storage_limit: "10GiB".into(),
            retention: "24h".into(),
            node_selector: BTreeMap::new(),
            pods: None,
            namespaces: vec![],
            tuning: AgentTuning::default(),
        }
    }

    #[test]
    fn the_agent_is_unprivileged_with_only_net_raw() {
        let m = build(&options(), &credentials()).expect("builds");
        let pod = m
            .daemon_set
            .spec
            .expect("spec")
            .template
            .spec
            .expect("pod spec");
        assert_eq!(pod.host_network, Some(true));
        assert_eq!(pod.dns_policy.as_deref(), Some("ClusterFirstWithHostNet"));
        let sc = pod.containers[0]
            .security_context
            .clone()
            .expect("security context");
        assert_eq!(sc.privileged, Some(false));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        let caps = sc.capabilities.expect("capabilities");
        assert_eq!(caps.add, Some(vec!["NET_RAW".to_string()]));
        assert_eq!(caps.drop, Some(vec!["ALL".to_string()]));
    }

    fn agent(m: &Manifests) -> k8s_openapi::api::core::v1::Container {
        m.daemon_set
            .spec
            .clone()
            .and_then(|s| s.template.spec)
            .expect("pod spec")
            .containers[0]
            .clone()
    }

    fn memory(container: &k8s_openapi::api::core::v1::Container, which: &str) -> String {
        let resources = container.resources.clone().expect("resources");
        let quantities = if which == "limit" {
            resources.limits
        } else {
            resources.requests
        };
        quantities.expect("quantities")["memory"].0.clone()
    }

    #[test]
    fn without_tuning_the_agent_keeps_its_defaults_and_a_1gi_limit() {
        let agent = agent(&build(&options(), &credentials()).expect("builds"));
        let args = agent.args.clone().expect("args");
        for flag in [
            "--bpf",
            "--buffer-size",
            "--queue-size",
            "--segment-size",
            "--segment-age",
            "--index-body",
            "--max-body",
            "--memory-limit",
            "--no-promiscuous",
        ] {
            assert!(
                !args.iter().any(|a| a.starts_with(flag)),
                "{flag} in {args:?}"
            );
        }
        assert_eq!(memory(&agent, "limit"), "1Gi");
    }

    #[test]
    fn each_tuning_flag_given_is_passed_as_written() {
        let mut o = options();
        o.tuning = AgentTuning {
            bpf: Some("tcp port 80".into()),
            buffer_size: Some("16MiB".into()),
            queue_size: Some("32MiB".into()),
            segment_size: Some("8MiB".into()),
            segment_age: Some("15s".into()),
            index_body: Some(0),
            max_body: Some("1MiB".into()),
            memory_limit: Some("128MiB".into()),
            capture_buffers: Some(48 << 20),
            pipeline_memory: Some(128 << 20),
            no_promiscuous: true,
        };
        let agent = agent(&build(&o, &credentials()).expect("builds"));
        let args = agent.args.clone().expect("args");
        for flag in [
            "--bpf=tcp port 80",
            "--buffer-size=16MiB",
            "--queue-size=32MiB",
            "--segment-size=8MiB",
            "--segment-age=15s",
            "--index-body=0",
            "--max-body=1MiB",
            "--memory-limit=128MiB",
            "--no-promiscuous",
        ] {
            assert!(
                args.iter().any(|a| a == flag),
                "{flag} missing from {args:?}"
            );
        }
        assert_eq!(
            memory(&agent, "limit"),
            "1Gi",
            "smaller buffers than the defaults never lower the limit"
        );
    }

    #[test]
    fn larger_capture_buffers_raise_the_memory_limit_by_what_they_add_and_keep_the_request() {
        let mut o = options();
        for (queue_and_buffer, limit) in [
            ((64 + 32) << 20, "1Gi"),
            ((64 + 33) << 20, "1025Mi"),
            ((1024 + 32) << 20, "1984Mi"),
            ((1 << 30) + 96 * (1 << 20) + 1, "2049Mi"),
        ] {
            o.tuning.capture_buffers = Some(queue_and_buffer);
            let agent = agent(&build(&o, &credentials()).expect("builds"));
            assert_eq!(
                memory(&agent, "limit"),
                limit,
                "for {queue_and_buffer} bytes of queue and buffer"
            );
            assert_eq!(memory(&agent, "request"), "256Mi");
        }
    }

    #[test]
    fn a_larger_pipeline_budget_raises_the_memory_limit_by_what_it_adds() {
        let mut o = options();
        for (pipeline, buffers, limit) in [
            (256 << 20, None, "1Gi"),
            (128 << 20, None, "1Gi"),
            (257 << 20, None, "1025Mi"),
            (512 << 20, Some((64 + 32 + 100) << 20), "1380Mi"),
        ] {
            o.tuning.pipeline_memory = Some(pipeline);
            o.tuning.capture_buffers = buffers;
            let agent = agent(&build(&o, &credentials()).expect("builds"));
            assert_eq!(
                memory(&agent, "limit"),
                limit,
                "for a {pipeline}-byte budget"
            );
        }
    }

    #[test]
    fn rbac_is_read_only() {
        let m = build(&options(), &credentials()).expect("builds");
        for rule in m.cluster_role.rules.expect("rules") {
            assert_eq!(rule.verbs, ["get", "list", "watch"], "{rule:?}");
        }
    }

    #[test]
    fn the_namespace_admits_the_agents_under_pod_security() {
        let m = build(&options(), &credentials()).expect("builds");
        let labels = m.namespace.metadata.labels.expect("labels");
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                labels
                    .get(&format!("pod-security.kubernetes.io/{mode}"))
                    .map(String::as_str),
                Some("privileged"),
                "{mode}"
            );
        }
    }

    #[test]
    fn each_namespace_gets_its_own_cluster_role_and_binding() {
        let mut a = options();
        a.namespace = "a".into();
        let mut b = options();
        b.namespace = "b".into();
        let (a, b) = (
            build(&a, &credentials()).expect("builds"),
            build(&b, &credentials()).expect("builds"),
        );
        let role = |m: &Manifests| m.cluster_role.metadata.name.clone().expect("name");
        let binding = |m: &Manifests| m.cluster_role_binding.metadata.name.clone().expect("name");
        assert_eq!(
            (role(&a), binding(&a)),
            ("shark-agent-a".to_string(), "shark-agent-a".to_string())
        );
        assert_ne!(role(&a), role(&b));
        assert_ne!(binding(&a), binding(&b));
        assert_eq!(
            b.cluster_role_binding.role_ref.name, "shark-agent-b",
            "b's binding grants b's role"
        );
        let subjects = b.cluster_role_binding.subjects.expect("subjects");
        assert_eq!(
            subjects[0].namespace.as_deref(),
            Some("b"),
            "to b's service account"
        );
    }

    #[test]
    fn every_object_carries_the_managed_by_label() {
        let yaml = build(&options(), &credentials())
            .expect("builds")
            .to_yaml()
            .expect("yaml");
        assert_eq!(
            yaml.matches("app.kubernetes.io/managed-by: kubectl-shark")
                .count(),
            7,
            "six objects + pod template"
        );
    }
}
