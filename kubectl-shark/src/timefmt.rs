//! Printing timestamps (nanoseconds since the epoch) for people and programs.

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-11-26 14:02:01.123456` (UTC), for tables.
pub fn format_timestamp(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// `2026-11-26T14:02:01.123456789Z`, for JSON.
pub fn format_rfc3339(ns: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(ns).to_rfc3339_opts(SecondsFormat::Nanos, true)
}
