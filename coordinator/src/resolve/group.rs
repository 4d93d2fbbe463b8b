//! The whole-table part of a paged resolution: which candidate rows conflict,
//! the groups of rows sharing a unique key, and the batches the rest of the
//! resolution pages through.
//!
//! Rows are linked by shared unique keys (the record key of one handle,
//! distinct unique index entries of different handles), and a row's fate
//! under `replace` depends on every row it is linked to. So each row is
//! decoded once here, only to learn its unique keys, and dropped: what stays
//! for the whole table is each conflicting row's identity and record value
//! (as the detection results already hold them), the conflicting keys with
//! their row numbers, and one batch number list. Decoded rows, their KVs,
//! the write set and the report lines only ever exist for one batch
//! ([`super::batch`]).

use std::collections::BTreeMap;

use super::analyze::{decode_one, ConflictGroup, VersionCheck};
use super::derive::Deriver;
use super::rows::{Candidates, RowRef, RowValue, TableInputs};
use crate::duplicate::error::DuplicateError;

/// A table's conflicting rows, grouped, cut into batches.
#[derive(Debug, Clone, Default)]
pub struct Grouping {
    /// Rows sharing a unique key with another row, in row order (the order
    /// of [`super::analyze::Analysis::rows`]).
    pub rows: Vec<(RowRef, RowValue)>,
    /// Unique keys owned by two or more rows, in key order.
    pub groups: Vec<ConflictGroup>,
    /// Row numbers of each batch, ascending. A batch is one or more whole
    /// connected sets of rows (rows linked through shared keys, directly or
    /// not), taken in order of their first row, until it holds at least
    /// `batch_rows` rows; a connected set is never split, as the fates of its
    /// rows depend on each other. Connected sets write disjoint keys, so the
    /// batches can be decided, written and checksummed one at a time.
    pub batches: Vec<Vec<usize>>,
}

/// Decodes every candidate once to find its unique keys, checks that the
/// rows explain every reported index version, and groups and batches the
/// conflicting rows.
pub fn group_candidates(
    inputs: &TableInputs<'_>,
    cands: Candidates,
    batch_rows: usize,
) -> Result<Grouping, DuplicateError> {
    let table = inputs.table;
    let name = table.qualified_name();
    let mut deriver = Deriver::new(table, inputs.converter)
        .map_err(|e| DuplicateError::inconsistent(&name, e))?;
    let cands: Vec<(RowRef, RowValue)> = cands.rows.into_iter().collect();
    let mut check = VersionCheck::new(inputs);
    let mut by_key: BTreeMap<Vec<u8>, (Option<i64>, Vec<usize>)> = BTreeMap::new();
    for (i, (id, value)) in cands.iter().enumerate() {
        let row = decode_one(&mut deriver, table, id.clone(), value.clone())?;
        check.see(&row);
        for (kv, unique) in row.kvs.into_iter().zip(&row.unique) {
            if *unique {
                by_key
                    .entry(kv.key)
                    .or_insert((kv.index_id, Vec::new()))
                    .1
                    .push(i);
            }
        }
    }
    check.finish()?;
    let mut groups: Vec<ConflictGroup> = by_key
        .into_iter()
        .filter(|(_, (_, owners))| owners.len() > 1)
        .map(|(key, (index_id, rows))| ConflictGroup {
            key,
            index_id,
            rows,
        })
        .collect();
    // Keep the rows that share a unique key with another row, renumbered.
    let mut in_conflict = vec![false; cands.len()];
    for g in &groups {
        for &i in &g.rows {
            in_conflict[i] = true;
        }
    }
    let mut new_index = vec![usize::MAX; cands.len()];
    let mut rows = Vec::new();
    for (i, (id, value)) in cands.into_iter().enumerate() {
        if in_conflict[i] {
            new_index[i] = rows.len();
            rows.push((id, value));
        } else {
            tracing::debug!(table = %name, handle = %id.handle, ts = id.origin.commit_ts(), "candidate row shares no unique key; not a conflict");
        }
    }
    for g in &mut groups {
        for i in &mut g.rows {
            *i = new_index[*i];
        }
    }
    let batches = batches(rows.len(), &groups, batch_rows.max(1));
    Ok(Grouping {
        rows,
        groups,
        batches,
    })
}

/// Connected sets of rows (union-find over the groups), in order of their
/// first row, packed into batches of at least `batch_rows` rows.
fn batches(n: usize, groups: &[ConflictGroup], batch_rows: usize) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for g in groups {
        let first = root(&mut parent, g.rows[0]);
        for &i in &g.rows[1..] {
            let r = root(&mut parent, i);
            if r != first {
                parent[r.max(first)] = r.min(first);
            }
        }
    }
    // Rows in ascending order: a set appears first at its smallest row.
    let mut set_of_root = vec![usize::MAX; n];
    let mut sets: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        if set_of_root[r] == usize::MAX {
            set_of_root[r] = sets.len();
            sets.push(Vec::new());
        }
        sets[set_of_root[r]].push(i);
    }
    let mut out = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for set in sets {
        current.extend(set);
        if current.len() >= batch_rows {
            current.sort_unstable();
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        current.sort_unstable();
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(rows: &[usize]) -> ConflictGroup {
        ConflictGroup {
            key: vec![],
            index_id: None,
            rows: rows.to_vec(),
        }
    }

    #[test]
    fn linked_rows_stay_in_one_batch() {
        // 0-3 share a record key, 3-5 an index key: one set {0,3,5};
        // {1,2} and {4,6} are others.
        let groups = [g(&[0, 3]), g(&[1, 2]), g(&[3, 5]), g(&[4, 6])];
        assert_eq!(
            batches(7, &groups, 1),
            vec![vec![0, 3, 5], vec![1, 2], vec![4, 6]]
        );
        assert_eq!(
            batches(7, &groups, 4),
            vec![vec![0, 1, 2, 3, 5], vec![4, 6]]
        );
        assert_eq!(batches(7, &groups, 100), vec![(0..7).collect::<Vec<_>>()]);
        assert!(batches(0, &[], 1).is_empty());
    }
}
