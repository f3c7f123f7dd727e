//! Typing rules for operators: comparisons (with literal conversion and regex matches),
//! membership, and arithmetic with constant folding. Regexes are compiled here, once per filter.

use regex::Regex;

use crate::arith::{ArithOp, arith};
use crate::ast::CompareOp;
use crate::compare::{CmpOp, View, parse_number};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Expr;
use crate::span::Span;
use crate::time;
use crate::typed::Typed;
use crate::types::Ty;
use crate::value::Value;

/// Compiles a regex once, at check time; `anchored` makes it match the whole text (`==`).
pub fn compile_regex(pattern: &str, span: Span, anchored: bool) -> Result<Regex, Diagnostic> {
    let full = if anchored {
        format!("^(?:{pattern})$")
    } else {
        pattern.to_string()
    };
    regex::RegexBuilder::new(&full)
        .size_limit(1 << 20)
        .build()
        .map_err(|error| {
            // Validate the pattern alone so the message refers to what the user wrote.
            let message = match Regex::new(pattern) {
                Err(inner) => inner.to_string(),
                Ok(_) => error.to_string(),
            };
            let reason = message
                .lines()
                .rev()
                .find(|line| line.starts_with("error:"))
                .unwrap_or(&message)
                .to_string();
            Diagnostic::new(Code::InvalidRegex, span, "invalid regex")
                .with_label(reason.trim_start_matches("error: ").to_string())
        })
}

/// Converts a literal to the type it is compared with: text to a number for number fields, text
/// to a time for time fields. Other values pass through unchanged.
pub fn coerce_value(
    target: &Ty<'_>,
    value: Value<'static>,
    ty: &Ty<'_>,
    span: Span,
) -> Result<Value<'static>, Diagnostic> {
    if let (Ty::Time, Value::Int(millis)) = (target, &value) {
        // Legacy KFL's `timestamp` is Unix milliseconds (`timestamp > 1795701720000`).
        return millis
            .checked_mul(1_000_000)
            .map(Value::Time)
            .ok_or_else(|| {
                Diagnostic::new(
                    Code::InvalidConversion,
                    span,
                    format!("`{millis}` is too far from 1970 as Unix milliseconds"),
                )
            });
    }
    let Value::Str(text) = &value else {
        return Ok(value);
    };
    if *ty != Ty::Str {
        return Ok(value);
    }
    match target {
        Ty::Int | Ty::Float => match parse_number(text) {
            Some(View::Int(n)) => Ok(Value::Int(n)),
            Some(View::Float(n)) => Ok(Value::Float(n)),
            _ => Err(Diagnostic::new(
                Code::InvalidConversion,
                span,
                format!("`\"{text}\"` is not a number"),
            )
            .with_label(format!("compared with {target}"))
            .with_help("compare numbers with numbers, e.g. `response.status == 404`")),
        },
        Ty::Time => time::parse_datetime(text).map(Value::Time).ok_or_else(|| {
            Diagnostic::new(
                Code::InvalidConversion,
                span,
                format!("`\"{text}\"` is not a time"),
            )
            .with_label("compared with a time")
            .with_help("write RFC 3339 (\"2026-11-26T14:02:00Z\") or \"11/26/2026, 2:02:00 PM\"")
        }),
        _ => Ok(value),
    }
}

/// The type of a converted literal (a literal keeps its type unless conversion changed its kind).
pub fn ty_of_value<'s>(value: &Value<'static>, original: &Ty<'s>) -> Ty<'s> {
    match value {
        Value::Int(_) => Ty::Int,
        Value::Float(_) => Ty::Float,
        Value::Time(_) => Ty::Time,
        _ => original.clone(),
    }
}

/// Checks a comparison and builds it; regexes become full matches and constants move right.
pub fn comparison<'s>(
    op: CompareOp,
    op_span: Span,
    lhs: Typed<'s>,
    rhs: Typed<'s>,
) -> Result<Expr, Diagnostic> {
    let op = match op {
        CompareOp::Eq => CmpOp::Eq,
        CompareOp::Ne => CmpOp::Ne,
        CompareOp::Lt => CmpOp::Lt,
        CompareOp::Le => CmpOp::Le,
        CompareOp::Gt => CmpOp::Gt,
        CompareOp::Ge => CmpOp::Ge,
        CompareOp::In => return membership(lhs, rhs, op_span),
    };
    let (op, lhs, rhs) =
        if lhs.ty == Ty::Regex || (lhs.constant().is_some() && rhs.constant().is_none()) {
            (op.flipped(), rhs, lhs)
        } else {
            (op, lhs, rhs)
        };
    if rhs.ty == Ty::Regex {
        return regex_match(op, op_span, lhs, rhs);
    }
    let value = match rhs.expr {
        Expr::Const(value) => {
            let value = coerce_value(&lhs.ty, value, &rhs.ty, rhs.span)?;
            let ty = ty_of_value(&value, &rhs.ty);
            compatible(op, &lhs.ty, &ty, op_span)?;
            Expr::Const(value)
        }
        other => {
            compatible(op, &lhs.ty, &rhs.ty, op_span)?;
            other
        }
    };
    Ok(Expr::Compare {
        op,
        lhs: Box::new(lhs.expr),
        rhs: Box::new(value),
    })
}

fn regex_match<'s>(
    op: CmpOp,
    op_span: Span,
    operand: Typed<'s>,
    regex: Typed<'s>,
) -> Result<Expr, Diagnostic> {
    if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            op_span,
            "a regex can only be matched with `==` or `!=`",
        )
        .with_help("`==` against r\"…\" matches the whole text"));
    }
    if !(operand.ty.is_textual() || operand.ty.is_number() || operand.ty == Ty::Nil) {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            operand.span,
            format!("cannot match {} against a regex", operand.ty),
        )
        .with_label("a regex matches text or numbers"));
    }
    let Some(Value::Str(pattern)) = regex.constant() else {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            regex.span,
            "expected a regex literal",
        ));
    };
    let regex = compile_regex(pattern, regex.span, true)?;
    Ok(Expr::RegexMatch {
        operand: Box::new(operand.expr),
        regex,
        negated: op == CmpOp::Ne,
    })
}

/// `x in list` where the list is computed (a list field or dynamic value).
fn membership<'s>(lhs: Typed<'s>, rhs: Typed<'s>, op_span: Span) -> Result<Expr, Diagnostic> {
    match &rhs.ty {
        Ty::List(element) => compatible(CmpOp::Eq, &lhs.ty, element, op_span)?,
        // A key of a map (`"x-id" in request.headers`).
        Ty::Map(_) => compatible(CmpOp::Eq, &lhs.ty, &Ty::Str, op_span)?,
        Ty::Any => {}
        other => {
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                rhs.span,
                "`in` needs a list on its right",
            )
            .with_label(format!("this is {other}"))
            .with_help(
                "write `x in [\"a\", \"b\"]`, or `text.contains(\"a\")` to look inside text",
            ));
        }
    }
    Ok(Expr::In {
        operand: Box::new(lhs.expr),
        list: Box::new(rhs.expr),
    })
}

/// Whether two types can be compared with `op`, with a helpful error when not.
pub fn compatible(op: CmpOp, lhs: &Ty<'_>, rhs: &Ty<'_>, span: Span) -> Result<(), Diagnostic> {
    let ordering = !matches!(op, CmpOp::Eq | CmpOp::Ne);
    let mismatch = |help: &str| {
        Diagnostic::new(
            Code::TypeMismatch,
            span,
            format!("cannot compare {lhs} with {rhs}"),
        )
        .with_label(format!("`{}` needs two comparable values", op.as_str()))
        .with_help(help.to_string())
    };
    let structured = |ty: &Ty<'_>| match ty {
        Ty::List(_) => Some("look for an element with `.contains(x)` or `x in list`"),
        Ty::Map(_) => Some("select one key, e.g. `request.headers[\"Host\"]`"),
        Ty::Struct(_) => Some("select a field, e.g. `dst.name`"),
        _ => None,
    };
    match (lhs, rhs) {
        (Ty::Nil, _) | (_, Ty::Nil) if ordering => Err(Diagnostic::new(
            Code::TypeMismatch,
            span,
            "an ordering comparison with nil is always false",
        )
        .with_help("test presence with `== nil` or `!= nil`")),
        (Ty::Nil, _) | (_, Ty::Nil) => Ok(()),
        (Ty::Bool, Ty::Bool) | (Ty::Bool, Ty::Any) | (Ty::Any, Ty::Bool) if ordering => {
            Err(mismatch("booleans are only compared with `==` and `!=`"))
        }
        // A list may equal a dynamic value (a JSON array); structures never compare.
        (Ty::List(_), Ty::Any) | (Ty::Any, Ty::List(_)) if !ordering => Ok(()),
        _ if structured(lhs).or(structured(rhs)).is_some() => Err(mismatch(
            structured(lhs).or(structured(rhs)).unwrap_or_default(),
        )),
        (Ty::Any, _) | (_, Ty::Any) => Ok(()),
        (a, b) if a.is_number() && b.is_number() => Ok(()),
        (Ty::Str, b) if b.is_number() => Ok(()),
        (a, Ty::Str) if a.is_number() => Ok(()),
        (Ty::Str, Ty::Str)
        | (Ty::Time, Ty::Time)
        | (Ty::Duration, Ty::Duration)
        | (Ty::Bool, Ty::Bool) => Ok(()),
        (a, Ty::Duration) | (Ty::Duration, a) if a.is_number() => Err(mismatch(
            "durations compare with durations; `elapsedTime` is a number of milliseconds, e.g. `elapsedTime > 500`",
        )),
        (Ty::Time, _) | (_, Ty::Time) => Err(mismatch(
            "times compare with times, e.g. `timestamp > datetime(\"2026-11-26T14:02:00Z\")` or `now() - 5m`",
        )),
        _ => Err(mismatch("compare values of the same kind")),
    }
}

/// Types `a op b` and folds it when both sides are constants.
pub fn arithmetic<'s>(
    op: ArithOp,
    lhs: Typed<'s>,
    rhs: Typed<'s>,
    op_span: Span,
    span: Span,
) -> Result<Typed<'s>, Diagnostic> {
    use ArithOp::{Add, Div, Mul, Sub};
    use Ty::{Any, Duration, Float, Int, Time};
    let additive = matches!(op, Add | Sub);
    let ty = match (&lhs.ty, &rhs.ty) {
        (Int, Int) => Int,
        (Int | Float, Int | Float) => Float,
        (Time, Duration) if additive => Time,
        (Duration, Time) if op == Add => Time,
        (Duration, Duration) if additive => Duration,
        (Time, Time) if op == Sub => Duration,
        (Duration, Int) if matches!(op, Mul | Div) => Duration,
        (Int, Duration) if op == Mul => Duration,
        (Any, Int | Float | Time | Duration | Any) | (Int | Float | Time | Duration, Any) => Any,
        (a, b) => {
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                op_span,
                format!("cannot compute {a} {} {b}", op.as_str()),
            )
            .with_help("arithmetic works on numbers, and on times with durations (`now() - 5m`)"));
        }
    };
    let expr = match (lhs.constant(), rhs.constant()) {
        (Some(a), Some(b)) => match arith(op, a, b) {
            Value::Nil => {
                return Err(Diagnostic::new(
                    Code::InvalidArgument,
                    span,
                    "arithmetic has no result (overflow or division by zero)",
                ));
            }
            value => Expr::Const(value),
        },
        _ => Expr::Arith {
            op,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
        },
    };
    Ok(Typed { expr, ty, span })
}
