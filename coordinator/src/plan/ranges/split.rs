//! Choosing the ranges from the sample. Per physical table, the key spaces
//! seen in the sample (each index's `t{id}_i{index}` prefix and the record
//! prefix `t{id}_r`) each start a range; a key space whose predicted KV
//! bytes exceed one engine's worth is cut further at sampled keys, at equal
//! steps of sampled bytes. The first range starts at `t{id}` and the last
//! ends at `t{id+1}`, so every KV of the table falls in exactly one range.
//!
//! One engine's worth is what the sample predicts for `mydumper.batch-size`
//! source bytes; with `scale = table source bytes / sampled source bytes`,
//! a key space gets `ceil(sampled space bytes × scale / engine's worth)`
//! ranges, i.e. `ceil(space bytes × table source / (sampled KV bytes ×
//! batch-size))`.

use std::collections::BTreeMap;

use squall_codec::key::table_range;

use super::sample::TableSample;

/// One planned range: raw keys `start..end` and the KV bytes it is expected
/// to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRange {
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    pub estimated_bytes: u64,
}

/// Length of a key-space prefix: `t{id}_i{index}` (19) or `t{id}_r` (11).
fn space_of(key: &[u8]) -> Option<&[u8]> {
    if squall_codec::key::is_index_key(key) && key.len() >= 19 {
        Some(&key[..19])
    } else if squall_codec::key::is_record_key(key) && key.len() >= 11 {
        Some(&key[..11])
    } else {
        None
    }
}

pub fn plan_ranges(
    physical_ids: &[i64],
    sample: &TableSample,
    table_source_bytes: u64,
    batch_size: u64,
) -> Vec<PlannedRange> {
    // Sampled keys by key space, sorted: BTreeMap order is key order.
    let mut spaces: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, u64>> = BTreeMap::new();
    for (key, bytes) in &sample.keys {
        if let Some(space) = space_of(key) {
            *spaces
                .entry(space.to_vec())
                .or_default()
                .entry(key.clone())
                .or_default() += bytes;
        }
    }
    // Predicted bytes of one sampled byte: table source / sampled source.
    let scale = table_source_bytes as f64 / sample.source_bytes.max(1) as f64;
    let engine_worth =
        (sample.kv_bytes() as f64 / sample.source_bytes.max(1) as f64) * batch_size.max(1) as f64;
    let mut ids = physical_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (lo, hi) = table_range(id);
        // Boundaries inside `lo..hi`, with the predicted bytes from each
        // boundary to the next.
        let mut bounds: Vec<(Vec<u8>, f64)> = vec![(lo.clone(), 0.0)];
        let mut first = true;
        for (space, keys) in spaces.range(lo.clone()..hi.clone()) {
            let total: u64 = keys.values().sum();
            let predicted = total as f64 * scale;
            let pieces = (predicted / engine_worth.max(1.0)).ceil().max(1.0) as u64;
            // The first space starts at the table's own bound: no empty
            // range before it.
            if !first {
                bounds.push((space.clone(), 0.0));
            }
            first = false;
            let step = total as f64 / pieces as f64;
            let mut cum = 0u64;
            let mut next = 1u64;
            for (key, bytes) in keys {
                if next < pieces
                    && cum as f64 >= step * next as f64
                    && key.as_slice() > space.as_slice()
                {
                    if bounds.last().is_some_and(|(b, _)| b < key) {
                        bounds.push((key.clone(), 0.0));
                    }
                    next += 1;
                }
                cum += bytes;
                if let Some(last) = bounds.last_mut() {
                    last.1 += *bytes as f64 * scale;
                }
            }
        }
        for (i, (start, predicted)) in bounds.iter().enumerate() {
            let end = bounds.get(i + 1).map_or(hi.clone(), |(b, _)| b.clone());
            out.push(PlannedRange {
                start: start.clone(),
                end,
                estimated_bytes: predicted.round() as u64,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_codec::key::{append_index_prefix, append_record_prefix};

    fn rec(id: i64, n: u64) -> Vec<u8> {
        let mut k = Vec::new();
        append_record_prefix(&mut k, id);
        k.extend_from_slice(&n.to_be_bytes());
        k
    }

    fn idx(id: i64, index: i64, n: u64) -> Vec<u8> {
        let mut k = Vec::new();
        append_index_prefix(&mut k, id, index);
        k.extend_from_slice(&n.to_be_bytes());
        k
    }

    #[test]
    fn big_spaces_are_cut_small_ones_are_one_range_and_all_is_covered() {
        // 100 rows of 100 source bytes: record KVs of 60 bytes, index 1 of
        // 30 bytes, index 2 of 10 bytes.
        let mut keys = Vec::new();
        for n in 0..100 {
            keys.push((rec(7, n), 60));
            keys.push((idx(7, 1, n), 30));
            keys.push((idx(7, 2, n), 10));
        }
        let sample = TableSample {
            keys,
            rows: 100,
            source_bytes: 10_000,
        };
        // The table is 80 000 source bytes; engines of 10 000: 8 engines
        // of 10 000 KV bytes. Record space 48 000 → 5 ranges, index 1
        // 24 000 → 3, index 2 8 000 → 1.
        let ranges = plan_ranges(&[7], &sample, 80_000, 10_000);
        assert_eq!(ranges.len(), 3 + 1 + 5, "{ranges:?}");
        let (lo, hi) = table_range(7);
        assert_eq!(ranges[0].start, lo);
        assert_eq!(ranges.last().map(|r| r.end.clone()), Some(hi));
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert!(w[0].start < w[0].end);
        }
        let record: Vec<_> = ranges
            .iter()
            .filter(|r| squall_codec::key::is_record_key(&r.start))
            .collect();
        assert_eq!(record.len(), 5);
        for r in &record {
            assert!((8_000..=11_000).contains(&r.estimated_bytes), "{r:?}");
        }
        // Deterministic.
        assert_eq!(ranges, plan_ranges(&[7], &sample, 80_000, 10_000));
        // One engine's worth of table: one range per key space.
        assert_eq!(plan_ranges(&[7], &sample, 10_000, 10_000).len(), 3);
    }

    #[test]
    fn partitions_get_ranges_of_their_own() {
        let mut keys = Vec::new();
        for n in 0..50 {
            keys.push((rec(7, n), 100));
            keys.push((rec(9, n), 100));
            keys.push((idx(9, 1, n), 50));
        }
        let sample = TableSample {
            keys,
            rows: 100,
            source_bytes: 10_000,
        };
        // Partition 8 has no sampled row: one range for all of it.
        let ranges = plan_ranges(&[9, 7, 8], &sample, 10_000, 10_000);
        for id in [7, 8, 9] {
            let (lo, hi) = table_range(id);
            let mine: Vec<_> = ranges
                .iter()
                .filter(|r| r.start >= lo && r.end <= hi)
                .collect();
            assert!(!mine.is_empty(), "partition {id}");
            assert_eq!(mine[0].start, lo);
            assert_eq!(mine.last().map(|r| r.end.clone()), Some(hi));
        }
        assert_eq!(ranges.len(), 1 + 1 + 2, "{ranges:?}");
        assert!(ranges.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
