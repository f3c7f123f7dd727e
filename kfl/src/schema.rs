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

impl FieldType {
    /// The type as a field listing names it: `text`, `integer`, `list of text`, …
    pub fn describe(&self) -> String {
        match self {
            FieldType::Str => "text".into(),
            FieldType::Int => "integer".into(),
            FieldType::Float => "number".into(),
            FieldType::Bool => "boolean".into(),
            FieldType::Time => "time".into(),
            FieldType::Struct(_) => "structure".into(),
            FieldType::Map {
                value,
                case_insensitive,
            } => {
                let keys = if *case_insensitive {
                    ", any letter case"
                } else {
                    ""
                };
                format!("{} per key{keys}", value.describe())
            }
            FieldType::List(element) => format!("list of {}", element.describe()),
            FieldType::Any => "any (JSON: select inside it)".into(),
        }
    }
}

impl Schema {
    /// Every field a filter can name, as a filter writes it (`request.headers["KEY"]` for a
    /// map), with its type, in the schema's order.
    pub fn fields(&self) -> Vec<(String, &FieldType)> {
        let mut fields = Vec::new();
        leaves("", &self.root, &mut fields);
        fields
    }
}

fn leaves<'a>(path: &str, ty: &'a FieldType, out: &mut Vec<(String, &'a FieldType)>) {
    match ty {
        FieldType::Struct(members) => {
            for (name, member) in members {
                let path = if path.is_empty() {
                    (*name).to_string()
                } else {
                    format!("{path}.{name}")
                };
                leaves(&path, member, out);
            }
        }
        FieldType::Map { .. } => out.push((format!("{path}[\"KEY\"]"), ty)),
        _ => out.push((path.to_string(), ty)),
    }
}
