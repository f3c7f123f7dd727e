//! The Kubernetes identity source against a mock API server (`tower_test::mock::pair`, as kube-rs
//! tests itself): the real kube watchers list and watch, the mock answers as an API server would.

use std::net::IpAddr;
use std::time::Duration;

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use shark_agent::kube_identities::watch_cluster;
use shark_pipeline::IdentityResolver;
use shark_pipeline::identities::SharedIdentities;
use tokio::sync::oneshot;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Responder = tower_test::mock::SendResponse<Response<Body>>;

fn pod(name: &str, ip: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "shop", "resourceVersion": "1", "labels": {"app": name}},
           "spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": format!("node-of-{name}")},
           "status": {"podIP": ip, "podIPs": [{"ip": ip}]}})
}

fn list(kind: &str, rv: &str, items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": rv}, "items": items}))
        .expect("json")
}

fn watch_lines(events: &[Value]) -> Vec<u8> {
    events
        .iter()
        .flat_map(|e| {
            let mut line = serde_json::to_vec(e).expect("json");
            line.push(b'\n');
            line
        })
        .collect()
}

/// Where a request goes: which resource, and whether it is a watch.
fn route(request: &Request<Body>) -> (String, bool) {
    let uri = request.uri().to_string();
    let resource = uri
        .split('?')
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    (resource, uri.contains("watch=true"))
}

fn respond(send: Responder, body: Vec<u8>) {
    send.send_response(Response::new(Body::from(body)));
}

/// The scenario: a pod is listed; the watch then reports it deleted, then expires (410); the
/// relist shows a new pod holding the same IP. Services carry a ClusterIP. Watches after that hang,
/// as a quiet API server's do.
async fn api_server(mut handle: Handle, go_on: oneshot::Receiver<()>) {
    let mut go_on = Some(go_on);
    let mut pod_lists = 0;
    let mut quiet: Vec<Responder> = Vec::new();
    while let Some((request, send)) = handle.next_request().await {
        match route(&request) {
            (r, false) if r == "pods" => {
                pod_lists += 1;
                let items = if pod_lists == 1 {
                    vec![pod("checkout-1", "10.1.0.9")]
                } else {
                    vec![pod("payments-1", "10.1.0.9")]
                };
                respond(send, list("PodList", &pod_lists.to_string(), items));
            }
            (r, true) if r == "pods" && pod_lists == 1 => {
                if let Some(wait) = go_on.take() {
                    let _ = wait.await;
                }
                respond(
                    send,
                    watch_lines(&[
                        json!({"type": "DELETED", "object": pod("checkout-1", "10.1.0.9")}),
                        json!({"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                                                      "message": "too old resource version", "reason": "Expired", "code": 410}}),
                    ]),
                );
            }
            (r, false) if r == "services" => respond(
                send,
                list(
                    "ServiceList",
                    "1",
                    vec![json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "1"},
                "spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"]}})],
                ),
            ),
            (r, false) if r == "nodes" => respond(send, list("NodeList", "1", vec![])),
            (r, false) if r == "endpointslices" => {
                respond(send, list("EndpointSliceList", "1", vec![]))
            }
            _ => quiet.push(send),
        }
    }
}

fn name_now(ids: &SharedIdentities, ip: &str) -> Option<String> {
    let now = chrono::Utc::now().timestamp_nanos_opt().expect("now");
    ids.resolve(ip.parse::<IpAddr>().expect("ip"), now)
        .map(|i| i.name)
}

/// Polls until `check` holds, or fails after a few seconds.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn watchers_follow_adds_deletes_ip_reuse_and_an_expired_watch() {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ids = SharedIdentities::default();
    let (go_on, wait) = oneshot::channel();
    let server = tokio::spawn(api_server(handle, wait));
    let watcher = tokio::spawn(watch_cluster(client, ids.clone()));

    eventually("the listed pod is named", || {
        name_now(&ids, "10.1.0.9").as_deref() == Some("checkout-1")
    })
    .await;
    eventually("the service ClusterIP is named", || {
        name_now(&ids, "10.96.0.20").as_deref() == Some("web")
    })
    .await;
    let while_checkout_held_it = chrono::Utc::now().timestamp_nanos_opt().expect("now");
    let checkout = ids.resolve("10.1.0.9".parse().expect("ip"), while_checkout_held_it);
    assert_eq!(
        checkout.map(|i| i.node).as_deref(),
        Some("node-of-checkout-1"),
        "a pod's node from its spec.nodeName"
    );

    go_on.send(()).expect("scenario waits");
    eventually("after the 410 relist the reused IP is the new pod", || {
        name_now(&ids, "10.1.0.9").as_deref() == Some("payments-1")
    })
    .await;
    let past = ids
        .resolve("10.1.0.9".parse().expect("ip"), while_checkout_held_it)
        .map(|i| i.name);
    assert_eq!(
        past.as_deref(),
        Some("checkout-1"),
        "entries from before keep the old pod's name"
    );

    watcher.abort();
    server.abort();
}
