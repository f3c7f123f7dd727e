//! This crate provides the Kubeshark Filter Language (KFL): the language users write to pick
//! entries out of captured traffic, e.g. `http and response.status >= 500`.
//!
//! (Skeleton: the full language is being built; the public API below is the contract the store
//! and the CLI code against.)

pub use plan::{CmpOp, Column, IndexPredicate, Literal, Side};
pub use record::{PathSegment, Record};
pub use schema::{FieldType, Schema};
pub use value::Value;

mod plan;
mod record;
mod schema;
mod value;

use std::fmt;

/// A compiled, checked filter, ready to evaluate against [`Record`]s.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
}

/// The planner's split of a filter: what an index can answer, and what must be evaluated per entry.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Predicates over indexed columns; `IndexPredicate::True` when nothing could be pushed down.
    pub index: IndexPredicate,
    /// What remains to evaluate on each decoded entry; `None` when the index answers everything.
    pub residual: Option<Filter>,
    /// The `limit(n)` the filter asked for, if any.
    pub limit: Option<usize>,
}

/// All problems found in a filter, rendered with the source line and a caret under each span.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    rendered: String,
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for Diagnostics {}

/// Parses and checks `source` against `schema`.
pub fn compile(source: &str, _schema: &Schema) -> Result<Filter, Diagnostics> {
    if source.trim().is_empty() {
        return Ok(Filter { source: String::new() });
    }
    Err(Diagnostics { rendered: format!("error[E000]: filter language not built yet: `{source}`") })
}

impl Filter {
    /// The filter's source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `record` matches the filter.
    pub fn matches(&self, _record: &dyn Record) -> bool {
        true
    }

    /// Splits the filter into index predicates and a residual.
    pub fn plan(&self) -> Plan {
        Plan { index: IndexPredicate::True, residual: None, limit: None }
    }
}
