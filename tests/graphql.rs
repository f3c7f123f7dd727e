//! GraphQL over HTTP against a real server: Debian's python3-graphql-core behind Python's HTTP
//! server (`tests/protocols/graphql_server.py`) and curl (`graphql_client.sh`: a named query with
//! variables, a mutation, a query whose resolver fails, a GET query, and a JSON POST that is not
//! GraphQL) in two network namespaces, captured, imported, and compared with tshark's reading of
//! the same HTTP messages (tshark has no GraphQL dissector: the oracle reads the bodies it shows).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::pair::{Captured, SERVER};
use crate::util::{Running, query_json, run_ok, text, tshark, workspace};

/// The capture of the client's requests, made once.
fn session() -> &'static Captured {
    static SESSION: OnceLock<Captured> = OnceLock::new();
    SESSION.get_or_init(|| {
        Captured::make("gql", "gql", |pair, _dir, pcap| {
            let protocols = workspace().join("tests/protocols");
            let mut server = Running::start(
                pair.exec("srv", "/usr/bin/python3")
                    .arg(protocols.join("graphql_server.py"))
                    .stderr(Stdio::null())
                    .args([SERVER, "4000"])
                    .stdout(Stdio::piped()),
            );
            let mut line = String::new();
            let stdout = server.stdout.take().expect("server's stdout piped");
            let _ = BufReader::new(stdout).read_line(&mut line);
            assert_eq!(line.trim(), "listening");
            pair.capture(4000, pcap, || {
                let r = run_ok(
                    pair.exec("cli", "bash")
                        .arg(protocols.join("graphql_client.sh"))
                        .args([SERVER, "4000"]),
                );
                assert_eq!(r.stdout.lines().count(), 5, "client: {}", r.stdout);
            });
        })
    })
}

/// What tshark shows of each HTTP exchange: method, URI, request body, response body.
fn tshark_exchanges() -> Vec<(String, String, String, String)> {
    let pcap = session().pcap.to_str().expect("utf-8 path").to_string();
    let rows = tshark(&[
        "-r",
        &pcap,
        "-Y",
        "http",
        "-T",
        "fields",
        "-e",
        "http.request.method",
        "-e",
        "http.request.uri",
        "-e",
        "http.file_data",
        "-e",
        "http.response.code",
    ]);
    let mut exchanges: Vec<(String, String, String, String)> = Vec::new();
    for row in rows {
        let field = |i: usize| row.get(i).cloned().unwrap_or_default();
        if !field(0).is_empty() {
            exchanges.push((field(0), field(1), field(2), String::new()));
        } else if let Some(last) = exchanges.last_mut() {
            last.3 = field(2);
        }
    }
    exchanges
}

/// The operation a request body or URI carries, as the GraphQL-over-HTTP spec reads it:
/// (query, operationName, variables).
fn operation(method: &str, uri: &str, body: &str) -> Option<(String, Value, Value)> {
    if method == "GET" {
        let (path, params) = uri.split_once('?')?;
        let query = params.strip_prefix("query=")?;
        let query = query
            .replace("%7B", "{")
            .replace("%7D", "}")
            .replace("%20", " ");
        return (path == "/graphql").then_some((query, Value::Null, Value::Null));
    }
    let body: Value = serde_json::from_str(body).ok()?;
    let query = body.get("query")?.as_str()?.to_string();
    Some((
        query,
        body["operationName"].clone(),
        body["variables"].clone(),
    ))
}

#[test]
fn every_graphql_request_tshark_shows_is_a_gql_entry_with_its_operation() {
    let theirs = tshark_exchanges();
    assert_eq!(theirs.len(), 5, "{theirs:?}");
    let mut expected: Vec<_> = theirs
        .iter()
        .filter_map(|(method, uri, body, _)| operation(method, uri, body))
        .map(|(query, _, variables)| (query, variables))
        .collect();
    let entries = query_json(&session().store, &["gql"]);
    let mut ours: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                text(&e["request"]["graphql"]["query"]),
                e["request"]["graphql"]["variables"].clone(),
            )
        })
        .collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    ours.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(ours, expected);
    assert!(
        entries
            .iter()
            .all(|e| text(&e["protocol"]["version"]) == "1.1")
    );
    assert_eq!(query_json(&session().store, &["gqlv1"]).len(), 4);
    assert!(query_json(&session().store, &["gqlv2"]).is_empty());
    // The JSON POST that is not GraphQL stays HTTP.
    let http = query_json(&session().store, &["http"]);
    assert_eq!(http.len(), 1);
    assert_eq!(text(&http[0]["request"]["path"]), "/search");
}

#[test]
fn operation_types_and_names_come_from_the_query_text() {
    let named = |filter: &str| -> Vec<(String, String)> {
        query_json(&session().store, &[filter])
            .iter()
            .map(|e| {
                let g = &e["request"]["graphql"];
                (text(&g["operationType"]), text(&g["operationName"]))
            })
            .collect()
    };
    assert_eq!(
        named(r#"gql and request.graphql.operationName == "Book""#),
        [("query".into(), "Book".into())]
    );
    assert_eq!(
        named(r#"gql and request.graphql.operationType == "mutation""#),
        [("mutation".into(), "AddBook".into())]
    );
    assert_eq!(
        named(r#"gql and request.method == "GET""#),
        [("query".into(), String::new())]
    );
    let variables = query_json(
        &session().store,
        &[r#"gql and request.graphql.operationName == "Book""#],
    );
    assert_eq!(
        variables[0]["request"]["graphql"]["variables"],
        json!({"id": 1})
    );
}

#[test]
fn errors_in_the_response_tshark_shows_fail_the_entry() {
    let theirs: Vec<String> = tshark_exchanges()
        .iter()
        .filter_map(|(_, _, _, response)| serde_json::from_str::<Value>(response).ok())
        .filter_map(|body| body.get("errors").cloned())
        .flat_map(|errors| errors.as_array().cloned().unwrap_or_default())
        .map(|error| text(&error["message"]))
        .collect();
    assert_eq!(theirs, ["no book 99"]);
    let failed = query_json(
        &session().store,
        &["gql and response.graphql.errors != nil"],
    );
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["response"]["graphql"]["errors"], json!(theirs));
    assert_eq!(
        text(&failed[0]["request"]["graphql"]["operationName"]),
        "Missing"
    );
    // The map counts it as an error; the table says why.
    let table = run_ok(
        crate::util::shark()
            .args(["query", "--store"])
            .arg(&session().store)
            .arg("gql"),
    )
    .stdout;
    let row = table
        .lines()
        .find(|l| l.contains("Missing"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains("200 no book 99"), "{row}");
    let map = run_ok(
        crate::util::shark()
            .args(["map", "--store"])
            .arg(&session().store)
            .args(["-o", "json", "gql"]),
    )
    .stdout;
    let map: Value = serde_json::from_str(&map).expect("map JSON");
    let errors: u64 = map["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["errors"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(errors, 1, "{map}");
}
