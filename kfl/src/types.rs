//! The static types the checker reasons with, derived from the schema's [`FieldType`]s.

use std::fmt;

use crate::schema::FieldType;

/// The type of a checked expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty<'s> {
    /// A condition.
    Bool,
    /// A whole number.
    Int,
    /// A floating-point number.
    Float,
    /// Text.
    Str,
    /// A point in time.
    Time,
    /// A span of time.
    Duration,
    /// The `nil` literal.
    Nil,
    /// A regex literal `r"…"`.
    Regex,
    /// A list of elements of one type.
    List(Box<Ty<'s>>),
    /// A map with values of one type.
    Map(&'s FieldType),
    /// A structure with named fields.
    Struct(&'s [(&'static str, FieldType)]),
    /// Known only when evaluated (JSON).
    Any,
}

impl<'s> Ty<'s> {
    /// The type of a schema field.
    pub fn of(field: &'s FieldType) -> Ty<'s> {
        match field {
            FieldType::Str => Ty::Str,
            FieldType::Int => Ty::Int,
            FieldType::Float => Ty::Float,
            FieldType::Bool => Ty::Bool,
            FieldType::Time => Ty::Time,
            FieldType::Struct(fields) => Ty::Struct(fields),
            FieldType::Map { value, .. } => Ty::Map(value),
            FieldType::List(element) => Ty::List(Box::new(Ty::of(element))),
            FieldType::Any => Ty::Any,
        }
    }

    /// Whether it is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    /// Whether it can stand where a condition is expected (`nil` and dynamic values read as false
    /// unless they are `true`).
    pub fn is_boolish(&self) -> bool {
        matches!(self, Ty::Bool | Ty::Any | Ty::Nil)
    }

    /// Whether it holds text (or may, at run time).
    pub fn is_textual(&self) -> bool {
        matches!(self, Ty::Str | Ty::Any)
    }
}

impl fmt::Display for Ty<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("a boolean"),
            Ty::Int => f.write_str("an integer"),
            Ty::Float => f.write_str("a number"),
            Ty::Str => f.write_str("text"),
            Ty::Time => f.write_str("a time"),
            Ty::Duration => f.write_str("a duration"),
            Ty::Nil => f.write_str("nil"),
            Ty::Regex => f.write_str("a regex"),
            Ty::List(_) => f.write_str("a list"),
            Ty::Map(_) => f.write_str("a map"),
            Ty::Struct(_) => f.write_str("a structure"),
            Ty::Any => f.write_str("a dynamic value"),
        }
    }
}
