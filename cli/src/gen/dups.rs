//! Duplicate keys, placed so the number of conflicting rows is known.
//!
//! Every row that is not a duplicate takes a fresh key number (1, 2, ...);
//! a duplicate is an extra row that reuses the key of a uniformly chosen
//! earlier row, so duplicates land in the same file and across files. The
//! import reports as conflicting every row whose key some other row shares:
//! each duplicate, plus each distinct earlier row that was copied. A bit set
//! of the copied key numbers counts those exactly, at one bit per row.

use rand::rngs::StdRng;
use rand::Rng;

#[derive(Debug, Default)]
pub struct Dups {
    ratio: f64,
    copied: BitSet,
    /// Key numbers that were taken by an original row (for `wide`, whose
    /// unique-key duplicates must copy a row that owns its unique value).
    originals: BitSet,
    pub fresh: u64,
    pub dup_rows: u64,
}

impl Dups {
    pub fn new(ratio: f64) -> Self {
        Self {
            ratio: ratio.clamp(0.0, 1.0),
            ..Self::default()
        }
    }

    /// Whether the next row is a duplicate (never the first row).
    pub fn next_is_dup(&mut self, rng: &mut StdRng) -> bool {
        let dup = self.ratio > 0.0 && self.fresh > 0 && rng.gen_bool(self.ratio);
        if dup {
            self.dup_rows += 1;
        }
        dup
    }

    /// A fresh key number for a row that repeats nothing (an original: it
    /// owns its unique values too).
    pub fn fresh_original(&mut self) -> u64 {
        self.fresh += 1;
        self.originals.set(self.fresh);
        self.fresh
    }

    /// A fresh key number for a duplicate row (one that repeats another
    /// key, e.g. a unique value, and is counted as a duplicate already).
    pub fn fresh_for_dup(&mut self) -> u64 {
        self.fresh += 1;
        self.fresh
    }

    /// An earlier key number to repeat; its row becomes conflicting (a
    /// duplicate row's own key was counted with the duplicates).
    pub fn copy_any(&mut self, rng: &mut StdRng) -> u64 {
        let k = rng.gen_range(1..=self.fresh);
        if self.originals.get(k) {
            self.copied.set(k);
        }
        k
    }

    /// Counts key `k` (numbered by the caller) as repeated.
    pub fn mark(&mut self, k: u64) {
        self.copied.set(k);
    }

    /// An earlier original's key number (see [`Self::fresh_original`]).
    pub fn copy_original(&mut self, rng: &mut StdRng) -> u64 {
        let mut k = rng.gen_range(1..=self.fresh);
        while k > 1 && !self.originals.get(k) {
            k -= 1;
        }
        self.copied.set(k);
        k
    }

    /// Rows the import will report as conflicting.
    pub fn conflicting_rows(&self) -> u64 {
        self.dup_rows + self.copied.count
    }
}

#[derive(Debug, Default)]
struct BitSet {
    words: Vec<u64>,
    count: u64,
}

impl BitSet {
    fn set(&mut self, i: u64) {
        let w = (i / 64) as usize;
        if w >= self.words.len() {
            self.words.resize((w + 1).max(self.words.len() * 2), 0);
        }
        let bit = 1u64 << (i % 64);
        if self.words[w] & bit == 0 {
            self.words[w] |= bit;
            self.count += 1;
        }
    }

    fn get(&self, i: u64) -> bool {
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::HashMap;

    #[test]
    fn conflicting_rows_match_a_brute_force_count() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut d = Dups::new(0.1);
        let mut keys = Vec::new();
        for _ in 0..20_000 {
            let k = if d.next_is_dup(&mut rng) {
                d.copy_any(&mut rng)
            } else {
                d.fresh_original()
            };
            keys.push(k);
        }
        let mut per_key: HashMap<u64, u64> = HashMap::new();
        for k in &keys {
            *per_key.entry(*k).or_default() += 1;
        }
        let want: u64 = per_key.values().filter(|n| **n > 1).sum();
        assert_eq!(d.conflicting_rows(), want);
        assert!(d.dup_rows > 1500 && d.dup_rows < 2500, "{}", d.dup_rows);
    }

    /// `wide`'s scheme: primary-key repeats of any row, unique-key repeats
    /// of originals under a fresh primary key.
    #[test]
    fn two_keys_count_each_conflicting_row_once() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut d = Dups::new(0.2);
        let mut rows: Vec<(u64, String)> = Vec::new();
        for i in 0..20_000u64 {
            let row = if d.next_is_dup(&mut rng) {
                if rng.gen_bool(0.5) {
                    (d.copy_any(&mut rng), format!("fresh{i}"))
                } else {
                    let id = d.fresh_for_dup();
                    (id, format!("u{}", d.copy_original(&mut rng)))
                }
            } else {
                let id = d.fresh_original();
                (id, format!("u{id}"))
            };
            rows.push(row);
        }
        let mut ids: HashMap<u64, u64> = HashMap::new();
        let mut uks: HashMap<&str, u64> = HashMap::new();
        for (id, uk) in &rows {
            *ids.entry(*id).or_default() += 1;
            *uks.entry(uk.as_str()).or_default() += 1;
        }
        let want = rows
            .iter()
            .filter(|(id, uk)| ids[id] > 1 || uks[uk.as_str()] > 1)
            .count() as u64;
        assert_eq!(d.conflicting_rows(), want);
    }

    #[test]
    fn copy_original_skips_keys_that_are_not_originals() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut d = Dups::new(0.5);
        d.fresh_original();
        for _ in 0..50 {
            d.fresh_for_dup();
        }
        for _ in 0..20 {
            assert_eq!(d.copy_original(&mut rng), 1);
        }
        assert_eq!(d.copied.count, 1);
    }
}
