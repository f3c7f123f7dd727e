//! Reading the other spellings before checking: a parsed condition's aliases (KFL2's flat
//! variables such as `status_code`, `src.pod.name`) are rewritten into the expressions they stand
//! for, so both dialects check, run and plan as one; names of protocols the host does not dissect
//! are refused saying so; and words whose meaning differs between dialects leave a warning.
//!
//! A dotted name is read whole first (`src.pod.name` is an alias even though `src.pod` is a
//! field), and a name that is a field of the schema is never an alias. Names bound by a macro
//! (`q` in `dns_questions.exists(q, …)`) are left alone.

use crate::ast::{Expr, Node};
use crate::diagnostic::{Code, Diagnostic};
use crate::macros::MacroKind;
use crate::parse;
use crate::protocol::Protocol;
use crate::schema::Schema;
use crate::span::Span;

/// What reading one condition found.
#[derive(Debug, Default)]
pub struct Reading {
    /// Errors (an undissected protocol's name).
    pub errors: Vec<Diagnostic>,
    /// Warnings (a word another dialect reads differently).
    pub warnings: Vec<Diagnostic>,
    /// Whether any alias was rewritten (so the filter reads differently from its source).
    pub rewrote: bool,
}

/// Rewrites the aliases in `node` (a condition at most `MAX_DEPTH` deep) in place.
pub fn read(node: &mut Node<Expr>, schema: &Schema, reading: &mut Reading) {
    let mut bound = Vec::new();
    visit(node, schema, reading, &mut bound);
}

fn visit(node: &mut Node<Expr>, schema: &Schema, reading: &mut Reading, bound: &mut Vec<String>) {
    let span = node.span;
    if expand_wildcard(node, schema) {
        reading.rewrote = true;
    }
    match &mut node.node {
        Expr::Ident(name) => {
            if bound.contains(name) {
                return;
            }
            if let Some(target) = expansion(schema, name, span, reading) {
                *node = target;
                return;
            }
            if name == "tls" {
                reading.warnings.push(
                    Diagnostic::new(Code::DialectWord, span, "`tls` means TLS handshakes here")
                        .with_label("handshake entries")
                        .with_help(
                            "Kubeshark's KFL2 calls handshakes `tlsx` (and uses `tls` for decrypted traffic, \
                             which is not captured here): write `tlsx`",
                        ),
                );
            }
            let known = Protocol::from_word(name).is_some() || schema.has_path(name);
            let undissected = schema.undissected.iter().find(|p| p.covers(name));
            if let (false, Some(protocol)) = (known, undissected) {
                reading.errors.push(
                    Diagnostic::new(
                        Code::NotDissected,
                        span,
                        format!("`{name}` belongs to {}", protocol.protocol),
                    )
                    .with_label(format!("{} is not dissected here", protocol.protocol))
                    .with_help(
                        "no entry can match it; `kubectl shark fields` lists the protocols and fields there are",
                    ),
                );
            }
        }
        Expr::Field { .. } => {
            if let Some(dotted) = dotted(&node.node) {
                if let Some(target) = expansion(schema, &dotted, span, reading) {
                    *node = target;
                    return;
                }
                if schema.has_path(&dotted) {
                    return;
                }
            }
            node.node
                .for_each_child_mut(|base| visit(base, schema, reading, bound));
        }
        Expr::Method {
            receiver,
            name,
            args,
        } if MacroKind::from_name(&name.node).is_some() => {
            visit(receiver, schema, reading, bound);
            let variable = match args.first().map(|a| &a.node) {
                Some(Expr::Ident(variable)) => Some(variable.clone()),
                _ => None,
            };
            let pushed = variable.is_some();
            bound.extend(variable);
            for arg in args.iter_mut().skip(usize::from(pushed)) {
                visit(arg, schema, reading, bound);
            }
            if pushed {
                bound.pop();
            }
        }
        other => other.for_each_child_mut(|child| visit(child, schema, reading, bound)),
    }
}

/// The alias `name`'s expression, with every node at `span`; `None` when `name` is no alias.
fn expansion(schema: &Schema, name: &str, span: Span, reading: &mut Reading) -> Option<Node<Expr>> {
    let alias = schema.alias(name)?;
    match parse::parse(alias.target) {
        Ok(mut target) => {
            respan(&mut target, span);
            reading.rewrote = true;
            Some(target)
        }
        Err(_) => {
            reading.errors.push(Diagnostic::new(
                Code::UnknownField,
                span,
                format!(
                    "`{name}` stands for `{}`, which does not parse",
                    alias.target
                ),
            ));
            None
        }
    }
}

fn respan(node: &mut Node<Expr>, span: Span) {
    node.span = span;
    node.node.for_each_child_mut(|child| respan(child, span));
}

/// The variable a legacy wildcard's comparison is read with.
const ANY: &str = "_any";

/// Legacy wildcards: a comparison or method whose operand goes through `x.*`, `x[*]` or `..name`
/// holds when it holds for one of the values there, so `request.headers.* == "v"` is read as
/// `request.headers.values().exists(_any, _any == "v")`. `..name` stands for every field of the
/// schema called `name` (one field: that field; several: any of them).
/// Returns whether it rewrote anything.
fn expand_wildcard(node: &mut Node<Expr>, schema: &Schema) -> bool {
    let span = node.span;
    let operand = match &mut node.node {
        Expr::Compare { lhs, .. } => lhs,
        Expr::Method { receiver, name, .. } if MacroKind::from_name(&name.node).is_none() => {
            receiver
        }
        _ => return false,
    };
    let Some(end) = spine(operand) else {
        return false;
    };
    if let Expr::Recursive(name) = &end.node {
        let mut paths: Vec<Node<Expr>> = schema
            .fields()
            .into_iter()
            .filter(|(path, _)| !path.contains('[') && path.rsplit('.').next() == Some(name))
            .filter_map(|(path, _)| parse::parse(&path).ok())
            .collect();
        paths.iter_mut().for_each(|path| respan(path, span));
        *end = match paths.len() {
            0 => return false,
            1 => paths.remove(0),
            _ => Node::new(
                span,
                Expr::Wildcard {
                    base: Box::new(Node::new(span, Expr::List(paths))),
                },
            ),
        };
    }
    let Expr::Wildcard { base } = &mut end.node else {
        // `..name` of exactly one field: that field.
        return true;
    };
    let base = crate::ast::take_box(base);
    *end = Node::new(span, Expr::Ident(ANY.to_string()));
    let body = std::mem::replace(
        node,
        Node::new(span, Expr::Literal(crate::ast::Literal::Nil)),
    );
    let values = Node::new(
        span,
        Expr::Method {
            receiver: Box::new(base),
            name: Node::new(span, "values".to_string()),
            args: Vec::new(),
        },
    );
    *node = Node::new(
        span,
        Expr::Method {
            receiver: Box::new(values),
            name: Node::new(span, "exists".to_string()),
            args: vec![Node::new(span, Expr::Ident(ANY.to_string())), body],
        },
    );
    true
}

/// The wildcard (`x.*`, `..name`) an operand's chain of selectors and methods starts from.
fn spine(node: &mut Node<Expr>) -> Option<&mut Node<Expr>> {
    if matches!(node.node, Expr::Wildcard { .. } | Expr::Recursive(_)) {
        return Some(node);
    }
    match &mut node.node {
        Expr::Field { base, .. } | Expr::Index { base, .. } => spine(base),
        Expr::Method { receiver, .. } => spine(receiver),
        _ => None,
    }
}

/// `a.b.c` for a chain of names, `None` for anything else.
fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Field { base, name } => Some(format!("{}.{}", dotted(&base.node)?, name.node)),
        _ => None,
    }
}
