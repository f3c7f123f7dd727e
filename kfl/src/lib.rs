//! This crate provides the Kubeshark Filter Language (KFL): the language users write to pick
//! entries out of captured traffic, e.g. `http and response.status >= 500`.
//!
//! [`compile`] parses a filter (hand-written lexer, LALRPOP grammar), checks it against the
//! [`Schema`] of the records it will run on, and returns a [`Filter`] — or every problem found, as
//! [`Diagnostics`] rendered with a code, the source line and a caret. [`Filter::matches`] evaluates
//! it against any [`Record`]; [`Filter::plan`] splits it into [`IndexPredicate`]s over the fields a
//! store declares it indexes ([`IndexedField`]) and a residual filter to run on decoded entries.
//! The language knows nothing of the store's storage: the store's declaration is all it plans
//! against.
//!
//! The decision that matters most: all the work that does not depend on an entry happens once,
//! at compile time. Fields are resolved to paths, regexes compiled, literals converted and
//! constants folded (`now() - 5m` becomes a time), so evaluation only walks a small tree and
//! compares borrowed values.
//!
//! # Language
//! One language reads both of Kubeshark's dialects: legacy KFL (`and`/`or`, paths, `r"…"`) and
//! KFL2, its CEL-based successor (`&&`/`||`, flat variables, CEL functions and macros). KFL2's
//! variables are [`Alias`]es the host's [`Schema`] declares (`status_code` for `response.status`);
//! they are rewritten before checking, so both spellings are one filter.
//! - Literals: `"text"` or `'text'` (escapes `\" \' \\ \n \t \r \0 \u{…}`), regexes `r"…"`,
//!   integers, floats, `true`, `false`, `nil` (or `null`), durations (`500ms`, `5m`, `1h30m`),
//!   lists `[…]` (of literals, or of fields: `[src.namespace, dst.namespace]`).
//! - Operators, loosest first: `c ? a : b`; `or`/`||`; `and`/`&&`; comparisons
//!   `== != < <= > >= in` (they do not chain; `in` looks in a list, or for a key of a map); `+ -`;
//!   `* / %`; `not`/`!` and unary `-`; selectors. So `not a == b` is `(not a) == b`: write
//!   `not (a == b)`.
//! - Selectors: `a.b`, `x["key"]`, `x[0]`. Header names (`request.headers["Authorization"]`) are
//!   case-insensitive. Legacy wildcards: `x.*` / `x[*]` (any value of a map or list) and `..name`
//!   (any field so called), read as `x.values().exists(_any, …)`.
//! - Methods: `.startsWith(s) .endsWith(s) .contains(s) .matches(re) .lower() .upper() .len()
//!   .size() .values() .json() .xml()`; `.json()` and `.xml()` parse text and selectors then look
//!   inside it (`response.body.json().brand.name == "Chevrolet"`). `.matches()` finds the regex
//!   anywhere. CEL's macros `list.exists(x, p)`, `.all(x, p)`, `.exists_one(x, p)`,
//!   `.filter(x, p)` and `.map(x, e)` range over a list (or a map's keys).
//! - Functions: `datetime("2026-11-26T14:02:00Z")` or `timestamp(…)` (also
//!   `"11/26/2026, 2:02:00.250 PM"`, UTC), `now()` (the time the filter was compiled),
//!   `duration("5m")`, `seconds(n)` … `years(n)`, `size(x)`, `map_get(map, "key", default)`,
//!   `has(x)`, `limit(n)`, which may only be joined to the whole filter with `and` and caps the
//!   number of results, and `redact("request.headers.Authorization", …)`, likewise top-level,
//!   which selects nothing and names fields to hide in what is shown ([`Filter::redactions`]).
//! - Protocol words are conditions: `http` (protocol `http`, any version; not gRPC), `http1`
//!   (HTTP 1.0/1.1), `http2` (HTTP/2, not gRPC, as in Kubeshark), `grpc`, `dns`, `redis`,
//!   `postgres` (or `postgresql`), `kafka`, `tlsx` (TLS handshakes; `tls` too, with a warning,
//!   since Kubeshark's `tls` means decrypted traffic), `tcp`, `udp`, `amqp`, `ws` (WebSocket), `gql` (GraphQL over
//!   HTTP; `gqlv1` over HTTP/1.x, `gqlv2` over HTTP/2).
//!
//! # Semantics
//! - A field absent from an entry is `nil`, and as in Kubeshark it matches no comparison: `==`,
//!   `!=` and the orderings are all false (so `request.headers["x"] != "b"` skips entries without
//!   the header, while `not (request.headers["x"] == "b")` keeps them). `x != nil` (or `x` alone,
//!   or `has(x)`) tests presence; `nil == nil` is true.
//! - `x == r"…"` is a full-string regex match (`!=` its negation; both false when `x` is absent);
//!   a number is matched as its decimal text (`response.status == r"4.*"`).
//! - Numbers compare numerically, integers with floats. A string literal compared with a number
//!   field is converted when the filter is checked (`response.status == "404"`), and a literal
//!   that is not a number is a check error. Text compared with a number at run time is read as a
//!   number; when it does not read as one, `!=` holds and the rest do not.
//! - A string literal compared with a time field is read as a time (`timestamp > "2026-…Z"`), an
//!   integer as Unix milliseconds (legacy: `timestamp > 1795701720000`).
//! - A value of the entry alone tests its presence (`request.headers["X-Id"]`, `!status_code`).
//! - A name of a protocol the host does not dissect ([`Schema::undissected`]) is refused saying so.
//! - Values of unrelated kinds (only possible with dynamic JSON values): only `!=` holds.
//! - `request.query` is dynamic: the HTTP query map (`request.query["a"]`) or Postgres' SQL text
//!   (`request.query == "SELECT 1"`), depending on the protocol.
//! - Unknown fields, functions and methods, wrong argument counts, bad regexes and type mismatches
//!   are errors before anything runs.
//!
//! # Limits
//! A filter may be up to 64 KiB long and hold up to 16 regexes of 4 KiB in all (counted before
//! any is compiled, so a filter of thousands is refused at once), and each top-level condition (an operand of the top-level
//! `and`s) may nest up to 100 levels, so checking and evaluation fit in a small thread stack.
//! Top-level `and` chains may be as long as the source allows; for many alternatives write
//! `x in [..]` rather than a long `or` chain.
//!
//! # Example
//! ```
//! use kfl::{FieldType, PathSegment, Record, Schema, Value};
//!
//! let schema = Schema::new(FieldType::Struct(vec![(
//!     "response",
//!     FieldType::Struct(vec![("status", FieldType::Int)]),
//! )]));
//! struct Entry(i64);
//! impl Record for Entry {
//!     fn get(&self, path: &[PathSegment]) -> Value<'_> {
//!         match path {
//!             [PathSegment::Field(a), PathSegment::Field(b)] if &**a == "response" && &**b == "status" => Value::Int(self.0),
//!             _ => Value::Nil,
//!         }
//!     }
//! }
//! let filter = kfl::compile("response.status >= 500", &schema).unwrap();
//! assert!(filter.matches(&Entry(503)));
//! assert!(!filter.matches(&Entry(200)));
//!
//! let error = kfl::compile("respnse.status >= 500", &schema).unwrap_err();
//! assert_eq!(error.codes(), ["E101"]);
//! assert!(error.to_string().contains("did you mean `response`?"));
//! ```

pub use compare::CmpOp;
pub use diagnostic::{Code, Diagnostic};
pub use index::{IndexType, IndexedField};
pub use plan::{IndexPredicate, Literal};
pub use protocol::WORDS as PROTOCOL_WORDS;
pub use record::{PathSegment, Record};
pub use schema::{Alias, FieldType, Schema, Undissected};
pub use span::Span;
pub use value::Value;

mod arith;
#[doc(hidden)]
pub mod ast;
mod cel;
mod check;
mod compare;
mod diagnostic;
mod dialect;
mod duration;
mod eval;
mod functions;
mod index;
mod json;
mod lex;
mod macros;
mod method_op;
mod methods;
mod operators;
#[doc(hidden)]
pub mod parse;
mod plan;
mod planner;
mod protocol;
mod record;
mod regex_budget;
mod schema;
#[doc(hidden)]
pub mod span;
mod time;
mod typed;
mod types;
mod value;

use std::fmt;

use check::Checker;

/// A compiled, checked filter, ready to evaluate against [`Record`]s.
///
/// `Display` prints it as canonical KFL.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    conjuncts: Vec<Conjunct>,
    limit: Option<usize>,
    /// The paths `redact(…)` asked to hide in what is shown.
    redactions: Vec<String>,
    /// Set when the filter reads differently from its source (aliases rewritten).
    rewritten: bool,
    warnings: Vec<Diagnostic>,
}

/// One top-level `and` operand: its syntax (for printing) and its checked form (for running).
#[derive(Debug, Clone)]
struct Conjunct {
    syntax: ast::Node<ast::Expr>,
    expr: eval::Expr,
}

/// The planner's split of a filter: what the host's index can answer, over the fields `F` it
/// declared, and what must be evaluated per entry.
///
/// `index and residual` selects exactly the entries the filter selects. `Display` prints both
/// parts, the time bounds they imply and the limit (what `kubectl-shark query --explain` shows).
#[derive(Debug, Clone)]
pub struct Plan<F> {
    /// Predicates over indexed fields; `IndexPredicate::True` when nothing could be pushed down.
    pub index: IndexPredicate<F>,
    /// What remains to evaluate on each decoded entry; `None` when the index answers everything.
    pub residual: Option<Filter>,
    /// The `limit(n)` the filter asked for, if any.
    pub limit: Option<usize>,
    /// How the filter was read, when that differs from its source (KFL2 names rewritten to the
    /// fields they stand for).
    pub read_as: Option<String>,
}

/// All problems found in a filter, rendered with the source line and a caret under each span.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    source: String,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    fn new(source: &str, mut items: Vec<Diagnostic>) -> Self {
        items.sort_by_key(|d| (d.span.start, d.span.end));
        items.dedup();
        Diagnostics {
            source: source.to_string(),
            items,
        }
    }

    /// The stable code of each problem, in source order (e.g. `["E101"]`).
    pub fn codes(&self) -> Vec<&'static str> {
        self.items.iter().map(|d| d.code.as_str()).collect()
    }

    /// Each problem as data (code, span, message, label, help), in source order: for callers that
    /// show them their own way, such as a browser putting a caret under the span.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (i, diagnostic) in self.items.iter().take(MAX_SHOWN).enumerate() {
            if i > 0 {
                out.push('\n');
            }
            diagnostic.render(&self.source, &mut out);
        }
        if let Some(hidden) = self.items.len().checked_sub(MAX_SHOWN).filter(|&n| n > 0) {
            out.push_str(&format!(
                "\n… and {hidden} more error{}",
                if hidden == 1 { "" } else { "s" }
            ));
        }
        f.write_str(out.trim_end_matches('\n'))
    }
}

impl std::error::Error for Diagnostics {}

/// Parses and checks `source` against `schema`. An empty filter matches everything.
pub fn compile(source: &str, schema: &Schema) -> Result<Filter, Diagnostics> {
    compile_at(source, schema, time::now())
}

/// Like [`compile`], with `now()` standing for `now` (nanoseconds since the epoch).
pub fn compile_at(source: &str, schema: &Schema, now: i64) -> Result<Filter, Diagnostics> {
    if source.trim().is_empty() {
        return Ok(Filter {
            source: source.to_string(),
            conjuncts: Vec::new(),
            limit: None,
            redactions: Vec::new(),
            rewritten: false,
            warnings: Vec::new(),
        });
    }
    if source.len() > MAX_SOURCE_BYTES {
        let diagnostic = Diagnostic::new(
            diagnostic::Code::TooLong,
            span::Span::new(MAX_SOURCE_BYTES, source.len()),
            format!(
                "filter is too long ({} bytes; the limit is {MAX_SOURCE_BYTES})",
                source.len()
            ),
        )
        .with_help("match many values with `x in [..]`, or split the query");
        return Err(Diagnostics::new(source, vec![diagnostic]));
    }
    regex_budget::check(source).map_err(|diagnostic| Diagnostics::new(source, vec![diagnostic]))?;
    let syntax =
        parse::parse(source).map_err(|diagnostic| Diagnostics::new(source, vec![diagnostic]))?;
    let mut checker = Checker::new(schema, now);
    let mut conjuncts = Vec::new();
    let mut limit = None;
    let mut too_deep = Vec::new();
    let mut reading = dialect::Reading::default();
    let mut redactions = Vec::new();
    for mut node in top_level_conjuncts(syntax) {
        if node.depth() > MAX_DEPTH {
            too_deep.push(
                Diagnostic::new(
                    diagnostic::Code::TooDeep,
                    node.span,
                    "condition is nested too deeply",
                )
                .with_label(format!("more than {MAX_DEPTH} levels"))
                .with_help("match many values with `x in [..]` rather than a long chain of `or`"),
            );
            continue;
        }
        dialect::read(&mut node, schema, &mut reading);
        if let Some(paths) = checker.redact(&node) {
            redactions.extend(paths);
            continue;
        }
        if let Some(count) = checker.limit(&node) {
            limit = match (limit, count) {
                (Some(previous), Some(count)) => Some(usize::min(previous, count)),
                (previous, count) => previous.or(count),
            };
            continue;
        }
        if let Some(expr) = checker.condition(&node) {
            conjuncts.push(Conjunct { syntax: node, expr });
        }
    }
    let mut diagnostics = checker.into_diagnostics();
    // A name refused while reading (an undissected protocol's) is not also an unknown field.
    diagnostics.retain(|d| !reading.errors.iter().any(|r| r.span == d.span));
    diagnostics.extend(too_deep);
    diagnostics.extend(reading.errors);
    if !diagnostics.is_empty() {
        return Err(Diagnostics::new(source, diagnostics));
    }
    Ok(Filter {
        source: source.to_string(),
        conjuncts,
        limit,
        redactions,
        rewritten: reading.rewrote,
        warnings: reading.warnings,
    })
}

/// The most diagnostics rendered; the rest are counted.
const MAX_SHOWN: usize = 20;

/// The longest filter accepted, in bytes.
const MAX_SOURCE_BYTES: usize = 64 * 1024;

/// The deepest nesting accepted in one top-level condition (checking and evaluation recurse).
const MAX_DEPTH: usize = 100;

/// Splits `a and b and (c or d)` into `[a, b, c or d]`, without recursion.
fn top_level_conjuncts(node: ast::Node<ast::Expr>) -> Vec<ast::Node<ast::Expr>> {
    let mut out = Vec::new();
    let mut pending = vec![node];
    while let Some(mut node) = pending.pop() {
        match &mut node.node {
            ast::Expr::Binary { op, lhs, rhs } if op.node == ast::BinaryOp::And => {
                pending.push(ast::take_box(rhs));
                pending.push(ast::take_box(lhs));
            }
            _ => out.push(node),
        }
    }
    out
}

impl Filter {
    /// The filter's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `record` matches the filter.
    pub fn matches(&self, record: &dyn Record) -> bool {
        self.conjuncts
            .iter()
            .all(|conjunct| conjunct.expr.test(record))
    }

    /// The `limit(n)` the filter asked for, if any.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The paths a top-level `redact("request.headers.Authorization", …)` asked to hide in
    /// what is shown (names joined by dots; map keys in any letter case). `redact()` selects
    /// nothing: the host applies it to the entries it shows.
    pub fn redactions(&self) -> &[String] {
        &self.redactions
    }

    /// Warnings about the filter (a word another dialect reads differently), rendered like
    /// errors with the source line and a caret; `None` when there are none.
    pub fn warnings(&self) -> Option<String> {
        (!self.warnings.is_empty())
            .then(|| Diagnostics::new(&self.source, self.warnings.clone()).to_string())
    }

    /// The warnings themselves, each with its code, message and span (for a host that marks them
    /// in the text, as the dashboard does).
    pub fn warning_items(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// How the filter was read (its canonical text, KFL2 names rewritten to the fields they
    /// stand for) when that differs from the names in its source.
    pub fn read_as(&self) -> Option<String> {
        self.rewritten.then(|| self.to_string())
    }

    /// Splits the filter into predicates over the fields `index` declares (see [`IndexedField`])
    /// and a residual: each top-level condition goes to the index when the declared fields answer
    /// it exactly, else to the residual (with whatever the index can still narrow).
    pub fn plan<F: IndexedField>(&self, index: &[F]) -> Plan<F> {
        let fields = index;
        let mut index = Vec::new();
        let mut residual = Vec::new();
        for conjunct in &self.conjuncts {
            let (predicate, exact) = planner::implied(&conjunct.expr, fields);
            index.push(predicate);
            if !exact {
                residual.push(conjunct.clone());
            }
        }
        let residual = (!residual.is_empty()).then(|| {
            let mut filter = Filter {
                source: String::new(),
                conjuncts: residual,
                limit: None,
                redactions: Vec::new(),
                rewritten: false,
                warnings: Vec::new(),
            };
            filter.source = filter.to_string();
            filter
        });
        Plan {
            index: planner::and(index),
            residual,
            limit: self.limit,
            read_as: self.read_as(),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = self.conjuncts.len()
            + usize::from(self.limit.is_some())
            + usize::from(!self.redactions.is_empty());
        let mut first = true;
        for conjunct in &self.conjuncts {
            if !first {
                f.write_str(" and ")?;
            }
            first = false;
            match &conjunct.syntax.node {
                or @ ast::Expr::Binary { op, .. } if op.node == ast::BinaryOp::Or && parts > 1 => {
                    write!(f, "({or})")?
                }
                other => write!(f, "{other}")?,
            }
        }
        if let Some(limit) = self.limit {
            if !first {
                f.write_str(" and ")?;
            }
            write!(f, "limit({limit})")?;
            first = false;
        }
        if !self.redactions.is_empty() {
            if !first {
                f.write_str(" and ")?;
            }
            f.write_str("redact(")?;
            for (i, path) in self.redactions.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                ast::write_string(f, path)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl<F: IndexedField> fmt::Display for Plan<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(read_as) = &self.read_as {
            writeln!(f, "read as:  {read_as}")?;
        }
        writeln!(f, "index:    {}", self.index)?;
        match &self.residual {
            Some(residual) => write!(f, "residual: {residual}")?,
            None => f.write_str("residual: none")?,
        }
        match self.index.time_range() {
            (None, None) => {}
            (Some(from), None) => write!(f, "\ntime:     from {}", time::format_datetime(from))?,
            (None, Some(to)) => write!(f, "\ntime:     until {}", time::format_datetime(to))?,
            (Some(from), Some(to)) => write!(
                f,
                "\ntime:     from {} to {} (inclusive)",
                time::format_datetime(from),
                time::format_datetime(to)
            )?,
        }
        if let Some(limit) = self.limit {
            write!(f, "\nlimit:    {limit}")?;
        }
        Ok(())
    }
}

/// Calls a filter can make, as written in examples: the functions (`now()`, …) and the methods
/// (`text.contains("part")`, …), for listings such as `kubectl shark fields`.
pub fn calls() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        functions::FUNCTIONS.iter().map(|f| f.usage).collect(),
        methods::METHODS.iter().map(|m| m.usage).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A declared field: path, type, and whether it answers more than `==`.
    #[derive(Debug, Clone, Copy)]
    struct Field(&'static str, IndexType, bool);

    impl IndexedField for Field {
        fn path(&self) -> &str {
            self.0
        }
        fn ty(&self) -> IndexType {
            self.1
        }
        fn supports(&self, op: CmpOp) -> bool {
            self.2 || op == CmpOp::Eq
        }
    }

    fn schema() -> Schema {
        let text = || FieldType::Str;
        Schema::new(FieldType::Struct(vec![
            ("timestamp", FieldType::Time),
            ("port", FieldType::Int),
            (
                "protocol",
                FieldType::Struct(vec![("name", text()), ("version", text())]),
            ),
        ]))
    }

    fn split(source: &str, index: &[Field]) -> (String, String) {
        let plan = compile_at(source, &schema(), 0)
            .unwrap_or_else(|d| panic!("{d}"))
            .plan(index);
        let residual = plan.residual.map(|r| r.to_string()).unwrap_or_default();
        (plan.index.to_string(), residual)
    }

    #[test]
    fn only_declared_fields_and_operators_are_pushed_down() {
        let port = Field("port", IndexType::Int, false);
        assert_eq!(
            split("port == 80", &[port]),
            ("port == 80".into(), "".into())
        );
        assert_eq!(
            split("port in [80, 443]", &[port]),
            ("port in [80, 443]".into(), "".into())
        );
        assert_eq!(
            split("port >= 80", &[port]),
            ("true".into(), "port >= 80".into())
        );
        assert_eq!(
            split("port == 80", &[]),
            ("true".into(), "port == 80".into())
        );
        // A field declared with another type keeps KFL's own conversions in the residual.
        let port_as_text = Field("port", IndexType::Text, true);
        assert_eq!(
            split("port == 80", &[port_as_text]),
            ("true".into(), "port == 80".into())
        );
    }

    #[test]
    fn protocol_words_need_both_protocol_fields() {
        let name = Field("protocol.name", IndexType::Text, true);
        let version = Field("protocol.version", IndexType::Text, true);
        assert_eq!(
            split("http2", &[name, version]),
            (
                r#"protocol.name == "http" and protocol.version == "2""#.into(),
                "".into()
            )
        );
        assert_eq!(split("http2", &[name]), ("true".into(), "http2".into()));
    }

    #[test]
    fn the_time_field_bounds_the_plan() {
        let time = Field("timestamp", IndexType::Time, true);
        let plan = compile_at(
            r#"timestamp >= datetime("2026-11-26T14:02:00Z") and port == 1"#,
            &schema(),
            0,
        )
        .unwrap_or_else(|d| panic!("{d}"))
        .plan(&[time]);
        assert_eq!(
            plan.index.time_range(),
            (Some(1_795_701_720_000_000_000), None)
        );
        assert!(
            plan.to_string()
                .contains("time:     from 2026-11-26T14:02:00"),
            "{plan}"
        );
    }

    #[test]
    fn filters_and_diagnostics_cross_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Filter>();
        shareable::<Plan<Field>>();
        shareable::<Diagnostics>();
    }
}
