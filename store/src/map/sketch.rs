//! [`LatencySketch`]: a mergeable log-bucket histogram of latencies with a relative error bound.
//!
//! Bucket `i` holds the values in `(γ^(i-1), γ^i]` milliseconds, with `γ = 1.02`, and reports
//! `2γ^i / (γ + 1)`, the point whose relative distance to both ends is `(γ - 1) / (γ + 1)`.
//! So every quantile it answers is within **1 % (relative)** of the true value at that rank
//! (DDSketch's guarantee). Values at or under 1 ns count as zero. From 1 ns to 10⁹ ms there are at
//! most ~1 750 buckets, kept sparse: a sketch never grows past a few kilobytes whatever it counts.
//! Merging adds bucket counts, so per-node sketches combine into exactly the sketch of the union.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Growth factor between buckets.
const GAMMA: f64 = 1.02;
/// Values at or under this many milliseconds (1 ns) count as zero.
const ZERO_MS: f64 = 1e-6;
/// Largest bucket index; longer latencies (over ~10⁹ ms) land in it.
const MAX_INDEX: i32 = 1_047;

/// Relative error bound of every quantile a [`LatencySketch`] answers.
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);

/// Latencies in milliseconds, summarised for quantiles (see the module doc for the error bound).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySketch {
    /// How many values were added.
    pub count: u64,
    /// Values at or under 1 ns.
    #[serde(default)]
    pub zero: u64,
    /// Count per bucket index (see the module doc).
    #[serde(default)]
    pub buckets: BTreeMap<i32, u64>,
}

impl LatencySketch {
    /// Counts one latency in milliseconds; negative and non-finite values count as zero.
    pub fn add(&mut self, ms: f64) {
        self.count += 1;
        if !ms.is_finite() || ms <= ZERO_MS {
            self.zero += 1;
            return;
        }
        let index = (ms.ln() / GAMMA.ln()).ceil().min(f64::from(MAX_INDEX));
        // `index` is an integer between ln(1e-6)/ln(γ) ≈ -698 and MAX_INDEX.
        *self.buckets.entry(index as i32).or_insert(0) += 1;
    }

    /// Adds every value counted by `other`.
    pub fn merge(&mut self, other: &LatencySketch) {
        self.count += other.count;
        self.zero += other.zero;
        for (index, n) in &other.buckets {
            *self.buckets.entry(*index).or_insert(0) += n;
        }
    }

    /// The value at quantile `q` (0 ≤ q ≤ 1): the one at rank ⌊q·(n−1)⌋ of the sorted values,
    /// within [`RELATIVE_ERROR`]. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        let mut seen = self.zero;
        if rank < seen {
            return Some(0.0);
        }
        for (index, n) in &self.buckets {
            seen += n;
            if rank < seen {
                return Some(2.0 * GAMMA.powi(*index) / (GAMMA + 1.0));
            }
        }
        // Only reached when counts disagree (a hand-edited sketch): answer the largest bucket.
        self.buckets
            .keys()
            .next_back()
            .map(|index| 2.0 * GAMMA.powi(*index) / (GAMMA + 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact value at rank ⌊q·(n−1)⌋, as the sketch defines its quantiles.
    fn exact(sorted: &[f64], q: f64) -> f64 {
        let rank = (q * (sorted.len() - 1) as f64).floor() as usize;
        sorted.get(rank).copied().unwrap_or(f64::NAN)
    }

    /// Latencies spread over six decades, with a heavy tail, as a deterministic sequence.
    fn latencies(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                0.001 * 10f64.powf(6.0 * u * u)
            })
            .collect()
    }

    #[test]
    fn every_quantile_is_within_the_relative_error_bound() {
        let values = latencies(50_000, 7);
        let mut sketch = LatencySketch::default();
        values.iter().for_each(|v| sketch.add(*v));
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let (got, want) = (sketch.quantile(q).unwrap_or(f64::NAN), exact(&sorted, q));
            assert!(
                (got - want).abs() <= RELATIVE_ERROR * want + 1e-12,
                "q={q}: {got} vs {want}"
            );
        }
        assert!(
            sketch.buckets.len() < 1_000,
            "{} buckets",
            sketch.buckets.len()
        );
    }

    #[test]
    fn merged_sketches_equal_the_sketch_of_all_values() {
        let (a, b) = (latencies(3_000, 1), latencies(5_000, 2));
        let (mut left, mut right, mut all) = (
            LatencySketch::default(),
            LatencySketch::default(),
            LatencySketch::default(),
        );
        a.iter().for_each(|v| left.add(*v));
        b.iter().for_each(|v| right.add(*v));
        a.iter().chain(&b).for_each(|v| all.add(*v));
        left.merge(&right);
        assert_eq!(left, all);
        let json = serde_json::to_string(&left).unwrap_or_default();
        assert_eq!(serde_json::from_str::<LatencySketch>(&json).ok(), Some(all));
    }

    #[test]
    fn zero_negative_and_empty() {
        let mut sketch = LatencySketch::default();
        assert_eq!(sketch.quantile(0.5), None);
        sketch.add(0.0);
        sketch.add(-3.0);
        sketch.add(f64::NAN);
        assert_eq!(sketch.quantile(0.99), Some(0.0));
        assert_eq!(sketch.count, 3);
    }
}
