//! DNS dissector over payloads extracted from the shared fixtures; expected values are tshark's
//! dissection of the same captures (`tshark -r F -T fields -e dns.id -e dns.qry.name -e dns.qry.type
//! -e dns.flags.rcode`, answers from `-V`).

use crate::segments::{field, load, run, run_all_chunkings};
use shark_pipeline::dissect::Exchange;
use shark_pipeline::dissect::dns::DnsDissector;

/// One expected exchange: id, question, qtype, rcode, rcode text, answers.
type Expected<'a> = (u16, &'a str, &'a str, u16, &'a str, &'a [&'a str]);

fn check(exchanges: &[Exchange], expected: &[Expected<'_>]) {
    let got: Vec<_> = exchanges
        .iter()
        .map(|e| {
            (
                field(&e.request, "id"),
                field(&e.request, "questions"),
                field(&e.request, "qtype"),
                field(&e.response, "status"),
                field(&e.response, "statusText"),
                field(&e.response, "answers"),
                e.error.clone(),
            )
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|(id, q, t, rcode, text, answers)| {
            (
                id.to_string(),
                q.to_string(),
                t.to_string(),
                rcode.to_string(),
                text.to_string(),
                answers.join(","),
                None,
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn udp_query_and_response_are_paired_with_answer_section_only() {
    let exchanges = run(&DnsDissector, &load("dns/a-and-ns.seg"), None);
    let name = "aa.bb.cc.ddd.eee.fff.zqytest.com";
    check(
        &exchanges,
        &[
            (0x3199, name, "A", 0, "NOERROR", &["10.50.71.5"]),
            (0x1cf4, name, "AAAA", 0, "NOERROR", &[]),
        ],
    );
    let first = &exchanges[0];
    assert_eq!(first.start.map(|m| m.packet), Some(1));
    assert_eq!(first.end.map(|m| m.packet), Some(2));
}

#[test]
fn tcp_length_framing_survives_any_chunking() {
    let exchanges = run_all_chunkings(&DnsDissector, "dns/dns.seg");
    check(
        &exchanges,
        &[
            (0xdfe3, "guoyongxin.com", "A", 3, "NXDOMAIN", &[]),
            (0xecd4, "yunshan.net.cn", "A", 0, "NOERROR", &[]),
        ],
    );
}

#[test]
fn nxdomain_and_answers_over_tcp() {
    let exchanges = run_all_chunkings(&DnsDissector, "dns/nxdomain.seg");
    check(
        &exchanges,
        &[
            (
                0x680c,
                "prod-fcdt-e02.int.frontnode.net",
                "AAAA",
                3,
                "NXDOMAIN",
                &[],
            ),
            (
                0xe822,
                "dockerauth-ee-vpc.cn-shenzhen.aliyuncs.com",
                "A",
                0,
                "NOERROR",
                &["100.103.26.52"],
            ),
            (
                0x7054,
                "registry.yingmi-inc.com.monitor.svc.cluster.local",
                "AAAA",
                3,
                "NXDOMAIN",
                &[],
            ),
        ],
    );
}

#[test]
fn two_queries_in_one_segment_are_paired_by_id() {
    let exchanges = run_all_chunkings(&DnsDissector, "dns/dns-tcp-multi.seg");
    let name = "details.deepflow-ebpf-istio-demo.svc.cluster.local";
    check(
        &exchanges,
        &[
            (0xe831, name, "A", 0, "NOERROR", &["192.168.59.22"]),
            (0x5939, name, "AAAA", 0, "NOERROR", &[]),
        ],
    );
}

#[test]
fn srv_answer_is_rendered_as_text() {
    let exchanges = run_all_chunkings(&DnsDissector, "dns/not-handled-qtype.seg");
    let target = "deepflow-byconity-server.deepflow.svc.cluster.local";
    check(
        &exchanges,
        &[(
            0xc290,
            &format!("_PORT0._tcp.{target}"),
            "SRV",
            0,
            "NOERROR",
            &[&format!("0 100 9000 {target}")],
        )],
    );
}

#[test]
fn tcpdump_captures_over_udp_and_tcp() {
    let answers: &[&str] = &["192.139.46.66", "198.199.88.104"];
    let expected = [(0x5934, "www.tcpdump.org", "A", 0, "NOERROR", answers)];
    check(
        &run(&DnsDissector, &load("dns/tcpdump-dns_udp.seg"), None),
        &expected,
    );
    let expected = [(0x4319, "www.tcpdump.org", "A", 0, "NOERROR", answers)];
    check(
        &run_all_chunkings(&DnsDissector, "dns/tcpdump-dns_tcp.seg"),
        &expected,
    );
}

#[test]
fn dnssec_records_are_counted_and_qtypes_named() {
    let exchanges = run(&DnsDissector, &load("dns/tcpdump-dnssec.seg"), None);
    let summary: Vec<_> = exchanges
        .iter()
        .map(|e| {
            (
                field(&e.request, "qtype"),
                e.response["answers"].as_array().map_or(0, Vec::len),
                e.error.clone(),
            )
        })
        .collect();
    let sshfp = "SSHFP".to_string();
    assert_eq!(
        summary,
        [
            (sshfp.clone(), 3, None),
            ("A".into(), 1, None),
            (sshfp, 1, None)
        ]
    );
    assert_eq!(field(&exchanges[1].response, "answers"), "125.100.126.202");
}

#[test]
fn oversized_name_is_reported_as_malformed_response_with_its_rcode() {
    // tcpdump's dns-badlabel: a lone response (id 0xc980, rcode 15) whose name exceeds 255 bytes.
    let exchanges = run(&DnsDissector, &load("dns/tcpdump-dns-badlabel.seg"), None);
    assert_eq!(exchanges.len(), 1);
    let exchange = &exchanges[0];
    assert_eq!(field(&exchange.request, "id"), 0xc980.to_string());
    assert_eq!(field(&exchange.response, "status"), "15");
    assert!(
        exchange
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("malformed DNS message")),
        "{exchange:?}"
    );
}
