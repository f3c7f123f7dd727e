//! Kafka dissector over payloads extracted from the shared fixtures. Expected header fields are
//! tshark's (`tshark -r F -d tcp.port==36333,kafka -T fields -e kafka.request_key
//! -e kafka.api_version -e kafka.correlation_id -e kafka.client_id -e kafka.topic_name
//! -e kafka.error`); for versions tshark 4.0 does not dissect (Produce v9, Fetch v12/v13) topics
//! and error codes were read from the bytes by hand, as noted per case.

use crate::segments::{field, run_all_chunkings};
use shark_pipeline::dissect::kafka::KafkaDissector;

/// apiName, apiKey, apiVersion, correlationId, clientId, topics, response status, error.
type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

fn rows(file: &str) -> Vec<Row> {
    run_all_chunkings(&KafkaDissector, file)
        .iter()
        .map(|e| {
            (
                field(&e.request, "apiName"),
                field(&e.request, "apiKey"),
                field(&e.request, "apiVersion"),
                field(&e.request, "correlationId"),
                field(&e.request, "clientId"),
                field(&e.request, "topics"),
                field(&e.response, "status"),
                e.error.clone(),
            )
        })
        .collect()
}

fn row(
    name: &str,
    key: i16,
    version: i16,
    correlation: i32,
    client: &str,
    topics: &str,
    status: &str,
) -> Row {
    let text = |v: &dyn ToString| v.to_string();
    (
        name.into(),
        text(&key),
        text(&version),
        text(&correlation),
        client.into(),
        topics.into(),
        status.into(),
        None,
    )
}

#[test]
fn produce_requests_name_their_topics_in_v2_v7_and_v9() {
    assert_eq!(
        rows("kafka/00-produce-v2.seg"),
        [row("Produce", 0, 2, 1, "console-producer", "topic2", "")]
    );
    assert_eq!(
        rows("kafka/00-produce-v7-sw8.seg"),
        [row(
            "Produce",
            0,
            7,
            1,
            "kafka-python-producer-1",
            "quickstart-events",
            ""
        )]
    );
    // v9 (flexible): compact topic array 02, name 09 "zqy-test" at offset 0x28 of the request.
    assert_eq!(
        rows("kafka/00-produce-v9.seg"),
        [row("Produce", 0, 9, 47, "console-producer", "zqy-test", "")]
    );
}

#[test]
fn fetch_v12_topics_and_top_level_error_code() {
    // Request: compact topic array 02, name 09 "zqy-test"; response error code 0 after throttle.
    assert_eq!(
        rows("kafka/01-fetch-v12-ok.seg"),
        [row(
            "Fetch",
            1,
            12,
            15603,
            "consumer-console-consumer-8919-1",
            "zqy-test",
            "0"
        )]
    );
    // Incremental fetch session: empty topic array (01); error 0x0000, and 0x1400 in the variant
    // DeepFlow edited to carry an unknown error code.
    let client = "consumer-console-consumer-84107-1";
    assert_eq!(
        rows("kafka/01-fetch-v12-perf.seg"),
        [row("Fetch", 1, 12, 20, client, "", "0")]
    );
    assert_eq!(
        rows("kafka/01-fetch-v12-unknown.seg"),
        [row("Fetch", 1, 12, 20, client, "", "5120")]
    );
}

#[test]
fn group_apis_with_flexible_response_headers() {
    assert_eq!(
        rows("kafka/11-join-group-v7.seg"),
        [row("JoinGroup", 11, 7, 120, "consumer-zzzz12-1", "", "-1")]
    );
    assert_eq!(
        rows("kafka/13-leave-group-v4.seg"),
        [row("LeaveGroup", 13, 4, 201, "consumer-zzzz12-1", "", "0")]
    );
    assert_eq!(
        rows("kafka/14-sync-group-v5.seg"),
        [row("SyncGroup", 14, 5, 120, "consumer-zzzz12-1", "", "-1")]
    );
}

#[test]
fn api_versions_response_header_is_never_flexible() {
    assert_eq!(
        rows("kafka/18-api-versions-v3.seg"),
        [row("ApiVersions", 18, 3, 2, "adminclient-1", "", "0")]
    );
}

#[test]
fn unsupported_versions_keep_their_header_and_pair_per_connection() {
    // Two connections; exchanges in the order their responses arrived (frames 4, 7, 9).
    // Fetch v13 names topics by id: header fields only; its error code 0 follows the throttle time.
    let client = "consumer-frauddetectionservice-1";
    assert_eq!(
        rows("kafka/mixed-with-unsupported.seg"),
        [
            row("OffsetCommit", 8, 8, 15551977, client, "", ""),
            row("Heartbeat", 12, 4, 15551978, client, "", "0"),
            row("Fetch", 1, 13, 15551976, client, "", "0"),
        ]
    );
}
