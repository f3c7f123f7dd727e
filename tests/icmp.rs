//! ICMP end to end: real `ping`, `ping -6`, `ping -t 1` through a router and a datagram to a
//! closed UDP port, captured by `tests/protocols/icmp.sh` in network namespaces, imported, and
//! every entry compared with tshark's `icmp.*` / `icmpv6.*` dissection of the same capture: echo
//! pairs with their latency, time exceeded answering the request it quotes, and port unreachable
//! filed under the UDP flow it reports.

use std::path::Path;
use std::process::Command;

use crate::fields::assert_every_field_listed;
use crate::util::{import, query_json, run_ok, text, tshark, workspace};

/// One frame as tshark reads it.
struct Frame {
    number: u64,
    /// `ip.src` (the outer one first).
    src: String,
    /// `icmp.type` or `icmpv6.type` (the outer one first).
    kind: String,
    /// The echo sequence number.
    seq: String,
    /// The frame of the reply (`icmp.resp_in`), two-pass.
    resp_in: String,
    /// The reply's `resptime` in ms.
    resptime: String,
    /// `udp.srcport` (a quoted datagram's too).
    udp_src: String,
}

fn frames(capture: &Path) -> Vec<Frame> {
    let fields = [
        "frame.number",
        "ip.src",
        "icmp.type",
        "icmp.seq",
        "icmp.resp_in",
        "icmp.resptime",
        "icmpv6.type",
        "icmpv6.echo.sequence_number",
        "icmpv6.resp_in",
        "icmpv6.resptime",
        "udp.srcport",
    ];
    let mut args = vec!["-2", "-r", capture.to_str().expect("utf-8"), "-T", "fields"];
    for field in fields {
        args.extend(["-e", field]);
    }
    let first = |s: &String| s.split(',').next().unwrap_or_default().to_string();
    tshark(&args)
        .into_iter()
        .filter_map(|row| {
            let [
                number,
                src,
                kind,
                seq,
                resp_in,
                resptime,
                kind6,
                seq6,
                resp_in6,
                resptime6,
                udp_src,
            ] = &row[..]
            else {
                return None;
            };
            let or = |a: &String, b: &String| if a.is_empty() { b.clone() } else { a.clone() };
            Some(Frame {
                number: number.parse().ok()?,
                src: first(src),
                kind: first(&or(kind, kind6)),
                seq: or(seq, seq6),
                resp_in: or(resp_in, resp_in6),
                resptime: or(resptime, resptime6),
                udp_src: udp_src.clone(),
            })
        })
        .collect()
}

#[test]
fn icmp_entries_say_what_tshark_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("icmp.pcap");
    run_ok(
        Command::new("bash")
            .arg(workspace().join("tests/protocols/icmp.sh"))
            .arg(&capture)
            .env(
                "SHARK_CLUSTER",
                format!("ic{}", std::process::id() % 100_000),
            ),
    );
    let store = dir.path().join("store");
    import(&store, &capture, "node-a");
    let entries = query_json(&store, &["icmp"]);
    let frames = frames(&capture);
    let entry_at = |first: u64| {
        entries
            .iter()
            .find(|e| e["packets"]["first"].as_u64() == Some(first))
            .unwrap_or_else(|| panic!("no entry starts at frame {first}: {entries:#?}"))
    };

    let mut expected = 0;
    let mut unreachable = 0;
    for frame in &frames {
        match frame.kind.as_str() {
            // Echo requests: paired with the reply tshark pairs them with, at its latency.
            "8" | "128" => {
                expected += 1;
                let entry = entry_at(frame.number);
                let context = entry.to_string();
                assert_eq!(text(&entry["request"]["type"]), "echo-request", "{context}");
                assert_eq!(entry["request"]["seq"].to_string(), frame.seq, "{context}");
                let version = if frame.kind == "8" { "4" } else { "6" };
                assert_eq!(text(&entry["protocol"]["version"]), version, "{context}");
                if frame.resp_in.is_empty() {
                    // Unanswered: the router's time exceeded answers it instead (unless the
                    // kernel's ICMP budget dropped it: then nothing did, as tshark sees too).
                    let last = entry["packets"]["last"].as_u64().expect("last");
                    if last == frame.number {
                        let error = text(&entry["error"]);
                        assert!(error.starts_with("no response"), "{context}");
                        continue;
                    }
                    let error = frames
                        .iter()
                        .find(|f| f.number == last)
                        .expect("the answer's frame");
                    assert_eq!(error.kind, "11", "{context}");
                    assert_eq!(
                        text(&entry["response"]["type"]),
                        "time-exceeded",
                        "{context}"
                    );
                    assert_eq!(text(&entry["response"]["from"]), error.src, "{context}");
                    assert_eq!(
                        text(&entry["error"]),
                        "time to live exceeded in transit",
                        "{context}"
                    );
                } else {
                    assert_eq!(
                        entry["packets"]["last"].to_string(),
                        frame.resp_in,
                        "{context}"
                    );
                    assert_eq!(text(&entry["response"]["type"]), "echo-reply", "{context}");
                    assert!(entry["error"].is_null(), "{context}");
                    let reply = frames
                        .iter()
                        .find(|f| f.resp_in.is_empty() && f.number.to_string() == frame.resp_in)
                        .expect("reply");
                    let tshark_ms: f64 = reply.resptime.parse().expect("resptime");
                    let ms = entry["elapsedTime"].as_f64().expect("elapsedTime");
                    assert!(
                        (ms - tshark_ms).abs() < 0.001,
                        "latency {ms} ms, tshark {tshark_ms} ms"
                    );
                }
            }
            // Port unreachable: an entry of the UDP flow it reports, in that flow's stream.
            "3" => {
                expected += 1;
                let entry = entry_at(frame.number);
                let context = entry.to_string();
                assert_eq!(
                    text(&entry["request"]["type"]),
                    "destination-unreachable",
                    "{context}"
                );
                assert_eq!(
                    text(&entry["error"]),
                    format!("port unreachable (from {})", frame.src),
                    "{context}"
                );
                assert_eq!(entry["src"]["port"].to_string(), frame.udp_src, "{context}");
                assert_eq!(entry["dst"]["port"], 9999, "{context}");
                let udp = query_json(&store, &[&format!("udp and src.port == {}", frame.udp_src)]);
                assert_eq!(udp.len(), 1);
                assert_eq!(udp[0]["stream"], entry["stream"], "{context}");
                unreachable += 1;
            }
            _ => {}
        }
    }
    assert_eq!(entries.len(), expected, "{entries:#?}");
    // KFL2's names read the same entries.
    assert_eq!(query_json(&store, &["icmp_version == 6"]).len(), 3);
    assert_eq!(
        query_json(&store, &[r#"icmp_type == "destination-unreachable""#]).len(),
        unreachable
    );
    assert_every_field_listed(&entries);
    // The kernel's host-wide ICMP error budget, shared with other tests running at once, may drop
    // an error; the echoes are always there, and one of the three datagrams at least is answered.
    assert!(
        expected >= 9 && unreachable >= 1,
        "three pings, three pings over IPv6, two past their TTL, a datagram answered; tshark: {:?}",
        frames
            .iter()
            .map(|f| format!("{} {} {}", f.number, f.kind, f.seq))
            .collect::<Vec<_>>()
    );
}
