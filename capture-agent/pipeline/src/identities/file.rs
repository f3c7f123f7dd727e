//! `--identities FILE`: who is who for local captures, as a YAML or JSON list.
//!
//! ```yaml
//! - {ip: 10.0.0.5, name: web-7d9f, namespace: shop, kind: Pod, labels: {app: web}, workload: web}
//! - {ip: 10.96.0.10, name: kube-dns, namespace: kube-system, kind: Service}
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::IdentityHistory;
use crate::Identity;

/// Why an identities file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentitiesFileError {
    /// The file could not be read.
    #[error("cannot read identities file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a YAML/JSON list of identities.
    #[error(
        "identities file {path} is not a list of {{ip, name, namespace, kind, labels?, node?}}: {source}"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line.
        #[source]
        source: serde_yaml::Error,
    },
    /// An entry names a kind that is not Pod, Service, Node or External.
    #[error("identities file {path}: `{ip}` has kind `{kind}`; use Pod, Service, Node or External")]
    Kind {
        /// The file.
        path: PathBuf,
        /// The entry's address.
        ip: IpAddr,
        /// The kind given.
        kind: String,
    },
}

/// One line of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIdentity {
    ip: IpAddr,
    name: String,
    #[serde(default)]
    namespace: String,
    kind: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// The node a pod runs on.
    #[serde(default)]
    node: String,
    #[serde(default)]
    workload: String,
    /// For a pod: the service that selects it, if any.
    #[serde(default)]
    service: String,
}

/// Reads `path` into a history where every listed identity holds its address for all time.
pub fn load_identities_file(path: &Path) -> Result<IdentityHistory, IdentitiesFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| IdentitiesFileError::Read {
        path: path.into(),
        source,
    })?;
    let list: Vec<FileIdentity> =
        serde_yaml::from_str(&text).map_err(|source| IdentitiesFileError::Parse {
            path: path.into(),
            source,
        })?;
    let mut history = IdentityHistory::new();
    for item in list {
        let node = match item.kind.as_str() {
            "Node" if item.node.is_empty() => item.name.clone(),
            _ => item.node,
        };
        let (pod, service) = match item.kind.as_str() {
            "Pod" => (item.name.clone(), item.service),
            "Service" => (String::new(), item.name.clone()),
            "Node" | "External" => (String::new(), item.service),
            _ => {
                return Err(IdentitiesFileError::Kind {
                    path: path.into(),
                    ip: item.ip,
                    kind: item.kind,
                });
            }
        };
        let identity = Identity {
            name: item.name,
            namespace: item.namespace,
            kind: item.kind,
            pod,
            service,
            workload: item.workload,
            node,
            labels: item.labels,
        };
        history.assign(item.ip, i64::MIN, identity);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(f.path(), text).expect("write");
        f
    }

    #[test]
    fn yaml_and_json_lists_both_load() {
        let yaml = write(
            "- {ip: 10.0.0.5, name: web-1, namespace: shop, kind: Pod, labels: {app: web}, workload: web, node: worker-1}\n",
        );
        let json = write(
            r#"[{"ip": "10.96.0.10", "name": "kube-dns", "namespace": "kube-system", "kind": "Service"}]"#,
        );
        let pod = load_identities_file(yaml.path())
            .expect("yaml")
            .lookup("10.0.0.5".parse().expect("ip"), 0)
            .expect("pod");
        assert_eq!(
            (
                pod.pod.as_str(),
                pod.workload.as_str(),
                pod.labels["app"].as_str()
            ),
            ("web-1", "web", "web")
        );
        assert_eq!(pod.node, "worker-1");
        let svc = load_identities_file(json.path())
            .expect("json")
            .lookup("10.96.0.10".parse().expect("ip"), 0)
            .expect("svc");
        assert_eq!(
            (svc.service.as_str(), svc.kind.as_str(), svc.pod.as_str()),
            ("kube-dns", "Service", "")
        );
    }

    #[test]
    fn mistakes_name_the_file_and_what_is_wrong() {
        let bad_kind = write("- {ip: 10.0.0.5, name: x, kind: Deployment}\n");
        let msg = load_identities_file(bad_kind.path())
            .expect_err("bad kind")
            .to_string();
        assert!(
            msg.contains("Deployment") && msg.contains("Pod, Service"),
            "{msg}"
        );
        let typo = write("- {ip: 10.0.0.5, name: x, kind: Pod, namepsace: shop}\n");
        let msg = load_identities_file(typo.path())
            .expect_err("unknown field")
            .to_string();
        assert!(msg.contains("namepsace"), "{msg}");
        let missing = load_identities_file(Path::new("/nonexistent/ids.yaml"))
            .expect_err("missing")
            .to_string();
        assert!(
            msg.contains("identities file") && missing.contains("/nonexistent/ids.yaml"),
            "{missing}"
        );
    }
}
