//! What a host declares it indexes: the planner's only knowledge of the host's storage.
//!
//! As VRL's compiler talks to a `Target` its host implements, the planner talks to a table of
//! [`IndexedField`]s the host passes to [`Filter::plan`](crate::Filter::plan): which fields it can
//! filter on without decoding records, and the type of their values. The planner answers with
//! [`IndexPredicate`](crate::IndexPredicate)s over those same fields; how the host stores and
//! queries them (SQL columns, interned names, …) is the host's own business.
//!
//! # Example
//! ```
//! use kfl::{FieldType, IndexType, IndexedField, Schema};
//!
//! /// The host's column handle: the planner hands it back inside predicates.
//! #[derive(Debug, Clone, Copy)]
//! struct Col { path: &'static str, ty: IndexType, sql: &'static str }
//!
//! impl IndexedField for Col {
//!     fn path(&self) -> &str { self.path }
//!     fn ty(&self) -> IndexType { self.ty }
//! }
//!
//! const INDEX: [Col; 1] = [Col { path: "response.status", ty: IndexType::Int, sql: "status" }];
//!
//! let schema = Schema::new(FieldType::Struct(vec![
//!     ("response", FieldType::Struct(vec![("status", FieldType::Int), ("body", FieldType::Str)])),
//! ]));
//! let filter = kfl::compile(r#"response.status >= 500 and response.body.contains("x")"#, &schema).unwrap();
//! let plan = filter.plan(&INDEX);
//! assert_eq!(plan.index.to_string(), "response.status >= 500");
//! assert_eq!(plan.residual.unwrap().to_string(), r#"response.body.contains("x")"#);
//! match plan.index {
//!     kfl::IndexPredicate::Cmp { field, .. } => assert_eq!(field.sql, "status"),
//!     other => panic!("{other}"),
//! }
//! ```

use std::fmt;

use crate::compare::CmpOp;
use crate::record::PathSegment;

/// The type of an indexed field's values: it decides which literals a predicate compares the
/// field with ([`Literal::Str`](crate::Literal::Str) for text, [`Literal::Int`](crate::Literal::Int)
/// otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexType {
    /// Text.
    Text,
    /// Whole numbers.
    Int,
    /// The records' time, in nanoseconds since the epoch. Bounds on it are the plan's time window
    /// ([`IndexPredicate::time_range`](crate::IndexPredicate::time_range)), so a host declares at
    /// most one field of this type.
    Time,
}

/// One field a host can filter on without decoding records, as it declares it to the planner.
///
/// The implementing type is the host's own handle on the field (it may carry the SQL column, how
/// the value is stored, …): predicates hold it, so the host reads them back without a lookup.
///
/// Whatever operators a field [supports](IndexedField::supports), the host must answer them with
/// KFL's semantics: a field absent from a record makes every comparison false, `!=` included
/// (see [`IndexPredicate`](crate::IndexPredicate)).
pub trait IndexedField: Copy + fmt::Debug + Send + Sync + 'static {
    /// The field's path as a filter writes it, names joined by dots (`src.port`, `timestamp`).
    fn path(&self) -> &str;

    /// The type of the field's values.
    fn ty(&self) -> IndexType;

    /// Whether the host answers `field op literal`; `field in [..]` needs `==`. Every operator,
    /// unless the host says otherwise.
    fn supports(&self, op: CmpOp) -> bool {
        let _ = op;
        true
    }
}

/// The declared field at `path`, if the host indexes it.
pub(crate) fn field_at<F: IndexedField>(fields: &[F], path: &[PathSegment]) -> Option<F> {
    fields
        .iter()
        .find(|field| is_path(field.path(), path))
        .copied()
}

/// Whether the dotted `declared` path names `path`.
fn is_path(declared: &str, path: &[PathSegment]) -> bool {
    let mut names = declared.split('.');
    path.iter().all(|segment| match segment {
        PathSegment::Field(name) => names.next() == Some(&**name),
        PathSegment::Key(_) | PathSegment::Index(_) => false,
    }) && names.next().is_none()
}

/// The record path a declared field names.
pub(crate) fn record_path(field: &impl IndexedField) -> Vec<PathSegment> {
    field
        .path()
        .split('.')
        .map(|name| PathSegment::Field(name.into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Field(&'static str);

    impl IndexedField for Field {
        fn path(&self) -> &str {
            self.0
        }
        fn ty(&self) -> IndexType {
            IndexType::Text
        }
    }

    fn path(names: &[&str]) -> Vec<PathSegment> {
        names
            .iter()
            .map(|n| PathSegment::Field((*n).into()))
            .collect()
    }

    #[test]
    fn a_declared_path_matches_exactly_its_field_names() {
        let fields = [Field("src.name"), Field("timestamp")];
        assert_eq!(
            field_at(&fields, &path(&["src", "name"])).map(|f| f.0),
            Some("src.name")
        );
        assert_eq!(
            field_at(&fields, &path(&["timestamp"])).map(|f| f.0),
            Some("timestamp")
        );
        for missing in [&["src"][..], &["src", "name", "x"], &["dst", "name"], &[]] {
            assert!(field_at(&fields, &path(missing)).is_none(), "{missing:?}");
        }
        let keyed = [
            PathSegment::Field("src".into()),
            PathSegment::Key("name".into()),
        ];
        assert!(field_at(&fields, &keyed).is_none());
        assert_eq!(record_path(&Field("src.name")), path(&["src", "name"]));
    }
}
