//! Turns the planner's [`IndexPredicate`] into a parameterised SQL condition over the `entries`
//! table (alias `e`), with KFL's nil semantics: a NULL column makes `==` and ordering false and
//! `!=` true. Text columns hold ids into the `names` table.

use kfl::{CmpOp, Column, IndexPredicate, Literal, Side};
use rusqlite::types::Value as SqlValue;

/// A SQL condition and its parameters, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SqlCondition {
    /// The condition, with `?` placeholders.
    pub sql: String,
    /// Values for the placeholders.
    pub params: Vec<SqlValue>,
}

/// How a column is stored.
enum Kind {
    /// An integer that is never NULL.
    Int,
    /// An integer that may be NULL.
    NullableInt,
    /// An id into `names`, may be NULL.
    Name,
}

fn column(c: Column) -> (&'static str, Kind) {
    let side =
        |s: Side, src: &'static str, dst: &'static str| if s == Side::Src { src } else { dst };
    match c {
        Column::Timestamp => ("e.ts", Kind::Int),
        Column::NodeName => ("e.node", Kind::Name),
        Column::Ip(s) => (side(s, "e.src_ip", "e.dst_ip"), Kind::Name),
        Column::Port(s) => (side(s, "e.src_port", "e.dst_port"), Kind::Int),
        Column::Name(s) => (side(s, "e.src_name", "e.dst_name"), Kind::Name),
        Column::Namespace(s) => (side(s, "e.src_ns", "e.dst_ns"), Kind::Name),
        Column::Pod(s) => (side(s, "e.src_pod", "e.dst_pod"), Kind::Name),
        Column::Service(s) => (side(s, "e.src_svc", "e.dst_svc"), Kind::Name),
        Column::ProtocolName => ("e.proto", Kind::Name),
        Column::ProtocolVersion => ("e.proto_ver", Kind::Name),
        Column::Method => ("e.method", Kind::Name),
        Column::Status => ("e.status", Kind::NullableInt),
    }
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
pub(crate) fn to_sql(pred: &IndexPredicate) -> SqlCondition {
    let mut cond = SqlCondition::default();
    write(pred, &mut cond);
    cond
}

fn write(pred: &IndexPredicate, out: &mut SqlCondition) {
    match pred {
        IndexPredicate::True => out.sql.push('1'),
        IndexPredicate::Cmp {
            column: c,
            op,
            value,
        } => write_cmp(*c, *op, value, out),
        IndexPredicate::In { column: c, values } => write_in(*c, values, out),
        IndexPredicate::And(parts) => write_joined(parts, " AND ", '1', out),
        IndexPredicate::Or(parts) => write_joined(parts, " OR ", '0', out),
        IndexPredicate::Not(inner) => {
            out.sql.push_str("(NOT ");
            write(inner, out);
            out.sql.push(')');
        }
    }
}

fn write_joined(parts: &[IndexPredicate], sep: &str, empty: char, out: &mut SqlCondition) {
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

fn write_cmp(c: Column, op: CmpOp, value: &Literal, out: &mut SqlCondition) {
    let (col, kind) = column(c);
    let sql = match (kind, value) {
        // Never NULL: a plain comparison, so SQLite can use the (ts, id) key for time bounds.
        (Kind::Int, Literal::Int(v)) => {
            out.params.push(SqlValue::Integer(*v));
            format!("{col} {} ?", op_sql(op))
        }
        (Kind::NullableInt, Literal::Int(v)) => {
            out.params.push(SqlValue::Integer(*v));
            match op {
                CmpOp::Ne => format!("(NOT coalesce({col} = ?, 0))"),
                _ => format!("coalesce({col} {} ?, 0)", op_sql(op)),
            }
        }
        (Kind::Name, Literal::Str(s)) => {
            out.params.push(SqlValue::Text(s.clone()));
            match op {
                CmpOp::Eq => format!("coalesce({col} = (SELECT id FROM names WHERE s = ?), 0)"),
                CmpOp::Ne => {
                    format!("(NOT coalesce({col} = (SELECT id FROM names WHERE s = ?), 0))")
                }
                _ => format!(
                    "coalesce((SELECT s FROM names WHERE id = {col}) {} ?, 0)",
                    op_sql(op)
                ),
            }
        }
        // A literal of the wrong type never equals the column, so only `!=` holds.
        _ => (if op == CmpOp::Ne { "1" } else { "0" }).to_string(),
    };
    out.sql.push_str(&sql);
}

fn write_in(c: Column, values: &[Literal], out: &mut SqlCondition) {
    let (col, kind) = column(c);
    let mut placeholders = Vec::new();
    for value in values {
        match (&kind, value) {
            (Kind::Name, Literal::Str(s)) => out.params.push(SqlValue::Text(s.clone())),
            (Kind::Int | Kind::NullableInt, Literal::Int(v)) => {
                out.params.push(SqlValue::Integer(*v))
            }
            _ => continue,
        }
        placeholders.push("?");
    }
    if placeholders.is_empty() {
        out.sql.push('0');
        return;
    }
    let list = placeholders.join(", ");
    let sql = match kind {
        Kind::Name => format!("coalesce({col} IN (SELECT id FROM names WHERE s IN ({list})), 0)"),
        Kind::Int | Kind::NullableInt => format!("coalesce({col} IN ({list}), 0)"),
    };
    out.sql.push_str(&sql);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_status_become_one_condition() {
        let pred = IndexPredicate::And(vec![
            IndexPredicate::Cmp {
                column: Column::Name(Side::Dst),
                op: CmpOp::Eq,
                value: Literal::Str("payments".into()),
            },
            IndexPredicate::Cmp {
                column: Column::Status,
                op: CmpOp::Ge,
                value: Literal::Int(500),
            },
        ]);
        let cond = to_sql(&pred);
        assert_eq!(
            cond.sql,
            "(coalesce(e.dst_name = (SELECT id FROM names WHERE s = ?), 0) AND coalesce(e.status >= ?, 0))"
        );
        assert_eq!(
            cond.params,
            vec![SqlValue::Text("payments".into()), SqlValue::Integer(500)]
        );
    }

    #[test]
    fn mismatched_literals_only_satisfy_not_equal() {
        let ne = IndexPredicate::Cmp {
            column: Column::Status,
            op: CmpOp::Ne,
            value: Literal::Str("x".into()),
        };
        assert_eq!(to_sql(&ne).sql, "1");
        let inn = IndexPredicate::In {
            column: Column::Port(Side::Dst),
            values: vec![Literal::Str("x".into())],
        };
        assert_eq!(to_sql(&inn).sql, "0");
    }
}
