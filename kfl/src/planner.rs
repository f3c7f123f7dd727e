//! The planner: derives from each condition an index predicate it implies over the fields the
//! host declared indexed, and whether that predicate is exact (equivalent) or only necessary.
//!
//! For a filter `c1 and c2 and …`, the index predicate is the conjunction of every `ci`'s
//! implied predicate and the residual is the conjunction of the `ci` whose predicate is not exact,
//! so `index and residual` selects exactly what the filter selects.

use crate::compare::CmpOp;
use crate::eval::Expr;
use crate::index::{IndexType, IndexedField, field_at};
use crate::plan::{IndexPredicate, Literal};
use crate::value::Value;

/// An index predicate over `index` implied by `expr`, and whether it is equivalent to `expr`.
pub fn implied<F: IndexedField>(expr: &Expr, index: &[F]) -> (IndexPredicate<F>, bool) {
    let unknown = (IndexPredicate::True, false);
    match expr {
        Expr::Const(Value::Bool(true)) => (IndexPredicate::True, true),
        Expr::Protocol(protocol) => protocol
            .index_predicate(index)
            .map_or(unknown, |predicate| (predicate, true)),
        Expr::And(lhs, rhs) => {
            let ((lhs, lhs_exact), (rhs, rhs_exact)) = (implied(lhs, index), implied(rhs, index));
            (and(vec![lhs, rhs]), lhs_exact && rhs_exact)
        }
        Expr::Or(lhs, rhs) => {
            let ((lhs, lhs_exact), (rhs, rhs_exact)) = (implied(lhs, index), implied(rhs, index));
            (or(vec![lhs, rhs]), lhs_exact && rhs_exact)
        }
        Expr::Not(inner) => match implied(inner, index) {
            (predicate, true) => (IndexPredicate::Not(Box::new(predicate)), true),
            (_, false) => unknown,
        },
        Expr::Compare { op, lhs, rhs } => {
            let (Expr::Field(path), Expr::Const(value)) = (&**lhs, &**rhs) else {
                return unknown;
            };
            let Some(field) = field_at(index, path).filter(|field| field.supports(*op)) else {
                return unknown;
            };
            literal_for(field, value).map_or(unknown, |value| {
                let op = *op;
                (IndexPredicate::Cmp { field, op, value }, true)
            })
        }
        Expr::InList { operand, values } => {
            let Expr::Field(path) = &**operand else {
                return unknown;
            };
            let Some(field) = field_at(index, path).filter(|field| field.supports(CmpOp::Eq))
            else {
                return unknown;
            };
            let literals: Option<Vec<Literal>> = values
                .iter()
                .map(|value| literal_for(field, value))
                .collect();
            literals.map_or(unknown, |values| {
                (IndexPredicate::In { field, values }, true)
            })
        }
        _ => unknown,
    }
}

/// The conjunction, flattened, without `True`s.
pub fn and<F>(items: Vec<IndexPredicate<F>>) -> IndexPredicate<F> {
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
fn or<F>(items: Vec<IndexPredicate<F>>) -> IndexPredicate<F> {
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

/// The literal a field is compared with, when the value has the field's type; values of another
/// kind (a float against a port, a number against a name) keep KFL's own conversion rules and stay
/// in the residual.
fn literal_for(field: impl IndexedField, value: &Value<'static>) -> Option<Literal> {
    match (field.ty(), value) {
        (IndexType::Time, Value::Time(nanos)) => Some(Literal::Int(*nanos)),
        (IndexType::Int, Value::Int(n)) => Some(Literal::Int(*n)),
        (IndexType::Text, Value::Str(text)) => Some(Literal::Str(text.to_string())),
        _ => None,
    }
}
