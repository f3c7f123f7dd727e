//! Turns the planner's [`IndexPredicate`] over [`IndexedColumn`]s into a parameterised SQL
//! condition over the `entries` table (alias `e`), with KFL's nil semantics: a NULL column makes
//! every comparison false, `!=` included. Text columns hold ids into the `names` table. A condition
//! on a column of `peers` (never NULL there) becomes `e.peer IN (the peers satisfying it)`, which
//! SQLite answers once per statement from the small `peers` table.

use kfl::{CmpOp, IndexPredicate, Literal};
use rusqlite::types::Value as SqlValue;

use super::columns::{IndexedColumn, Place, Storage};

/// A SQL condition and its parameters, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SqlCondition {
    /// The condition, with `?` placeholders.
    pub sql: String,
    /// Values for the placeholders.
    pub params: Vec<SqlValue>,
}

fn op_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

/// Translates `pred` into SQL.
pub(crate) fn to_sql(pred: &IndexPredicate<IndexedColumn>) -> SqlCondition {
    let mut cond = SqlCondition::default();
    write(pred, &mut cond);
    cond
}

fn write(pred: &IndexPredicate<IndexedColumn>, out: &mut SqlCondition) {
    match pred {
        IndexPredicate::True => out.sql.push('1'),
        IndexPredicate::Cmp { field, op, value } => in_table(field, out, |col, out| {
            write_cmp(field, col, *op, value, out)
        }),
        IndexPredicate::In { field, values } => {
            in_table(field, out, |col, out| write_in(field, col, values, out))
        }
        IndexPredicate::And(parts) => {
            // Conditions on `entries` columns first: SQLite tests them in order and they cost a
            // comparison, where a peer condition costs a probe of the peers list (a 1-minute
            // window of 28k rows: 1.7 ms with the status tested first, 3.1 ms with it second).
            let mut parts: Vec<_> = parts.iter().collect();
            parts.sort_by_key(|part| reads_peers(part));
            write_joined(&parts, " AND ", '1', out)
        }
        IndexPredicate::Or(parts) => {
            write_joined(&parts.iter().collect::<Vec<_>>(), " OR ", '0', out)
        }
        IndexPredicate::Not(inner) => {
            out.sql.push_str("(NOT ");
            write(inner, out);
            out.sql.push(')');
        }
    }
}

/// Whether `pred` reads a column of `peers`.
fn reads_peers(pred: &IndexPredicate<IndexedColumn>) -> bool {
    match pred {
        IndexPredicate::True => false,
        IndexPredicate::Cmp { field, .. } | IndexPredicate::In { field, .. } => {
            field.place == Place::Peer
        }
        IndexPredicate::And(parts) | IndexPredicate::Or(parts) => parts.iter().any(reads_peers),
        IndexPredicate::Not(inner) => reads_peers(inner),
    }
}

fn write_joined(
    parts: &[&IndexPredicate<IndexedColumn>],
    sep: &str,
    empty: char,
    out: &mut SqlCondition,
) {
    if parts.is_empty() {
        out.sql.push(empty);
        return;
    }
    out.sql.push('(');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.sql.push_str(sep);
        }
        write(part, out);
    }
    out.sql.push(')');
}

/// Writes the condition `cond` makes over column `c` (given its qualified name): straight over
/// `entries` for an entry column, through the peers satisfying it for a peer column.
fn in_table(c: &IndexedColumn, out: &mut SqlCondition, cond: impl FnOnce(&str, &mut SqlCondition)) {
    match c.place {
        Place::Entry => cond(&format!("e.{}", c.sql), out),
        Place::Peer => {
            out.sql
                .push_str("e.peer IN (SELECT p.id FROM peers p WHERE ");
            cond(&format!("p.{}", c.sql), out);
            out.sql.push(')');
        }
    }
}

fn write_cmp(c: &IndexedColumn, col: &str, op: CmpOp, value: &Literal, out: &mut SqlCondition) {
    let sql = match (c.storage, value) {
        // Never NULL: a plain comparison, so SQLite can use the (ts, id) key for time bounds.
        (Storage::Int, Literal::Int(v)) => {
            out.params.push(SqlValue::Integer(*v));
            format!("{col} {} ?", op_sql(op))
        }
        (Storage::NullableInt, Literal::Int(v)) => {
            out.params.push(SqlValue::Integer(*v));
            format!("coalesce({col} {} ?, 0)", op_sql(op))
        }
        // Names are compared NULL-safe whether or not the column may be NULL.
        (Storage::Name | Storage::NullableName, Literal::Str(s)) => {
            out.params.push(SqlValue::Text(s.clone()));
            match op {
                CmpOp::Eq => format!("coalesce({col} = (SELECT id FROM names WHERE s = ?), 0)"),
                // A name the `names` table lacks is no value's, so only NULL fails `!=`.
                CmpOp::Ne => format!(
                    "({col} IS NOT NULL AND NOT coalesce({col} = (SELECT id FROM names WHERE s = ?), 0))"
                ),
                _ => format!(
                    "coalesce((SELECT s FROM names WHERE id = {col}) {} ?, 0)",
                    op_sql(op)
                ),
            }
        }
        // A literal of the wrong type never equals the column, so only `!=` holds where it has a value.
        _ if op == CmpOp::Ne => format!("({col} IS NOT NULL)"),
        _ => "0".to_string(),
    };
    out.sql.push_str(&sql);
}

fn write_in(c: &IndexedColumn, col: &str, values: &[Literal], out: &mut SqlCondition) {
    let names = matches!(c.storage, Storage::Name | Storage::NullableName);
    let mut placeholders = Vec::new();
    for value in values {
        match (names, value) {
            (true, Literal::Str(s)) => out.params.push(SqlValue::Text(s.clone())),
            (false, Literal::Int(v)) => out.params.push(SqlValue::Integer(*v)),
            _ => continue,
        }
        placeholders.push("?");
    }
    if placeholders.is_empty() {
        out.sql.push('0');
        return;
    }
    let list = placeholders.join(", ");
    let sql = if names {
        format!("coalesce({col} IN (SELECT id FROM names WHERE s IN ({list})), 0)")
    } else {
        format!("coalesce({col} IN ({list}), 0)")
    };
    out.sql.push_str(&sql);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::columns::INDEXED_COLUMNS;

    fn column(path: &str) -> IndexedColumn {
        *INDEXED_COLUMNS
            .iter()
            .find(|c| kfl::IndexedField::path(*c) == path)
            .unwrap()
    }

    #[test]
    fn identity_and_status_become_one_condition() {
        let pred = IndexPredicate::And(vec![
            IndexPredicate::Cmp {
                field: column("dst.name"),
                op: CmpOp::Eq,
                value: Literal::Str("payments".into()),
            },
            IndexPredicate::Cmp {
                field: column("response.status"),
                op: CmpOp::Ge,
                value: Literal::Int(500),
            },
        ]);
        let cond = to_sql(&pred);
        assert_eq!(
            cond.sql,
            "(coalesce(e.status >= ?, 0) AND e.peer IN (SELECT p.id FROM peers p WHERE coalesce(p.dst_name = (SELECT id FROM names WHERE s = ?), 0)))"
        );
        assert_eq!(
            cond.params,
            vec![SqlValue::Integer(500), SqlValue::Text("payments".into())]
        );
    }

    #[test]
    fn not_equal_is_false_on_a_missing_value() {
        let ne = |path: &str, value: Literal| {
            to_sql(&IndexPredicate::Cmp {
                field: column(path),
                op: CmpOp::Ne,
                value,
            })
            .sql
        };
        assert_eq!(
            ne("response.status", Literal::Int(200)),
            "coalesce(e.status <> ?, 0)"
        );
        assert_eq!(
            ne("request.method", Literal::Str("GET".into())),
            "(e.method IS NOT NULL AND NOT coalesce(e.method = (SELECT id FROM names WHERE s = ?), 0))"
        );
    }

    #[test]
    fn mismatched_literals_only_satisfy_not_equal() {
        let ne = IndexPredicate::Cmp {
            field: column("response.status"),
            op: CmpOp::Ne,
            value: Literal::Str("x".into()),
        };
        assert_eq!(to_sql(&ne).sql, "(e.status IS NOT NULL)");
        let inn = IndexPredicate::In {
            field: column("dst.port"),
            values: vec![Literal::Str("x".into())],
        };
        assert_eq!(
            to_sql(&inn).sql,
            "e.peer IN (SELECT p.id FROM peers p WHERE 0)"
        );
    }
}
