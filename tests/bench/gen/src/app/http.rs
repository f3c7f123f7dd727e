//! HTTP/1.1 keep-alive exchanges: varied methods, paths, Authorization headers, bodies and status codes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{pick, push_filler, push_hex, push_num};
use crate::rng::Rng;

/// What the HTTP/1.1 traffic of a corpus holds, for checking a tool's counts against.
#[derive(Debug, Default, Clone, Serialize)]
pub struct HttpCounts {
    /// Requests sent; each gets exactly one response.
    pub requests: u64,
    /// Requests per method.
    pub methods: BTreeMap<String, u64>,
    /// Responses per status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests carrying `Authorization: Token <32 hex digits>`.
    pub authorization_token: u64,
    /// Requests carrying `Authorization: Bearer <token>`.
    pub authorization_bearer: u64,
}

const HOSTS: &[&str] = &[
    "web.shop.svc.cluster.local",
    "api.shop.svc",
    "payments.shop.svc.cluster.local",
    "10.96.0.10",
];
const AGENTS: &[&str] = &[
    "checkout/2.3.1 (go-http-client)",
    "curl/7.88.1",
    "python-requests/2.31.0",
    "okhttp/4.12.0",
];

/// Writes one request into `request` and its response into `response`, and counts them.
pub(crate) fn exchange(
    rng: &mut Rng,
    request: &mut Vec<u8>,
    response: &mut Vec<u8>,
    counts: &mut HttpCounts,
) {
    request.clear();
    response.clear();
    let method = match rng.weighted(&[60, 20, 8, 7, 5]) {
        0 => "GET",
        1 => "POST",
        2 => "PUT",
        3 => "DELETE",
        _ => "PATCH",
    };
    request.extend_from_slice(method.as_bytes());
    request.push(b' ');
    push_path(rng, request);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    request.extend_from_slice(pick(rng, HOSTS).as_bytes());
    request.extend_from_slice(b"\r\nUser-Agent: ");
    request.extend_from_slice(pick(rng, AGENTS).as_bytes());
    request.extend_from_slice(b"\r\nAccept: application/json\r\n");
    match rng.weighted(&[70, 20, 10]) {
        0 => {
            request.extend_from_slice(b"Authorization: Token ");
            push_hex(request, rng, 32);
            request.extend_from_slice(b"\r\n");
            counts.authorization_token += 1;
        }
        1 => {
            request.extend_from_slice(b"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.");
            push_hex(request, rng, 48);
            request.extend_from_slice(b"\r\n");
            counts.authorization_bearer += 1;
        }
        _ => {}
    }
    request.extend_from_slice(b"X-Request-Id: ");
    push_hex(request, rng, 32);
    request.extend_from_slice(b"\r\n");
    if matches!(method, "POST" | "PUT" | "PATCH") {
        let len = body_len(rng, 60);
        push_json_headers(request, len);
        push_json_body(rng, request, len);
    } else {
        request.extend_from_slice(b"\r\n");
    }

    let status = status_for(rng, method);
    response.extend_from_slice(b"HTTP/1.1 ");
    push_num(response, u64::from(status));
    response.push(b' ');
    response.extend_from_slice(reason(status).as_bytes());
    response.extend_from_slice(b"\r\nServer: nginx/1.22.1\r\nConnection: keep-alive\r\n");
    if status == 301 {
        response.extend_from_slice(b"Location: /api/v2/orders\r\n");
    }
    if status == 204 {
        response.extend_from_slice(b"\r\n");
    } else {
        let len = body_len(rng, 30);
        push_json_headers(response, len);
        push_json_body(rng, response, len);
    }

    counts.requests += 1;
    *counts.methods.entry(method.to_owned()).or_default() += 1;
    *counts.statuses.entry(status).or_default() += 1;
}

fn push_path(rng: &mut Rng, out: &mut Vec<u8>) {
    match rng.below(6) {
        0 => {
            out.extend_from_slice(b"/api/v1/orders/");
            push_num(out, rng.below(100_000));
        }
        1 => {
            out.extend_from_slice(b"/api/v1/carts/");
            push_num(out, rng.below(100_000));
            out.extend_from_slice(b"/items");
        }
        2 => out.extend_from_slice(b"/api/v1/payments"),
        3 => {
            out.extend_from_slice(b"/api/v1/users/");
            push_num(out, rng.below(10_000));
            out.extend_from_slice(b"?fields=name,email&page=");
            push_num(out, rng.between(1, 20));
        }
        4 => out.extend_from_slice(b"/health"),
        _ => {
            out.extend_from_slice(b"/static/app.");
            push_hex(out, rng, 8);
            out.extend_from_slice(b".js");
        }
    }
}

/// Body sizes: mostly small, some spanning several segments, a few large.
fn body_len(rng: &mut Rng, min: u64) -> usize {
    let len = match rng.weighted(&[80, 15, 5]) {
        0 => rng.between(min, 1_200),
        1 => rng.between(1_200, 8_000),
        _ => rng.between(8_000, 30_000),
    };
    len as usize
}

fn push_json_headers(out: &mut Vec<u8>, body_len: usize) {
    out.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
    push_num(out, body_len as u64);
    out.extend_from_slice(b"\r\n\r\n");
}

/// `{"id":N,"data":"…"}` padded to exactly `len` bytes (`len` is at least 30).
fn push_json_body(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
    let start = out.len();
    out.extend_from_slice(b"{\"id\":");
    push_num(out, rng.below(1_000_000));
    out.extend_from_slice(b",\"data\":\"");
    let used = out.len() - start + 2;
    push_filler(out, rng, len.saturating_sub(used));
    out.extend_from_slice(b"\"}");
}

fn status_for(rng: &mut Rng, method: &str) -> u16 {
    let ok = match method {
        "POST" => 201,
        "DELETE" => 204,
        _ => 200,
    };
    match rng.weighted(&[82, 6, 3, 2, 2, 2, 2, 1]) {
        0 => ok,
        1 => 404,
        2 => 500,
        3 => 503,
        4 => 401,
        5 => 400,
        6 => 429,
        _ => 301,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_length(message: &[u8]) -> Option<usize> {
        let text = std::str::from_utf8(message).ok()?;
        let (head, _) = text.split_once("\r\n\r\n")?;
        head.lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn bodies_match_their_content_length() {
        let mut rng = Rng::new(11);
        let (mut req, mut resp) = (Vec::new(), Vec::new());
        let mut counts = HttpCounts::default();
        for _ in 0..2_000 {
            exchange(&mut rng, &mut req, &mut resp, &mut counts);
            for message in [&req, &resp] {
                let text = std::str::from_utf8(message).unwrap();
                let (_, body) = text.split_once("\r\n\r\n").unwrap();
                assert_eq!(content_length(message).unwrap_or(0), body.len(), "{text}");
            }
        }
        assert_eq!(counts.requests, 2_000);
        assert_eq!(counts.statuses.values().sum::<u64>(), 2_000);
        assert!(counts.statuses.contains_key(&204) && counts.statuses.contains_key(&503));
    }
}
