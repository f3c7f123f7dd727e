//! The functions KFL knows, registered in one list: `datetime()` (or KFL2's `timestamp()`),
//! `now()`, `duration()`, `limit()`, the legacy `seconds(n)` … `years(n)`, and KFL2's `size()`,
//! `map_get()` and `has()` (in `cel.rs`).
//!
//! Functions of literal arguments are folded to constants when the filter is checked, so
//! `timestamp > now() - 5m` compares with a fixed time (the moment the filter was compiled).

use crate::cel;
use crate::diagnostic::{Code, Diagnostic};
use crate::duration;
use crate::eval::Expr;
use crate::span::Span;
use crate::time;
use crate::typed::{Typed, literal_str};
use crate::types::Ty;
use crate::value::Value;

/// A function callable as `name(args)`.
pub struct Function {
    /// The name as written.
    pub name: &'static str,
    /// How it is called, for help texts.
    pub usage: &'static str,
    /// The number of arguments.
    pub arity: usize,
    /// Checks the arguments and builds the (constant) result; the first argument is the time
    /// `now()` stands for.
    pub build: for<'s> fn(i64, &[Typed<'s>], Span) -> Result<Typed<'s>, Diagnostic>,
}

/// A legacy duration helper: `name(n)` is `n` times `seconds` seconds.
macro_rules! unit {
    ($name:literal, $usage:literal, $seconds:literal) => {
        Function {
            name: $name,
            usage: $usage,
            arity: 1,
            build: |_, args, span| cel::units($name, $seconds, args, span),
        }
    };
}

/// Every function, in the order help lists them.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "datetime",
        usage: "datetime(\"2026-11-26T14:02:00Z\")",
        arity: 1,
        build: datetime,
    },
    Function {
        name: "now",
        usage: "now()",
        arity: 0,
        build: now,
    },
    Function {
        name: "duration",
        usage: "duration(\"5m\")",
        arity: 1,
        build: duration,
    },
    Function {
        name: "limit",
        usage: "limit(100)",
        arity: 1,
        build: limit,
    },
    Function {
        name: "redact",
        usage: "redact(\"request.headers.Authorization\", …)",
        arity: 1,
        build: redact,
    },
    Function {
        name: "timestamp",
        usage: "timestamp(\"2026-11-26T14:02:00Z\")",
        arity: 1,
        build: datetime,
    },
    Function {
        name: "size",
        usage: "size(list)",
        arity: 1,
        build: cel::size,
    },
    Function {
        name: "map_get",
        usage: "map_get(request.headers, \"x-id\", \"\")",
        arity: 3,
        build: cel::map_get,
    },
    Function {
        name: "has",
        usage: "has(request.headers[\"x-id\"])",
        arity: 1,
        build: cel::has,
    },
    unit!("seconds", "seconds(30)", 1),
    unit!("minutes", "minutes(5)", 60),
    unit!("hours", "hours(1)", 3_600),
    unit!("days", "days(1)", 86_400),
    unit!("weeks", "weeks(1)", 604_800),
    unit!("months", "months(1)", 2_592_000),
    unit!("years", "years(1)", 31_536_000),
];

/// The function called `name`.
pub fn find(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|function| function.name == name)
}

fn constant<'s>(value: Value<'static>, ty: Ty<'s>, span: Span) -> Typed<'s> {
    Typed {
        expr: Expr::Const(value),
        ty,
        span,
    }
}

fn datetime<'s>(_: i64, args: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    let (text, text_span) = literal_str(args, "datetime")?;
    let nanos = time::parse_datetime(text).ok_or_else(|| {
        Diagnostic::new(
            Code::InvalidArgument,
            text_span,
            format!("cannot read `{text}` as a time"),
        )
        .with_help("write RFC 3339 (\"2026-11-26T14:02:00Z\") or \"11/26/2026, 2:02:00 PM\" (UTC)")
    })?;
    Ok(constant(Value::Time(nanos), Ty::Time, span))
}

fn now<'s>(now: i64, _: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    Ok(constant(Value::Time(now), Ty::Time, span))
}

fn duration<'s>(_: i64, args: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    let (text, text_span) = literal_str(args, "duration")?;
    let nanos = duration::parse(text).map_err(|reason| {
        Diagnostic::new(
            Code::InvalidArgument,
            text_span,
            format!("cannot read `{text}` as a duration"),
        )
        .with_label(reason.to_string())
        .with_help("write a duration such as \"500ms\", \"5m\" or \"1h30m\"")
    })?;
    Ok(constant(Value::Duration(nanos), Ty::Duration, span))
}

fn limit<'s>(_: i64, _: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    Err(misplaced_limit(span))
}

fn redact<'s>(_: i64, _: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    Err(Diagnostic::new(
        Code::MisplacedLimit,
        span,
        "`redact()` must be a top-level condition",
    )
    .with_label("not allowed here")
    .with_help("join it to the whole filter with `and`, e.g. `http and redact(\"response.body\")`"))
}

/// The error for `limit()` anywhere but a top-level `and`.
pub fn misplaced_limit(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::MisplacedLimit,
        span,
        "`limit()` must be a top-level condition",
    )
    .with_label("not allowed here")
    .with_help("join it to the whole filter with `and`, e.g. `http and limit(100)`")
}

/// The count of a top-level `limit(n)` whose argument has been checked.
pub fn limit_count(args: &[Typed<'_>], span: Span) -> Result<usize, Diagnostic> {
    match args {
        [
            Typed {
                expr: Expr::Const(Value::Int(n)),
                ..
            },
        ] => usize::try_from(*n).map_err(|_| {
            Diagnostic::new(
                Code::InvalidArgument,
                span,
                "`limit()` needs a count of zero or more",
            )
        }),
        [other] => Err(Diagnostic::new(
            Code::InvalidArgument,
            other.span,
            "`limit()` needs a whole number",
        )
        .with_label(format!("found {}", other.ty))
        .with_help("write e.g. `limit(100)`")),
        _ => Err(Diagnostic::new(
            Code::WrongArgumentCount,
            span,
            "`limit()` takes 1 argument",
        )),
    }
}
