//! The description of the fields a filter may name, provided by whoever owns the records.

/// The type of a field in a record schema.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    /// Text.
    Str,
    /// Whole number.
    Int,
    /// Floating-point number.
    Float,
    /// Boolean.
    Bool,
    /// A point in time (compared with `datetime(..)`, `now()`).
    Time,
    /// A structure with named fields: `.name` selects one.
    Struct(Vec<(&'static str, FieldType)>),
    /// A map from string keys: `["key"]` selects one.
    Map {
        /// Type of every value in the map.
        value: Box<FieldType>,
        /// Whether keys compare case-insensitively (HTTP header names).
        case_insensitive: bool,
    },
    /// A list: `[index]` selects one element; methods like `.contains()` look inside.
    List(Box<FieldType>),
    /// Dynamically typed (JSON): any selector is allowed below it.
    Any,
}

/// The schema a filter is checked against: the root structure of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The root structure; usually a [`FieldType::Struct`].
    pub root: FieldType,
}
