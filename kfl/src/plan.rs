//! What the planner hands the store: predicates an index can answer, plus the residual filter.

use std::fmt;

use crate::ast::write_string;
use crate::compare::compare;
use crate::record::{PathSegment, Record};
use crate::time::format_datetime;
use crate::value::Value;

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
/// (absent in the entry) makes `==` and ordering comparisons false and `!=` true. Every predicate
/// is therefore true or false, never unknown, and `Not` is plain negation (in SQL, translate
/// `col != v` as `(col IS NULL OR col != v)` and `col op v` as `COALESCE(col op v, 0)`).
/// `And(vec![])` is true and `Or(vec![])` is false.
///
/// `Display` prints it as KFL (`src.port == 80 and protocol.name in ["http", "grpc"]`).
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
    /// `column IN (..)` (from `x in [..]`); an empty list matches nothing.
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

impl Column {
    /// The KFL field the column holds, e.g. `src.namespace`.
    pub fn field(self) -> &'static str {
        let by_side = |side: Side, src: &'static str, dst: &'static str| {
            if side == Side::Src { src } else { dst }
        };
        match self {
            Column::Timestamp => "timestamp",
            Column::NodeName => "node.name",
            Column::Ip(side) => by_side(side, "src.ip", "dst.ip"),
            Column::Port(side) => by_side(side, "src.port", "dst.port"),
            Column::Name(side) => by_side(side, "src.name", "dst.name"),
            Column::Namespace(side) => by_side(side, "src.namespace", "dst.namespace"),
            Column::Pod(side) => by_side(side, "src.pod", "dst.pod"),
            Column::Service(side) => by_side(side, "src.service", "dst.service"),
            Column::ProtocolName => "protocol.name",
            Column::ProtocolVersion => "protocol.version",
            Column::Method => "request.method",
            Column::Status => "response.status",
        }
    }

    /// The record path of the column's field.
    pub fn path(self) -> Vec<PathSegment> {
        self.field()
            .split('.')
            .map(|name| PathSegment::Field(name.into()))
            .collect()
    }

    /// The value a literal stands for in this column (timestamps are times, not plain numbers).
    fn value(self, literal: &Literal) -> Value<'_> {
        match (self, literal) {
            (Column::Timestamp, Literal::Int(nanos)) => Value::Time(*nanos),
            (_, Literal::Int(n)) => Value::Int(*n),
            (_, Literal::Str(text)) => Value::Str(text.as_str().into()),
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

impl IndexPredicate {
    /// Evaluates the predicate on a record with KFL's rules: the reference semantics an index
    /// must reproduce.
    pub fn matches(&self, record: &dyn Record) -> bool {
        match self {
            IndexPredicate::True => true,
            IndexPredicate::Cmp { column, op, value } => {
                compare(*op, &record.get(&column.path()), &column.value(value))
            }
            IndexPredicate::In { column, values } => {
                let actual = record.get(&column.path());
                values
                    .iter()
                    .any(|value| compare(CmpOp::Eq, &actual, &column.value(value)))
            }
            IndexPredicate::And(items) => items.iter().all(|item| item.matches(record)),
            IndexPredicate::Or(items) => items.iter().any(|item| item.matches(record)),
            IndexPredicate::Not(inner) => !inner.matches(record),
        }
    }

    /// The inclusive time bounds `(from, to)` in nanoseconds that every matching entry's
    /// `timestamp` lies within; `None` where the predicate sets no bound.
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        match self {
            IndexPredicate::Cmp {
                column: Column::Timestamp,
                op,
                value: Literal::Int(t),
            } => match op {
                CmpOp::Eq => (Some(*t), Some(*t)),
                CmpOp::Gt => (t.checked_add(1), None),
                CmpOp::Ge => (Some(*t), None),
                CmpOp::Lt => (None, t.checked_sub(1)),
                CmpOp::Le => (None, Some(*t)),
                CmpOp::Ne => (None, None),
            },
            IndexPredicate::In {
                column: Column::Timestamp,
                values,
            } => {
                let times = values.iter().filter_map(|value| match value {
                    Literal::Int(t) => Some(*t),
                    Literal::Str(_) => None,
                });
                (times.clone().min(), times.max())
            }
            IndexPredicate::And(items) => items.iter().map(IndexPredicate::time_range).fold(
                (None, None),
                |(from, to), (f, t)| {
                    (
                        from.max(f),
                        match (to, t) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        },
                    )
                },
            ),
            IndexPredicate::Or(items) if !items.is_empty() => {
                let ranges: Vec<_> = items.iter().map(IndexPredicate::time_range).collect();
                let from = ranges
                    .iter()
                    .map(|(from, _)| *from)
                    .collect::<Option<Vec<_>>>()
                    .and_then(|f| f.into_iter().min());
                let to = ranges
                    .iter()
                    .map(|(_, to)| *to)
                    .collect::<Option<Vec<_>>>()
                    .and_then(|t| t.into_iter().max());
                (from, to)
            }
            _ => (None, None),
        }
    }

    fn is_compound(&self) -> bool {
        matches!(self, IndexPredicate::And(items) | IndexPredicate::Or(items) if items.len() > 1)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(text) => write_string(f, text),
            Literal::Int(n) => write!(f, "{n}"),
        }
    }
}

fn write_literal(f: &mut fmt::Formatter<'_>, column: Column, value: &Literal) -> fmt::Result {
    match (column, value) {
        (Column::Timestamp, Literal::Int(nanos)) => {
            write!(f, "datetime(\"{}\")", format_datetime(*nanos))
        }
        _ => write!(f, "{value}"),
    }
}

impl fmt::Display for IndexPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined =
            |f: &mut fmt::Formatter<'_>, items: &[IndexPredicate], word: &str| -> fmt::Result {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {word} ")?;
                    }
                    if item.is_compound() {
                        write!(f, "({item})")?
                    } else {
                        write!(f, "{item}")?
                    }
                }
                Ok(())
            };
        match self {
            IndexPredicate::True => f.write_str("true"),
            IndexPredicate::Cmp { column, op, value } => {
                write!(f, "{column} {} ", op.as_str())?;
                write_literal(f, *column, value)
            }
            IndexPredicate::In { column, values } => {
                write!(f, "{column} in [")?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_literal(f, *column, value)?;
                }
                f.write_str("]")
            }
            IndexPredicate::And(items) if items.is_empty() => f.write_str("true"),
            IndexPredicate::Or(items) if items.is_empty() => f.write_str("false"),
            IndexPredicate::And(items) => joined(f, items, "and"),
            IndexPredicate::Or(items) => joined(f, items, "or"),
            IndexPredicate::Not(inner) => write!(f, "not ({inner})"),
        }
    }
}
