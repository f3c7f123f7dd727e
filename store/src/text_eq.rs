//! Comparing texts that are often empty, without `memcmp` on an empty string.
//!
//! An empty `String` holds no memory: its pointer is dangling (`0x1`). Comparing two of them calls
//! `memcmp(0x1, 0x1, 0)`, and glibc's AVX-512 `memcmp` (`__memcmp_evex_movbe`, picked on CPUs with
//! AVX-512, such as AMD Zen 4 and Intel Xeons, by Debian 12's glibc 2.36) reads through both
//! pointers with masked loads whose every lane is masked off. A masked load from an unmapped page
//! still takes a fault-suppression assist: ~130 ns a call on this project's machines, against ~6 ns
//! to compare two one-byte strings (BENCHMARKS.md, "Empty strings compared without memcmp"). Entry
//! identities are mostly empty fields outside a cluster (no pod, namespace, service…), and the
//! index compares them for every entry.

/// Whether `a` and `b` are the same text; two empty ones are compared by their lengths alone.
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_same_only_when_every_byte_is() {
        let empty = String::new();
        assert!(same_text(&empty, ""));
        assert!(same_text("10.0.0.1", &String::from("10.0.0.1")));
        for (a, b) in [("", "a"), ("a", ""), ("ab", "ac"), ("é", "e"), ("a", "A")] {
            assert!(!same_text(a, b), "{a:?} {b:?}");
        }
    }
}
