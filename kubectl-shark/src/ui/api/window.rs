//! The filter and time window most `/api` calls take, turned into a store query.

use serde::Deserialize;
use shark_pipeline::spec::parse_time;
use shark_store::Query;

use super::common::ApiError;
use super::filter;

/// The filter and window most calls take; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    /// KFL filter; empty: everything.
    #[serde(default)]
    pub kfl: String,
    /// Start, inclusive, in the CLI's time syntax; absent or empty: the oldest entry kept.
    #[serde(default)]
    pub from: Option<String>,
    /// End, exclusive, in the same syntax; absent or empty: now (and whatever comes later).
    #[serde(default)]
    pub to: Option<String>,
}

impl Window {
    /// The store query: times resolved now, the filter compiled (a bad one answers its diagnostics).
    pub fn query(&self) -> Result<Query, ApiError> {
        let now = chrono::Utc::now();
        let time = |name: &str, text: &Option<String>| {
            text.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| parse_time(t, now).map_err(|e| ApiError::bad(format!("{name}: {e}"))))
                .transpose()
        };
        let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(ApiError::bad("`from` must be earlier than `to`"));
        }
        let filter = if self.kfl.trim().is_empty() {
            None
        } else {
            Some(
                kfl::compile(&self.kfl, &shark_store::entry_schema())
                    .map_err(|d| filter::refused(&self.kfl, &d))?,
            )
        };
        Ok(Query {
            from,
            to,
            filter,
            limit: None,
        })
    }
}
