//! Reading and writing points in time: RFC 3339 and the way Kubeshark prints times.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Formats accepted besides RFC 3339, all read as UTC.
const NAIVE_FORMATS: [&str; 5] = [
    // Kubeshark's UI: "11/26/2026, 2:02:00 PM", and with milliseconds "11/26/2026, 2:02:00.250 PM"
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y, %I:%M:%S%.f %p",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
];

/// Reads a time as nanoseconds since the epoch: RFC 3339 (`2026-11-26T14:02:00Z`), Kubeshark's
/// `11/26/2026, 2:02:00 PM` (UTC), or `2026-11-26 14:02:00` (UTC).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let utc = DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NAIVE_FORMATS
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                .map(|naive| naive.and_utc())
        })?;
    utc.timestamp_nanos_opt()
}

/// Writes nanoseconds since the epoch as RFC 3339 in UTC, with as many fraction digits as needed.
pub fn format_datetime(nanos: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(nanos).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The current time in nanoseconds since the epoch.
pub fn now() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_701_720_000_000_000; // 2026-11-26T14:02:00Z

    #[test]
    fn reads_rfc3339_and_kubeshark_format_as_the_same_instant() {
        assert_eq!(parse_datetime("2026-11-26T14:02:00Z"), Some(T));
        assert_eq!(parse_datetime("2026-11-26T15:02:00+01:00"), Some(T));
        assert_eq!(parse_datetime("11/26/2026, 2:02:00 PM"), Some(T));
        assert_eq!(parse_datetime("2026-11-26 14:02:00"), Some(T));
        assert_eq!(
            parse_datetime("11/26/2026, 2:02:00.250 PM"),
            Some(T + 250_000_000)
        );
        assert!(parse_datetime("1/2/2026, 3:04:05.000 AM").is_some());
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn formats_back_to_rfc3339() {
        assert_eq!(format_datetime(T), "2026-11-26T14:02:00Z");
        assert_eq!(parse_datetime(&format_datetime(T + 1)), Some(T + 1));
    }
}
