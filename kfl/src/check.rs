//! The checker: resolves every field against the schema, every function and method against its
//! registry, types every expression, converts literals, compiles regexes and folds constants.
//! It collects every problem it finds rather than stopping at the first.

use std::borrow::Cow;

use regex::Regex;

use crate::ast::{self, BinaryOp, CompareOp, Key, Node, UnaryOp};
use crate::compare::{View, parse_number};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::eval::{Expr, arith, negate};
use crate::functions::{self, FUNCTIONS};
use crate::methods::{self, METHODS};
use crate::plan::CmpOp;
use crate::protocol::{self, Protocol};
use crate::record::PathSegment;
use crate::schema::{FieldType, Schema};
use crate::span::Span;
use crate::time;
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
    fn constant(&self) -> Option<&Value<'static>> {
        match &self.expr {
            Expr::Const(value) => Some(value),
            _ => None,
        }
    }
}

/// Checks expressions against one schema, collecting diagnostics.
pub struct Checker<'s> {
    fields: &'s [(&'static str, FieldType)],
    now: i64,
    diagnostics: Vec<Diagnostic>,
}

impl<'s> Checker<'s> {
    /// A checker for `schema`, with `now()` fixed at `now` (ns since the epoch).
    pub fn new(schema: &'s Schema, now: i64) -> Self {
        let fields = match &schema.root {
            FieldType::Struct(fields) => fields.as_slice(),
            _ => &[],
        };
        Checker {
            fields,
            now,
            diagnostics: Vec::new(),
        }
    }

    /// The time `now()` stands for.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Every problem found so far.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn lift<T>(&mut self, result: Result<T, Diagnostic>) -> Option<T> {
        result.map_err(|diagnostic| self.report(diagnostic)).ok()
    }

    /// Checks an expression that must be a condition.
    pub fn condition(&mut self, node: &Node<ast::Expr>) -> Option<Expr> {
        self.condition_or(node, None)
    }

    /// Checks a condition; `help` replaces the default advice when it is not one.
    fn condition_or(&mut self, node: &Node<ast::Expr>, help: Option<&str>) -> Option<Expr> {
        let typed = self.check(node)?;
        if typed.ty.is_boolish() {
            return Some(typed.expr);
        }
        let help = match (help, &typed.ty) {
            (Some(help), _) => help.to_string(),
            (None, Ty::Str | Ty::Int | Ty::Float | Ty::Time) => {
                format!("compare it, e.g. `{} == …`", node.node)
            }
            (None, Ty::Regex) => {
                "match a field against it, e.g. `request.path == r\"/api/.*\"`".to_string()
            }
            (None, Ty::List(_)) => format!("test for an element, e.g. `{}.contains(…)`", node.node),
            (None, _) => "write a comparison or a protocol word such as `http`".to_string(),
        };
        self.report(
            Diagnostic::new(Code::NotABoolean, node.span, "expected a condition")
                .with_label(format!("this is {}", typed.ty))
                .with_help(help),
        );
        None
    }

    /// Checks a top-level `limit(n)` and returns its count; `None` when `node` is not a `limit()` call.
    pub fn limit(&mut self, node: &Node<ast::Expr>) -> Option<Option<usize>> {
        let ast::Expr::Call { name, args } = &node.node else {
            return None;
        };
        if name.node != "limit" {
            return None;
        }
        let args: Vec<Typed<'s>> = args.iter().filter_map(|arg| self.check(arg)).collect();
        let count = functions::limit_count(&args, node.span);
        Some(self.lift(count))
    }

    /// Checks any expression.
    pub fn check(&mut self, node: &Node<ast::Expr>) -> Option<Typed<'s>> {
        let span = node.span;
        let typed = |expr, ty| Some(Typed { expr, ty, span });
        match &node.node {
            ast::Expr::Literal(literal) => Some(self.literal(literal, span)),
            ast::Expr::List(items) => self.list(items, span),
            ast::Expr::Ident(name) => self.ident(name, span),
            ast::Expr::Field { base, name } => {
                let base_typed = self.check(base)?;
                let selected = self.select(
                    &base.node,
                    base_typed,
                    PathSegment::Field(name.node.as_str().into()),
                    name.span,
                    span,
                );
                self.lift(selected)
            }
            ast::Expr::Index { base, key } => {
                let base_typed = self.check(base)?;
                let segment = match &key.node {
                    Key::Name(name) => PathSegment::Key(name.as_str().into()),
                    Key::Position(position) => match usize::try_from(*position) {
                        Ok(position) => PathSegment::Index(position),
                        Err(_) => {
                            self.report(Diagnostic::new(
                                Code::InvalidSelector,
                                key.span,
                                "an index cannot be negative",
                            ));
                            return None;
                        }
                    },
                };
                let selected = self.select(&base.node, base_typed, segment, key.span, span);
                self.lift(selected)
            }
            ast::Expr::Call { name, args } => self.call(name, args, span),
            ast::Expr::Method {
                receiver,
                name,
                args,
            } => self.method(receiver, name, args, span),
            ast::Expr::Unary { op, operand } => match op.node {
                UnaryOp::Not => {
                    let help = "`not` applies to the value right after it; to negate a comparison write `not (a == b)`";
                    typed(
                        Expr::Not(Box::new(self.condition_or(operand, Some(help))?)),
                        Ty::Bool,
                    )
                }
                UnaryOp::Neg => {
                    let operand = self.check(operand)?;
                    self.negation(operand, span)
                }
            },
            ast::Expr::Binary { op, lhs, rhs } => match op.node {
                BinaryOp::And | BinaryOp::Or => {
                    let (lhs, rhs) = (self.condition(lhs), self.condition(rhs));
                    let (lhs, rhs) = (Box::new(lhs?), Box::new(rhs?));
                    typed(
                        if op.node == BinaryOp::And {
                            Expr::And(lhs, rhs)
                        } else {
                            Expr::Or(lhs, rhs)
                        },
                        Ty::Bool,
                    )
                }
                BinaryOp::Add | BinaryOp::Sub => {
                    let (lhs, rhs) = (self.check(lhs), self.check(rhs));
                    let arithmetic =
                        arithmetic(op.node == BinaryOp::Sub, lhs?, rhs?, op.span, span);
                    self.lift(arithmetic)
                }
            },
            ast::Expr::Compare { op, lhs, rhs } => {
                let checked = match (&op.node, &rhs.node) {
                    (CompareOp::In, ast::Expr::List(items)) => {
                        let lhs = self.check(lhs)?;
                        self.in_list(lhs, items)
                    }
                    _ => {
                        let (lhs, rhs) = (self.check(lhs), self.check(rhs));
                        let comparison = comparison(op.node, op.span, lhs?, rhs?);
                        self.lift(comparison)
                    }
                };
                typed(checked?, Ty::Bool)
            }
        }
    }

    fn literal(&mut self, literal: &ast::Literal, span: Span) -> Typed<'s> {
        let (value, ty) = match literal {
            ast::Literal::Str(text) => (Value::Str(Cow::Owned(text.clone())), Ty::Str),
            ast::Literal::Regex(text) => (Value::Str(Cow::Owned(text.clone())), Ty::Regex),
            ast::Literal::Int(n) => (Value::Int(*n), Ty::Int),
            ast::Literal::Float(n) => (Value::Float(*n), Ty::Float),
            ast::Literal::Bool(b) => (Value::Bool(*b), Ty::Bool),
            ast::Literal::Nil => (Value::Nil, Ty::Nil),
            ast::Literal::Duration(n) => (Value::Duration(*n), Ty::Duration),
        };
        if ty == Ty::Regex {
            // Report a bad regex even where it is misused.
            if let Err(diagnostic) = compile_regex(literal_text(literal), span, true) {
                self.report(diagnostic);
            }
        }
        Typed {
            expr: Expr::Const(value),
            ty,
            span,
        }
    }

    fn list(&mut self, items: &[Node<ast::Expr>], span: Span) -> Option<Typed<'s>> {
        let mut values = Vec::with_capacity(items.len());
        let mut element_ty: Option<Ty<'s>> = None;
        for item in items {
            let Some(typed) = self.check(item) else {
                continue;
            };
            let Expr::Const(value) = typed.expr else {
                self.report(
                    Diagnostic::new(
                        Code::InvalidArgument,
                        item.span,
                        "list elements must be literals",
                    )
                    .with_help("write values such as `[\"web\", \"api\"]`"),
                );
                continue;
            };
            element_ty = match element_ty {
                Some(previous) if previous != typed.ty => Some(Ty::Any),
                _ => Some(typed.ty),
            };
            values.push(value);
        }
        (values.len() == items.len()).then(|| Typed {
            expr: Expr::Const(Value::List(values)),
            ty: Ty::List(Box::new(element_ty.unwrap_or(Ty::Any))),
            span,
        })
    }

    fn ident(&mut self, name: &str, span: Span) -> Option<Typed<'s>> {
        if let Some(protocol) = Protocol::from_word(name) {
            return Some(Typed {
                expr: Expr::Protocol(protocol),
                ty: Ty::Bool,
                span,
            });
        }
        if let Some((_, field)) = self.fields.iter().find(|(field, _)| *field == name) {
            return Some(Typed {
                expr: Expr::Field(Box::new([PathSegment::Field(name.into())])),
                ty: Ty::of(field),
                span,
            });
        }
        let candidates = self
            .fields
            .iter()
            .map(|(field, _)| *field)
            .chain(protocol::WORDS);
        let mut diagnostic =
            Diagnostic::new(Code::UnknownField, span, format!("unknown field `{name}`"));
        if let Some(suggestion) = did_you_mean(name, candidates) {
            diagnostic = diagnostic.with_label(format!("did you mean `{suggestion}`?"));
        } else if functions::find(name).is_some() {
            diagnostic =
                diagnostic.with_help(format!("`{name}` is a function: call it as `{name}(…)`"));
        } else {
            let fields: Vec<&str> = self.fields.iter().map(|(field, _)| *field).collect();
            diagnostic = diagnostic.with_help(format!(
                "a filter starts from a field ({}) or a protocol word ({})",
                fields.join(", "),
                protocol::WORDS.join(", ")
            ));
        }
        self.report(diagnostic);
        None
    }

    /// Applies one selector (`.name`, `["key"]`, `[0]`) to a checked base.
    fn select(
        &self,
        base_ast: &ast::Expr,
        base: Typed<'s>,
        segment: PathSegment,
        segment_span: Span,
        span: Span,
    ) -> Result<Typed<'s>, Diagnostic> {
        let ty = match (&base.ty, &segment) {
            (Ty::Struct(fields), PathSegment::Field(name) | PathSegment::Key(name)) => {
                match fields.iter().find(|(field, _)| *field == &**name) {
                    Some((_, field)) => Ty::of(field),
                    None => {
                        let mut diagnostic = Diagnostic::new(
                            Code::UnknownField,
                            segment_span,
                            format!("unknown field `{name}`"),
                        );
                        match did_you_mean(name, fields.iter().map(|(field, _)| *field)) {
                            Some(suggestion) => {
                                diagnostic =
                                    diagnostic.with_label(format!("did you mean `{suggestion}`?"))
                            }
                            None => {
                                let names: Vec<&str> =
                                    fields.iter().map(|(field, _)| *field).collect();
                                diagnostic = diagnostic
                                    .with_help(format!("`{base_ast}` has: {}", names.join(", ")));
                            }
                        }
                        return Err(diagnostic);
                    }
                }
            }
            (Ty::Map(value), PathSegment::Key(_)) => Ty::of(value),
            (Ty::Map(_), PathSegment::Field(name)) => {
                return Err(Diagnostic::new(
                    Code::InvalidSelector,
                    segment_span,
                    format!("`{base_ast}` is a map"),
                )
                .with_label("maps are selected by key")
                .with_help(format!("write `{base_ast}[\"{name}\"]`")));
            }
            (Ty::List(element), PathSegment::Index(_)) => (**element).clone(),
            (Ty::Any, _) => Ty::Any,
            (other, segment) => {
                let selector = match segment {
                    PathSegment::Field(name) => format!("`.{name}`"),
                    PathSegment::Key(name) => format!("`[\"{name}\"]`"),
                    PathSegment::Index(position) => format!("`[{position}]`"),
                };
                return Err(Diagnostic::new(
                    Code::InvalidSelector,
                    segment_span,
                    format!("{selector} cannot select from {other}"),
                )
                .with_label(format!("`{base_ast}` is {other}")));
            }
        };
        let expr = match base.expr {
            Expr::Field(path) => Expr::Field(extend(path, segment)),
            Expr::Select { base, path } => Expr::Select {
                base,
                path: extend(path, segment),
            },
            other => Expr::Select {
                base: Box::new(other),
                path: Box::new([segment]),
            },
        };
        Ok(Typed { expr, ty, span })
    }

    fn call(
        &mut self,
        name: &Node<String>,
        args: &[Node<ast::Expr>],
        span: Span,
    ) -> Option<Typed<'s>> {
        let Some(function) = functions::find(&name.node) else {
            let mut diagnostic = Diagnostic::new(
                Code::UnknownFunction,
                name.span,
                format!("unknown function `{}`", name.node),
            );
            if let Some(suggestion) = did_you_mean(&name.node, FUNCTIONS.iter().map(|f| f.name)) {
                diagnostic = diagnostic.with_label(format!("did you mean `{suggestion}`?"));
            } else if let Some(method) = methods::find(&name.node) {
                diagnostic = diagnostic
                    .with_help(format!("`{}` is a method: {}", method.name, method.usage));
            } else {
                let names: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
                diagnostic = diagnostic.with_help(format!("functions are {}", names.join(", ")));
            }
            self.report(diagnostic);
            return None;
        };
        let checked: Vec<Option<Typed<'s>>> = args.iter().map(|arg| self.check(arg)).collect();
        if args.len() != function.arity {
            self.report(wrong_count(
                function.name,
                function.arity,
                args.len(),
                span,
                function.usage,
            ));
            return None;
        }
        let checked: Vec<Typed<'s>> = checked.into_iter().collect::<Option<_>>()?;
        let built = (function.build)(self, &checked, span);
        self.lift(built)
    }

    fn method(
        &mut self,
        receiver: &Node<ast::Expr>,
        name: &Node<String>,
        args: &[Node<ast::Expr>],
        span: Span,
    ) -> Option<Typed<'s>> {
        let receiver = self.check(receiver);
        let Some(method) = methods::find(&name.node) else {
            let mut diagnostic = Diagnostic::new(
                Code::UnknownMethod,
                name.span,
                format!("unknown method `{}`", name.node),
            );
            if let Some(suggestion) = did_you_mean(&name.node, METHODS.iter().map(|m| m.name)) {
                diagnostic = diagnostic.with_label(format!("did you mean `{suggestion}`?"));
            } else {
                let names: Vec<String> = METHODS.iter().map(|m| format!(".{}()", m.name)).collect();
                diagnostic = diagnostic.with_help(format!("methods are {}", names.join(" ")));
            }
            self.report(diagnostic);
            return None;
        };
        let checked: Vec<Option<Typed<'s>>> = args.iter().map(|arg| self.check(arg)).collect();
        if args.len() != method.arity {
            self.report(wrong_count(
                method.name,
                method.arity,
                args.len(),
                span,
                method.usage,
            ));
            return None;
        }
        let receiver = receiver?;
        let checked: Vec<Typed<'s>> = checked.into_iter().collect::<Option<_>>()?;
        let built = (method.build)(&receiver, &checked, span);
        let (op, ty) = self.lift(built)?;
        Some(Typed {
            expr: Expr::Method {
                receiver: Box::new(receiver.expr),
                method: op,
            },
            ty,
            span,
        })
    }

    fn negation(&mut self, operand: Typed<'s>, span: Span) -> Option<Typed<'s>> {
        if !matches!(operand.ty, Ty::Int | Ty::Float | Ty::Duration | Ty::Any) {
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    format!("cannot negate {}", operand.ty),
                )
                .with_label("`-` applies to numbers and durations"),
            );
            return None;
        }
        let expr = match operand.constant() {
            Some(value) => Expr::Const(negate(value)),
            None => Expr::Neg(Box::new(operand.expr)),
        };
        Some(Typed {
            expr,
            ty: operand.ty,
            span,
        })
    }

    /// `x in [literals]`: every element is converted to the type of `x` and checked against it.
    fn in_list(&mut self, operand: Typed<'s>, items: &[Node<ast::Expr>]) -> Option<Expr> {
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let Some(element) = self.check(item) else {
                continue;
            };
            let Some(value) = element.constant().cloned() else {
                self.report(
                    Diagnostic::new(
                        Code::InvalidArgument,
                        item.span,
                        "list elements must be literals",
                    )
                    .with_help("write values such as `[\"web\", \"api\"]`"),
                );
                continue;
            };
            let converted =
                coerce_value(&operand.ty, value, &element.ty, element.span).and_then(|value| {
                    compatible(
                        CmpOp::Eq,
                        &operand.ty,
                        &ty_of_value(&value, &element.ty),
                        element.span,
                    )
                    .map(|()| value)
                });
            if let Some(value) = self.lift(converted) {
                values.push(value);
            }
        }
        (values.len() == items.len()).then(|| Expr::InList {
            operand: Box::new(operand.expr),
            values,
        })
    }
}

fn literal_text(literal: &ast::Literal) -> &str {
    match literal {
        ast::Literal::Str(text) | ast::Literal::Regex(text) => text,
        _ => "",
    }
}

fn extend(path: Box<[PathSegment]>, segment: PathSegment) -> Box<[PathSegment]> {
    let mut path = path.into_vec();
    path.push(segment);
    path.into_boxed_slice()
}

fn wrong_count(name: &str, arity: usize, given: usize, span: Span, usage: &str) -> Diagnostic {
    let plural = if arity == 1 { "" } else { "s" };
    let verb = if given == 1 { "was" } else { "were" };
    Diagnostic::new(
        Code::WrongArgumentCount,
        span,
        format!("`{name}` takes {arity} argument{plural} but {given} {verb} given"),
    )
    .with_help(format!("call it as {usage}"))
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
fn ty_of_value<'s>(value: &Value<'static>, original: &Ty<'s>) -> Ty<'s> {
    match value {
        Value::Int(_) => Ty::Int,
        Value::Float(_) => Ty::Float,
        Value::Time(_) => Ty::Time,
        _ => original.clone(),
    }
}

/// Checks a comparison and builds it; regexes become full matches and constants move right.
fn comparison<'s>(
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
fn compatible(op: CmpOp, lhs: &Ty<'_>, rhs: &Ty<'_>, span: Span) -> Result<(), Diagnostic> {
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

/// Types `a + b` / `a - b` and folds it when both sides are constants.
fn arithmetic<'s>(
    subtract: bool,
    lhs: Typed<'s>,
    rhs: Typed<'s>,
    op_span: Span,
    span: Span,
) -> Result<Typed<'s>, Diagnostic> {
    use Ty::{Any, Duration, Float, Int, Time};
    let ty = match (&lhs.ty, &rhs.ty) {
        (Int, Int) => Int,
        (Int | Float, Int | Float) => Float,
        (Time, Duration) => Time,
        (Duration, Time) if !subtract => Time,
        (Duration, Duration) => Duration,
        (Time, Time) if subtract => Duration,
        (Any, Int | Float | Time | Duration | Any) | (Int | Float | Time | Duration, Any) => Any,
        (a, b) => {
            let verb = if subtract { "subtract" } else { "add" };
            return Err(Diagnostic::new(
                Code::TypeMismatch,
                op_span,
                format!("cannot {verb} {b} and {a}"),
            )
            .with_help("arithmetic works on numbers, and on times with durations (`now() - 5m`)"));
        }
    };
    let expr = match (lhs.constant(), rhs.constant()) {
        (Some(a), Some(b)) => match arith(subtract, a, b) {
            Value::Nil => {
                return Err(Diagnostic::new(
                    Code::InvalidArgument,
                    span,
                    "arithmetic overflows",
                ));
            }
            value => Expr::Const(value),
        },
        _ => Expr::Arith {
            subtract,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
        },
    };
    Ok(Typed { expr, ty, span })
}
