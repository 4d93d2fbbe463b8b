//! The KVs resolution writes at its own (newer) commit ts.
//!
//! A removed row and a kept row can share keys: under `replace`, the winner
//! usually has the loser's record key (same primary key) and unique entries.
//! Deleting the loser's keys would then delete the winner too. So every KV of
//! every kept row is written again as a Put, and only the removed rows' keys
//! that no kept row owns become Deletes. Re-putting the winner also fixes the
//! case where the loser's version is the newer one in TiKV, and installs
//! winner index entries that were never ingested (a local duplicate copy).

use std::collections::BTreeMap;

use super::analyze::Analysis;
use super::decide::Fate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    Put(Vec<u8>),
    Delete,
}

/// Sorted, one mutation per key.
pub type WriteSet = BTreeMap<Vec<u8>, Mutation>;

pub fn write_set(analysis: &Analysis, fates: &[Fate]) -> WriteSet {
    let mut out = WriteSet::new();
    for (row, fate) in analysis.rows.iter().zip(fates) {
        if *fate == Fate::Kept {
            for kv in &row.kvs {
                out.insert(kv.key.clone(), Mutation::Put(kv.value.clone()));
            }
        }
    }
    for (row, fate) in analysis.rows.iter().zip(fates) {
        if *fate == Fate::Removed {
            for kv in &row.kvs {
                out.entry(kv.key.clone()).or_insert(Mutation::Delete);
            }
        }
    }
    out
}

/// `(puts, deletes)` in a write set.
pub fn counts(set: &WriteSet) -> (u64, u64) {
    let puts = set
        .values()
        .filter(|m| matches!(m, Mutation::Put(_)))
        .count() as u64;
    (puts, set.len() as u64 - puts)
}
