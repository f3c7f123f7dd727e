//! Keeps a secret out of the index: every text of an entry that contains it (a header value, a
//! path, a body prefix) has it replaced before the entry is stored.
//!
//! The node agent redacts its own API token. The token is one per cluster, so it crosses a node
//! not only in requests to that node's agent (which the agent leaves out of capture altogether)
//! but in the API server's proxied requests to every other agent, in port-forwards and in probes
//! aimed at another address. Matching the value catches it in any header (`Authorization: Bearer`,
//! `X-Shark-Token`, a custom one), on any port, in a URL, and never touches another credential.
//! The packets themselves stay as captured: PCAP is the source of truth.

use shark_store::{Entry, Message};

use crate::{Packet, Sink};

/// What stands where the secret was.
pub const REDACTED: &str = "[redacted]";

/// A sink that hands every entry on to `inner` with `secret` replaced by [`REDACTED`].
pub struct Redacting<S> {
    inner: S,
    secret: Option<String>,
}

impl<S> Redacting<S> {
    /// Passes entries through unchanged until [`redact`](Self::redact) names a secret.
    pub fn new(inner: S) -> Self {
        Redacting {
            inner,
            secret: None,
        }
    }

    /// Replaces `secret` in every entry from now on (an empty secret redacts nothing).
    pub fn redact(&mut self, secret: &str) {
        self.secret = (!secret.is_empty()).then(|| secret.to_string());
    }

    /// The wrapped sink.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the sink.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Sink> Sink for Redacting<S> {
    type Error = S::Error;

    fn packet(&mut self, packet: &Packet<'_>, stream: Option<u64>) -> Result<u64, S::Error> {
        self.inner.packet(packet, stream)
    }

    fn alloc_stream(&mut self) -> u64 {
        self.inner.alloc_stream()
    }

    fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), S::Error> {
        self.inner.handshake(stream, first, last)
    }

    fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), S::Error> {
        self.inner.state_packets(stream, first, last)
    }

    fn entry(&mut self, mut entry: Entry) -> Result<(), S::Error> {
        if let Some(secret) = &self.secret {
            redact_entry(&mut entry, secret);
        }
        self.inner.entry(entry)
    }
}

/// Replaces `secret` (not empty) in every text of `entry`: what [`Redacting`] does to each entry,
/// and what every re-dissection of a redacting writer's packets must do too.
pub(crate) fn redact_entry(entry: &mut Entry, secret: &str) {
    redact_message(&mut entry.request, secret);
    redact_message(&mut entry.response, secret);
    if let Some(error) = entry.error.as_mut() {
        redact_text(error, secret);
    }
}

/// Replaces `secret` in every text of `message`, header names and values included.
fn redact_message(message: &mut Message, secret: &str) {
    rename_keys(message, secret);
    // Without recursion: a JSON value of hostile depth must not take the stack.
    let mut pending: Vec<&mut serde_json::Value> = message.values_mut().collect();
    while let Some(value) = pending.pop() {
        match value {
            serde_json::Value::String(text) => redact_text(text, secret),
            serde_json::Value::Array(items) => pending.extend(items.iter_mut()),
            serde_json::Value::Object(map) => {
                rename_keys(map, secret);
                pending.extend(map.values_mut());
            }
            _ => {}
        }
    }
}

/// Replaces `secret` in the names of `map`'s members.
fn rename_keys(map: &mut Message, secret: &str) {
    let names: Vec<String> = map
        .keys()
        .filter(|name| name.contains(secret))
        .cloned()
        .collect();
    for name in names {
        if let Some(value) = map.remove(&name) {
            map.insert(name.replace(secret, REDACTED), value);
        }
    }
}

fn redact_text(text: &mut String, secret: &str) {
    if text.contains(secret) {
        *text = text.replace(secret, REDACTED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-token-0123456789abcdef";

    /// Keeps the entries, and the handshake and state spans, it is given.
    #[derive(Default)]
    struct Kept(Vec<Entry>, Vec<(&'static str, u64, u64, u64)>);

    impl Sink for Kept {
        type Error = std::convert::Infallible;
        fn packet(&mut self, _: &Packet<'_>, _: Option<u64>) -> Result<u64, Self::Error> {
            Ok(0)
        }
        fn alloc_stream(&mut self) -> u64 {
            0
        }
        fn handshake(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error> {
            self.1.push(("handshake", stream, first, last));
            Ok(())
        }
        fn state_packets(&mut self, stream: u64, first: u64, last: u64) -> Result<(), Self::Error> {
            self.1.push(("state", stream, first, last));
            Ok(())
        }
        fn entry(&mut self, entry: Entry) -> Result<(), Self::Error> {
            self.0.push(entry);
            Ok(())
        }
    }

    #[test]
    fn handshakes_and_state_packets_reach_the_store_through_it() {
        // An HTTP/2 exchange exported alone needs its connection's state packets: a wrapper that
        // dropped them made such exports undecodable.
        let mut sink = Redacting::new(Kept::default());
        sink.redact(SECRET);
        sink.handshake(7, 1, 3).expect("kept");
        sink.state_packets(7, 4, 6).expect("kept");
        assert_eq!(
            sink.into_inner().1,
            [("handshake", 7, 1, 3), ("state", 7, 4, 6)]
        );
    }

    fn entry_with(request: serde_json::Value) -> Entry {
        Entry {
            request: request.as_object().cloned().unwrap_or_default(),
            ..Entry::default()
        }
    }

    #[test]
    fn the_secret_is_replaced_wherever_it_is_and_nothing_else_changes() {
        let request = serde_json::json!({
            "path": format!("/v1/status?token={SECRET}"),
            "headers": {
                "Authorization": format!("Bearer {SECRET}"),
                "X-Shark-Token": SECRET,
                "X-Other": ["a", SECRET],
                "Cookie": "session=abc",
            },
        });
        let mut sink = Redacting::new(Kept::default());
        sink.redact(SECRET);
        sink.entry(entry_with(request)).expect("kept");
        let kept = serde_json::to_string(&sink.into_inner().0).expect("json");
        assert!(!kept.contains(SECRET), "{kept}");
        assert!(
            kept.contains(r#""Authorization":"Bearer [redacted]""#),
            "{kept}"
        );
        assert!(kept.contains(r#""X-Shark-Token":"[redacted]""#), "{kept}");
        assert!(kept.contains(r#""Cookie":"session=abc""#), "{kept}");
        assert!(kept.contains("/v1/status?token=[redacted]"), "{kept}");
    }

    #[test]
    fn without_a_secret_entries_pass_unchanged() {
        let request = serde_json::json!({"headers": {"Authorization": format!("Bearer {SECRET}")}});
        let mut sink = Redacting::new(Kept::default());
        sink.redact("");
        sink.entry(entry_with(request.clone())).expect("kept");
        assert_eq!(sink.into_inner().0, vec![entry_with(request)]);
    }
}
