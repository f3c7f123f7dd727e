//! Sizes (`64MB`, `5GiB`) and durations (`90s`, `6h`) as the command line writes them.

use crate::error::GenError;

/// Parses a byte size: a whole number with an optional unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB.
pub fn parse_size(text: &str) -> Result<u64, GenError> {
    let bad = || GenError::BadSize {
        text: text.to_owned(),
    };
    let (number, unit) = split_number(text.trim());
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(bad)
}

/// Parses a duration into nanoseconds: a whole number with unit ms, s, m, h or d.
pub fn parse_duration_ns(text: &str) -> Result<u64, GenError> {
    let bad = || GenError::BadDuration {
        text: text.to_owned(),
    };
    let (number, unit) = split_number(text.trim());
    let multiplier: u64 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return Err(bad()),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(bad)
}

fn split_number(text: &str) -> (&str, &str) {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    (
        text.get(..digits).unwrap_or_default(),
        text.get(digits..).unwrap_or_default().trim(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MB").unwrap(), 64_000_000);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999TB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("90s").unwrap(), 90_000_000_000);
        assert_eq!(parse_duration_ns("6h").unwrap(), 6 * 3_600_000_000_000);
        assert!(parse_duration_ns("6").is_err());
        assert!(parse_duration_ns("h").is_err());
    }
}
