//! Protocol words (`http`, `grpc`, `dns`, …): booleans read from `protocol.name` and `protocol.version`.

use std::sync::LazyLock;

use crate::compare::{CmpOp, View};
use crate::index::{IndexType, IndexedField, field_at};
use crate::plan::{IndexPredicate, Literal};
use crate::record::{PathSegment, Record};

/// A protocol word usable as a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `http`: protocol name `http`, any version (gRPC is not included).
    Http,
    /// `http1`: protocol name `http`, version `1.0` or `1.1`.
    Http1,
    /// `http2`: protocol name `http`, version `2` (as in Kubeshark, gRPC is not included).
    Http2,
    /// `gqlv1`: GraphQL over HTTP/1.x (protocol name `gql`, version `1.0` or `1.1`).
    Gql1,
    /// `gqlv2`: GraphQL over HTTP/2 (protocol name `gql`, version `2`).
    Gql2,
    /// `conn`, `flow`: a connection record, TCP or UDP (protocol name `tcp` or `udp`).
    Conn,
    /// A protocol known by its name alone (`grpc`, `dns`, `redis`, `gql`, …).
    Named(&'static str),
}

/// Every protocol word, as written.
pub const WORDS: &[&str] = &[
    "http",
    "http1",
    "http2",
    "grpc",
    "dns",
    "redis",
    "postgres",
    "postgresql",
    "kafka",
    "tls",
    "tlsx",
    "tcp",
    "udp",
    // Appended per protocol (issue 19).
    "mysql",
    "icmp",
    "amqp",
    "ws",
    "gql",
    "gqlv1",
    "gqlv2",
    "mongo",
    "mongodb",
    // Connection records (KFL2's L4 words; a flow here is a connection record too).
    "conn",
    "flow",
    "tcp_conn",
    "udp_conn",
    "tcp_flow",
    "udp_flow",
];

/// Words that name a protocol by another name than its `protocol.name`: KFL2's `postgresql` and
/// `mongodb`, `tlsx` for TLS handshakes (which this project names `tls`; `tls` keeps that meaning with a
/// warning, see the crate doc), and KFL2's per-transport connection and flow records.
const SYNONYMS: [(&str, &str); 7] = [
    ("postgresql", "postgres"),
    ("tlsx", "tls"),
    ("mongodb", "mongo"),
    ("tcp_conn", "tcp"),
    ("udp_conn", "udp"),
    ("tcp_flow", "tcp"),
    ("udp_flow", "udp"),
];

static NAME_PATH: LazyLock<[PathSegment; 2]> = LazyLock::new(|| {
    [
        PathSegment::Field("protocol".into()),
        PathSegment::Field("name".into()),
    ]
});
static VERSION_PATH: LazyLock<[PathSegment; 2]> = LazyLock::new(|| {
    [
        PathSegment::Field("protocol".into()),
        PathSegment::Field("version".into()),
    ]
});

impl Protocol {
    /// The protocol a word names, if it is one.
    pub fn from_word(word: &str) -> Option<Protocol> {
        match word {
            "http" => Some(Protocol::Http),
            "http1" => Some(Protocol::Http1),
            "http2" => Some(Protocol::Http2),
            "gqlv1" => Some(Protocol::Gql1),
            "gqlv2" => Some(Protocol::Gql2),
            "conn" | "flow" => Some(Protocol::Conn),
            _ => SYNONYMS
                .iter()
                .find(|(synonym, _)| *synonym == word)
                .map(|(_, name)| *name)
                .or_else(|| WORDS.iter().skip(3).find(|known| **known == word).copied())
                .map(Protocol::Named),
        }
    }

    /// Whether `record` is an exchange of this protocol.
    pub fn test(self, record: &dyn Record) -> bool {
        let name = record.get(&*NAME_PATH);
        let name = View::of(&name);
        let is = |wanted: &str| matches!(name, View::Str(actual) if actual == wanted);
        match self {
            Protocol::Http => is("http"),
            Protocol::Conn => is("tcp") || is("udp"),
            Protocol::Named(wanted) => is(wanted),
            Protocol::Http1 | Protocol::Http2 | Protocol::Gql1 | Protocol::Gql2 => {
                let version = record.get(&*VERSION_PATH);
                let version = View::of(&version);
                let version_is =
                    |wanted: &str| matches!(version, View::Str(actual) if actual == wanted);
                match self {
                    Protocol::Http1 => is("http") && (version_is("1.0") || version_is("1.1")),
                    Protocol::Gql1 => is("gql") && (version_is("1.0") || version_is("1.1")),
                    Protocol::Gql2 => is("gql") && version_is("2"),
                    _ => is("http") && version_is("2"),
                }
            }
        }
    }

    /// The same condition over the `protocol.name` and `protocol.version` fields of `index`;
    /// `None` unless both are declared, as text, answering `==`.
    pub fn index_predicate<F: IndexedField>(self, index: &[F]) -> Option<IndexPredicate<F>> {
        let text = |path: &[PathSegment]| {
            field_at(index, path)
                .filter(|field| field.ty() == IndexType::Text && field.supports(CmpOp::Eq))
        };
        let (name_field, version_field) = (text(&*NAME_PATH)?, text(&*VERSION_PATH)?);
        let name = |value: &str| IndexPredicate::Cmp {
            field: name_field,
            op: CmpOp::Eq,
            value: Literal::Str(value.to_string()),
        };
        let strings = |values: &[&str]| {
            values
                .iter()
                .map(|v| Literal::Str((*v).to_string()))
                .collect()
        };
        Some(match self {
            Protocol::Http => name("http"),
            Protocol::Conn => IndexPredicate::In {
                field: name_field,
                values: strings(&["tcp", "udp"]),
            },
            Protocol::Named(wanted) => name(wanted),
            Protocol::Http1 | Protocol::Gql1 => IndexPredicate::And(vec![
                name(if self == Protocol::Http1 {
                    "http"
                } else {
                    "gql"
                }),
                IndexPredicate::In {
                    field: version_field,
                    values: strings(&["1.0", "1.1"]),
                },
            ]),
            Protocol::Http2 | Protocol::Gql2 => IndexPredicate::And(vec![
                name(if self == Protocol::Http2 {
                    "http"
                } else {
                    "gql"
                }),
                IndexPredicate::Cmp {
                    field: version_field,
                    op: CmpOp::Eq,
                    value: Literal::Str("2".to_string()),
                },
            ]),
        })
    }
}
