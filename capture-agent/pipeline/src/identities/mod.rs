//! Who each address was, and when: the identity history behind every entry's `src` and `dst`.
//!
//! Kubernetes reuses pod IPs within minutes, so a plain IP → name map gives yesterday's traffic
//! today's names. [`IdentityHistory`] keeps, per address, the intervals during which each
//! identity held it; an entry asks for the identity at its own timestamp, also after the pod is
//! gone. Sources fill it: a file ([`load_identities_file`]) for local use, the Kubernetes watchers
//! (in `shark-agent`) in cluster mode, and DNS answers seen in the traffic itself ([`IdentityHistory::learn_dns`]),
//! which name external peers.

mod dns;
mod file;
mod history;

pub use dns::DnsLearningSink;
pub use file::{IdentitiesFileError, load_identities_file};
pub use history::{IdentityHistory, SharedIdentities};
