//! What the planner hands the store: predicates an index can answer, plus the residual filter.

use std::fmt;

use crate::ast::write_string;
use crate::compare::{CmpOp, compare};
use crate::index::{IndexType, IndexedField, record_path};
use crate::record::Record;
use crate::time::format_datetime;
use crate::value::Value;

/// A literal an index predicate compares a field with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Text, for a [`IndexType::Text`] field.
    Str(String),
    /// A number for an [`IndexType::Int`] field, nanoseconds for an [`IndexType::Time`] one.
    Int(i64),
}

/// A boolean expression over the fields a host declared indexed ([`IndexedField`]), with KFL's
/// semantics: a field that is NULL (absent in the record) makes every comparison false, `!=`
/// included, as in Kubeshark. Every predicate is therefore true or false, never unknown, and `Not`
/// is plain negation, so `not (col == v)` matches the entries without `col` (in SQL, translate
/// `col op v` as `COALESCE(col op v, 0)`). `And(vec![])` is true and `Or(vec![])` is false.
///
/// `Display` prints it as KFL (`src.port == 80 and protocol.name in ["http", "grpc"]`).
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPredicate<F> {
    /// Matches every entry.
    True,
    /// `field op literal`
    Cmp {
        /// The field compared.
        field: F,
        /// The operator.
        op: CmpOp,
        /// The value compared with.
        value: Literal,
    },
    /// `field IN (..)` (from `x in [..]`); an empty list matches nothing.
    In {
        /// The field compared.
        field: F,
        /// The accepted values.
        values: Vec<Literal>,
    },
    /// All must hold.
    And(Vec<IndexPredicate<F>>),
    /// At least one must hold.
    Or(Vec<IndexPredicate<F>>),
    /// Must not hold.
    Not(Box<IndexPredicate<F>>),
}

/// The value a literal stands for in `field` (times are times, not plain numbers).
fn value_of<'a>(field: &impl IndexedField, literal: &'a Literal) -> Value<'a> {
    match (field.ty(), literal) {
        (IndexType::Time, Literal::Int(nanos)) => Value::Time(*nanos),
        (_, Literal::Int(n)) => Value::Int(*n),
        (_, Literal::Str(text)) => Value::Str(text.as_str().into()),
    }
}

impl<F: IndexedField> IndexPredicate<F> {
    /// Evaluates the predicate on a record with KFL's rules: the reference semantics an index
    /// must reproduce.
    pub fn matches(&self, record: &dyn Record) -> bool {
        match self {
            IndexPredicate::True => true,
            IndexPredicate::Cmp { field, op, value } => compare(
                *op,
                &record.get(&record_path(field)),
                &value_of(field, value),
            ),
            IndexPredicate::In { field, values } => {
                let actual = record.get(&record_path(field));
                values
                    .iter()
                    .any(|value| compare(CmpOp::Eq, &actual, &value_of(field, value)))
            }
            IndexPredicate::And(items) => items.iter().all(|item| item.matches(record)),
            IndexPredicate::Or(items) => items.iter().any(|item| item.matches(record)),
            IndexPredicate::Not(inner) => !inner.matches(record),
        }
    }

    /// The inclusive bounds `(from, to)` in nanoseconds that the [`IndexType::Time`] field of
    /// every matching record lies within; `None` where the predicate sets no bound.
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        match self {
            IndexPredicate::Cmp {
                field,
                op,
                value: Literal::Int(t),
            } if field.ty() == IndexType::Time => match op {
                CmpOp::Eq => (Some(*t), Some(*t)),
                CmpOp::Gt => (t.checked_add(1), None),
                CmpOp::Ge => (Some(*t), None),
                CmpOp::Lt => (None, t.checked_sub(1)),
                CmpOp::Le => (None, Some(*t)),
                CmpOp::Ne => (None, None),
            },
            IndexPredicate::In { field, values } if field.ty() == IndexType::Time => {
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

fn write_literal(
    f: &mut fmt::Formatter<'_>,
    field: &impl IndexedField,
    value: &Literal,
) -> fmt::Result {
    match (field.ty(), value) {
        (IndexType::Time, Literal::Int(nanos)) => {
            write!(f, "datetime(\"{}\")", format_datetime(*nanos))
        }
        _ => write!(f, "{value}"),
    }
}

impl<F: IndexedField> fmt::Display for IndexPredicate<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined =
            |f: &mut fmt::Formatter<'_>, items: &[IndexPredicate<F>], word: &str| -> fmt::Result {
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
            IndexPredicate::Cmp { field, op, value } => {
                write!(f, "{} {} ", field.path(), op.as_str())?;
                write_literal(f, field, value)
            }
            IndexPredicate::In { field, values } => {
                write!(f, "{} in [", field.path())?;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_literal(f, field, value)?;
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
