//! Names for external peers, learned from the DNS answers in the traffic itself.

use std::net::IpAddr;

use shark_store::Entry;

use super::SharedIdentities;
use crate::{Packet, Sink};

/// A sink that passes everything through and, for each DNS entry with answers, teaches the
/// identity history that the answered addresses go by the question's name from then on.
pub struct DnsLearningSink<S> {
    inner: S,
    identities: SharedIdentities,
}

impl<S> DnsLearningSink<S> {
    /// Wraps `inner`, learning into `identities`.
    pub fn new(inner: S, identities: SharedIdentities) -> Self {
        DnsLearningSink { inner, identities }
    }

    /// The wrapped sink.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The wrapped sink, to call it directly.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: Sink> Sink for DnsLearningSink<S> {
    type Error = S::Error;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, Self::Error> {
        self.inner.packet(packet, stream)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.inner.alloc_stream()
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error> {
        self.inner.handshake(stream, first, last)
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error> {
        self.inner.state_packets(stream, first, last)
    }

    fn entry(&mut self, entry: Entry) -> Result<(), Self::Error> {
        if entry.protocol.name == "dns" {
            let answered = answered_addresses(&entry);
            if !answered.is_empty() {
                self.identities.update(|history| {
                    for (ip, name) in &answered {
                        history.learn_dns(*ip, name, entry.timestamp);
                    }
                });
            }
        }
        self.inner.entry(entry)
    }
}

/// The (address, name) pairs a DNS entry answered: each address in `response.answers` under the first question.
fn answered_addresses(entry: &Entry) -> Vec<(IpAddr, String)> {
    let Some(name) = entry
        .request
        .get("questions")
        .and_then(|q| q.get(0))
        .and_then(|q| q.as_str())
    else {
        return Vec::new();
    };
    let Some(answers) = entry.response.get("answers").and_then(|a| a.as_array()) else {
        return Vec::new();
    };
    answers
        .iter()
        .filter_map(|a| a.as_str()?.parse::<IpAddr>().ok())
        .map(|ip| (ip, name.trim_end_matches('.').to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IdentityResolver, OnEntry};

    #[test]
    fn a_dns_answer_names_the_address_from_then_on() {
        let mut entry = Entry {
            timestamp: 500,
            ..Entry::default()
        };
        entry.protocol.name = "dns".into();
        entry
            .request
            .insert("questions".into(), serde_json::json!(["db.shop.example"]));
        entry.response.insert(
            "answers".into(),
            serde_json::json!(["10.1.2.3", "db-alias.example", "2001:db8::1"]),
        );
        let identities = SharedIdentities::default();
        let mut reached = 0;
        let mut sink = DnsLearningSink::new(OnEntry::new(|_| reached += 1), identities.clone());
        sink.entry(entry).expect("vec sink");
        assert_eq!(
            identities
                .resolve("10.1.2.3".parse().expect("ip"), 600)
                .map(|i| i.name),
            Some("db.shop.example".into())
        );
        assert_eq!(
            identities
                .resolve("2001:db8::1".parse().expect("ip"), 600)
                .map(|i| i.name),
            Some("db.shop.example".into())
        );
        assert_eq!(
            identities.resolve("10.1.2.3".parse().expect("ip"), 400),
            None,
            "not before the answer"
        );
        drop(sink);
        assert_eq!(reached, 1, "the entry still reaches the inner sink");
    }
}
