//! One report line per (conflicting key, row holding it): the table, which
//! key and index, the row's origin and source position, what resolution did
//! to it, and the row's column values.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use squall_codec::datum_codec::describe_datums;
use squall_codec::{decode_index_key, Datum, Handle};
use squall_common::schema::{HandleKind, TableInfo};

use crate::duplicate::context::EngineSource;
use crate::resolve::analyze::{Analysis, ConflictGroup, Row};
use crate::resolve::decide::Fate;
use crate::resolve::order::SourceOrder;
use crate::resolve::rows::Origin;

/// The name used for the record key in the `index` column.
pub const RECORD: &str = "<record>";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportLine {
    pub table: String,
    pub table_id: i64,
    /// Index name, or `<record>` for a conflict on the row key itself.
    pub index: String,
    pub key_hex: String,
    /// The key decoded: the handle, or the index values.
    pub key: String,
    pub handle: String,
    pub commit_ts: u64,
    /// `imported` (a row of the dump) or `preexisting` (in the table before
    /// the import: it has no source position).
    pub origin: &'static str,
    /// The row was one of several copies of a key inside one engine.
    pub local_duplicate: bool,
    pub engine_id: Option<u32>,
    pub row_tag: Option<u64>,
    /// The file an imported row came from (relative to the source dir):
    /// recorded by its engine or found by `resolve::locate`. `None` only for
    /// `preexisting` rows (and, with a warning, a row the source no longer
    /// has).
    pub source_file: Option<String>,
    /// Byte offset of the row's first byte in that file.
    pub source_offset: Option<u64>,
    /// 1-based row number inside its chunk, when the `_tidb_rowid` tells it.
    pub source_row_in_chunk: Option<i64>,
    /// Byte offset where that chunk starts.
    pub source_chunk_offset: Option<u64>,
    /// `unchanged`, `kept` or `removed`.
    pub action: &'static str,
    #[serde(serialize_with = "columns_as_object")]
    pub row: Vec<(String, Option<String>)>,
}

fn columns_as_object<S: Serializer>(
    row: &[(String, Option<String>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(row.len()))?;
    for (name, value) in row {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

/// Every line of one table's report, in key order.
pub fn report_lines(
    table: &TableInfo,
    engines: &[EngineSource],
    analysis: &Analysis,
    fates: &[Fate],
    order: &SourceOrder,
) -> Vec<ReportLine> {
    let mut out = Vec::new();
    for group in &analysis.groups {
        for &i in &group.rows {
            out.push(line(
                table,
                engines,
                group,
                &analysis.rows[i],
                fates[i],
                order,
            ));
        }
    }
    out
}

fn line(
    table: &TableInfo,
    engines: &[EngineSource],
    group: &ConflictGroup,
    row: &Row,
    fate: Fate,
    order: &SourceOrder,
) -> ReportLine {
    let commit_ts = row.id.origin.commit_ts();
    let engine = match row.id.origin {
        Origin::Imported { commit_ts, .. } => order
            .engine_id(commit_ts)
            .and_then(|id| engines.iter().find(|e| e.engine_id == id)),
        Origin::Preexisting { .. } => None,
    };
    let mut source_file = row.value.source.as_ref().map(|s| s.file.clone());
    let source_offset = row.value.source.as_ref().map(|s| s.offset);
    let (mut source_row_in_chunk, mut source_chunk_offset) = (None, None);
    if let (Some(engine), HandleKind::RowId, Handle::Int(h)) =
        (engine, table.handle, &row.id.handle)
    {
        // Sharded row IDs (SHARD_ROW_ID_BITS) keep the row ID in their low bits.
        let h = &squall_codec::row_id::unshard_row_id(*h, table.row_ids.shard_row_id_bits);
        if let Some(chunk) = engine.chunk_of_row_id(*h) {
            source_file.get_or_insert_with(|| chunk.file.path.clone());
            source_row_in_chunk = Some(h - chunk.row_id_base);
            source_chunk_offset = Some(chunk.start);
        }
    }
    if source_file.is_none() {
        source_file = engine.and_then(single_file);
    }
    ReportLine {
        table: format!("{}.{}", table.db, table.name),
        table_id: table.id,
        index: index_name(table, group.index_id),
        key_hex: hex::encode(&group.key),
        key: describe_key(table, group),
        handle: row.id.handle.to_string(),
        commit_ts,
        origin: match row.id.origin {
            Origin::Preexisting { .. } => "preexisting",
            Origin::Imported { .. } => "imported",
        },
        local_duplicate: row.value.local,
        engine_id: engine.map(|e| e.engine_id),
        row_tag: row.value.row_tag,
        source_file,
        source_offset,
        source_row_in_chunk,
        source_chunk_offset,
        action: fate.as_str(),
        row: row_columns(table, &row.datums),
    }
}

/// A row's column values as the report shows them, by column name (`None`:
/// NULL). The index backfill names conflicting rows with it too.
pub fn row_columns(table: &TableInfo, datums: &[Datum]) -> Vec<(String, Option<String>)> {
    table
        .columns
        .iter()
        .zip(datums)
        .map(|(c, d)| {
            (
                c.name.clone(),
                (!d.is_null()).then(|| d.to_display_string(&c.field_type)),
            )
        })
        .collect()
}

/// The engine's file when all its chunks come from one.
fn single_file(engine: &EngineSource) -> Option<String> {
    let first = engine.chunks.first()?;
    engine
        .chunks
        .iter()
        .all(|c| c.file.path == first.file.path)
        .then(|| first.file.path.clone())
}

fn index_name(table: &TableInfo, index_id: Option<i64>) -> String {
    match index_id {
        None => RECORD.to_string(),
        Some(id) => table
            .indices
            .iter()
            .find(|ix| ix.id == id)
            .map_or_else(|| format!("index#{id}"), |ix| ix.name.clone()),
    }
}

fn describe_key(table: &TableInfo, group: &ConflictGroup) -> String {
    if group.index_id.is_none() {
        return match squall_codec::decode_record_key(&group.key) {
            Ok((_, handle)) => format!("handle {handle}"),
            Err(e) => format!("<undecodable record key: {e}>"),
        };
    }
    match decode_index_key(&group.key) {
        Ok(k) => format!(
            "{}({})",
            index_name(table, Some(k.index_id)),
            describe_datums(&k.datums)
        ),
        Err(e) => format!("<undecodable index key: {e}>"),
    }
}
