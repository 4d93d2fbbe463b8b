//! How conflicts change the checksum the coordinator expects from TiKV.
//!
//! The local checksum is the sum of what the engines ingested. For every key
//! a conflicting row wrote ("affected" keys), TiKV's table checksum sees only
//! the key's final visible version, while the local sum holds every ingested
//! version (two engines that ingested the same key count it twice) and none
//! of the table's earlier data. So, over the affected keys:
//!
//! ```text
//! expected_tikv = local ⊖ ingested versions ⊕ final versions
//!               (⊕ base ⊖ earlier versions, when the runner has a base checksum)
//! ```
//!
//! A KV counts as ingested by its engine when it was the engine's first copy
//! of the key; local duplicate copies after the first never reached TiKV.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use squall_codec::KvChecksum;

use super::analyze::{Analysis, Row};
use super::decide::Fate;
use super::rows::Origin;
use super::writeset::{Mutation, WriteSet};
use crate::duplicate::local::LocalDuplicate;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksumAdjustment {
    /// Ingested versions of affected keys (in the local sum).
    pub subtract_local: KvChecksum,
    /// The table's earlier versions of affected keys (in a base checksum).
    pub subtract_base: KvChecksum,
    /// The final visible versions of affected keys.
    pub add: KvChecksum,
}

impl ChecksumAdjustment {
    /// What TiKV should hold for the table, given the merged local checksum
    /// (and the table's checksum before the import, if it had data).
    pub fn expected(&self, local: &KvChecksum, base: Option<&KvChecksum>) -> KvChecksum {
        let mut out = *local;
        out.merge(&self.add);
        if let Some(base) = base {
            out.merge(base);
        }
        out.subtract(&self.subtract_local);
        if base.is_some() {
            out.subtract(&self.subtract_base);
        }
        out
    }

    pub fn merge(&mut self, other: &ChecksumAdjustment) {
        self.subtract_local.merge(&other.subtract_local);
        self.subtract_base.merge(&other.subtract_base);
        self.add.merge(&other.add);
    }
}

/// Local copies of a key in an engine: `(key, commit ts)` → copies.
pub type LocalIndex<'a> = HashMap<(&'a [u8], u64), Vec<&'a LocalDuplicate>>;

/// The table's local copies by key and engine, built once per table.
pub fn local_index(local: &[LocalDuplicate]) -> LocalIndex<'_> {
    let mut copies: LocalIndex<'_> = HashMap::new();
    for d in local {
        copies
            .entry((d.key.as_slice(), d.commit_ts))
            .or_default()
            .push(d);
    }
    copies
}

pub fn adjustment(
    analysis: &Analysis,
    fates: &[Fate],
    writes: &WriteSet,
    local: &[LocalDuplicate],
) -> ChecksumAdjustment {
    adjustment_with(analysis, fates, writes, &local_index(local))
}

/// [`adjustment`] with the local copies already indexed. Rows of different
/// conflict groups write disjoint keys, so the adjustments of a table's
/// batches of groups merge into the adjustment of the whole table.
pub fn adjustment_with(
    analysis: &Analysis,
    fates: &[Fate],
    writes: &WriteSet,
    copies: &LocalIndex<'_>,
) -> ChecksumAdjustment {
    let mut ingested: BTreeMap<(&[u8], u64), &[u8]> = BTreeMap::new();
    let mut earlier: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
    let mut affected: BTreeSet<&[u8]> = BTreeSet::new();
    for row in &analysis.rows {
        for kv in &row.kvs {
            affected.insert(kv.key.as_slice());
            match row.id.origin {
                Origin::Preexisting { .. } => {
                    earlier.insert(kv.key.as_slice(), kv.value.as_slice());
                }
                Origin::Imported { commit_ts, .. }
                    if was_ingested(row, &kv.key, &kv.value, copies) =>
                {
                    ingested
                        .entry((kv.key.as_slice(), commit_ts))
                        .or_insert(kv.value.as_slice());
                }
                Origin::Imported { .. } => {}
            }
        }
    }
    let mut adj = ChecksumAdjustment::default();
    for ((key, _), value) in &ingested {
        adj.subtract_local.update(key, value);
    }
    for (key, value) in &earlier {
        adj.subtract_base.update(key, value);
    }
    let writes_anything = fates.iter().any(|f| *f != Fate::Unchanged);
    for key in affected {
        let visible = if writes_anything {
            match writes.get(key) {
                Some(Mutation::Put(v)) => Some(v.as_slice()),
                Some(Mutation::Delete) => None,
                None => newest(key, &ingested, &earlier),
            }
        } else {
            newest(key, &ingested, &earlier)
        };
        if let Some(v) = visible {
            adj.add.update(key, v);
        }
    }
    adj
}

/// The version TiKV shows without resolution: the newest ingested one, else
/// the earlier data.
fn newest<'k, 'a>(
    key: &'k [u8],
    ingested: &BTreeMap<(&'k [u8], u64), &'a [u8]>,
    earlier: &BTreeMap<&'k [u8], &'a [u8]>,
) -> Option<&'a [u8]> {
    ingested
        .range((key, 0)..=(key, u64::MAX))
        .next_back()
        .map(|(_, v)| *v)
        .or_else(|| earlier.get(key).copied())
}

/// Whether `row`'s KV `(key, value)` reached TiKV: yes unless its engine
/// recorded several copies of the key and this row's copy was not the first.
fn was_ingested(row: &Row, key: &[u8], value: &[u8], copies: &LocalIndex<'_>) -> bool {
    let Origin::Imported { commit_ts, .. } = row.id.origin else {
        return false;
    };
    let row_tag = row.value.row_tag;
    let Some(list) = copies.get(&(key, commit_ts)) else {
        return true;
    };
    match (list.iter().find(|d| d.ingested), row_tag) {
        (Some(first), Some(tag)) => first.row_tag == tag,
        // A row known only from TiKV: it is the first copy if it wrote
        // the first copy's bytes (the value of a unique entry holds the handle).
        (Some(first), None) => first.value == value,
        // The first copy was not recorded: recorded copies are the later ones.
        (None, Some(tag)) => !list.iter().any(|d| d.row_tag == tag),
        (None, None) => true,
    }
}
