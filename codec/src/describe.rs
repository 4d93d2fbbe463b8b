//! Human-readable rendering of raw TiDB keys and values, for `squall decode`
//! and conflict reports.

use squall_common::schema::TableInfo;

use crate::bytes::decode_bytes;
use crate::datum_codec::{decode_row_value, describe_datum, describe_datums};
use crate::error::CodecError;
use crate::index_value::{split_index_value, NON_UNIQUE_VALUE};
use crate::key::{decode_index_key, decode_record_key, is_index_key, is_record_key};
use crate::number::{decode_compact_int, decode_float};
use crate::row_v2::{RowV2, CODEC_VER};

/// Recognises a record key, an index key (raw, `z`-prefixed, or
/// memcomparable-wrapped), a row-v2 value or an index value, and renders it.
/// Bytes that are none of these render as `unrecognised …` with the reasons.
pub fn describe(bytes: &[u8]) -> String {
    try_describe(bytes, None).unwrap_or_else(|e| e.to_string())
}

/// Like [`describe`], naming columns and typing row values with `table`.
pub fn describe_with_table(bytes: &[u8], table: &TableInfo) -> String {
    try_describe(bytes, Some(table)).unwrap_or_else(|e| e.to_string())
}

/// Like [`describe`], but bytes that are no key or value TiDB writes are an
/// error saying what each plausible reading stopped at.
pub fn try_describe(bytes: &[u8], table: Option<&TableInfo>) -> Result<String, CodecError> {
    if let Some(s) = describe_key(bytes, table) {
        return Ok(s);
    }
    if let Some((&b'z', rest)) = bytes.split_first() {
        if let Some(s) = describe_key(rest, table) {
            return Ok(format!("TiKV data key (z prefix): {s}"));
        }
    }
    if let Ok(inner) = decode_bytes(&mut &bytes[..]) {
        if let Some(s) = describe_key(&inner, table) {
            return Ok(format!("memcomparable-encoded {s}"));
        }
    }
    if bytes.first() == Some(&CODEC_VER) {
        if let Some(s) = describe_row(bytes, table) {
            return Ok(s);
        }
    }
    if let Some(s) = describe_index_value(bytes) {
        return Ok(s);
    }
    Err(CodecError::invalid(
        "TiDB key or value",
        format!(
            "unrecognised {} bytes {}: {}",
            bytes.len(),
            hex::encode(bytes),
            why_unrecognised(bytes)
        ),
    ))
}

/// What each reading the bytes could plausibly have stopped at.
fn why_unrecognised(bytes: &[u8]) -> String {
    let mut why = Vec::new();
    if is_record_key(bytes) {
        if let Err(e) = decode_record_key(bytes) {
            why.push(format!("as a record key: {e}"));
        }
    }
    if is_index_key(bytes) {
        if let Err(e) = decode_index_key(bytes) {
            why.push(format!("as an index key: {e}"));
        }
    }
    if bytes.first() == Some(&CODEC_VER) {
        if let Err(e) = RowV2::parse(bytes) {
            why.push(format!("as a row v2 value: {e}"));
        }
    }
    match split_index_value(bytes) {
        Err(e) => why.push(format!("as an index value: {e}")),
        Ok(_) => why.push("as an index value: holds no handle, version or restored data".into()),
    }
    why.join("; ")
}

fn describe_key(key: &[u8], table: Option<&TableInfo>) -> Option<String> {
    if is_record_key(key) {
        let (tid, h) = decode_record_key(key).ok()?;
        return Some(format!(
            "record key: table {tid}{}, handle {h}",
            table_name(table, tid)
        ));
    }
    if is_index_key(key) {
        let k = decode_index_key(key).ok()?;
        let ix = table.and_then(|t| t.indices.iter().find(|i| i.id == k.index_id));
        let name = ix.map(|i| format!(" `{}`", i.name)).unwrap_or_default();
        let mut s = format!(
            "index key: table {}{}, index {}{name}",
            k.table_id,
            table_name(table, k.table_id),
            k.index_id
        );
        match ix {
            Some(ix) if k.datums.len() >= ix.columns.len() => {
                let (vals, handle) = k.datums.split_at(ix.columns.len());
                s.push_str(&format!(", values ({})", describe_datums(vals)));
                if !handle.is_empty() {
                    s.push_str(&format!(", handle ({})", describe_datums(handle)));
                }
            }
            _ => s.push_str(&format!(
                ", datums ({}) [values, then the handle if the entry is not unique]",
                describe_datums(&k.datums)
            )),
        }
        return Some(s);
    }
    None
}

fn table_name(table: Option<&TableInfo>, id: i64) -> String {
    table
        .filter(|t| t.id == id)
        .map(|t| format!(" ({})", t.qualified_name()))
        .unwrap_or_default()
}

fn describe_row(bytes: &[u8], table: Option<&TableInfo>) -> Option<String> {
    let row = RowV2::parse(bytes).ok()?;
    let mut parts = Vec::new();
    for (i, id) in row.not_null_ids.iter().enumerate() {
        let v = row.value_at(i)?;
        let col = table.and_then(|t| t.columns.iter().find(|c| c.id == i64::from(*id)));
        parts.push(match col {
            Some(c) => match decode_row_value(v, &c.field_type) {
                Ok(d) => format!("{} (id {id}) = {}", c.name, describe_datum(&d)),
                Err(e) => format!("{} (id {id}) = <{e}>", c.name),
            },
            None => format!("col {id} = {}", guess(v)),
        });
    }
    for id in &row.null_ids {
        let name = table
            .and_then(|t| t.columns.iter().find(|c| c.id == i64::from(*id)))
            .map(|c| format!("{} ", c.name));
        parts.push(format!("{}(id {id}) = NULL", name.unwrap_or_default()));
    }
    let size = if row.large { "large" } else { "small" };
    Some(format!(
        "row v2 value ({size}, {} not null, {} null): {}",
        row.not_null_ids.len(),
        row.null_ids.len(),
        parts.join("; ")
    ))
}

/// Without a schema, show the bytes and the likely readings.
fn guess(v: &[u8]) -> String {
    let mut g = vec![format!("0x{}", hex::encode(v))];
    if let Ok(i) = decode_compact_int(v) {
        g.push(format!("int {i}"));
    }
    if v.len() == 8 {
        if let Ok(f) = decode_float(&mut &v[..]) {
            g.push(format!("double {f}"));
        }
    }
    if let Ok(s) = std::str::from_utf8(v) {
        if !s.is_empty() && !s.chars().any(char::is_control) {
            g.push(format!("{s:?}"));
        }
    }
    g.join(" | ")
}

fn describe_index_value(v: &[u8]) -> Option<String> {
    if v == [NON_UNIQUE_VALUE] {
        return Some("index value (old format): non-unique entry, the handle is in the key".into());
    }
    let p = split_index_value(v).ok()?;
    let mut parts = Vec::new();
    if p.version > 0 {
        parts.push(format!("version {}", p.version));
    }
    if let Some(h) = p.int_handle {
        parts.push(format!("handle {h}"));
    }
    if let Some(c) = p.common_handle {
        parts.push(format!(
            "common handle {}",
            crate::handle::Handle::Common(c.to_vec())
        ));
    }
    if let Some(pid) = p.partition_id {
        parts.push(format!("partition {pid}"));
    }
    if let Some(r) = p.restored {
        parts.push(format!(
            "restored data [{}]",
            describe_row(r, None).unwrap_or_else(|| hex::encode(r))
        ));
    }
    if p.untouched {
        parts.push("untouched".into());
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("index value: {}", parts.join(", ")))
}
