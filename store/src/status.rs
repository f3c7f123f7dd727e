//! What an exchange's outcome means, by its protocol: whether it failed, and the names of the
//! numeric codes protocols answer with. The service map counts failures by this rule and the
//! CLI colours them by it, so the two never disagree.

use crate::entry::Entry;

impl Entry {
    /// Whether the exchange failed: it has an `error` (reset, timeout, unpaired, …), or its
    /// `response.status` says so by its protocol's rule: HTTP 5xx (GraphQL: or `errors` in the
    /// response, `response.graphql`), any other protocol's non-zero
    /// code (gRPC status, DNS rcode, Kafka error code, Redis and PostgreSQL error flags).
    pub fn failed(&self) -> bool {
        if self.error.is_some() {
            return true;
        }
        let Some(status) = self
            .response
            .get("status")
            .and_then(serde_json::Value::as_i64)
        else {
            return false;
        };
        match self.protocol.name.as_str() {
            "http" => status >= 500,
            // GraphQL answers errors with 200 and an `errors` list.
            "gql" => status >= 500 || self.response.contains_key("graphql"),
            _ => status != 0,
        }
    }
}

/// The name of a gRPC status code (`OK`, `NOT_FOUND`, …), `UNKNOWN_CODE` past the 17 defined.
pub fn grpc_status_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN_CODE")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answered(protocol: &str, status: serde_json::Value) -> Entry {
        let mut entry = Entry::default();
        entry.protocol.name = protocol.into();
        entry.response.insert("status".into(), status);
        entry
    }

    #[test]
    fn failure_follows_each_protocols_rule() {
        assert!(!answered("http", json!(404)).failed());
        assert!(answered("http", json!(503)).failed());
        assert!(answered("dns", json!(3)).failed());
        assert!(!answered("dns", json!(0)).failed());
        assert!(answered("redis", json!(1)).failed());
        assert!(!Entry::default().failed(), "no status, no error");
        let unanswered = Entry {
            error: Some("timeout".into()),
            ..Entry::default()
        };
        assert!(unanswered.failed());
    }

    #[test]
    fn grpc_codes_have_their_names() {
        assert_eq!(grpc_status_name(0), "OK");
        assert_eq!(grpc_status_name(5), "NOT_FOUND");
        assert_eq!(grpc_status_name(16), "UNAUTHENTICATED");
        assert_eq!(grpc_status_name(17), "UNKNOWN_CODE");
    }
}
