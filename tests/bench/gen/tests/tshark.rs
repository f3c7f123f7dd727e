//! The generated corpus as tshark sees it: every count in the summary, clean checksums and TCP analysis,
//! time order, and byte-identical output for the same seed.

use std::path::Path;
use std::process::Command;

use shark_bench_gen::{Config, Mix, Summary, generate};

/// Writes a corpus into `dir/name` and returns its summary.
fn corpus(dir: &Path, name: &str, config: &Config) -> (std::path::PathBuf, Summary) {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let summary = generate(config, std::io::BufWriter::new(file)).unwrap();
    (path, summary)
}

/// Frames of `pcap` matching the display filter, with checksum validation on.
fn tshark_count(pcap: &Path, filter: &str) -> u64 {
    let output = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark must be installed to check the corpus (apt-get install -y tshark)");
    assert!(
        output.status.success(),
        "tshark failed on {filter}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).lines().count() as u64
}

fn small(seed: u64, mix: &str) -> Config {
    Config {
        seed,
        size: 3_000_000,
        flows: 300,
        mix: mix.parse::<Mix>().unwrap(),
        ..Config::default()
    }
}

#[test]
fn tshark_counts_every_exchange_the_summary_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, s) = corpus(
        dir.path(),
        "mix.pcap",
        &small(42, "http=60,dns=15,redis=15,postgres=10"),
    );
    assert!(
        s.http.requests > 100
            && s.dns.queries > 20
            && s.redis.commands > 20
            && s.postgres.queries > 20
    );

    assert_eq!(tshark_count(&pcap, "frame"), s.packets);
    assert_eq!(tshark_count(&pcap, "http.request"), s.http.requests);
    assert_eq!(tshark_count(&pcap, "http.response"), s.http.requests);
    for (status, count) in &s.http.statuses {
        assert_eq!(
            tshark_count(&pcap, &format!("http.response.code == {status}")),
            *count,
            "status {status}"
        );
    }
    for (method, count) in &s.http.methods {
        assert_eq!(
            tshark_count(&pcap, &format!("http.request.method == \"{method}\"")),
            *count,
            "method {method}"
        );
    }
    assert_eq!(
        tshark_count(&pcap, "http.authorization matches \"^Token [0-9a-f]{32}$\""),
        s.http.authorization_token
    );
    assert_eq!(
        tshark_count(&pcap, "http.authorization matches \"^Bearer \""),
        s.http.authorization_bearer
    );
    assert_eq!(
        tshark_count(&pcap, "dns.flags.response == 0"),
        s.dns.queries
    );
    assert_eq!(
        tshark_count(&pcap, "dns.flags.response == 1"),
        s.dns.queries
    );
    assert_eq!(tshark_count(&pcap, "dns.flags.rcode == 3"), s.dns.nxdomain);
    assert_eq!(
        tshark_count(&pcap, "dns.qry.type == 28 && dns.flags.response == 0"),
        s.dns.aaaa
    );
    assert_eq!(
        tshark_count(&pcap, "resp && tcp.dstport == 6379"),
        s.redis.commands
    );
    assert_eq!(
        tshark_count(&pcap, "resp && tcp.srcport == 6379"),
        s.redis.commands
    );
    assert_eq!(
        tshark_count(&pcap, "pgsql.type == \"Simple query\""),
        s.postgres.queries
    );
    assert_eq!(
        tshark_count(&pcap, "pgsql.type == \"Startup message\""),
        s.postgres.sessions
    );
    assert_eq!(
        tshark_count(&pcap, "pgsql.type == \"Error\""),
        s.postgres.errors
    );
}

#[test]
fn every_frame_is_valid_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        flows: 2_000,
        exchanges_per_flow: 2,
        ..small(7, "http=1,dns=1,redis=1,postgres=1")
    };
    let (pcap, s) = corpus(dir.path(), "wire.pcap", &config);
    let bad = "ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\"";
    assert_eq!(tshark_count(&pcap, bad), 0, "checksums");
    assert_eq!(
        tshark_count(
            &pcap,
            "tcp.checksum.status == \"Good\" || udp.checksum.status == \"Good\""
        ),
        s.packets
    );
    assert_eq!(
        tshark_count(&pcap, "tcp.analysis.flags"),
        0,
        "sequence numbers, retransmissions, reused ports"
    );
    assert_eq!(
        tshark_count(&pcap, "_ws.expert.severity >= \"warning\" || _ws.malformed"),
        0
    );
    assert_eq!(
        tshark_count(&pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 0"),
        s.tcp_connections
    );
    assert_eq!(
        tshark_count(&pcap, "tcp.flags.fin == 1"),
        2 * s.tcp_connections,
        "every connection closes"
    );
    assert_eq!(tshark_count(&pcap, "frame.time_delta < 0"), 0, "time order");
}

#[test]
fn every_flow_slot_is_open_at_once() {
    let config = Config {
        flows: 5_000,
        exchanges_per_flow: 4,
        ..small(8, "http=1,redis=1,postgres=1")
    };
    let summary = generate(&config, std::io::sink()).unwrap();
    assert_eq!(summary.peak_open_connections, 5_000);
}

#[test]
fn the_corpus_spans_the_requested_window() {
    let config = Config {
        duration_ns: 6 * 3_600_000_000_000,
        ..small(3, "http=3,dns=1")
    };
    let summary = generate(&config, std::io::sink()).unwrap();
    assert_eq!(summary.first_ns, config.start_ns);
    let span = summary.last_ns - summary.first_ns;
    assert!(
        span > config.duration_ns * 99 / 100 && span < config.duration_ns + 60_000_000_000,
        "span {span}"
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let one = |seed| {
        let mut out = Vec::new();
        generate(
            &Config {
                size: 400_000,
                ..small(seed, "http=1,dns=1,redis=1,postgres=1")
            },
            &mut out,
        )
        .unwrap();
        out
    };
    assert_eq!(one(5), one(5));
    assert_ne!(one(5), one(6));
}

#[test]
fn the_summary_matches_the_file() {
    let mut out = Vec::new();
    let summary = generate(&small(9, "redis"), &mut out).unwrap();
    assert_eq!(summary.bytes, out.len() as u64);
    assert!(summary.bytes >= 3_000_000);
    assert_eq!(
        summary.http.requests + summary.dns.queries + summary.postgres.queries,
        0
    );
}

#[test]
fn configurations_it_cannot_honour_are_refused() {
    assert!(
        generate(
            &Config {
                flows: 0,
                ..Config::default()
            },
            std::io::sink()
        )
        .is_err()
    );
    assert!(
        generate(
            &Config {
                flows: shark_bench_gen::MAX_FLOWS + 1,
                ..Config::default()
            },
            std::io::sink()
        )
        .is_err()
    );
    let late = Config {
        start_ns: 4_294_900_000 * 1_000_000_000,
        ..Config::default()
    };
    assert!(generate(&late, std::io::sink()).is_err());
}
