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

/// `a.b.c` for a chain of names, `None` for anything else.
fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Ident(name) => Some(name.clone()),
        Expr::Field { base, name } => Some(format!("{}.{}", dotted(&base.node)?, name.node)),
        _ => None,
    }
}
