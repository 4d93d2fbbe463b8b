//! From candidate rows to conflicts: decode every row, derive the KVs it
//! wrote, check that they explain what TiKV reported, and group the rows by
//! the unique keys (record key, distinct unique index entries) they share.

use std::collections::{BTreeMap, HashMap};

use squall_codec::{Datum, EncodedKv};

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

/// Decodes and groups the candidates of one table.
pub fn analyze(inputs: &TableInputs<'_>, cands: Candidates) -> Result<Analysis, DuplicateError> {
    let table = inputs.table;
    let name = table.qualified_name();
    let mut deriver = Deriver::new(table, inputs.converter)
        .map_err(|e| DuplicateError::inconsistent(&name, e))?;
    let mut rows = Vec::with_capacity(cands.rows.len());
    for (id, value) in cands.rows {
        rows.push(decode_one(&mut deriver, inputs, id, value)?);
    }
    check_reported_versions(inputs, &rows)?;
    let groups = group(&rows);
    Ok(keep_conflicting(rows, groups, &name))
}

fn decode_one(
    deriver: &mut Deriver,
    inputs: &TableInputs<'_>,
    id: RowRef,
    value: RowValue,
) -> Result<Row, DuplicateError> {
    let name = inputs.table.qualified_name();
    let key = squall_codec::record_key(inputs.table.id, &id.handle);
    let mut datums = decode_row(inputs.table, &id.handle, &value.value)
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
/// them could delete the wrong row.
fn check_reported_versions(inputs: &TableInputs<'_>, rows: &[Row]) -> Result<(), DuplicateError> {
    let mut owners: HashMap<&[u8], Vec<(&Row, &EncodedKv)>> = HashMap::new();
    for row in rows {
        for kv in row.kvs.iter().skip(1) {
            owners.entry(kv.key.as_slice()).or_default().push((row, kv));
        }
    }
    for (index_id, pair) in inputs.index_pairs {
        let explained = owners.get(pair.key.as_slice()).is_some_and(|list| {
            list.iter().any(|(row, kv)| match row.id.origin {
                Origin::Preexisting { .. } => pair.commit_ts <= inputs.min_commit_ts,
                Origin::Imported { commit_ts, .. } => {
                    commit_ts == pair.commit_ts && kv.value == pair.value
                }
            })
        });
        if !explained {
            return Err(DuplicateError::inconsistent(
                &inputs.table.qualified_name(),
                format!(
                    "index {index_id} entry {} at ts {} is not written by any row found for it",
                    hex::encode(&pair.key),
                    pair.commit_ts
                ),
            ));
        }
    }
    Ok(())
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
