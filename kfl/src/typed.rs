//! A checked expression with its static type and span: what checking hands on to functions,
//! methods and operators as they build bigger expressions.

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Expr;
use crate::span::Span;
use crate::types::Ty;
use crate::value::Value;

/// A checked expression, its type and its source span.
#[derive(Debug, Clone)]
pub struct Typed<'s> {
    /// The executable expression.
    pub expr: Expr,
    /// Its static type.
    pub ty: Ty<'s>,
    /// Where it is in the source.
    pub span: Span,
}

impl Typed<'_> {
    /// The value, when the expression is a constant.
    pub fn constant(&self) -> Option<&Value<'static>> {
        match &self.expr {
            Expr::Const(value) => Some(value),
            _ => None,
        }
    }
}

/// The single literal string argument of a function or method, with its span.
pub fn literal_str<'a>(args: &'a [Typed<'_>], name: &str) -> Result<(&'a str, Span), Diagnostic> {
    match args {
        [
            Typed {
                expr: Expr::Const(Value::Str(text)),
                span,
                ..
            },
        ] => Ok((text, *span)),
        [other] => Err(Diagnostic::new(
            Code::InvalidArgument,
            other.span,
            format!("`{name}()` needs a literal string"),
        )
        .with_label(format!("this is {}", other.ty))),
        _ => Err(Diagnostic::new(
            Code::WrongArgumentCount,
            Span::default(),
            format!("`{name}()` takes 1 argument"),
        )),
    }
}
