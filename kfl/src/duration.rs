//! Duration text (`500ms`, `5m`, `1h30m`): parsing for literals and `duration()`, and canonical printing.

use thiserror::Error;

/// Why a duration text is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// No number before a unit, or nothing at all.
    #[error("expected a number before each unit")]
    MissingNumber,
    /// A number without a unit after it.
    #[error("every number needs a unit (ns, us, ms, s, m, h, d)")]
    MissingUnit,
    /// A unit that is not one of ns, us, µs, ms, s, m, h, d.
    #[error("unknown unit `{0}` (use ns, us, ms, s, m, h, d)")]
    UnknownUnit(String),
    /// The total does not fit in 64-bit nanoseconds.
    #[error("duration is too long")]
    Overflow,
}

const NANOS_PER_UNIT: [(&str, i64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// Parses a sequence of `<whole number><unit>` parts into nanoseconds, e.g. `1h30m` → 5.4e12.
pub fn parse(text: &str) -> Result<i64, DurationError> {
    let mut rest = text;
    let mut total: i64 = 0;
    if rest.is_empty() {
        return Err(DurationError::MissingNumber);
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::MissingNumber);
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit);
        }
        let nanos = NANOS_PER_UNIT
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, nanos)| *nanos)
            .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        let count: i64 = number.parse().map_err(|_| DurationError::Overflow)?;
        total = count
            .checked_mul(nanos)
            .and_then(|part| total.checked_add(part))
            .ok_or(DurationError::Overflow)?;
        rest = next;
    }
    Ok(total)
}

/// Writes a non-negative duration in the form [`parse`] reads back, largest units first (`1h30m`).
pub fn format(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let mut rest = nanos.unsigned_abs();
    let mut text = String::new();
    if nanos < 0 {
        text.push('-');
    }
    for (unit, size) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        let count = rest / size;
        if count > 0 {
            text.push_str(&count.to_string());
            text.push_str(unit);
            rest %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations() {
        assert_eq!(parse("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse("500ms"), Ok(500_000_000));
        assert_eq!(parse("2d"), Ok(172_800_000_000_000));
    }

    #[test]
    fn rejects_bad_units_and_bare_numbers() {
        assert_eq!(parse("5x"), Err(DurationError::UnknownUnit("x".into())));
        assert_eq!(parse("5m3"), Err(DurationError::MissingUnit));
        assert_eq!(parse("m"), Err(DurationError::MissingNumber));
        assert_eq!(parse("99999999999999999h"), Err(DurationError::Overflow));
    }

    #[test]
    fn format_reads_back() {
        for nanos in [1, 999, 1_500_000_000, 5_400_000_000_000, 90_061_001_001_001] {
            assert_eq!(parse(&format(nanos)), Ok(nanos));
        }
        assert_eq!(format(5_400_000_000_000), "1h30m");
    }
}
