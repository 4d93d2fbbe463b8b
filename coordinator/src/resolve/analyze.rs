//! From candidate rows to conflicts: decode every row, derive the KVs it
//! wrote, check that they explain what TiKV reported, and group the rows by
//! the unique keys (record key, distinct unique index entries) they share.

use std::collections::{BTreeMap, HashMap};

use squall_codec::{Datum, EncodedKv};
use squall_common::schema::TableInfo;

use super::decode::decode_row;
use super::derive::Deriver;
use super::rows::{Candidates, Origin, RowRef, RowValue, TableInputs};
use crate::duplicate::error::DuplicateError;

/// One conflicting source row, decoded, with every KV it wrote.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: RowRef,
    pub value: RowValue,
    pub datums: Vec<Datum>,
    /// The record KV first, then one KV per written index.
    pub kvs: Vec<EncodedKv>,
    /// Which of `kvs` are unique keys (record, distinct unique entries).
    pub unique: Vec<bool>,
}

/// Rows sharing one unique key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictGroup {
    pub key: Vec<u8>,
    /// `None` for the record key.
    pub index_id: Option<i64>,
    /// Indexes into [`Analysis::rows`], in row order.
    pub rows: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub rows: Vec<Row>,
    pub groups: Vec<ConflictGroup>,
}

/// Decodes and groups the candidates of one table, all at once (the
/// reference the paged plan of [`super::group`] and [`super::batch`] must
/// equal; tests compare them).
pub fn analyze(inputs: &TableInputs<'_>, cands: Candidates) -> Result<Analysis, DuplicateError> {
    let table = inputs.table;
    let name = table.qualified_name();
    let mut deriver = Deriver::new(table, inputs.converter)
        .map_err(|e| DuplicateError::inconsistent(&name, e))?;
    let mut rows = Vec::with_capacity(cands.rows.len());
    for (id, value) in cands.rows {
        rows.push(decode_one(&mut deriver, table, id, value)?);
    }
    let mut check = VersionCheck::new(inputs);
    for row in &rows {
        check.see(row);
    }
    check.finish()?;
    let groups = group(&rows);
    Ok(keep_conflicting(rows, groups, &name))
}

/// Decodes one candidate row and derives every KV it wrote.
pub(crate) fn decode_one(
    deriver: &mut Deriver,
    table: &TableInfo,
    id: RowRef,
    value: RowValue,
) -> Result<Row, DuplicateError> {
    let name = table.qualified_name();
    let key = squall_codec::record_key(table.id, &id.handle);
    let mut datums = decode_row(table, &id.handle, &value.value)
        .map_err(|e| DuplicateError::decode(&name, &key, e))?;
    let mut kvs = deriver
        .derive(&id.handle, &mut datums)
        .map_err(|e| DuplicateError::decode(&name, &key, e))?;
    match id.origin {
        // Rows TiDB wrote may use another (equivalent) row layout; what is
        // stored is what deletion and checksums must see.
        Origin::Preexisting { .. } => kvs[0].value = value.value.clone(),
        Origin::Imported { .. } if kvs[0].value != value.value => {
            return Err(DuplicateError::decode(
                &name,
                &key,
                "re-encoding the decoded row does not give the imported bytes; refusing to resolve with a lossy codec",
            ));
        }
        Origin::Imported { .. } => {}
    }
    let unique = kvs.iter().map(|kv| deriver.is_unique_key(kv)).collect();
    Ok(Row {
        id,
        value,
        datums,
        kvs,
        unique,
    })
}

/// Every reported index version must be a KV of a candidate row of the same
/// origin; otherwise the rows found do not explain TiKV's data and acting on
/// them could delete the wrong row. Rows are seen one at a time, so the
/// check holds only the reported versions, not the rows.
pub(crate) struct VersionCheck<'a> {
    inputs: &'a TableInputs<'a>,
    /// Reported index key → positions in `inputs.index_pairs`.
    wanted: HashMap<&'a [u8], Vec<usize>>,
    explained: Vec<bool>,
}

impl<'a> VersionCheck<'a> {
    pub(crate) fn new(inputs: &'a TableInputs<'a>) -> Self {
        let mut wanted: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (i, (_, pair)) in inputs.index_pairs.iter().enumerate() {
            wanted.entry(pair.key.as_slice()).or_default().push(i);
        }
        Self {
            inputs,
            wanted,
            explained: vec![false; inputs.index_pairs.len()],
        }
    }

    /// Marks the reported versions `row`'s index KVs explain.
    pub(crate) fn see(&mut self, row: &Row) {
        for kv in row.kvs.iter().skip(1) {
            let Some(list) = self.wanted.get(kv.key.as_slice()) else {
                continue;
            };
            for &i in list {
                let pair = &self.inputs.index_pairs[i].1;
                let explains = match row.id.origin {
                    Origin::Preexisting { .. } => pair.commit_ts <= self.inputs.min_commit_ts,
                    Origin::Imported { commit_ts, .. } => {
                        commit_ts == pair.commit_ts && kv.value == pair.value
                    }
                };
                self.explained[i] |= explains;
            }
        }
    }

    /// The first reported version (in report order) no row explains.
    pub(crate) fn finish(self) -> Result<(), DuplicateError> {
        let Some(i) = self.explained.iter().position(|e| !e) else {
            return Ok(());
        };
        let (index_id, pair) = &self.inputs.index_pairs[i];
        Err(DuplicateError::inconsistent(
            &self.inputs.table.qualified_name(),
            format!(
                "index {index_id} entry {} at ts {} is not written by any row found for it",
                hex::encode(&pair.key),
                pair.commit_ts
            ),
        ))
    }
}

/// Unique keys owned by two or more rows, in key order.
fn group(rows: &[Row]) -> Vec<ConflictGroup> {
    let mut by_key: BTreeMap<&[u8], (Option<i64>, Vec<usize>)> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        for (kv, unique) in row.kvs.iter().zip(&row.unique) {
            if *unique {
                by_key
                    .entry(kv.key.as_slice())
                    .or_insert((kv.index_id, Vec::new()))
                    .1
                    .push(i);
            }
        }
    }
    by_key
        .into_iter()
        .filter(|(_, (_, owners))| owners.len() > 1)
        .map(|(key, (index_id, rows))| ConflictGroup {
            key: key.to_vec(),
            index_id,
            rows,
        })
        .collect()
}

/// Drops candidates that share no unique key with another row (nothing to
/// resolve for them) and renumbers the groups.
fn keep_conflicting(rows: Vec<Row>, mut groups: Vec<ConflictGroup>, table: &str) -> Analysis {
    let mut in_conflict = vec![false; rows.len()];
    for g in &groups {
        for &i in &g.rows {
            in_conflict[i] = true;
        }
    }
    let mut new_index = vec![usize::MAX; rows.len()];
    let mut kept = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        if in_conflict[i] {
            new_index[i] = kept.len();
            kept.push(row);
        } else {
            tracing::debug!(table, handle = %row.id.handle, ts = row.id.origin.commit_ts(), "candidate row shares no unique key; not a conflict");
        }
    }
    for g in &mut groups {
        for i in &mut g.rows {
            *i = new_index[*i];
        }
    }
    Analysis { rows: kept, groups }
}
