//! The functions KFL2 (Kubeshark's CEL dialect) adds: `size(x)`, `map_get(map, key, default)`,
//! `has(x)` and `timestamp("…")` (as `datetime`), and the legacy duration helpers `seconds(n)`
//! … `years(n)`. Unlike the constant functions, `size`, `map_get` and `has` read the entry.

use std::borrow::Cow;

use crate::compare::CmpOp;
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Expr;
use crate::method_op::MethodOp;
use crate::record::PathSegment;
use crate::span::Span;
use crate::typed::{Typed, literal_str};
use crate::types::Ty;
use crate::value::Value;

/// `size(x)`: characters of text, elements of a list, keys of a map (`x.len()`).
pub fn size<'s>(_: i64, args: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    let [x] = args else {
        return Err(count("size", 1, span));
    };
    if !matches!(x.ty, Ty::Str | Ty::List(_) | Ty::Map(_) | Ty::Any | Ty::Nil) {
        return Err(Diagnostic::new(
            Code::TypeMismatch,
            x.span,
            "`size()` applies to text, lists and maps",
        )
        .with_label(format!("this is {}", x.ty)));
    }
    Ok(Typed {
        expr: Expr::Method {
            receiver: Box::new(x.expr.clone()),
            method: MethodOp::Len,
        },
        ty: Ty::Int,
        span,
    })
}

/// `map_get(map, "key", default)`: the value at `key`, or `default` when the map lacks it.
pub fn map_get<'s>(_: i64, args: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    let [map, key, default] = args else {
        return Err(count("map_get", 3, span));
    };
    let ty = match &map.ty {
        Ty::Map(value) => Ty::of(value),
        Ty::Any => Ty::Any,
        other => {
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                map.span,
                "`map_get()` looks up a map",
            )
            .with_label(format!("this is {other}"))
            .with_help("e.g. `map_get(request.headers, \"x-id\", \"\")`"));
        }
    };
    let (key, _) = literal_str(std::slice::from_ref(key), "map_get")?;
    let Some(fallback) = default.constant() else {
        return Err(Diagnostic::new(
            Code::InvalidArgument,
            default.span,
            "`map_get()` needs a literal default",
        ));
    };
    let segment = PathSegment::Key(key.into());
    let value = match map.expr.clone() {
        Expr::Field(path) => Expr::Field(path.iter().cloned().chain([segment]).collect()),
        other => Expr::Select {
            base: Box::new(other),
            path: Box::new([segment]),
        },
    };
    Ok(Typed {
        expr: Expr::Default {
            value: Box::new(value),
            fallback: fallback.clone(),
        },
        ty,
        span,
    })
}

/// `has(x)`: whether the entry has `x` (`x != nil`).
pub fn has<'s>(_: i64, args: &[Typed<'s>], span: Span) -> Result<Typed<'s>, Diagnostic> {
    let [x] = args else {
        return Err(count("has", 1, span));
    };
    Ok(Typed {
        expr: Expr::Compare {
            op: CmpOp::Ne,
            lhs: Box::new(x.expr.clone()),
            rhs: Box::new(Expr::Const(Value::Nil)),
        },
        ty: Ty::Bool,
        span,
    })
}

/// `seconds(n)` … `years(n)`: a duration of `n` units (months of 30 days, years of 365).
pub fn units<'s>(
    name: &str,
    unit_seconds: i64,
    args: &[Typed<'s>],
    span: Span,
) -> Result<Typed<'s>, Diagnostic> {
    let nanos = match args {
        [
            Typed {
                expr: Expr::Const(Value::Int(n)),
                ..
            },
        ] => n.checked_mul(unit_seconds.saturating_mul(1_000_000_000)),
        [
            Typed {
                expr: Expr::Const(Value::Float(n)),
                ..
            },
        ] => {
            let nanos = n * unit_seconds as f64 * 1e9;
            (nanos.is_finite() && nanos.abs() < i64::MAX as f64).then_some(nanos as i64)
        }
        [other] => {
            return Err(Diagnostic::new(
                Code::InvalidArgument,
                other.span,
                format!("`{name}()` needs a literal number"),
            )
            .with_label(format!("this is {}", other.ty)));
        }
        _ => return Err(count(name, 1, span)),
    };
    let nanos = nanos
        .ok_or_else(|| Diagnostic::new(Code::InvalidArgument, span, "duration is too long"))?;
    Ok(Typed {
        expr: Expr::Const(Value::Duration(nanos)),
        ty: Ty::Duration,
        span,
    })
}

fn count(name: &str, arity: usize, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::WrongArgumentCount,
        span,
        Cow::<str>::Owned(format!(
            "`{name}()` takes {arity} argument{}",
            if arity == 1 { "" } else { "s" }
        )),
    )
}
