//! GraphQL over HTTP (<https://graphql.github.io/graphql-over-http/draft/>): an HTTP exchange
//! whose request carries a GraphQL operation becomes a `gql` entry (version: the HTTP version),
//! its HTTP fields kept, with `request.graphql` {`operationType`, `operationName`, `query`,
//! `variables`} and, when the response's JSON has `errors`, `response.graphql.errors` (their
//! messages). The operation comes from a JSON body `{"query": …, "operationName": …,
//! "variables": …}` (the first of a batch), an `application/graphql` body, or a GET's `query`
//! parameter; the query text must read as a GraphQL document, so a JSON API with a `query`
//! field of another kind stays `http`. Only what the HTTP parser kept of the bodies is read
//! (`--max-body`): an operation cut there is not recognised.
//!
//! # Files
//! `document` names the operations a GraphQL document defines.

use serde_json::{Map, Value, json};
use shark_store::Message;

use super::Exchange;
use super::grpc::percent_decode;
use document::operations;

mod document;

/// Turns `exchange` into a `gql` one when it is HTTP carrying a GraphQL operation.
pub fn annotate(exchange: &mut Exchange) {
    if exchange.protocol != "http" {
        return;
    }
    let Some(found) = request_operation(&exchange.request) else {
        return;
    };
    exchange.protocol = "gql";
    exchange
        .request
        .insert("graphql".into(), Value::Object(found));
    if let Some(errors) = response_errors(&exchange.response) {
        exchange
            .response
            .insert("graphql".into(), json!({ "errors": errors }));
    }
}

/// `request.graphql` for a request carrying an operation.
fn request_operation(request: &Message) -> Option<Map<String, Value>> {
    let (query, name, variables) = match request.get("method").and_then(Value::as_str) {
        Some("GET") => {
            let params = request.get("query")?.as_object()?;
            // Parameters as sent: form-encoded (`+` for a space, `%XX`).
            let text = |k: &str| {
                let value = params.get(k).and_then(Value::as_str)?;
                Some(percent_decode(&value.replace('+', " ")))
            };
            let variables = text("variables").and_then(|v| serde_json::from_str(&v).ok());
            (text("query")?, text("operationName"), variables)
        }
        _ => {
            if request.contains_key(shark_store::BODY_ENCODING) {
                return None;
            }
            let body = request.get("body")?.as_str()?;
            let graphql_body = content_type(request).is_some_and(|t| {
                let t = t.as_bytes();
                let kind = b"application/graphql";
                t.get(..kind.len())
                    .is_some_and(|start| start.eq_ignore_ascii_case(kind))
                    && !t.windows(4).any(|w| w.eq_ignore_ascii_case(b"json"))
            });
            if graphql_body {
                (body.to_string(), None, None)
            } else {
                // Most HTTP bodies are not GraphQL: a cheap look before parsing any JSON.
                if !body.contains("\"query\"") {
                    return None;
                }
                let parsed: Value = serde_json::from_str(body).ok()?;
                let first = match parsed {
                    Value::Array(mut batch) if !batch.is_empty() => batch.swap_remove(0),
                    other => other,
                };
                let Value::Object(mut fields) = first else {
                    return None;
                };
                let query = match fields.remove("query")? {
                    Value::String(query) => query,
                    _ => return None,
                };
                let name = fields
                    .remove("operationName")
                    .and_then(|n| n.as_str().map(str::to_string));
                (
                    query,
                    name,
                    fields.remove("variables").filter(|v| !v.is_null()),
                )
            }
        }
    };
    let ops = operations(&query)?;
    let chosen = match name.as_deref().filter(|n| !n.is_empty()) {
        Some(wanted) => ops.iter().find(|op| op.name == wanted),
        None => ops.first(),
    };
    let mut graphql = Map::new();
    if let Some(op) = chosen {
        graphql.insert("operationType".into(), json!(op.kind));
        if !op.name.is_empty() {
            graphql.insert("operationName".into(), json!(op.name));
        }
    } else if let Some(name) = name {
        graphql.insert("operationName".into(), json!(name));
    }
    graphql.insert("query".into(), json!(query));
    if let Some(variables) = variables {
        graphql.insert("variables".into(), variables);
    }
    Some(graphql)
}

/// The request's `Content-Type`, in the case it was sent in.
fn content_type(request: &Message) -> Option<&str> {
    let headers = request.get("headers")?.as_object()?;
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, value)| value.as_str())
}

/// The messages of the response's GraphQL `errors`, when it has some.
fn response_errors(response: &Message) -> Option<Vec<Value>> {
    if response.contains_key(shark_store::BODY_ENCODING) {
        return None;
    }
    let body: Value = serde_json::from_str(response.get("body")?.as_str()?).ok()?;
    let errors = body.get("errors")?.as_array()?;
    let messages: Vec<Value> = errors
        .iter()
        .map(|e| {
            e.get("message")
                .cloned()
                .unwrap_or_else(|| json!(e.to_string()))
        })
        .collect();
    (!messages.is_empty()).then_some(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(request: Value, response: Value) -> Exchange {
        Exchange {
            protocol: "http",
            version: "1.1".into(),
            request: request.as_object().cloned().unwrap_or_default(),
            response: response.as_object().cloned().unwrap_or_default(),
            ..Exchange::default()
        }
    }

    #[test]
    fn a_json_post_names_its_operation_and_the_response_its_errors() {
        let body = json!({"query": "query A { a } mutation B($x: Int) { b(x: $x) }", "operationName": "B", "variables": {"x": 1}});
        let mut exchange = http(
            json!({"method": "POST", "body": body.to_string()}),
            json!({"status": 200, "body": r#"{"data":null,"errors":[{"message":"no b","path":["b"]}]}"#}),
        );
        annotate(&mut exchange);
        assert_eq!(exchange.protocol, "gql");
        assert_eq!(exchange.version, "1.1");
        assert_eq!(
            exchange.request.get("graphql"),
            Some(
                &json!({"operationType": "mutation", "operationName": "B", "query": "query A { a } mutation B($x: Int) { b(x: $x) }", "variables": {"x": 1}})
            )
        );
        assert_eq!(
            exchange.response.get("graphql"),
            Some(&json!({"errors": ["no b"]}))
        );
        assert_eq!(
            exchange.request.get("method"),
            Some(&json!("POST")),
            "HTTP fields stay"
        );
    }

    #[test]
    fn a_get_a_graphql_body_and_a_batch_are_read_too() {
        let mut get = http(
            json!({"method": "GET", "query": {"query": "%7B+me+%7B+id+%7D+%7D", "variables": "%7B%22a%22%3A2%7D"}}),
            json!({"status": 200, "body": "{\"data\":{}}"}),
        );
        annotate(&mut get);
        assert_eq!(
            get.request.get("graphql"),
            Some(
                &json!({"operationType": "query", "query": "{ me { id } }", "variables": {"a": 2}})
            )
        );
        assert_eq!(get.response.get("graphql"), None);
        let mut raw = http(
            json!({"method": "POST", "headers": {"Content-Type": "application/graphql"}, "body": "subscription S { t }"}),
            json!({}),
        );
        annotate(&mut raw);
        assert_eq!(
            raw.request
                .get("graphql")
                .and_then(|g| g.get("operationType")),
            Some(&json!("subscription"))
        );
        let mut batch = http(
            json!({"method": "POST", "body": r#"[{"query":"query One { a }"},{"query":"query Two { b }"}]"#}),
            json!({}),
        );
        annotate(&mut batch);
        assert_eq!(
            batch
                .request
                .get("graphql")
                .and_then(|g| g.get("operationName")),
            Some(&json!("One"))
        );
    }

    #[test]
    fn a_graphql_content_type_is_matched_in_any_case_unless_it_says_json() {
        for (content_type, gql) in [
            ("Application/GraphQL; charset=utf-8", true),
            ("APPLICATION/GRAPHQL", true),
            ("application/graphql-response+JSON", false),
            ("application/graph", false),
        ] {
            let mut exchange = http(
                json!({"method": "POST", "headers": {"content-type": content_type}, "body": "{ me { id } }"}),
                json!({}),
            );
            annotate(&mut exchange);
            assert_eq!(exchange.protocol == "gql", gql, "{content_type}");
        }
    }

    #[test]
    fn other_json_and_other_protocols_are_left_alone() {
        for request in [
            json!({"method": "POST", "body": r#"{"query": {"match_all": {}}}"#}),
            json!({"method": "POST", "body": r#"{"query": "select 1"}"#}),
            json!({"method": "POST", "body": "not json"}),
            json!({"method": "POST", "body": "eyJxdWVyeSI6InthfSJ9", "bodyEncoding": "base64"}),
            json!({"method": "GET", "query": {"q": "{ a }"}}),
        ] {
            let mut exchange = http(request.clone(), json!({}));
            annotate(&mut exchange);
            assert_eq!(exchange.protocol, "http", "{request}");
        }
        let mut grpc = http(
            json!({"method": "POST", "body": r#"{"query": "{ a }"}"#}),
            json!({}),
        );
        grpc.protocol = "grpc";
        annotate(&mut grpc);
        assert_eq!(grpc.protocol, "grpc");
    }
}
