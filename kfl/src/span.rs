//! Byte ranges into the filter source.

/// A byte range `start..end` into the filter source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The same range in UTF-16 code units of `source` (what JavaScript strings index by), for a
    /// browser that puts a caret under it. Offsets past the end or inside a character are clamped
    /// to the nearest character boundary before them.
    pub fn utf16(self, source: &str) -> (usize, usize) {
        let units = |byte: usize| {
            let mut at = byte.min(source.len());
            while !source.is_char_boundary(at) {
                at -= 1;
            }
            source.get(..at).map_or(0, |s| s.encode_utf16().count())
        };
        (units(self.start), units(self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::Span;

    #[test]
    fn utf16_offsets_count_code_units_not_bytes() {
        // "é" is 2 bytes and 1 unit; "😀" is 4 bytes and 2 units.
        let source = "é == \"😀\" and x";
        let x = source.find('x').unwrap();
        assert_eq!(Span::new(x, x + 1).utf16(source), (14, 15));
        assert_eq!(Span::new(0, 2).utf16(source), (0, 1));
        // Past the end and inside a character: clamped, never a panic.
        assert_eq!(Span::new(1, 999).utf16(source), (0, 15));
    }
}
