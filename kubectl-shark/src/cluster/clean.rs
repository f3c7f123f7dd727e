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
    delete_labelled::<DaemonSet>(c, |ns| Api::namespaced(c.clone(), &namespaced(ns)), &mut deleted).await?;
    delete_labelled::<Secret>(c, |ns| Api::namespaced(c.clone(), &namespaced(ns)), &mut deleted).await?;
    delete_labelled::<ServiceAccount>(c, |ns| Api::namespaced(c.clone(), &namespaced(ns)), &mut deleted).await?;
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
