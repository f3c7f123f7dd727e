//! What the planner hands the store: predicates an index can answer, plus the residual filter.

/// A column the store indexes and can filter on without decoding entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// `timestamp` (nanoseconds since the epoch)
    Timestamp,
    /// `node.name`
    NodeName,
    /// `src.ip` / `dst.ip`
    Ip(Side),
    /// `src.port` / `dst.port`
    Port(Side),
    /// `src.name` / `dst.name`
    Name(Side),
    /// `src.namespace` / `dst.namespace`
    Namespace(Side),
    /// `src.pod` / `dst.pod`
    Pod(Side),
    /// `src.service` / `dst.service`
    Service(Side),
    /// `protocol.name`
    ProtocolName,
    /// `protocol.version`
    ProtocolVersion,
    /// `request.method`
    Method,
    /// `response.status`
    Status,
}

/// Which end of an exchange a column describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// `src`
    Src,
    /// `dst`
    Dst,
}

/// A comparison operator usable in index predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A literal an index predicate compares a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text (`Ip`, `Name`, `Namespace`, `Pod`, `Service`, `NodeName`, `ProtocolName`, `ProtocolVersion`, `Method`).
    Str(String),
    /// Number (`Port`, `Status`), or nanoseconds for `Timestamp`.
    Int(i64),
}

/// A boolean expression over indexed columns, with KFL's semantics: a column that is NULL
/// (absent in the entry) makes `==` and ordering comparisons false and `!=` true.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPredicate {
    /// Matches every entry.
    True,
    /// `column op literal`
    Cmp {
        /// The column compared.
        column: Column,
        /// The operator.
        op: CmpOp,
        /// The value compared with.
        value: Literal,
    },
    /// `column IN (..)` (from `x in [..]`).
    In {
        /// The column compared.
        column: Column,
        /// The accepted values.
        values: Vec<Literal>,
    },
    /// All must hold.
    And(Vec<IndexPredicate>),
    /// At least one must hold.
    Or(Vec<IndexPredicate>),
    /// Must not hold.
    Not(Box<IndexPredicate>),
}
