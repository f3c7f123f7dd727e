//! `clean`: delete exactly what `capture` made (found by its label), and nothing else.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::manifests::MANAGED_BY;

/// Deletes every object labelled as kubectl-shark's; returns `Kind namespace/name` of each deleted.
/// Running it again finds nothing and deletes nothing.
pub async fn clean(client: Client) -> Result<Vec<String>, kube::Error> {
    let mut deleted = Vec::new();
    // Namespaced objects first, then cluster-wide ones, then the namespaces themselves.
    let c = &client;
    let namespaced = |ns: Option<&str>| ns.unwrap_or("default").to_string();
    delete_labelled::<DaemonSet>(
        c,
        |ns| Api::namespaced(c.clone(), &namespaced(ns)),
        &mut deleted,
    )
    .await?;
    delete_labelled::<Secret>(
        c,
        |ns| Api::namespaced(c.clone(), &namespaced(ns)),
        &mut deleted,
    )
    .await?;
    delete_labelled::<ServiceAccount>(
        c,
        |ns| Api::namespaced(c.clone(), &namespaced(ns)),
        &mut deleted,
    )
    .await?;
    delete_labelled::<ClusterRoleBinding>(c, |_| Api::all(c.clone()), &mut deleted).await?;
    delete_labelled::<ClusterRole>(c, |_| Api::all(c.clone()), &mut deleted).await?;
    delete_labelled::<Namespace>(c, |_| Api::all(c.clone()), &mut deleted).await?;
    Ok(deleted)
}

/// Lists the labelled objects of kind `K` everywhere and deletes each through `api_for(namespace)`.
async fn delete_labelled<K>(
    client: &Client,
    api_for: impl Fn(Option<&str>) -> Api<K>,
    deleted: &mut Vec<String>,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let all: Api<K> = Api::all(client.clone());
    for object in all.list(&ListParams::default().labels(&selector)).await? {
        let name = object.name_any();
        let namespace = object.namespace();
        let api = api_for(namespace.as_deref());
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => continue, // already gone
            Err(e) => return Err(e),
        }
        deleted.push(match namespace {
            Some(ns) => format!("{} {ns}/{name}", K::kind(&())),
            None => format!("{} {name}", K::kind(&())),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::*;
    use crate::cluster::mock_api::{fake_api, status};

    /// Objects labelled as ours: (list path, item path, object); deleting one removes it.
    type Objects = Arc<Mutex<Vec<(String, String, Value)>>>;

    fn server(objects: Objects) -> impl Fn(&str, &str, &Value) -> (u16, Value) {
        move |method, path, _| {
            let mut objects = objects.lock().expect("objects");
            match method {
                "GET" => {
                    let items: Vec<Value> = objects
                        .iter()
                        .filter(|(list, _, _)| list == path)
                        .map(|(_, _, o)| o.clone())
                        .collect();
                    (
                        200,
                        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
                    )
                }
                "DELETE" => {
                    let before = objects.len();
                    objects.retain(|(_, item, _)| item != path);
                    if objects.len() < before {
                        (
                            200,
                            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                        )
                    } else {
                        status(404, "NotFound", "gone")
                    }
                }
                _ => status(405, "MethodNotAllowed", "no"),
            }
        }
    }

    fn object(kind: &str, api_version: &str, name: &str, namespace: Option<&str>) -> Value {
        let mut meta =
            json!({"name": name, "labels": {"app.kubernetes.io/managed-by": "kubectl-shark"}});
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        json!({"apiVersion": api_version, "kind": kind, "metadata": meta})
    }

    #[tokio::test]
    async fn clean_deletes_what_capture_made_and_a_second_run_finds_nothing() {
        let rbac = "/apis/rbac.authorization.k8s.io/v1";
        let row = |list: &str, item: &str, obj: Value| (list.to_string(), item.to_string(), obj);
        let objects: Objects = Arc::new(Mutex::new(vec![
            row(
                "/apis/apps/v1/daemonsets",
                "/apis/apps/v1/namespaces/shark/daemonsets/shark-agent",
                object("DaemonSet", "apps/v1", "shark-agent", Some("shark")),
            ),
            row(
                "/api/v1/secrets",
                "/api/v1/namespaces/shark/secrets/shark-agent-token",
                object("Secret", "v1", "shark-agent-token", Some("shark")),
            ),
            row(
                "/api/v1/serviceaccounts",
                "/api/v1/namespaces/shark/serviceaccounts/shark-agent",
                object("ServiceAccount", "v1", "shark-agent", Some("shark")),
            ),
            row(
                &format!("{rbac}/clusterrolebindings"),
                &format!("{rbac}/clusterrolebindings/shark-agent"),
                object(
                    "ClusterRoleBinding",
                    "rbac.authorization.k8s.io/v1",
                    "shark-agent",
                    None,
                ),
            ),
            row(
                &format!("{rbac}/clusterroles"),
                &format!("{rbac}/clusterroles/shark-agent"),
                object(
                    "ClusterRole",
                    "rbac.authorization.k8s.io/v1",
                    "shark-agent",
                    None,
                ),
            ),
            row(
                "/api/v1/namespaces",
                "/api/v1/namespaces/shark",
                object("Namespace", "v1", "shark", None),
            ),
        ]));
        let (client, calls) = fake_api(server(Arc::clone(&objects)));
        let deleted = clean(client.clone()).await.expect("cleans");
        assert_eq!(
            deleted,
            [
                "DaemonSet shark/shark-agent",
                "Secret shark/shark-agent-token",
                "ServiceAccount shark/shark-agent",
                "ClusterRoleBinding shark-agent",
                "ClusterRole shark-agent",
                "Namespace shark"
            ]
        );
        let lists: Vec<String> = calls
            .lock()
            .expect("calls")
            .iter()
            .filter(|c| c.method == "GET")
            .map(|c| c.uri.clone())
            .collect();
        assert!(lists.iter().all(|u| u.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dkubectl-shark")), "{lists:?}");
        assert!(objects.lock().expect("objects").is_empty());
        assert!(clean(client).await.expect("cleans again").is_empty());
    }
}
