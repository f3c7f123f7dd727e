//! The methods KFL knows, registered in one list: `.startsWith() .endsWith() .contains() .matches()
//! .lower() .upper() .len() .json()`.

use std::borrow::Cow;

use regex::Regex;

use crate::check::{Typed, literal_str};
use crate::compare::{View, truthy, with_text};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{Expr, contains_element, owned_json, parse_json};
use crate::operators::{coerce_value, compile_regex};
use crate::span::Span;
use crate::types::Ty;
use crate::value::Value;

/// A method with its checked, constant arguments, ready to apply.
#[derive(Debug, Clone)]
pub enum MethodOp {
    /// `.startsWith(prefix)`
    StartsWith(String),
    /// `.endsWith(suffix)`
    EndsWith(String),
    /// `.contains(x)`: a substring of text, or an element of a list.
    Contains(Value<'static>),
    /// `.matches(re)`: the regex is found somewhere in the text.
    Matches(Regex),
    /// `.lower()`
    Lower,
    /// `.upper()`
    Upper,
    /// `.len()`: characters of text, elements of a list or JSON array, keys of a JSON object.
    Len,
    /// `.json()`: parses text as JSON; selectors then look inside it.
    Json,
}

/// A method callable as `value.name(args)`.
pub struct Method {
    /// The name as written.
    pub name: &'static str,
    /// How it is called, for help texts.
    pub usage: &'static str,
    /// The number of arguments.
    pub arity: usize,
    /// Checks the receiver and arguments; returns the operation and its result type.
    pub build: BuildMethod,
}

/// Checks a method's receiver and arguments; returns the operation and its result type.
pub type BuildMethod =
    for<'s> fn(&Typed<'s>, &[Typed<'s>], Span) -> Result<(MethodOp, Ty<'s>), Diagnostic>;

/// Every method, in the order help lists them.
pub const METHODS: &[Method] = &[
    Method {
        name: "startsWith",
        usage: "text.startsWith(\"prefix\")",
        arity: 1,
        build: starts_with,
    },
    Method {
        name: "endsWith",
        usage: "text.endsWith(\"suffix\")",
        arity: 1,
        build: ends_with,
    },
    Method {
        name: "contains",
        usage: "text.contains(\"part\") or list.contains(element)",
        arity: 1,
        build: contains,
    },
    Method {
        name: "matches",
        usage: "text.matches(r\"regex\")",
        arity: 1,
        build: matches,
    },
    Method {
        name: "lower",
        usage: "text.lower()",
        arity: 0,
        build: lower,
    },
    Method {
        name: "upper",
        usage: "text.upper()",
        arity: 0,
        build: upper,
    },
    Method {
        name: "len",
        usage: "text.len() or list.len()",
        arity: 0,
        build: len,
    },
    Method {
        name: "json",
        usage: "text.json().field",
        arity: 0,
        build: json,
    },
];

/// The method called `name`.
pub fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|method| method.name == name)
}

fn expect_text(receiver: &Typed<'_>, method: &str) -> Result<(), Diagnostic> {
    if receiver.ty.is_textual() || receiver.ty == Ty::Nil {
        Ok(())
    } else {
        Err(Diagnostic::new(
            Code::TypeMismatch,
            receiver.span,
            format!("`.{method}()` applies to text"),
        )
        .with_label(format!("this is {}", receiver.ty)))
    }
}

fn starts_with<'s>(
    receiver: &Typed<'s>,
    args: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "startsWith")?;
    Ok((
        MethodOp::StartsWith(literal_str(args, "startsWith")?.0.to_string()),
        Ty::Bool,
    ))
}

fn ends_with<'s>(
    receiver: &Typed<'s>,
    args: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "endsWith")?;
    Ok((
        MethodOp::EndsWith(literal_str(args, "endsWith")?.0.to_string()),
        Ty::Bool,
    ))
}

fn contains<'s>(
    receiver: &Typed<'s>,
    args: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    match &receiver.ty {
        Ty::List(element) => {
            let [
                Typed {
                    expr: Expr::Const(value),
                    span,
                    ty,
                },
            ] = args
            else {
                return Err(literal_str(args, "contains").err().unwrap_or_else(|| {
                    Diagnostic::new(
                        Code::InvalidArgument,
                        receiver.span,
                        "`.contains()` takes a literal",
                    )
                }));
            };
            let value = coerce_value(element, value.clone(), ty, *span)?;
            Ok((MethodOp::Contains(value), Ty::Bool))
        }
        _ => {
            expect_text(receiver, "contains")?;
            let text = literal_str(args, "contains")?.0;
            Ok((
                MethodOp::Contains(Value::Str(Cow::Owned(text.to_string()))),
                Ty::Bool,
            ))
        }
    }
}

fn matches<'s>(
    receiver: &Typed<'s>,
    args: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    if !(receiver.ty.is_textual() || receiver.ty.is_number() || receiver.ty == Ty::Nil) {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            receiver.span,
            "`.matches()` applies to text or numbers",
        )
        .with_label(format!("this is {}", receiver.ty)));
    }
    let (pattern, span) = literal_str(args, "matches")?;
    Ok((
        MethodOp::Matches(compile_regex(pattern, span, false)?),
        Ty::Bool,
    ))
}

fn lower<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "lower")?;
    Ok((MethodOp::Lower, Ty::Str))
}

fn upper<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "upper")?;
    Ok((MethodOp::Upper, Ty::Str))
}

fn len<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    match receiver.ty {
        Ty::Str | Ty::List(_) | Ty::Map(_) | Ty::Any | Ty::Nil => Ok((MethodOp::Len, Ty::Int)),
        _ => Err(Diagnostic::new(
            Code::TypeMismatch,
            receiver.span,
            "`.len()` applies to text, lists and maps",
        )
        .with_label(format!("this is {}", receiver.ty))),
    }
}

fn json<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "json")?;
    Ok((MethodOp::Json, Ty::Any))
}

impl MethodOp {
    /// Whether the method's result, applied to `receiver`, is `true`.
    pub fn test(&self, receiver: &Value<'_>) -> bool {
        match self {
            MethodOp::StartsWith(prefix) => {
                matches!(View::of(receiver), View::Str(text) if text.starts_with(prefix.as_str()))
            }
            MethodOp::EndsWith(suffix) => {
                matches!(View::of(receiver), View::Str(text) if text.ends_with(suffix.as_str()))
            }
            MethodOp::Contains(needle) => match (View::of(receiver), View::of(needle)) {
                (View::Str(text), View::Str(part)) => text.contains(part),
                _ => contains_element(receiver, needle),
            },
            MethodOp::Matches(regex) => {
                with_text(receiver, |text| regex.is_match(text)).unwrap_or(false)
            }
            _ => truthy(&self.apply(receiver)),
        }
    }

    /// The method's result applied to `receiver`; `nil` when it does not apply to that value.
    pub fn apply(&self, receiver: &Value<'_>) -> Value<'static> {
        match self {
            MethodOp::Lower => text_result(receiver, str::to_lowercase),
            MethodOp::Upper => text_result(receiver, str::to_uppercase),
            MethodOp::Len => match View::of(receiver) {
                View::Str(text) => Value::Int(count(text.chars().count())),
                View::List(items) => Value::Int(count(items.len())),
                View::Json(serde_json::Value::Array(items)) => Value::Int(count(items.len())),
                View::Json(serde_json::Value::Object(map)) => Value::Int(count(map.len())),
                _ => Value::Nil,
            },
            MethodOp::Json => parse_json(receiver).map_or(Value::Nil, |json| owned_json(&json)),
            condition => Value::Bool(condition.test(receiver)),
        }
    }
}

fn text_result(receiver: &Value<'_>, convert: fn(&str) -> String) -> Value<'static> {
    match View::of(receiver) {
        View::Str(text) => Value::Str(Cow::Owned(convert(text))),
        _ => Value::Nil,
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
