//! Parsing of the time, duration and size flags users type (`--from`, `--to`, `--retention`,
//! `--storage-limit`), shared by `kubectl-shark` and `shark-agent`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Nanoseconds in one second.
const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A flag value that could not be understood, with what was expected.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A time that is in none of the accepted forms.
    #[error(
        "cannot read time `{0}`: use RFC3339 (2026-11-26T14:02:00Z), `2026-11-26 14:02:00`, `14:02` (today, UTC), `@1795663594.8`, `-15m` or `now`"
    )]
    Time(String),
    /// A duration that is not a sequence of number+unit.
    #[error("cannot read duration `{0}`: use a number with a unit, e.g. 30s, 15m, 1h30m, 7d")]
    Duration(String),
    /// A size that is not a number with an optional binary or decimal unit.
    #[error("cannot read size `{0}`: use a number with a unit, e.g. 500MB, 10GiB")]
    Size(String),
}

/// Parses a point in time relative to `now`, returning nanoseconds since the Unix epoch.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<i64, SpecError> {
    let t = text.trim();
    let err = || SpecError::Time(text.to_string());
    if t.eq_ignore_ascii_case("now") {
        return to_nanos(now).ok_or_else(err);
    }
    if let Some(rest) = t.strip_prefix('-') {
        let ago = parse_duration(rest).map_err(|_| err())?;
        return to_nanos(now)
            .and_then(|n| n.checked_sub(i64::try_from(ago.as_nanos()).ok()?))
            .ok_or_else(err);
    }
    if let Some(unix) = t.strip_prefix('@') {
        return parse_unix_seconds(unix).ok_or_else(err);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return to_nanos(dt.with_timezone(&Utc)).ok_or_else(err);
    }
    // `YYYY-MM-DD HH:MM:SS[.frac]` with an optional offset; UTC when none is given.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return to_nanos(dt.with_timezone(&Utc)).ok_or_else(err);
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return to_nanos(Utc.from_utc_datetime(&naive)).ok_or_else(err);
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return to_nanos(Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))).ok_or_else(err);
    }
    for fmt in ["%H:%M:%S%.f", "%H:%M"] {
        if let Ok(time) = NaiveTime::parse_from_str(t, fmt) {
            return to_nanos(Utc.from_utc_datetime(&now.date_naive().and_time(time)))
                .ok_or_else(err);
        }
    }
    Err(err())
}

/// Parses `1795663594.8` (seconds since the epoch, optional fraction up to nanoseconds).
fn parse_unix_seconds(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)
}

fn to_nanos(dt: DateTime<Utc>) -> Option<i64> {
    dt.timestamp_nanos_opt()
}

/// Parses a duration such as `30s`, `15m`, `1h30m`, `7d`, `250ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, SpecError> {
    let err = || SpecError::Duration(text.to_string());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| err())?;
        let unit_nanos: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return Err(err()),
        };
        let nanos = value * unit_nanos;
        if !nanos.is_finite() || !(0.0..=1e20).contains(&nanos) {
            return Err(err());
        }
        total = total.saturating_add(nanos as u128);
        rest = next;
    }
    u64::try_from(total)
        .map(std::time::Duration::from_nanos)
        .map_err(|_| err())
}

/// Parses a size such as `10GiB`, `500MB`, `64MiB`, `1024` (bytes).
pub fn parse_size(text: &str) -> Result<u64, SpecError> {
    let err = || SpecError::Size(text.to_string());
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| err())?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(err()),
    };
    let bytes = value * multiplier;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 14, 10, 0)
            .single()
            .expect("valid date")
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .and_then(|t| t.timestamp_nanos_opt())
            .expect("valid")
    }

    #[test]
    fn rfc3339_with_fraction_keeps_the_fraction() {
        assert_eq!(
            parse_time("2026-11-26T03:26:34.5Z", now()).unwrap(),
            at(2026, 11, 26, 3, 26, 34) + 500_000_000
        );
    }

    #[test]
    fn space_separated_time_is_utc_unless_an_offset_is_given() {
        assert_eq!(
            parse_time("2026-11-26 14:02:00", now()).unwrap(),
            at(2026, 11, 26, 14, 2, 0)
        );
        assert_eq!(
            parse_time("2026-11-26 14:02:00+02:00", now()).unwrap(),
            at(2026, 11, 26, 12, 2, 0)
        );
    }

    #[test]
    fn unix_seconds_with_fraction() {
        assert_eq!(
            parse_time("@1795663594.8", now()).unwrap(),
            1_795_663_594_800_000_000
        );
        assert!(parse_time("@12x", now()).is_err());
    }

    #[test]
    fn relative_and_now_count_back_from_now() {
        let n = now().timestamp_nanos_opt().unwrap();
        assert_eq!(parse_time("now", now()).unwrap(), n);
        assert_eq!(
            parse_time("-15m", now()).unwrap(),
            n - 15 * 60 * NANOS_PER_SEC
        );
        assert_eq!(
            parse_time("-1h30m", now()).unwrap(),
            n - 90 * 60 * NANOS_PER_SEC
        );
    }

    #[test]
    fn clock_time_alone_means_today_utc() {
        assert_eq!(
            parse_time("14:02", now()).unwrap(),
            at(2026, 11, 26, 14, 2, 0)
        );
    }

    #[test]
    fn nonsense_time_names_the_accepted_forms() {
        let msg = parse_time("yesterday-ish", now()).unwrap_err().to_string();
        assert!(
            msg.contains("yesterday-ish") && msg.contains("RFC3339"),
            "{msg}"
        );
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert!(parse_duration("5 parsecs").is_err());
        assert_eq!(parse_size("10GiB").unwrap(), 10 * 1024 * 1024 * 1024);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert!(parse_size("lots").is_err());
    }
}
