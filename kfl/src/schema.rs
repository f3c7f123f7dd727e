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

/// The schema a filter is checked against: the root structure of a record, the other names its
/// fields go by ([`Alias`]es, e.g. KFL2's flat variables) and the protocols whose names are known
/// but whose traffic the host does not dissect.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The root structure; usually a [`FieldType::Struct`].
    pub root: FieldType,
    /// Names that stand for an expression over the root's fields (`status_code` for
    /// `response.status`), read before checking, so both spellings check, run and plan alike.
    pub aliases: Vec<Alias>,
    /// Protocols with names a filter may use that the host does not dissect: a name of one of
    /// them that is neither a field, an alias nor a protocol word is refused saying so.
    pub undissected: Vec<Undissected>,
}

/// Another name for an expression over a record's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    /// The name as a filter writes it: one word (`status_code`) or dotted (`src.pod.name`).
    pub name: &'static str,
    /// What it stands for, in KFL (`response.status`, `elapsedTime * 1000`).
    pub target: &'static str,
    /// Its type and unit as the dialect it comes from documents them (`int`, `int µs`, `[string]`).
    pub ty: &'static str,
}

/// A protocol whose names are known but whose traffic is not dissected.
#[derive(Debug, Clone, PartialEq)]
pub struct Undissected {
    /// The protocol flag, which also prefixes its variables: `mysql` covers `mysql` and `mysql_*`.
    pub prefix: &'static str,
    /// The protocol as people name it (`MySQL`).
    pub protocol: &'static str,
}

impl Undissected {
    /// Whether `name` is this protocol's flag or one of its variables.
    pub fn covers(&self, name: &str) -> bool {
        name.strip_prefix(self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
    }
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
    /// A schema of `root` alone, without aliases or undissected protocols.
    pub fn new(root: FieldType) -> Schema {
        Schema {
            root,
            aliases: Vec::new(),
            undissected: Vec::new(),
        }
    }

    /// The alias called `name`, if there is one.
    pub fn alias(&self, name: &str) -> Option<&Alias> {
        self.aliases.iter().find(|alias| alias.name == name)
    }

    /// Whether `dotted` (`src.pod`, `request.headers`) names a field or a structure of the root.
    pub fn has_path(&self, dotted: &str) -> bool {
        let mut ty = &self.root;
        for name in dotted.split('.') {
            let FieldType::Struct(members) = ty else {
                return false;
            };
            match members.iter().find(|(member, _)| *member == name) {
                Some((_, member)) => ty = member,
                None => return false,
            }
        }
        true
    }

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
