//! The methods KFL knows, registered in one list: `.startsWith() .endsWith() .contains() .matches()
//! .lower() .upper() .len() .json()`.

use std::borrow::Cow;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Expr;
use crate::method_op::MethodOp;
use crate::operators::{coerce_value, compile_regex};
use crate::span::Span;
use crate::typed::{Typed, literal_str};
use crate::types::Ty;
use crate::value::Value;

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
        name: "size",
        usage: "list.size()",
        arity: 0,
        build: len,
    },
    Method {
        name: "xml",
        usage: "text.xml().root.element",
        arity: 0,
        build: xml,
    },
    Method {
        name: "values",
        usage: "map.values()",
        arity: 0,
        build: values,
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

fn values<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    let element = match &receiver.ty {
        Ty::Map(value) => Ty::of(value),
        Ty::List(element) => (**element).clone(),
        Ty::Any | Ty::Nil => Ty::Any,
        other => {
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                receiver.span,
                "`.values()` applies to maps and lists",
            )
            .with_label(format!("this is {other}")));
        }
    };
    Ok((MethodOp::Values, Ty::List(Box::new(element))))
}

fn xml<'s>(
    receiver: &Typed<'s>,
    _: &[Typed<'s>],
    _: Span,
) -> Result<(MethodOp, Ty<'s>), Diagnostic> {
    expect_text(receiver, "xml")?;
    Ok((MethodOp::Xml, Ty::Any))
}
