//! A fake Kubernetes API server for tests (`tower_test::mock::pair`, as kube-rs tests itself): it
//! answers each request with what a handler says (or, through the pod proxy, what a real agent
//! answers), and records every call.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::Value;

/// One request the fake server received.
#[derive(Debug, Clone)]
pub struct Call {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Request body as JSON (Null when empty).
    pub body: Value,
    /// The agent token header, when the request carried one.
    pub shark_token: Option<String>,
}

/// A client talking to a fake API server driven by `handler(method, path, body) -> (status, body)`;
/// returns the client and the recorded calls.
pub fn fake_api(
    handler: impl Fn(&str, &str, &Value) -> (u16, Value) + Send + 'static,
) -> (Client, Arc<Mutex<Vec<Call>>>) {
    fake_api_with_agents(handler, Vec::new())
}

/// Like [`fake_api`], with the pod proxy of each `(pod, agent)` reaching that agent's API (a real
/// agent's router, in process): `…/pods/POD:PORT/proxy/PATH` is `PATH` of the agent, as the
/// API server does it.
pub fn fake_api_with_agents(
    handler: impl Fn(&str, &str, &Value) -> (u16, Value) + Send + 'static,
    agents: Vec<(String, axum::Router)>,
) -> (Client, Arc<Mutex<Vec<Call>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&calls);
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let method = request.method().to_string();
            let uri = request.uri().to_string();
            let shark_token = request
                .headers()
                .get("x-shark-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let path = request.uri().path().to_string();
            let bytes = http_body_util::BodyExt::collect(request.into_body())
                .await
                .map(|b| b.to_bytes().to_vec())
                .unwrap_or_default();
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let proxied = agents.iter().find_map(|(pod, router)| {
                let rest = path.split_once(&format!("/pods/{pod}:"))?.1;
                let rest = &rest[rest.find("/proxy/")? + "/proxy".len()..];
                let query = uri
                    .split_once('?')
                    .map(|(_, q)| format!("?{q}"))
                    .unwrap_or_default();
                Some((router.clone(), format!("{rest}{query}")))
            });
            let (status, answer) = match proxied {
                Some((router, target)) => {
                    let request = http::Request::builder()
                        .method(method.as_str())
                        .uri(target)
                        .header("content-type", "application/json")
                        .header("x-shark-token", shark_token.clone().unwrap_or_default())
                        .body(axum::body::Body::from(bytes.clone()))
                        .expect("a request");
                    let response = tower::ServiceExt::oneshot(router, request)
                        .await
                        .expect("the router answers");
                    let status = response.status().as_u16();
                    let body = http_body_util::BodyExt::collect(response.into_body())
                        .await
                        .map(|b| b.to_bytes().to_vec())
                        .unwrap_or_default();
                    recorded
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(Call {
                            method,
                            uri,
                            body: Value::Null,
                            shark_token,
                        });
                    let response = Response::builder()
                        .status(status)
                        .body(Body::from(body))
                        .unwrap_or_else(|_| Response::new(Body::empty()));
                    send.send_response(response);
                    continue;
                }
                None => handler(&method, &path, &body),
            };
            recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Call {
                    method,
                    uri,
                    body,
                    shark_token,
                });
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).unwrap_or_default()))
                .unwrap_or_else(|_| Response::new(Body::empty()));
            send.send_response(response);
        }
    });
    (Client::new(service, "default"), calls)
}

/// A `Status` body as the API server sends with errors.
pub fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}),
    )
}
