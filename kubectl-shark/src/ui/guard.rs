//! In front of every request: the `Host` check (DNS rebinding), the token traded for a cookie,
//! and the cookie every `/api` call must carry.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::{UiState, host_port};

/// The cookie that carries the token after the first visit.
const COOKIE: &str = "shark_ui";

/// Refuses a foreign `Host` (403), trades `/?token=T` for the cookie, and lets `/api` through
/// only with the cookie (401 otherwise). The page's own files need no token: they hold no data.
pub async fn guard(State(state): State<UiState>, request: Request, next: Next) -> Response {
    if !host_allowed(request.headers(), state.inner.bound.port()) {
        return (
            StatusCode::FORBIDDEN,
            format!(
                "this dashboard answers only to http://{}/ (the Host header named another site)\n",
                host_port(state.inner.bound)
            ),
        )
            .into_response();
    }
    let token = state.inner.token.as_bytes();
    let uri = request.uri().clone();
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        if !cookie_token(request.headers()).is_some_and(|t| same(t.as_bytes(), token)) {
            return (StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({
                "error": "not signed in: open the URL `kubectl shark ui` printed (it carries the token)"
            })))
                .into_response();
        }
        return next.run(request).await;
    }
    let query = uri.query().unwrap_or_default();
    let Some(presented) = query_token(query) else {
        return next.run(request).await;
    };
    if !same(presented.as_bytes(), token) {
        return (
            StatusCode::UNAUTHORIZED,
            "this link's token is not this dashboard's: use the URL `kubectl shark ui` printed this time\n",
        )
            .into_response();
    }
    // The token leaves the address bar (and the history) for the cookie; the rest of the state stays.
    let rest: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("token=") && !p.is_empty())
        .collect();
    let location = if rest.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    };
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        state.inner.token
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let (Ok(location), Ok(cookie)) = (
        HeaderValue::from_str(&location),
        HeaderValue::from_str(&cookie),
    ) {
        headers.insert(header::LOCATION, location);
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Whether `Host` names this server: an IP address or `localhost`, on the port listened on. A
/// DNS name could be an attacker's, pointed at 127.0.0.1 after the page loaded.
fn host_allowed(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let (name, given_port) = match host.rsplit_once(':') {
        // `[::1]:8899`, `127.0.0.1:8899`, `localhost:8899`; a bare IPv6 address has colons too.
        Some((name, p)) if !name.is_empty() && (name.ends_with(']') || !name.contains(':')) => {
            (name, Some(p))
        }
        _ => (host, None),
    };
    let port_ok = given_port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p == port));
    let name = name.trim_start_matches('[').trim_end_matches(']');
    port_ok && (name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok())
}

/// The token in `token=…` of a query string.
fn query_token(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

/// The token in the dashboard's cookie.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        h
    }

    #[test]
    fn only_addresses_and_localhost_on_our_port_are_this_server() {
        for ok in [
            "127.0.0.1:8899",
            "localhost:8899",
            "LOCALHOST",
            "[::1]:8899",
            "10.1.2.3:8899",
            "::1",
        ] {
            assert!(host_allowed(&headers(ok), 8899), "{ok}");
        }
        for bad in [
            "evil.example:8899",
            "evil.example",
            "127.0.0.1:8898",
            "localhost.evil.example:8899",
            "127.0.0.1:x",
            "",
        ] {
            assert!(!host_allowed(&headers(bad), 8899), "{bad}");
        }
        assert!(!host_allowed(&HeaderMap::new(), 8899), "no Host at all");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; shark_ui=abc; b=2"),
        );
        assert_eq!(cookie_token(&h), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("shark_uix=abc"));
        assert_eq!(cookie_token(&h), None);
        assert_eq!(query_token("view=map&token=t1&x=2"), Some("t1"));
    }
}
