//! Which source rows take part in a table's conflicts, and where their
//! record values come from.
//!
//! A row is identified by its handle and its origin: the table's earlier data
//! (a version at or below `min_commit_ts`) or one engine of this job (its
//! commit ts), plus the row tag when the row is one of several copies of a
//! key inside that engine. Values come from, in order of preference:
//! - local duplicate copies of record keys (every copy, ingested or not);
//! - record versions DuplicateDetect reported;
//! - a KvBatchGet of the record key, for rows reached only through an index
//!   conflict (the index value holds the handle; the record has one version).

use std::collections::{BTreeMap, HashMap};

use squall_codec::index_value::split_index_value;
use squall_codec::key::is_record_key;
use squall_codec::{decode_handle_from_index_value, decode_record_key, Handle};
use squall_common::schema::TableInfo;

use crate::duplicate::error::DuplicateError;
use crate::duplicate::local::{LocalDuplicate, SourcePos};
use crate::duplicate::pair::DupPair;

/// Where a row version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// In the table before the import.
    Preexisting { commit_ts: u64 },
    /// Written by the engine with this commit ts. `row_tag` is known when the
    /// row is a recorded local duplicate copy; `None` is the engine's only
    /// (hence ingested) row with this handle.
    Imported {
        commit_ts: u64,
        row_tag: Option<u64>,
    },
}

impl Origin {
    pub fn commit_ts(&self) -> u64 {
        match self {
            Self::Preexisting { commit_ts } | Self::Imported { commit_ts, .. } => *commit_ts,
        }
    }

    pub fn row_tag(&self) -> Option<u64> {
        match self {
            Self::Preexisting { .. } => None,
            Self::Imported { row_tag, .. } => *row_tag,
        }
    }
}

/// One source row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub handle: Handle,
    pub origin: Origin,
}

/// A row's record value and what is known of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowValue {
    pub value: Vec<u8>,
    pub source: Option<SourcePos>,
    /// The row's tag in its engine when known: from its own local copy, or
    /// learned from a local copy of one of its index entries. Orders rows of
    /// one engine for `replace`.
    pub row_tag: Option<u64>,
    /// Recorded by its engine as a copy of a duplicated key.
    pub local: bool,
}

/// What a table's detection results and local duplicates provide.
#[derive(Debug, Clone)]
pub struct TableInputs<'a> {
    pub table: &'a TableInfo,
    pub min_commit_ts: u64,
    pub record_pairs: &'a [DupPair],
    /// `(index id, version)` of every unique index range.
    pub index_pairs: &'a [(i64, DupPair)],
    pub local: &'a [LocalDuplicate],
    /// Computes virtual generated columns of rows read back (see `derive`).
    pub converter: &'a squall_codec::Converter,
}

/// Copies of one record key inside one engine, by row tag.
type LocalCopies<'a> = HashMap<(Handle, u64), Vec<&'a LocalDuplicate>>;

/// The rows known so far and the record keys still to read from TiKV.
#[derive(Debug, Default)]
pub struct Candidates {
    pub rows: BTreeMap<RowRef, RowValue>,
    /// Record key → the rows its current value is (one, in a consistent table).
    pub to_fetch: BTreeMap<Vec<u8>, Vec<RowRef>>,
    /// Unique index keys an engine holds several copies of, when the copy it
    /// ingested was not recorded: key → engine ts. Their current value names
    /// the ingested copy's row. Read these first ([`Self::supply_index`]).
    pub to_fetch_index: BTreeMap<Vec<u8>, u64>,
    /// Row tags and source positions learned from local index copies.
    learned: HashMap<RowRef, (u64, Option<SourcePos>)>,
}

impl Candidates {
    /// Every row the detection results and local duplicates point at.
    pub fn collect(inputs: &TableInputs<'_>) -> Result<Self, DuplicateError> {
        let name = inputs.table.qualified_name();
        let mut cands = Self::default();
        let copies = local_record_copies(inputs)?;
        for ((handle, commit_ts), list) in &copies {
            for d in list {
                let id = RowRef {
                    handle: handle.clone(),
                    origin: Origin::Imported {
                        commit_ts: *commit_ts,
                        row_tag: Some(d.row_tag),
                    },
                };
                cands.rows.insert(
                    id,
                    RowValue {
                        value: d.value.clone(),
                        source: d.source.clone(),
                        row_tag: Some(d.row_tag),
                        local: true,
                    },
                );
            }
        }
        for pair in inputs.record_pairs {
            let handle = record_handle(inputs.table, &pair.key)?;
            let origin = origin_of(inputs, &copies, &handle, pair.commit_ts, None);
            let id = RowRef { handle, origin };
            match cands.rows.get(&id) {
                Some(known) if known.value != pair.value => {
                    return Err(DuplicateError::inconsistent(
                        &name,
                        format!(
                            "record {} at ts {}: TiKV and the engine's local copy differ",
                            hex::encode(&pair.key),
                            pair.commit_ts
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    let row_tag = id.origin.row_tag();
                    cands.rows.insert(
                        id,
                        RowValue {
                            value: pair.value.clone(),
                            source: None,
                            row_tag,
                            local: false,
                        },
                    );
                }
            }
        }
        for (handle, commit_ts, tag, source) in index_refs(inputs)? {
            let id = RowRef {
                origin: origin_of(inputs, &copies, &handle, commit_ts, tag),
                handle,
            };
            let id = match id.origin {
                // The earlier row under this handle, whatever its commit ts.
                Origin::Preexisting { .. } => cands.preexisting(&id.handle).unwrap_or(id),
                Origin::Imported { .. } => id,
            };
            if let Some(tag) = tag {
                cands.learned.entry(id.clone()).or_insert((tag, source));
            }
            cands.want(inputs.table, id);
        }
        // An engine's first copy of a key is the one in TiKV. When the engine
        // did not record it, its row is read from TiKV: for a record key the
        // row itself, for a unique index key first the entry (for the handle).
        for ((handle, commit_ts), list) in &copies {
            if !list.iter().any(|d| d.ingested) {
                let origin = Origin::Imported {
                    commit_ts: *commit_ts,
                    row_tag: None,
                };
                cands.want(
                    inputs.table,
                    RowRef {
                        handle: handle.clone(),
                        origin,
                    },
                );
            }
        }
        cands.to_fetch_index = unrecorded_first_index_copies(inputs);
        Ok(cands)
    }

    /// Schedules a read of `id`'s record unless its value is known.
    fn want(&mut self, table: &TableInfo, id: RowRef) {
        if self.rows.contains_key(&id) {
            return;
        }
        let key = squall_codec::record_key(table.id, &id.handle);
        let wanted = self.to_fetch.entry(key).or_default();
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }

    /// Adds the rows named by the index entries in [`Self::to_fetch_index`],
    /// read from TiKV; their records are then read by [`Self::supply`].
    pub fn supply_index(
        &mut self,
        inputs: &TableInputs<'_>,
        fetched: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Result<(), DuplicateError> {
        let name = inputs.table.qualified_name();
        let copies = local_record_copies(inputs)?;
        for (key, commit_ts) in std::mem::take(&mut self.to_fetch_index) {
            let Some(Some(value)) = fetched.get(&key) else {
                return Err(DuplicateError::inconsistent(
                    &name,
                    format!(
                        "index entry {} has no value in TiKV although its engine ingested it",
                        hex::encode(&key)
                    ),
                ));
            };
            let handle = decode_handle_from_index_value(value)
                .map_err(|e| DuplicateError::decode(&name, &key, e))?;
            let origin = origin_of(inputs, &copies, &handle, commit_ts, None);
            self.want(inputs.table, RowRef { handle, origin });
        }
        Ok(())
    }

    fn preexisting(&self, handle: &Handle) -> Option<RowRef> {
        self.rows
            .keys()
            .find(|r| &r.handle == handle && matches!(r.origin, Origin::Preexisting { .. }))
            .cloned()
    }

    /// Adds the record values read from TiKV (`None`: no such row) and what
    /// local index copies told about the rows. Called once, also when nothing
    /// had to be read. Every requested key must be answered.
    pub fn supply(
        &mut self,
        table: &TableInfo,
        fetched: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    ) -> Result<(), DuplicateError> {
        let name = table.qualified_name();
        for (key, ids) in std::mem::take(&mut self.to_fetch) {
            let value = match fetched.get(&key) {
                Some(Some(v)) => v.clone(),
                Some(None) => {
                    return Err(DuplicateError::inconsistent(
                        &name,
                        format!(
                            "an index entry points at row {} ({}), which does not exist",
                            hex::encode(&key),
                            ids[0].handle
                        ),
                    ));
                }
                None => {
                    return Err(DuplicateError::inconsistent(
                        &name,
                        format!("record {} was not read", hex::encode(&key)),
                    ));
                }
            };
            if ids.len() > 1 {
                return Err(DuplicateError::inconsistent(
                    &name,
                    format!(
                        "record {} is needed as {} different versions but has one",
                        hex::encode(&key),
                        ids.len()
                    ),
                ));
            }
            for id in ids {
                let row_tag = id.origin.row_tag();
                self.rows.insert(
                    id,
                    RowValue {
                        value: value.clone(),
                        source: None,
                        row_tag,
                        local: false,
                    },
                );
            }
        }
        for (id, (tag, pos)) in self.learned.drain() {
            if let Some(row) = self.rows.get_mut(&id) {
                row.row_tag.get_or_insert(tag);
                if let Some(pos) = pos {
                    row.source.get_or_insert(pos);
                }
            }
        }
        Ok(())
    }
}

/// Unique index keys with local copies but no recorded ingested copy and no
/// reported version at the engine's ts (a reported version names the row).
fn unrecorded_first_index_copies(inputs: &TableInputs<'_>) -> BTreeMap<Vec<u8>, u64> {
    let mut flagged: HashMap<(&[u8], u64), bool> = HashMap::new();
    for d in inputs.local.iter().filter(|d| !is_record_key(&d.key)) {
        if decode_handle_from_index_value(&d.value).is_ok() {
            *flagged.entry((d.key.as_slice(), d.commit_ts)).or_default() |= d.ingested;
        }
    }
    let reported: std::collections::HashSet<(&[u8], u64)> = inputs
        .index_pairs
        .iter()
        .map(|(_, p)| (p.key.as_slice(), p.commit_ts))
        .collect();
    flagged
        .into_iter()
        .filter(|(k, ingested)| !ingested && !reported.contains(k))
        .map(|((key, ts), _)| (key.to_vec(), ts))
        .collect()
}

/// A row an index version points at: handle, commit ts, and for a local
/// copy its row tag and source position.
type IndexRef = (Handle, u64, Option<u64>, Option<SourcePos>);

/// Local copies of record keys, by (handle, engine ts).
fn local_record_copies<'a>(
    inputs: &TableInputs<'a>,
) -> Result<HashMap<(Handle, u64), Vec<&'a LocalDuplicate>>, DuplicateError> {
    let mut out: HashMap<(Handle, u64), Vec<&LocalDuplicate>> = HashMap::new();
    for d in inputs.local.iter().filter(|d| is_record_key(&d.key)) {
        let handle = record_handle(inputs.table, &d.key)?;
        out.entry((handle, d.commit_ts)).or_default().push(d);
    }
    Ok(out)
}

/// The origin of the version of `handle` at `commit_ts`. A version from
/// TiKV (`tag` None) of a handle with local copies in its engine is the
/// copy that was ingested.
fn origin_of(
    inputs: &TableInputs<'_>,
    copies: &LocalCopies<'_>,
    handle: &Handle,
    commit_ts: u64,
    tag: Option<u64>,
) -> Origin {
    if commit_ts <= inputs.min_commit_ts {
        return Origin::Preexisting { commit_ts };
    }
    let list = copies.get(&(handle.clone(), commit_ts));
    let row_tag = match (tag, list) {
        (Some(t), Some(list)) if list.iter().any(|d| d.row_tag == t) => Some(t),
        (_, Some(list)) => list.iter().find(|d| d.ingested).map(|d| d.row_tag),
        (_, None) => None,
    };
    Origin::Imported { commit_ts, row_tag }
}

/// `(handle, commit ts, row tag, source)` of every unique index version that
/// points at a row: the reported TiKV versions and the local copies.
fn index_refs(inputs: &TableInputs<'_>) -> Result<Vec<IndexRef>, DuplicateError> {
    let name = inputs.table.qualified_name();
    let mut out = Vec::new();
    for (_, pair) in inputs.index_pairs {
        let parts = split_index_value(&pair.value)
            .map_err(|e| DuplicateError::decode(&name, &pair.key, e))?;
        if parts.int_handle.is_none() && parts.common_handle.is_none() {
            // A unique entry with a NULL is not distinct: its key ends with
            // the handle, so two versions of it are two versions of one
            // record, which the record range reports with their rows.
            continue;
        }
        let handle = decode_handle_from_index_value(&pair.value)
            .map_err(|e| DuplicateError::decode(&name, &pair.key, e))?;
        out.push((handle, pair.commit_ts, None, None));
    }
    for d in inputs.local.iter().filter(|d| !is_record_key(&d.key)) {
        // Entries without a handle in the value (non-unique, or unique with a
        // NULL) end with the handle, so their copies share a record key and
        // the record copies already bring the rows.
        if let Ok(handle) = decode_handle_from_index_value(&d.value) {
            out.push((handle, d.commit_ts, Some(d.row_tag), d.source.clone()));
        }
    }
    Ok(out)
}

fn record_handle(table: &TableInfo, key: &[u8]) -> Result<Handle, DuplicateError> {
    let name = table.qualified_name();
    let (table_id, handle) =
        decode_record_key(key).map_err(|e| DuplicateError::decode(&name, key, e))?;
    if table_id != table.id {
        return Err(DuplicateError::decode(
            &name,
            key,
            format!("record key of table {table_id}, expected {}", table.id),
        ));
    }
    Ok(handle)
}
