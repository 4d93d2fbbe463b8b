//! A unique conflict as a person reads it: the index entry two rows hold
//! says little by itself (for a collated string its key holds the
//! collation's sort key, `0x004b…`, not what anyone wrote), so both rows
//! are read back at the plan's snapshot (the rows the build derived the
//! entry from) and the conflict names the indexed columns' values as each
//! row holds them, and both rows' column values (rendered as the import's
//! conflict report renders rows, [`crate::conflict_report::row_columns`]).
//!
//! The same reading serves a conflict inside one range (its engine's
//! duplicate) and one across ranges (DuplicateDetect). Only the first
//! [`DESCRIBED`] conflicts are read back (a bad column can make millions);
//! the others, and a conflict whose rows cannot be read, name the entry's
//! key values instead, saying so.

use std::collections::HashMap;

use squall_codec::key::{decode_index_key, record_key};
use squall_codec::{Datum, Handle};
use squall_common::schema::{IndexInfo, TableInfo};

use super::build::{describe_index_key, BuildContext, UniqueConflict};
use super::entries::RowEntries;
use super::target::IndexTarget;
use crate::conflict_report::row_columns;
use crate::error::CoordinatorError;
use crate::scan::RangeScanner;

/// Conflicts whose rows are read back and shown; the message shows fewer
/// still (`run::SHOWN_CONFLICTS`), the log all of them.
pub const DESCRIBED: usize = 100;

/// A unique entry two rows hold, as detection finds it.
#[derive(Debug, Clone)]
pub struct FoundConflict {
    /// The index key.
    pub key: Vec<u8>,
    /// The rows' handles, decoded from the entry's values (the earlier
    /// row's first); `Err` says why one could not be.
    pub handles: [Result<Handle, String>; 2],
}

/// The conflicts named with the values and rows as the snapshot holds them.
pub async fn describe(
    cx: &BuildContext<'_>,
    target: &IndexTarget,
    found: Vec<FoundConflict>,
) -> Vec<UniqueConflict> {
    let names: Vec<(i64, String, bool)> = target
        .indexes
        .iter()
        .map(|ix| (ix.id, ix.name.clone(), ix.unique || ix.primary))
        .collect();
    let mut decoders: HashMap<i64, RowEntries> = HashMap::new();
    let mut out = Vec::with_capacity(found.len());
    for (i, f) in found.into_iter().enumerate() {
        let (index, key_value) = describe_index_key(&f.key, &names);
        let handles = f.handles.each_ref().map(|h| {
            h.as_ref()
                .map_or_else(|e| format!("<undecodable: {e}>"), Handle::to_string)
        });
        let rows = if i < DESCRIBED {
            read_rows(cx, target, &f, &mut decoders).await
        } else {
            None
        };
        let (value, rows) = match rows {
            Some((ix, table, rows)) => (
                indexed_values(&table, ix, &rows),
                rows.map(|r| row_text(&table, &r)),
            ),
            None => (
                format!("{key_value} as the index key holds it"),
                [String::new(), String::new()],
            ),
        };
        out.push(UniqueConflict {
            index,
            value,
            handles,
            rows: if rows.iter().all(String::is_empty) {
                Vec::new()
            } else {
                rows.to_vec()
            },
        });
    }
    out
}

/// Both rows' datums, with the index and the physical table they are of;
/// `None` (logged) when either cannot be read.
async fn read_rows<'t>(
    cx: &BuildContext<'_>,
    target: &'t IndexTarget,
    f: &FoundConflict,
    decoders: &mut HashMap<i64, RowEntries>,
) -> Option<(&'t IndexInfo, TableInfo, [Vec<Datum>; 2])> {
    let ix = decode_index_key(&f.key).ok()?;
    let index = target.indexes.iter().find(|i| i.id == ix.index_id)?;
    let pid = ix.table_id;
    if !target.physical_ids.contains(&pid) {
        return None;
    }
    let decoder = match decoders.entry(pid) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            match RowEntries::new(target, pid, cx.converter) {
                Ok(d) => e.insert(d),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot decode the conflicting rows; naming the index key instead");
                    return None;
                }
            }
        }
    };
    let mut rows: [Vec<Datum>; 2] = Default::default();
    for (slot, handle) in rows.iter_mut().zip(&f.handles) {
        let handle = handle.as_ref().ok()?;
        match read_row(cx, pid, handle, decoder).await {
            Ok(Some(datums)) => *slot = datums,
            Ok(None) => {
                tracing::warn!(table = %target.table.qualified_name(), %handle,
                    "a conflicting row is not in the snapshot; naming the index key instead");
                return None;
            }
            Err(e) => {
                tracing::warn!(table = %target.table.qualified_name(), %handle, error = %e,
                    "cannot read a conflicting row; naming the index key instead");
                return None;
            }
        }
    }
    Some((index, target.physical(pid), rows))
}

/// The row `handle` of physical table `pid` at the snapshot, decoded (its
/// virtual columns computed).
async fn read_row(
    cx: &BuildContext<'_>,
    pid: i64,
    handle: &Handle,
    decoder: &mut RowEntries,
) -> Result<Option<Vec<Datum>>, CoordinatorError> {
    let key = record_key(pid, handle);
    let end = squall_client::keys::next_key(&key);
    let mut scanner = RangeScanner::new(cx.client, key.clone(), end, cx.ts).with_page(1);
    while let Some(page) = scanner.next_page().await? {
        if let Some((k, v)) = page.iter().find(|(k, _)| *k == key) {
            return Ok(Some(decoder.row(k, v)?));
        }
    }
    Ok(None)
}

/// `s='Alpha'`, or `s='Alpha' / s='ALPHA'` when the rows hold the entry
/// with different values (a collation that equates them, a prefix).
fn indexed_values(table: &TableInfo, index: &IndexInfo, rows: &[Vec<Datum>; 2]) -> String {
    let one = |row: &Vec<Datum>| -> String {
        let all = row_columns(table, row);
        index
            .columns
            .iter()
            .map(|c| {
                let value = all.get(c.offset).and_then(|(_, v)| v.clone());
                column_text(table, c.offset, &c.name, value)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (a, b) = (one(&rows[0]), one(&rows[1]));
    if a == b {
        a
    } else {
        format!("{a} / {b}")
    }
}

/// `(id=1, a=10, s='Alpha')`.
fn row_text(table: &TableInfo, row: &[Datum]) -> String {
    let cols: Vec<String> = row_columns(table, row)
        .into_iter()
        .enumerate()
        .map(|(i, (name, value))| column_text(table, i, &name, value))
        .collect();
    format!("({})", cols.join(", "))
}

/// Characters of one value shown: the message names a few conflicts, each
/// with two rows, and a wide text column must not swamp it.
const VALUE_CHARS: usize = 64;

/// `name=value`: strings, times, enums and sets quoted as SQL literals; a
/// long value cut at [`VALUE_CHARS`] (`…` after it).
fn column_text(table: &TableInfo, offset: usize, name: &str, value: Option<String>) -> String {
    let quoted = table.columns.get(offset).is_some_and(|c| {
        let tp = c.field_type.tp;
        c.field_type.has_non_binary_collation() || tp.is_string_like() || tp.is_time()
    });
    format!("{name}={}", literal(quoted, value))
}

/// A value as a SQL literal, cut at [`VALUE_CHARS`].
fn literal(quoted: bool, value: Option<String>) -> String {
    let value = value.map(|v| match v.char_indices().nth(VALUE_CHARS) {
        Some((cut, _)) => format!("{}…", &v[..cut]),
        None => v,
    });
    match value {
        None => "NULL".into(),
        Some(v) if quoted => format!("'{}'", v.replace('\'', "''")),
        Some(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_sql_literals_cut_when_long() {
        assert_eq!(literal(true, Some("it's".into())), "'it''s'");
        assert_eq!(literal(false, Some("12".into())), "12");
        assert_eq!(literal(true, None), "NULL");
        let long = "é".repeat(VALUE_CHARS + 5);
        assert_eq!(
            literal(true, Some(long)),
            format!("'{}…'", "é".repeat(VALUE_CHARS))
        );
    }
}
