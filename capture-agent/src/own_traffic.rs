//! The agent's own API traffic, left out of capture: the API carries the cluster-wide bearer
//! token in every request (the kubelet's probes every 10 s, the plugin's calls), and a store that
//! captured it would hand the token to anyone given an exported PCAP.
//!
//! What identifies that traffic is the agent's listening socket on this node: TCP whose one end is
//! the address and port the API is bound to. The exclusion goes first in the BPF program, before
//! the user's own filter, so it holds whatever that filter says, even one with `vlan` or `mpls`
//! (which shift the offsets every test after them reads).

use std::net::SocketAddr;

/// The BPF expression matching the API's traffic: TCP to or from `listen` (any local address
/// when it is unspecified, `0.0.0.0` or `::`, as BPF cannot list them).
pub fn api_traffic(listen: SocketAddr) -> String {
    let port = listen.port();
    if listen.ip().is_unspecified() {
        format!("tcp port {port}")
    } else {
        let ip = listen.ip();
        format!(
            "tcp and ((src host {ip} and src port {port}) or (dst host {ip} and dst port {port}))"
        )
    }
}

/// The capture filter: `user`'s (all traffic when none) without the API's traffic on `listen`.
pub fn capture_filter(user: Option<&str>, listen: SocketAddr) -> String {
    let own = api_traffic(listen);
    match user.map(str::trim).filter(|f| !f.is_empty()) {
        Some(user) => format!("not ({own}) and ({user})"),
        None => format!("not ({own})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libpcap compiles the filter for `linktype` (no capture needed: a dead handle).
    fn compiles(filter: &str, linktype: pcap::Linktype) -> bool {
        pcap::Capture::dead(linktype)
            .and_then(|dead| dead.compile(filter, true))
            .is_ok()
    }

    #[test]
    fn the_exclusion_comes_first_and_every_shape_compiles() {
        let node: SocketAddr = "10.0.0.5:8898".parse().expect("address");
        assert_eq!(
            capture_filter(Some("tcp port 80 or udp"), node),
            "not (tcp and ((src host 10.0.0.5 and src port 8898) or (dst host 10.0.0.5 and dst \
             port 8898))) and (tcp port 80 or udp)"
        );
        assert_eq!(
            capture_filter(None, "0.0.0.0:8898".parse().expect("address")),
            "not (tcp port 8898)"
        );
        for listen in ["10.0.0.5:8898", "[::1]:8898", "0.0.0.0:8898", "[::]:1"] {
            let listen: SocketAddr = listen.parse().expect("address");
            // Linux cooked frames (the agent's `any`), and Ethernet (one interface, VLANs).
            for user in [None, Some("tcp"), Some("udp or tcp port 80"), Some("  ")] {
                let filter = capture_filter(user, listen);
                assert!(compiles(&filter, pcap::Linktype::LINUX_SLL), "{filter}");
            }
            let filter = capture_filter(Some("vlan and tcp port 80"), listen);
            assert!(compiles(&filter, pcap::Linktype::ETHERNET), "{filter}");
        }
    }
}
