//! Bearer-token check in front of every route.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::ApiState;

/// The header that carries the token through the API server's pod proxy, where `Authorization`
/// holds the user's own credentials for the API server.
const PROXY_TOKEN_HEADER: &str = "x-shark-token";

/// Lets the request through only with `Authorization: Bearer <token>` (or the token in
/// `X-Shark-Token`); otherwise 401 and no data.
pub async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let proxied = headers
        .get(PROXY_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    let presented = bearer.or(proxied).map(str::trim);
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.inner.token.as_bytes()) => {
            next.run(request).await
        }
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong bearer token\n",
        )
            .into_response(),
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    const TOKEN: &[u8] = b"test-token-0123456789abcdef";

    #[test]
    fn only_the_token_itself_is_equal() {
        assert!(constant_time_eq(TOKEN, TOKEN));
        let mut last_off = TOKEN.to_vec();
        *last_off.last_mut().expect("a token") ^= 1;
        let appended = [TOKEN, b"x"].concat();
        for wrong in [
            &TOKEN[..TOKEN.len() - 1],
            &TOKEN[..1],
            &appended[..],
            b"",
            &last_off[..],
        ] {
            assert!(
                !constant_time_eq(wrong, TOKEN),
                "{:?} passed",
                String::from_utf8_lossy(wrong)
            );
        }
    }
}
