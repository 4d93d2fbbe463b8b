//! TiDB's per-column rules that decide key and value layout, derived from
//! the shared schema model (`types.NeedRestoredData`, `tables.CanSkip`, ...).

use squall_common::schema::{
    Charset, ColumnDefault, ColumnInfo, FieldType, HandleKind, IndexColumn, MysqlType, TableInfo,
};

use crate::collation::{Collation, UnsupportedCollation};

/// CHAR/VARCHAR/TEXT/BLOB family (TiDB `types.IsString`).
pub fn is_string_type(tp: MysqlType) -> bool {
    tp.is_string_like()
}

/// A string type whose collation is not `binary` (TiDB `IsNonBinaryStr`).
pub fn is_non_binary_string(ft: &FieldType) -> bool {
    is_string_type(ft.tp)
        && !ft.collate.eq_ignore_ascii_case("binary")
        && ft.charset != Charset::Binary
}

/// TiDB `NeedRestoredData`: the index key loses information (case folding or
/// trimmed trailing spaces), so the index value keeps the original.
pub fn need_restored_data(ft: &FieldType, new_collation: bool) -> bool {
    new_collation
        && is_non_binary_string(ft)
        && (!Collation::is_bin_padding(&ft.collate)
            || matches!(ft.tp, MysqlType::Varchar | MysqlType::VarString))
        && !ft.collate.eq_ignore_ascii_case("utf8mb4_0900_bin")
}

/// The collation used for this column's index-key bytes, if any.
pub fn key_collation(
    ft: &FieldType,
    new_collation: bool,
) -> Result<Option<Collation>, UnsupportedCollation> {
    if !new_collation || !is_string_type(ft.tp) {
        return Ok(None);
    }
    match Collation::from_name(&ft.collate)? {
        Collation::Binary => Ok(None),
        c => Ok(Some(c)),
    }
}

/// Prefix indexes cut by characters, except for binary and ascii strings (bytes),
/// as TiDB's `TruncateIndexValue`.
pub fn truncate_prefix<'a>(value: &'a [u8], ic: &IndexColumn, ft: &FieldType) -> &'a [u8] {
    let Some(n) = ic.prefix_len else { return value };
    if !is_string_type(ft.tp) {
        return value;
    }
    if ft.charset == Charset::Binary
        || ft.charset == Charset::Ascii
        || ft.collate.eq_ignore_ascii_case("binary")
    {
        return &value[..value.len().min(n)];
    }
    match std::str::from_utf8(value) {
        Ok(s) => s.char_indices().nth(n).map_or(value, |(i, _)| &value[..i]),
        Err(_) => &value[..value.len().min(n)],
    }
}

/// A NULL in this column is left out of the row (its default is NULL too).
pub fn omit_when_null(col: &ColumnInfo) -> bool {
    matches!(col.default, ColumnDefault::None | ColumnDefault::Null)
}

/// Offsets of the primary key columns of a clustered common-handle table.
pub fn common_handle_columns(table: &TableInfo) -> Vec<&IndexColumn> {
    if table.handle != HandleKind::Common {
        return Vec::new();
    }
    table
        .primary_index()
        .map(|ix| ix.columns.iter().collect())
        .unwrap_or_default()
}

/// True if the column is part of the primary key.
pub fn is_pk_column(table: &TableInfo, offset: usize) -> bool {
    table
        .primary_index()
        .is_some_and(|ix| ix.columns.iter().any(|c| c.offset == offset))
}
