//! PostgreSQL dissector over payloads extracted from the shared fixtures; expected queries, tags
//! and errors are tshark's pgsql dissection of the same captures (`tshark -r F [-d
//! tcp.port==8000,pgsql] -T fields -e pgsql.type -e pgsql.query -e pgsql.statement -e pgsql.tag
//! -e pgsql.code -e pgsql.message`), with one exchange per Sync/Query cycle.

use crate::segments::{field, run_all_chunkings};
use shark_pipeline::dissect::Exchange;
use shark_pipeline::dissect::postgres::PostgresDissector;

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(50)
        .collect()
}

/// type, first line of the query, status, tag, rows, error, code.
fn summary(e: &Exchange) -> (String, String, String, String, String, String, String) {
    (
        field(&e.request, "type"),
        first_line(&field(&e.request, "query")),
        field(&e.response, "status"),
        field(&e.response, "statusText"),
        field(&e.response, "rows"),
        field(&e.response, "error"),
        field(&e.response, "code"),
    )
}

#[test]
fn simple_query_with_command_tag() {
    let exchanges = run_all_chunkings(&PostgresDissector, "postgres/simple_query.seg");
    let got: Vec<_> = exchanges.iter().map(summary).collect();
    let want = ("simple", "delete  from test;", "0", "DELETE 1", "0", "", "");
    assert_eq!(
        got,
        [want].map(|w| (
            w.0.into(),
            w.1.into(),
            w.2.into(),
            w.3.into(),
            w.4.into(),
            w.5.into(),
            w.6.into()
        ))
    );
    assert_eq!(exchanges[0].error, None);
}

#[test]
fn error_response_gives_sqlstate_and_message() {
    let exchanges = run_all_chunkings(&PostgresDissector, "postgres/error.seg");
    assert_eq!(exchanges.len(), 1);
    let (kind, query, status, _, _, error, code) = summary(&exchanges[0]);
    assert_eq!(
        (kind.as_str(), query.as_str(), status.as_str()),
        ("simple", "asdsdfdsf;", "1")
    );
    assert_eq!(error, "syntax error at or near \"asdsdfdsf\"");
    assert_eq!(code, "42601");
}

#[test]
fn parse_describe_sync_cycle_is_one_exchange() {
    let exchanges = run_all_chunkings(&PostgresDissector, "postgres/prepare_stat.seg");
    let got: Vec<_> = exchanges.iter().map(summary).collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "extended");
    assert_eq!(got[0].1, "delete from test where id=$1 returning id");
    assert_eq!(got[0].3, "DELETE 0");
}

#[test]
fn extended_protocol_on_port_8000_mid_connection() {
    // Derived from tshark: one row per Sync; SQL from the cycle's Parse, or "" for statements
    // parsed before the capture began (S_18, S_56, …); tag of the last CommandComplete; DataRows.
    let want: &[(&str, &str, u32)] = &[
        ("SELECT 'x'", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        (
            "select * from mil.mil_t_itemapanage where 1=1 ",
            "SELECT 0",
            0,
        ),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        (
            "select      SERIAL_NO,POLICY_SERIAL_NO,POLICY_NO,P",
            "SELECT 1",
            1,
        ),
        (
            "SELECT * FROM t_liablityeffectnotice WHERE POLICYN",
            "SELECT 1",
            1,
        ),
        ("", "SELECT 6", 6),
        ("", "SELECT 0", 0),
        ("", "SELECT 0", 0),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("", "SELECT 1", 1),
        ("SELECT t1.tag_value_second,", "SELECT 0", 0),
        ("", "SELECT 1", 1),
        (
            "select policyNo,policyType,feeType, itemNo,itemNam",
            "SELECT 1",
            1,
        ),
        ("", "SELECT 1", 1),
    ];
    let exchanges = run_all_chunkings(&PostgresDissector, "postgres/pgsql-all.seg");
    let got: Vec<_> = exchanges
        .iter()
        .map(|e| {
            let (kind, query, status, tag, rows, _, _) = summary(e);
            assert_eq!(
                (kind.as_str(), status.as_str(), &e.error),
                ("extended", "0", &None)
            );
            (query, tag, rows)
        })
        .collect();
    let want: Vec<_> = want
        .iter()
        .map(|(q, t, r)| (q.to_string(), t.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, want);
    // The first cycle spans frames 1 (request) to 2 (ReadyForQuery).
    assert_eq!(
        (
            exchanges[0].start.map(|m| m.packet),
            exchanges[0].end.map(|m| m.packet)
        ),
        (Some(1), Some(2))
    );
}
