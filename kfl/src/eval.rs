//! The checked expression tree and its evaluation against a [`Record`].
//!
//! The checker has already resolved every field to a path, folded constants (`now() - 5m` is a
//! time) and compiled every regex, so evaluating an entry walks the tree and compares borrowed
//! values: nothing is allocated on the common paths.

use std::borrow::Cow;

use regex::Regex;

use crate::arith::{ArithOp, arith};
use crate::compare::{CmpOp, View, compare, contains_element, equal, truthy, with_text};
use crate::json::{into_owned, owned_json, parse_json, parse_xml};
use crate::macros::{MacroKind, elements};
use crate::method_op::MethodOp;
use crate::protocol::Protocol;
use crate::record::{PathSegment, Record};
use crate::value::Value;

/// A checked, executable expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A literal or a folded constant.
    Const(Value<'static>),
    /// A field of the record.
    Field(Box<[PathSegment]>),
    /// A list computed per entry (`[src.namespace, dst.namespace]`).
    List(Vec<Expr>),
    /// A protocol word such as `http`.
    Protocol(Protocol),
    /// `not x`
    Not(Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
    /// `a op b`; a constant operand is always on the right.
    Compare {
        /// The operator.
        op: CmpOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `a == r"…"` (or `!=`): a full match against the text of `a`; false either way when `a`
    /// is missing or not text.
    RegexMatch {
        /// The value whose text is matched.
        operand: Box<Expr>,
        /// The regex, anchored at both ends.
        regex: Regex,
        /// `true` for `!=`.
        negated: bool,
    },
    /// `a in [constants]`
    InList {
        /// The value looked for.
        operand: Box<Expr>,
        /// The accepted values.
        values: Vec<Value<'static>>,
    },
    /// `a in b` where `b` is a list computed per entry.
    In {
        /// The value looked for.
        operand: Box<Expr>,
        /// The list searched.
        list: Box<Expr>,
    },
    /// `receiver.method(…)`
    Method {
        /// The value the method applies to.
        receiver: Box<Expr>,
        /// The method with its constant arguments.
        method: MethodOp,
    },
    /// A selection inside a computed value (`body.json().brand.name`, `[1, 2][0]`).
    Select {
        /// The computed value.
        base: Box<Expr>,
        /// The path inside it.
        path: Box<[PathSegment]>,
    },
    /// `a + b`, `a - b`, `a * b`, `a / b`, `a % b` (numbers, times, durations).
    Arith {
        /// The operator.
        op: ArithOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `-a`
    Neg(Box<Expr>),
    /// `map_get(m, k, fallback)`: the value, or the fallback when it is absent.
    Default {
        /// The value looked up.
        value: Box<Expr>,
        /// What stands for it when it is absent.
        fallback: Value<'static>,
    },
    /// `list.exists(x, body)` and the other comprehension macros.
    Macro {
        /// Which macro.
        kind: MacroKind,
        /// The list (or map) ranged over.
        list: Box<Expr>,
        /// The bound variable's internal name (see `macros::variable_name`).
        name: Box<str>,
        /// The condition or value computed per element.
        body: Box<Expr>,
    },
    /// `c ? a : b`
    Conditional {
        /// The condition.
        condition: Box<Expr>,
        /// The value when it holds.
        then: Box<Expr>,
        /// The value when it does not.
        otherwise: Box<Expr>,
    },
}

impl Expr {
    /// Whether the expression holds for `record`.
    pub fn test(&self, record: &dyn Record) -> bool {
        match self {
            Expr::Not(inner) => !inner.test(record),
            Expr::And(lhs, rhs) => lhs.test(record) && rhs.test(record),
            Expr::Or(lhs, rhs) => lhs.test(record) || rhs.test(record),
            Expr::Compare { op, lhs, rhs } => compare(*op, &lhs.eval(record), &rhs.eval(record)),
            Expr::RegexMatch {
                operand,
                regex,
                negated,
            } => with_text(&operand.eval(record), |text| {
                regex.is_match(text) != *negated
            })
            .unwrap_or(false),
            Expr::InList { operand, values } => {
                let value = operand.eval(record);
                values.iter().any(|candidate| equal(&value, candidate))
            }
            Expr::In { operand, list } => {
                let value = operand.eval(record);
                contains_element(&list.eval(record), &value)
            }
            Expr::Protocol(protocol) => protocol.test(record),
            Expr::Macro {
                kind,
                list,
                name,
                body,
            } if kind.is_condition() => run_condition(*kind, list, name, body, record),
            Expr::Method { receiver, method } => method.test(&receiver.eval(record)),
            _ => truthy(&self.eval(record)),
        }
    }

    /// The value of the expression for `record`.
    pub fn eval<'a>(&'a self, record: &'a dyn Record) -> Value<'a> {
        match self {
            Expr::Const(value) => borrow(value),
            Expr::Field(path) => record.get(path),
            Expr::List(items) => Value::List(items.iter().map(|item| item.eval(record)).collect()),
            Expr::Method { receiver, method } => method.apply(&receiver.eval(record)),
            Expr::Select { base, path } => match &**base {
                Expr::Method {
                    receiver,
                    method: MethodOp::Json,
                } => parse_json(&receiver.eval(record))
                    .map_or(Value::Nil, |json| select_json(&json, path)),
                Expr::Method {
                    receiver,
                    method: MethodOp::Xml,
                } => parse_xml(&receiver.eval(record))
                    .map_or(Value::Nil, |json| select_json(&json, path)),
                _ => select(base.eval(record), path),
            },
            Expr::Arith { op, lhs, rhs } => arith(*op, &lhs.eval(record), &rhs.eval(record)),
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                if condition.test(record) {
                    then.eval(record)
                } else {
                    otherwise.eval(record)
                }
            }
            Expr::Neg(inner) => negate(&inner.eval(record)),
            Expr::Macro {
                kind,
                list,
                name,
                body,
            } if !kind.is_condition() => run_list(*kind, list, name, body, record),
            Expr::Default { value, fallback } => match value.eval(record) {
                Value::Nil => borrow(fallback),
                found => found,
            },
            condition => Value::Bool(condition.test(record)),
        }
    }
}

/// A view of a constant that borrows its text instead of copying it.
fn borrow<'a>(value: &'a Value<'static>) -> Value<'a> {
    match value {
        Value::Str(text) => Value::Str(Cow::Borrowed(text)),
        other => other.clone(),
    }
}

/// Follows `path` inside a parsed JSON document and copies out what it finds.
fn select_json(json: &serde_json::Value, path: &[PathSegment]) -> Value<'static> {
    let mut at = json;
    for segment in path {
        let next = match (segment, at) {
            (PathSegment::Field(name) | PathSegment::Key(name), serde_json::Value::Object(map)) => {
                map.get(&**name)
            }
            (PathSegment::Index(i), serde_json::Value::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(value) => at = value,
            None => return Value::Nil,
        }
    }
    owned_json(at)
}

/// Follows `path` inside a computed value (a list, or JSON handed out by the record).
fn select<'a>(mut value: Value<'a>, path: &[PathSegment]) -> Value<'a> {
    for segment in path {
        value = match (segment, value) {
            (PathSegment::Index(i), Value::List(items)) => {
                items.into_iter().nth(*i).unwrap_or(Value::Nil)
            }
            (PathSegment::Index(i), Value::Json(serde_json::Value::Array(items))) => {
                items.get(*i).map_or(Value::Nil, Value::Json)
            }
            (
                PathSegment::Field(name) | PathSegment::Key(name),
                Value::Json(serde_json::Value::Object(map)),
            ) => map.get(&**name).map_or(Value::Nil, Value::Json),
            _ => Value::Nil,
        };
    }
    value
}

/// `-a` on numbers and durations.
pub fn negate(value: &Value<'_>) -> Value<'static> {
    match View::of(value) {
        View::Int(n) => n.checked_neg().map_or(Value::Nil, Value::Int),
        View::Float(n) => Value::Float(-n),
        View::Duration(n) => n.checked_neg().map_or(Value::Nil, Value::Duration),
        _ => Value::Nil,
    }
}

/// A record with one more name: the bound variable.
struct Bound<'r> {
    outer: &'r dyn Record,
    name: &'r str,
    value: Value<'r>,
}

impl Record for Bound<'_> {
    fn get(&self, path: &[PathSegment]) -> Value<'_> {
        match path.split_first() {
            Some((PathSegment::Field(name), rest)) if **name == *self.name => {
                select(self.value.clone(), rest)
            }
            _ => self.outer.get(path),
        }
    }
}

/// Whether a condition macro holds for `record`.
fn run_condition(
    kind: MacroKind,
    list: &Expr,
    name: &str,
    body: &Expr,
    record: &dyn Record,
) -> bool {
    let receiver = list.eval(record);
    let Some(items) = elements(&receiver) else {
        return false;
    };
    let mut holds = items.into_iter().map(|value| {
        body.test(&Bound {
            outer: record,
            name,
            value,
        })
    });
    match kind {
        MacroKind::All => holds.all(|h| h),
        MacroKind::ExistsOne => holds.filter(|h| *h).count() == 1,
        _ => holds.any(|h| h),
    }
}

/// The list `filter` or `map` yields for `record`; `nil` when the receiver is no list.
fn run_list<'a>(
    kind: MacroKind,
    list: &'a Expr,
    name: &'a str,
    body: &'a Expr,
    record: &'a dyn Record,
) -> Value<'a> {
    let receiver = list.eval(record);
    let Some(items) = elements(&receiver) else {
        return Value::Nil;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let bound = Bound {
            outer: record,
            name,
            value: item.clone(),
        };
        if kind == MacroKind::Map {
            out.push(into_owned(body.eval(&bound)));
        } else if body.test(&bound) {
            out.push(into_owned(item));
        }
    }
    Value::List(out)
}
