//! The planner: derives from each condition an index predicate it implies, and whether that
//! predicate is exact (equivalent) or only necessary.
//!
//! For a filter `c1 and c2 and …`, the index predicate is the conjunction of every `ci`'s
//! implied predicate and the residual is the conjunction of the `ci` whose predicate is not exact,
//! so `index and residual` selects exactly what the filter selects.

use crate::eval::Expr;
use crate::plan::{Column, IndexPredicate, Literal, Side};
use crate::record::PathSegment;
use crate::value::Value;

/// An index predicate implied by `expr`, and whether it is equivalent to `expr`.
pub fn implied(expr: &Expr) -> (IndexPredicate, bool) {
    match expr {
        Expr::Const(Value::Bool(true)) => (IndexPredicate::True, true),
        Expr::Protocol(protocol) => (protocol.index_predicate(), true),
        Expr::And(lhs, rhs) => {
            let ((lhs, lhs_exact), (rhs, rhs_exact)) = (implied(lhs), implied(rhs));
            (and(vec![lhs, rhs]), lhs_exact && rhs_exact)
        }
        Expr::Or(lhs, rhs) => {
            let ((lhs, lhs_exact), (rhs, rhs_exact)) = (implied(lhs), implied(rhs));
            (or(vec![lhs, rhs]), lhs_exact && rhs_exact)
        }
        Expr::Not(inner) => match implied(inner) {
            (predicate, true) => (IndexPredicate::Not(Box::new(predicate)), true),
            (_, false) => (IndexPredicate::True, false),
        },
        Expr::Compare { op, lhs, rhs } => match (&**lhs, &**rhs) {
            (Expr::Field(path), Expr::Const(value)) => column_literal(path, value).map_or(
                (IndexPredicate::True, false),
                |(column, value)| {
                    (
                        IndexPredicate::Cmp {
                            column,
                            op: *op,
                            value,
                        },
                        true,
                    )
                },
            ),
            _ => (IndexPredicate::True, false),
        },
        Expr::InList { operand, values } => {
            let Expr::Field(path) = &**operand else {
                return (IndexPredicate::True, false);
            };
            let Some(column) = column_of(path) else {
                return (IndexPredicate::True, false);
            };
            let literals: Option<Vec<Literal>> = values
                .iter()
                .map(|value| literal_for(column, value))
                .collect();
            match literals {
                Some(values) => (IndexPredicate::In { column, values }, true),
                None => (IndexPredicate::True, false),
            }
        }
        _ => (IndexPredicate::True, false),
    }
}

/// The conjunction, flattened, without `True`s.
pub fn and(items: Vec<IndexPredicate>) -> IndexPredicate {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            IndexPredicate::True => {}
            IndexPredicate::And(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    match flat.len() {
        0 => IndexPredicate::True,
        1 => flat.pop().unwrap_or(IndexPredicate::True),
        _ => IndexPredicate::And(flat),
    }
}

/// The disjunction, flattened; `True` if any part is.
fn or(items: Vec<IndexPredicate>) -> IndexPredicate {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            IndexPredicate::True => return IndexPredicate::True,
            IndexPredicate::Or(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if flat.len() == 1 {
        flat.pop().unwrap_or(IndexPredicate::True)
    } else {
        IndexPredicate::Or(flat)
    }
}

fn column_literal(path: &[PathSegment], value: &Value<'static>) -> Option<(Column, Literal)> {
    let column = column_of(path)?;
    Some((column, literal_for(column, value)?))
}

/// The indexed column a field path names.
fn column_of(path: &[PathSegment]) -> Option<Column> {
    let mut names = [""; 2];
    if path.is_empty() || path.len() > names.len() {
        return None;
    }
    for (slot, segment) in names.iter_mut().zip(path) {
        let PathSegment::Field(name) = segment else {
            return None;
        };
        *slot = name;
    }
    let side = |name: &str| match name {
        "src" => Some(Side::Src),
        "dst" => Some(Side::Dst),
        _ => None,
    };
    Some(match names {
        ["timestamp", ""] => Column::Timestamp,
        ["node", "name"] => Column::NodeName,
        ["protocol", "name"] => Column::ProtocolName,
        ["protocol", "version"] => Column::ProtocolVersion,
        ["request", "method"] => Column::Method,
        ["response", "status"] => Column::Status,
        [end, "ip"] => Column::Ip(side(end)?),
        [end, "port"] => Column::Port(side(end)?),
        [end, "name"] => Column::Name(side(end)?),
        [end, "namespace"] => Column::Namespace(side(end)?),
        [end, "pod"] => Column::Pod(side(end)?),
        [end, "service"] => Column::Service(side(end)?),
        _ => return None,
    })
}

/// The literal a column is compared with, when the value has the column's kind; values of another
/// kind (a float against a port, a number against a name) keep KFL's own conversion rules and stay
/// in the residual.
fn literal_for(column: Column, value: &Value<'static>) -> Option<Literal> {
    match (column, value) {
        (Column::Timestamp, Value::Time(nanos)) => Some(Literal::Int(*nanos)),
        (Column::Port(_) | Column::Status, Value::Int(n)) => Some(Literal::Int(*n)),
        (
            Column::NodeName
            | Column::ProtocolName
            | Column::ProtocolVersion
            | Column::Method
            | Column::Ip(_)
            | Column::Name(_)
            | Column::Namespace(_)
            | Column::Pod(_)
            | Column::Service(_),
            Value::Str(text),
        ) => Some(Literal::Str(text.to_string())),
        _ => None,
    }
}
