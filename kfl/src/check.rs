//! The checker: resolves every field against the schema, every function and method against its
//! registry, and types every expression (operators follow the rules in `operators.rs`). It
//! collects every problem it finds rather than stopping at the first.

use std::borrow::Cow;

use crate::arith::ArithOp;
use crate::ast::{self, BinaryOp, CompareOp, Key, Node, UnaryOp};
use crate::compare::CmpOp;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::eval::{Expr, negate};
use crate::functions::{self, FUNCTIONS};
use crate::macros::{self, MacroKind};
use crate::methods::{self, METHODS};
use crate::operators::{
    arithmetic, coerce_value, comparison, compatible, compile_regex, ty_of_value,
};
use crate::protocol::{self, Protocol};
use crate::record::PathSegment;
use crate::schema::{Alias, FieldType, Schema};
use crate::span::Span;
use crate::typed::Typed;
use crate::types::Ty;
use crate::value::Value;

/// Checks expressions against one schema, collecting diagnostics.
pub struct Checker<'s> {
    fields: &'s [(&'static str, FieldType)],
    aliases: &'s [Alias],
    /// Variables bound by the macros being checked, innermost last, with their types.
    scopes: Vec<(String, Ty<'s>)>,
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
            aliases: &schema.aliases,
            scopes: Vec::new(),
            now,
            diagnostics: Vec::new(),
        }
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
        if reads_entry(&node.node) && !matches!(typed.ty, Ty::Struct(_)) {
            // A value of the entry alone tests its presence (`request.headers["x-id"]`,
            // `!status_code`), as in legacy KFL and KFL2.
            return Some(Expr::Compare {
                op: CmpOp::Ne,
                lhs: Box::new(typed.expr),
                rhs: Box::new(Expr::Const(Value::Nil)),
            });
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

    /// Checks a top-level `redact("path", …)` and returns its paths; `None` when `node` is not a
    /// `redact()` call.
    pub fn redact(&mut self, node: &Node<ast::Expr>) -> Option<Vec<String>> {
        let ast::Expr::Call { name, args } = &node.node else {
            return None;
        };
        if name.node != "redact" {
            return None;
        }
        let mut paths = Vec::new();
        for arg in args {
            match &arg.node {
                ast::Expr::Literal(ast::Literal::Str(path)) if !path.trim().is_empty() => {
                    paths.push(path.trim().to_string());
                }
                _ => self.report(
                    Diagnostic::new(
                        Code::InvalidArgument,
                        arg.span,
                        "`redact()` takes the paths to hide, as strings",
                    )
                    .with_help(
                        "e.g. `redact(\"request.headers.Authorization\", \"response.body\")`",
                    ),
                ),
            }
        }
        Some(paths)
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
            ast::Expr::Wildcard { .. } | ast::Expr::Recursive(_) => {
                // What reading leaves of them: one with nothing to test, or `..name` of no field.
                self.report(
                    Diagnostic::new(
                        Code::InvalidSelector,
                        span,
                        format!("`{}` stands for no single value here", node.node),
                    )
                    .with_help(
                        "compare it or call a method on it (`request.headers.* == \"x\"`); `..name` must name a field",
                    ),
                );
                None
            }
            ast::Expr::Call { name, args } => self.call(name, args, span),
            ast::Expr::Method {
                receiver,
                name,
                args,
            } => self.method(receiver, name, args, span),
            ast::Expr::Unary { op, operand } => match op.node {
                UnaryOp::Not => typed(
                    Expr::Not(Box::new(
                        self.condition_or(operand, Some(NOT_BINDS_TIGHTER))?,
                    )),
                    Ty::Bool,
                ),
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
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                    let arith_op = match op.node {
                        BinaryOp::Add => ArithOp::Add,
                        BinaryOp::Sub => ArithOp::Sub,
                        BinaryOp::Mul => ArithOp::Mul,
                        BinaryOp::Div => ArithOp::Div,
                        _ => ArithOp::Rem,
                    };
                    let (lhs, rhs) = (self.check(lhs), self.check(rhs));
                    let arithmetic = arithmetic(arith_op, lhs?, rhs?, op.span, span);
                    self.lift(arithmetic)
                }
            },
            ast::Expr::Conditional {
                condition,
                then,
                otherwise,
            } => self.conditional(condition, then, otherwise, span),
            ast::Expr::Compare { op, lhs, rhs } => {
                let checked = match (&op.node, &rhs.node) {
                    (CompareOp::In, ast::Expr::List(items))
                        if !items.iter().any(|item| reads_entry(&item.node)) =>
                    {
                        let lhs = self.check(lhs)?;
                        self.in_list(lhs, items)
                    }
                    _ => {
                        let negated = matches!(
                            &lhs.node,
                            ast::Expr::Unary { op, .. } if op.node == UnaryOp::Not
                        );
                        let (lhs, rhs) = (self.check(lhs), self.check(rhs));
                        let comparison =
                            comparison(op.node, op.span, lhs?, rhs?).map_err(|diagnostic| {
                                if negated && diagnostic.code == Code::TypeMismatch {
                                    diagnostic.with_help(NOT_BINDS_TIGHTER)
                                } else {
                                    diagnostic
                                }
                            });
                        self.lift(comparison)
                    }
                };
                typed(checked?, Ty::Bool)
            }
        }
    }

    /// `c ? a : b`: both branches must have one type (or be dynamic).
    fn conditional(
        &mut self,
        condition: &Node<ast::Expr>,
        then: &Node<ast::Expr>,
        otherwise: &Node<ast::Expr>,
        span: Span,
    ) -> Option<Typed<'s>> {
        let (condition, then, otherwise) = (
            self.condition(condition),
            self.check(then),
            self.check(otherwise),
        );
        let (condition, then, otherwise) = (condition?, then?, otherwise?);
        let ty = match (&then.ty, &otherwise.ty) {
            (a, b) if a == b => a.clone(),
            (Ty::Nil, other) | (other, Ty::Nil) => other.clone(),
            (Ty::Any, _) | (_, Ty::Any) => Ty::Any,
            (a, b) if a.is_number() && b.is_number() => Ty::Float,
            (a, b) => {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        otherwise.span,
                        format!("the branches of `?:` differ: {a} and {b}"),
                    )
                    .with_help("give both branches the same type"),
                );
                return None;
            }
        };
        Some(Typed {
            expr: Expr::Conditional {
                condition: Box::new(condition),
                then: Box::new(then.expr),
                otherwise: Box::new(otherwise.expr),
            },
            ty,
            span,
        })
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

    /// `[a, b, …]`: a constant when every element is one, else a list computed per entry
    /// (`[src.namespace, dst.namespace]`).
    fn list(&mut self, items: &[Node<ast::Expr>], span: Span) -> Option<Typed<'s>> {
        let checked: Vec<Option<Typed<'s>>> = items.iter().map(|item| self.check(item)).collect();
        let checked: Vec<Typed<'s>> = checked.into_iter().collect::<Option<_>>()?;
        let mut element_ty: Option<Ty<'s>> = None;
        for typed in &checked {
            element_ty = match element_ty {
                Some(previous) if previous != typed.ty => Some(Ty::Any),
                _ => Some(typed.ty.clone()),
            };
        }
        let ty = Ty::List(Box::new(element_ty.unwrap_or(Ty::Any)));
        let expr = if checked.iter().all(|typed| typed.constant().is_some()) {
            Expr::Const(Value::List(
                checked
                    .into_iter()
                    .filter_map(|typed| match typed.expr {
                        Expr::Const(value) => Some(value),
                        _ => None,
                    })
                    .collect(),
            ))
        } else {
            Expr::List(checked.into_iter().map(|typed| typed.expr).collect())
        };
        Some(Typed { expr, ty, span })
    }

    fn ident(&mut self, name: &str, span: Span) -> Option<Typed<'s>> {
        if let Some(depth) = self.scopes.iter().rposition(|(bound, _)| bound == name) {
            let ty = self.scopes.get(depth).map_or(Ty::Any, |(_, ty)| ty.clone());
            return Some(Typed {
                expr: Expr::Field(Box::new([PathSegment::Field(macros::variable_name(depth))])),
                ty,
                span,
            });
        }
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
            .chain(protocol::WORDS.iter().copied())
            .chain(self.aliases.iter().map(|alias| alias.name));
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
        let built = (function.build)(self.now, &checked, span);
        self.lift(built)
    }

    fn method(
        &mut self,
        receiver: &Node<ast::Expr>,
        name: &Node<String>,
        args: &[Node<ast::Expr>],
        span: Span,
    ) -> Option<Typed<'s>> {
        if let Some(kind) = MacroKind::from_name(&name.node) {
            return self.comprehension(kind, receiver, name, args, span);
        }
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

    /// `list.exists(x, body)` and the other macros: `x` is bound to the elements' type while the
    /// body is checked.
    fn comprehension(
        &mut self,
        kind: MacroKind,
        receiver: &Node<ast::Expr>,
        name: &Node<String>,
        args: &[Node<ast::Expr>],
        span: Span,
    ) -> Option<Typed<'s>> {
        let list = self.check(receiver);
        let usage = format!("list.{}(x, condition)", name.node);
        let [variable, body] = args else {
            self.report(wrong_count(&name.node, 2, args.len(), span, &usage));
            return None;
        };
        let ast::Expr::Ident(variable) = &variable.node else {
            self.report(
                Diagnostic::new(
                    Code::InvalidArgument,
                    variable.span,
                    format!("`.{}()` first takes a variable name", name.node),
                )
                .with_help(format!(
                    "e.g. `dns_questions.{}(q, q.endsWith(\".shop\"))`",
                    name.node
                )),
            );
            return None;
        };
        let list = list?;
        let element = match &list.ty {
            Ty::List(element) => (**element).clone(),
            Ty::Map(_) => Ty::Str,
            Ty::Any | Ty::Nil => Ty::Any,
            other => {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        list.span,
                        format!("`.{}()` ranges over a list or a map", name.node),
                    )
                    .with_label(format!("this is {other}")),
                );
                return None;
            }
        };
        let depth = self.scopes.len();
        self.scopes.push((variable.clone(), element.clone()));
        let body = if kind == MacroKind::Map {
            self.check(body)
        } else {
            self.condition(body).map(|expr| Typed {
                expr,
                ty: Ty::Bool,
                span: body.span,
            })
        };
        self.scopes.truncate(depth);
        let body = body?;
        let ty = match kind {
            MacroKind::Filter => Ty::List(Box::new(element)),
            MacroKind::Map => Ty::List(Box::new(body.ty.clone())),
            _ => Ty::Bool,
        };
        Some(Typed {
            expr: Expr::Macro {
                kind,
                list: Box::new(list.expr),
                name: macros::variable_name(depth),
                body: Box::new(body.expr),
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

/// Advice for `not a == b`, which reads as `(not a) == b`.
const NOT_BINDS_TIGHTER: &str =
    "`not` applies to the value right after it; to negate a comparison write `not (a == b)`";

/// Whether an expression reads the entry (a name, a selection or a method call on one).
fn reads_entry(expr: &ast::Expr) -> bool {
    matches!(
        expr,
        ast::Expr::Ident(_)
            | ast::Expr::Field { .. }
            | ast::Expr::Index { .. }
            | ast::Expr::Method { .. }
            | ast::Expr::Conditional { .. }
            | ast::Expr::Binary { .. }
    )
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
