//! The Kubernetes identity source: watchers over pods, services, nodes and endpointslices in all
//! namespaces, feeding the shared identity history as the cluster changes.

use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use shark_pipeline::identities::{IdentityHistory, SharedIdentities};

use super::cluster_view::{Change, ClusterView, Watched};

/// Watches the cluster through `client` and keeps `identities` current, until the client's
/// watches end (they retry with backoff, so in practice: until the task is dropped).
pub async fn watch_cluster(client: Client, identities: SharedIdentities) {
    let (tx, mut rx) = mpsc::channel::<Update>(1024);
    let watchers = [
        tokio::spawn(forward::<Pod>(Api::all(client.clone()), tx.clone())),
        tokio::spawn(forward::<Service>(Api::all(client.clone()), tx.clone())),
        tokio::spawn(forward::<Node>(Api::all(client.clone()), tx.clone())),
        tokio::spawn(forward::<EndpointSlice>(Api::all(client), tx)),
    ];
    let mut view = ClusterView::new();
    while let Some(update) = rx.recv().await {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        identities.update(|history| update(&mut view, now, history));
    }
    for watcher in watchers {
        watcher.abort();
    }
}

/// One decoded watch event, ready to apply to the view.
type Update = Box<dyn FnOnce(&mut ClusterView, i64, &mut IdentityHistory) + Send>;

/// Runs one kind's watcher (with backoff on errors, relisting when a resourceVersion expired) and
/// forwards its events; managed fields are trimmed off to keep memory small.
async fn forward<K>(api: Api<K>, tx: mpsc::Sender<Update>)
where
    K: Resource + Watched + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|obj: &mut K| obj.meta_mut().managed_fields = None)
        .boxed();
    while let Some(event) = events.next().await {
        let change = match event {
            Ok(Event::Apply(obj)) => Change::Apply(obj),
            Ok(Event::Delete(obj)) => Change::Delete(obj),
            Ok(Event::Init) => Change::RelistStart,
            Ok(Event::InitApply(obj)) => Change::RelistItem(obj),
            Ok(Event::InitDone) => Change::RelistDone,
            Err(err) => {
                tracing::warn!(kind = std::any::type_name::<K>(), %err, "watch failed; retrying");
                continue;
            }
        };
        let update: Update = Box::new(move |view, now, history| view.apply(change, now, history));
        if tx.send(update).await.is_err() {
            return;
        }
    }
}
