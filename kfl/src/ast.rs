//! The syntax tree the parser builds: every node carries its span. `Display` prints canonical KFL
//! (minimal parentheses, one spelling per operator) that parses back to the same tree.

use std::fmt;

use crate::duration;
use crate::span::Span;

/// A syntax node and the source range it came from.
///
/// Nodes compare by content only: spans are ignored, so a reprinted filter compares equal to
/// the original.
#[derive(Debug, Clone)]
pub struct Node<T> {
    /// Where the node is in the source.
    pub span: Span,
    /// The node itself.
    pub node: T,
}

impl<T> Node<T> {
    /// Wraps `node` with its span.
    pub fn new(span: Span, node: T) -> Self {
        Node { span, node }
    }
}

impl<T: PartialEq> PartialEq for Node<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// A boxed expression node.
pub type BoxExpr = Box<Node<Expr>>;

impl Node<Expr> {
    /// How deeply the tree nests (a leaf is 1), measured without recursion.
    pub fn depth(&self) -> usize {
        let mut deepest = 0;
        let mut pending = vec![(self, 1)];
        while let Some((node, depth)) = pending.pop() {
            deepest = deepest.max(depth);
            node.node
                .for_each_child(|child| pending.push((child, depth + 1)));
        }
        deepest
    }
}

/// Drops trees without recursion, however deep they are: a parser that stops on a syntax error
/// drops whatever it has built, and a long `or` chain is as deep as it is long.
impl Drop for Expr {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        self.take_children(&mut pending);
        while let Some(mut node) = pending.pop() {
            node.node.take_children(&mut pending);
        }
    }
}

/// Moves a boxed node out, leaving a leaf behind (the box itself is kept, so nothing allocates).
pub fn take_box(boxed: &mut BoxExpr) -> Node<Expr> {
    std::mem::replace(
        &mut **boxed,
        Node::new(Span::default(), Expr::Literal(Literal::Nil)),
    )
}

impl Expr {
    fn take_children(&mut self, out: &mut Vec<Node<Expr>>) {
        match self {
            Expr::Literal(_) | Expr::Ident(_) | Expr::Recursive(_) => {}
            Expr::List(items) | Expr::Call { args: items, .. } => out.append(items),
            Expr::Field { base, .. } | Expr::Index { base, .. } | Expr::Wildcard { base } => {
                out.push(take_box(base))
            }
            Expr::Method { receiver, args, .. } => {
                out.push(take_box(receiver));
                out.append(args);
            }
            Expr::Unary { operand, .. } => out.push(take_box(operand)),
            Expr::Binary { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                out.push(take_box(lhs));
                out.push(take_box(rhs));
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                out.push(take_box(condition));
                out.push(take_box(then));
                out.push(take_box(otherwise));
            }
        }
    }

    /// Calls `visit` on each direct child, mutably.
    pub fn for_each_child_mut(&mut self, mut visit: impl FnMut(&mut Node<Expr>)) {
        match self {
            Expr::Literal(_) | Expr::Ident(_) | Expr::Recursive(_) => {}
            Expr::List(items) | Expr::Call { args: items, .. } => items.iter_mut().for_each(visit),
            Expr::Field { base, .. } | Expr::Index { base, .. } | Expr::Wildcard { base } => {
                visit(base)
            }
            Expr::Method { receiver, args, .. } => {
                visit(receiver);
                args.iter_mut().for_each(visit);
            }
            Expr::Unary { operand, .. } => visit(operand),
            Expr::Binary { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                visit(lhs);
                visit(rhs);
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                visit(condition);
                visit(then);
                visit(otherwise);
            }
        }
    }

    fn for_each_child<'a>(&'a self, mut visit: impl FnMut(&'a Node<Expr>)) {
        match self {
            Expr::Literal(_) | Expr::Ident(_) | Expr::Recursive(_) => {}
            Expr::List(items) | Expr::Call { args: items, .. } => items.iter().for_each(visit),
            Expr::Field { base, .. } | Expr::Index { base, .. } | Expr::Wildcard { base } => {
                visit(base)
            }
            Expr::Method { receiver, args, .. } => {
                visit(receiver);
                args.iter().for_each(visit);
            }
            Expr::Unary { operand, .. } => visit(operand),
            Expr::Binary { lhs, rhs, .. } | Expr::Compare { lhs, rhs, .. } => {
                visit(lhs);
                visit(rhs);
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                visit(condition);
                visit(then);
                visit(otherwise);
            }
        }
    }
}

/// A KFL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal value.
    Literal(Literal),
    /// `[a, b, …]`
    List(Vec<Node<Expr>>),
    /// A bare name: a top-level field (`timestamp`) or a protocol word (`http`).
    Ident(String),
    /// `base.name`
    Field {
        /// What is selected from.
        base: BoxExpr,
        /// The field name.
        name: Node<String>,
    },
    /// `base["key"]` or `base[0]`
    Index {
        /// What is selected from.
        base: BoxExpr,
        /// The key or position.
        key: Node<Key>,
    },
    /// `base.*` or `base[*]` (legacy): every value of a map or element of a list; a comparison
    /// or method on it holds when it holds for one of them.
    Wildcard {
        /// The map or list.
        base: BoxExpr,
    },
    /// `..name` (legacy): every field called `name`, at any depth.
    Recursive(String),
    /// `name(args)`
    Call {
        /// The function name.
        name: Node<String>,
        /// The arguments.
        args: Vec<Node<Expr>>,
    },
    /// `receiver.name(args)`
    Method {
        /// The value the method applies to.
        receiver: BoxExpr,
        /// The method name.
        name: Node<String>,
        /// The arguments.
        args: Vec<Node<Expr>>,
    },
    /// `not x`, `-x`
    Unary {
        /// The operator.
        op: Node<UnaryOp>,
        /// The operand.
        operand: BoxExpr,
    },
    /// `a and b`, `a or b`, `a + b`, `a - b`
    Binary {
        /// The operator.
        op: Node<BinaryOp>,
        /// Left operand.
        lhs: BoxExpr,
        /// Right operand.
        rhs: BoxExpr,
    },
    /// `c ? a : b`
    Conditional {
        /// The condition.
        condition: BoxExpr,
        /// The value when it holds.
        then: BoxExpr,
        /// The value when it does not.
        otherwise: BoxExpr,
    },
    /// `a == b`, `a < b`, `a in b`, …
    Compare {
        /// The operator.
        op: Node<CompareOp>,
        /// Left operand.
        lhs: BoxExpr,
        /// Right operand.
        rhs: BoxExpr,
    },
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"`
    Str(String),
    /// `r"regex"`
    Regex(String),
    /// `42`
    Int(i64),
    /// `4.5`
    Float(f64),
    /// `true` / `false`
    Bool(bool),
    /// `nil` / `null`
    Nil,
    /// `5m` (nanoseconds)
    Duration(i64),
}

/// The key of an index selector.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// `["name"]`
    Name(String),
    /// `[0]`
    Position(i64),
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`, `!`
    Not,
    /// `-`
    Neg,
}

/// A binary operator that is not a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `and`, `&&`
    And,
    /// `or`, `||`
    Or,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::In => "in",
        }
    }
}

/// Binding strength, loosest first; the grammar's ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Conditional,
    Or,
    And,
    Compare,
    Sum,
    Product,
    Unary,
    Postfix,
}

impl Expr {
    fn precedence(&self) -> Precedence {
        match self {
            Expr::Binary { op, .. } => match op.node {
                BinaryOp::Or => Precedence::Or,
                BinaryOp::And => Precedence::And,
                BinaryOp::Add | BinaryOp::Sub => Precedence::Sum,
                BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => Precedence::Product,
            },
            Expr::Conditional { .. } => Precedence::Conditional,
            Expr::Compare { .. } => Precedence::Compare,
            Expr::Unary { .. } => Precedence::Unary,
            Expr::Literal(_)
            | Expr::List(_)
            | Expr::Ident(_)
            | Expr::Field { .. }
            | Expr::Index { .. }
            | Expr::Wildcard { .. }
            | Expr::Recursive(_) => Precedence::Postfix,
            Expr::Call { .. } | Expr::Method { .. } => Precedence::Postfix,
        }
    }
}

/// Writes `expr`, in parentheses if it binds looser than `at_least`.
fn write_at(f: &mut fmt::Formatter<'_>, expr: &Expr, at_least: Precedence) -> fmt::Result {
    if expr.precedence() < at_least {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

fn write_args(f: &mut fmt::Formatter<'_>, args: &[Node<Expr>]) -> fmt::Result {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", arg.node)?;
    }
    Ok(())
}

/// Writes `text` as a KFL string literal, escaping what the lexer unescapes.
pub fn write_string(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            '\0' => f.write_str("\\0")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes a float so that it lexes back as a float (`1.0`, never `1`).
pub fn write_float(f: &mut impl fmt::Write, number: f64) -> fmt::Result {
    let text = number.to_string();
    if text.contains('.') {
        f.write_str(&text)
    } else {
        write!(f, "{text}.0")
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(text) => write_string(f, text),
            Literal::Regex(text) => write!(f, "r\"{text}\""),
            Literal::Int(number) => write!(f, "{number}"),
            Literal::Float(number) => write_float(f, *number),
            Literal::Bool(value) => write!(f, "{value}"),
            Literal::Nil => f.write_str("nil"),
            Literal::Duration(nanos) => f.write_str(&duration::format(*nanos)),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(literal) => write!(f, "{literal}"),
            Expr::List(items) => {
                f.write_str("[")?;
                write_args(f, items)?;
                f.write_str("]")
            }
            Expr::Ident(name) => f.write_str(name),
            Expr::Field { base, name } => {
                write_at(f, &base.node, Precedence::Postfix)?;
                write!(f, ".{}", name.node)
            }
            Expr::Wildcard { base } => {
                write_at(f, &base.node, Precedence::Postfix)?;
                f.write_str(".*")
            }
            Expr::Recursive(name) => write!(f, "..{name}"),
            Expr::Index { base, key } => {
                write_at(f, &base.node, Precedence::Postfix)?;
                f.write_str("[")?;
                match &key.node {
                    Key::Name(name) => write_string(f, name)?,
                    Key::Position(position) => write!(f, "{position}")?,
                }
                f.write_str("]")
            }
            Expr::Call { name, args } => {
                write!(f, "{}(", name.node)?;
                write_args(f, args)?;
                f.write_str(")")
            }
            Expr::Method {
                receiver,
                name,
                args,
            } => {
                write_at(f, &receiver.node, Precedence::Postfix)?;
                write!(f, ".{}(", name.node)?;
                write_args(f, args)?;
                f.write_str(")")
            }
            Expr::Unary { op, operand } => {
                f.write_str(match op.node {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                })?;
                write_at(f, &operand.node, Precedence::Unary)
            }
            Expr::Binary { op, lhs, rhs } => {
                let (text, precedence, right) = match op.node {
                    BinaryOp::Or => ("or", Precedence::Or, Precedence::And),
                    BinaryOp::And => ("and", Precedence::And, Precedence::Compare),
                    BinaryOp::Add => ("+", Precedence::Sum, Precedence::Product),
                    BinaryOp::Sub => ("-", Precedence::Sum, Precedence::Product),
                    BinaryOp::Mul => ("*", Precedence::Product, Precedence::Unary),
                    BinaryOp::Div => ("/", Precedence::Product, Precedence::Unary),
                    BinaryOp::Rem => ("%", Precedence::Product, Precedence::Unary),
                };
                write_at(f, &lhs.node, precedence)?;
                write!(f, " {text} ")?;
                write_at(f, &rhs.node, right)
            }
            Expr::Conditional {
                condition,
                then,
                otherwise,
            } => {
                write_at(f, &condition.node, Precedence::Or)?;
                f.write_str(" ? ")?;
                write_at(f, &then.node, Precedence::Or)?;
                f.write_str(" : ")?;
                write_at(f, &otherwise.node, Precedence::Conditional)
            }
            Expr::Compare { op, lhs, rhs } => {
                write_at(f, &lhs.node, Precedence::Sum)?;
                write!(f, " {} ", op.node.as_str())?;
                write_at(f, &rhs.node, Precedence::Sum)
            }
        }
    }
}
