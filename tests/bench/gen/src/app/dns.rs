//! DNS over UDP: one A or AAAA question per query; answers, or NXDOMAIN for names that do not exist.

use serde::Serialize;

use super::{pick, push_num};
use crate::rng::Rng;

/// What the DNS traffic of a corpus holds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DnsCounts {
    /// Queries sent; each gets exactly one response.
    pub queries: u64,
    /// Responses with rcode NXDOMAIN (3).
    pub nxdomain: u64,
    /// Questions of type AAAA (the rest are A).
    pub aaaa: u64,
}

const SERVICES: &[&str] = &[
    "web", "api", "payments", "redis", "db", "checkout", "cart", "search",
];
const NAMESPACES: &[&str] = &["shop", "kube-system", "monitoring"];
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;

/// Writes one query into `query` and its response into `response`, and counts them.
pub(crate) fn exchange(
    rng: &mut Rng,
    query: &mut Vec<u8>,
    response: &mut Vec<u8>,
    counts: &mut DnsCounts,
) {
    query.clear();
    response.clear();
    let id = rng.below(1 << 16) as u16;
    let qtype = if rng.percent(20) { TYPE_AAAA } else { TYPE_A };
    let missing = rng.percent(10);

    let mut name = Vec::with_capacity(64);
    if missing {
        name.extend_from_slice(b"nosuch-");
        push_num(&mut name, rng.below(1_000));
    } else {
        name.extend_from_slice(pick(rng, SERVICES).as_bytes());
    }
    name.push(b'.');
    name.extend_from_slice(pick(rng, NAMESPACES).as_bytes());
    name.extend_from_slice(b".svc.cluster.local");

    for (out, flags, answers) in [(&mut *query, 0x0100u16, 0u16), (&mut *response, 0, 0)] {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // questions
        out.extend_from_slice(&answers.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]); // authority, additional
        push_name(out, &name);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes()); // class IN
    }
    // The response header: QR, RD, RA, and the rcode; one answer unless NXDOMAIN.
    let (flags, answers): (u16, u16) = if missing { (0x8183, 0) } else { (0x8180, 1) };
    if let Some(field) = response.get_mut(2..4) {
        field.copy_from_slice(&flags.to_be_bytes());
    }
    if let Some(field) = response.get_mut(6..8) {
        field.copy_from_slice(&answers.to_be_bytes());
    }
    if !missing {
        response.extend_from_slice(&[0xC0, 0x0C]); // pointer to the question's name
        response.extend_from_slice(&qtype.to_be_bytes());
        response.extend_from_slice(&1u16.to_be_bytes());
        response.extend_from_slice(&30u32.to_be_bytes()); // TTL
        let host = rng.between(2, 250) as u8;
        if qtype == TYPE_AAAA {
            response.extend_from_slice(&16u16.to_be_bytes());
            response
                .extend_from_slice(&[0xfd, 0, 0x10, 0x96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host]);
        } else {
            response.extend_from_slice(&4u16.to_be_bytes());
            response.extend_from_slice(&[10, 96, 0, host]);
        }
    }

    counts.queries += 1;
    counts.nxdomain += u64::from(missing);
    counts.aaaa += u64::from(qtype == TYPE_AAAA);
}

/// A dotted name as DNS labels (every label here is shorter than 64 bytes).
fn push_name(out: &mut Vec<u8>, dotted: &[u8]) {
    for label in dotted.split(|b| *b == b'.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_repeats_the_question_and_answers_or_fails() {
        let mut rng = Rng::new(5);
        let (mut query, mut response) = (Vec::new(), Vec::new());
        let mut counts = DnsCounts::default();
        for _ in 0..500 {
            exchange(&mut rng, &mut query, &mut response, &mut counts);
            assert_eq!(query[0..2], response[0..2], "same id");
            assert_eq!(query[12..], response[12..query.len()], "same question");
            let rcode = response[3] & 0x0F;
            let answers = u16::from_be_bytes([response[6], response[7]]);
            assert_eq!(answers, u16::from(rcode == 0));
        }
        assert_eq!(counts.queries, 500);
        assert!(counts.nxdomain > 0 && counts.nxdomain < 500);
    }
}
