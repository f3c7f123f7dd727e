//! Durations and byte counts in a unit that shows the figure: `42µs`, `1.3ms`, `2.1s`; `66 B`,
//! `1.5 MiB`. Tables use them; JSON keeps the exact numbers.

/// A duration given in milliseconds, in µs below a millisecond, ms below a second, s below a
/// minute, then minutes and seconds (`2m05s`). Two or three significant figures, so a fast
/// exchange never reads `0.0ms`.
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms <= 0.0 {
        return "0µs".to_string();
    }
    let us = ms * 1000.0;
    if us < 999.5 {
        return format!("{us:.0}µs");
    }
    if ms < 9.95 {
        return format!("{ms:.1}ms");
    }
    if ms < 999.5 {
        return format!("{ms:.0}ms");
    }
    let s = ms / 1000.0;
    if s < 9.95 {
        return format!("{s:.1}s");
    }
    if s < 59.5 {
        return format!("{s:.0}s");
    }
    // Whole seconds past a minute; `as` saturates, and a capture never spans u64 seconds.
    let whole = s.round() as u64;
    format!("{}m{:02}s", whole / 60, whole % 60)
}

/// Bytes in B, KiB, MiB, GiB or TiB (powers of 1024), one decimal above a KiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("TiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_their_figure() {
        assert_eq!(duration_ms(0.042), "42µs");
        assert_eq!(duration_ms(0.0004), "0µs");
        assert_eq!(duration_ms(0.9996), "1.0ms");
        assert_eq!(duration_ms(1.3), "1.3ms");
        assert_eq!(duration_ms(42.4), "42ms");
        assert_eq!(duration_ms(999.7), "1.0s");
        assert_eq!(duration_ms(2100.0), "2.1s");
        assert_eq!(duration_ms(42_000.0), "42s");
        assert_eq!(duration_ms(125_000.0), "2m05s");
        assert_eq!(duration_ms(0.0), "0µs");
        assert_eq!(duration_ms(-1.0), "0µs");
        assert_eq!(duration_ms(f64::NAN), "0µs");
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(bytes(66), "66 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(2_912_759_874), "2.7 GiB");
        assert_eq!(bytes(418_660_352), "399.3 MiB");
    }
}
