//! Redis dissector over payloads extracted from the shared fixtures; expected commands, keys and
//! replies are tshark's RESP dissection of the same captures (`tshark -r F -Y resp -T fields
//! -e resp.bulk_string.value -e resp.string -e resp.error -e resp.integer`) read per stream.

use crate::segments::{field, load, run, run_all_chunkings};
use shark_pipeline::dissect::Exchange;
use shark_pipeline::dissect::redis::RedisDissector;

/// command, key, response type, status, error of each exchange.
fn summary(exchanges: &[Exchange]) -> Vec<(String, String, String, String, Option<String>)> {
    exchanges
        .iter()
        .map(|e| {
            (
                field(&e.request, "command"),
                field(&e.request, "key"),
                field(&e.response, "type"),
                field(&e.response, "status"),
                e.error.clone(),
            )
        })
        .collect()
}

fn row(
    command: &str,
    key: &str,
    kind: &str,
    status: &str,
) -> (String, String, String, String, Option<String>) {
    (command.into(), key.into(), kind.into(), status.into(), None)
}

#[test]
fn error_reply_sets_status_and_text() {
    let exchanges = run_all_chunkings(&RedisDissector, "redis/redis-error.seg");
    assert_eq!(summary(&exchanges), [row("GET", "abcd", "error", "1")]);
    assert_eq!(
        field(&exchanges[0].response, "statusText"),
        "NOAUTH Authentication required."
    );
    assert_eq!(exchanges[0].start.map(|m| m.packet), Some(1));
    assert_eq!(exchanges[0].end.map(|m| m.packet), Some(2));
}

#[test]
fn benchmark_commands_inline_and_multibulk_with_every_reply_type() {
    let exchanges = run_all_chunkings(&RedisDissector, "redis/tcpdump-resp_1_benchmark.seg");
    assert_eq!(
        summary(&exchanges),
        [
            row("PING", "", "simple", "0"),
            row("PING", "", "simple", "0"),
            row("SET", "key:000000000943", "simple", "0"),
            row("GET", "key:000000000199", "bulk", "0"),
            row("INCR", "counter:000000000293", "integer", "0"),
            row("LPUSH", "mylist", "integer", "0"),
            row("LPOP", "mylist", "bulk", "0"),
            row("SADD", "myset", "integer", "0"),
            row("SPOP", "myset", "bulk", "0"),
            row("LPUSH", "mylist", "integer", "0"),
            row("LRANGE", "mylist", "array", "0"),
            row("LRANGE", "mylist", "array", "0"),
            row("LRANGE", "mylist", "array", "0"),
            row("LRANGE", "mylist", "array", "0"),
            row("MSET", "key:000000000525", "simple", "0"),
        ]
    );
    assert_eq!(field(&exchanges[0].response, "body"), "PONG");
    assert_eq!(
        field(&exchanges[8].response, "body"),
        "element:000000000063"
    );
    assert_eq!(field(&exchanges[4].response, "body"), "3");
    assert_eq!(field(&exchanges[10].request, "args"), "mylist,0,99");
}

#[test]
fn large_array_reply_spanning_segments() {
    let exchanges = run_all_chunkings(&RedisDissector, "redis/redis-debug.seg");
    assert_eq!(summary(&exchanges), [row("LRANGE", "mylist", "array", "0")]);
    assert_eq!(field(&exchanges[0].request, "args"), "mylist,0,299");
}

#[test]
fn pipelined_inline_commands_pair_in_order() {
    let exchanges = run_all_chunkings(&RedisDissector, "redis/tcpdump-resp_2_inline.seg");
    let lpush = row("LPUSH", "test3", "integer", "0");
    assert_eq!(
        summary(&exchanges),
        [
            row("SET", "test", "simple", "0"),
            row("INCR", "test", "integer", "0"),
            row("SET", "test2", "simple", "0"),
            row("GET", "test2", "bulk", "0"),
            lpush.clone(),
            lpush.clone(),
            lpush.clone(),
            lpush.clone(),
            lpush,
            row("LRANGE", "test3", "array", "0"),
            row("DEL", "test4", "integer", "0"),
            row("GET", "test4", "nil", "0"),
        ]
    );
    assert_eq!(field(&exchanges[3].response, "body"), "redis");
    assert_eq!(field(&exchanges[5].response, "body"), "171");
}

#[test]
fn malicious_requests_are_read_as_the_server_reads_them() {
    let exchanges = run(
        &RedisDissector,
        &load("redis/tcpdump-resp_3_malicious.seg"),
        None,
    );
    let got: Vec<_> = exchanges
        .iter()
        .map(|e| {
            (
                field(&e.request, "command"),
                field(&e.response, "statusText"),
                e.error.clone(),
            )
        })
        .collect();
    let unknown = |c: &str| (c.to_string(), format!("ERR unknown command '{c}'"), None);
    let incomplete = |c: &str| {
        (
            c.to_string(),
            String::new(),
            Some("incomplete request before the flow ended (end of capture)".to_string()),
        )
    };
    let pong = ("PING".to_string(), String::new(), None);
    let long =
        ":0392049029024920492304923049032940329402394092304932049230492034932094032940234902340";
    assert_eq!(
        got,
        [
            unknown("$0"),
            unknown("+"),
            unknown("-"),
            unknown(":"),
            unknown(long),
            (
                String::new(),
                "ERR Protocol error: invalid multibulk length".into(),
                Some("protocol error: invalid multibulk length".into())
            ),
            (
                String::new(),
                String::new(),
                Some("command array of length -20: ignored by the server".into())
            ),
            unknown("$-20"),
            ("HI".into(), "ERR unknown command 'hi'".into(), None),
            (
                String::new(),
                String::new(),
                Some("command array of length -1: ignored by the server".into())
            ),
            unknown("$-1"),
            ("INCR".into(), String::new(), None),
            ("INCR".into(), String::new(), None),
            ("INCR".into(), String::new(), None),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong.clone(),
            pong,
            // Lines never ended: reported when the flows close, after every fed segment.
            incomplete("+HELLO"),
            incomplete("-HELLO"),
            incomplete(":HELLO"),
        ]
    );
    let increments: Vec<_> = exchanges[11..14]
        .iter()
        .map(|e| field(&e.response, "body"))
        .collect();
    assert_eq!(increments, ["69", "70", "71"]);
}

#[test]
fn infinite_loop_capture_ends_with_unanswered_requests() {
    let exchanges = run_all_chunkings(&RedisDissector, "redis/tcpdump-resp_4_infiniteloop.seg");
    assert!(!exchanges.is_empty());
    assert!(
        exchanges
            .iter()
            .all(|e| e.error.is_some() && e.response.is_empty())
    );
}
