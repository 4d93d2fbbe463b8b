//! Reading a record value back into one datum per table column (for
//! conflict reports and exports).

use squall_common::schema::{ColumnDefault, ColumnInfo, HandleKind, MysqlType, TableInfo};

use crate::convert::Converter;
use crate::datum::Datum;
use crate::datum_codec::{decode_key_datums, decode_row_value, time_kind};
use crate::error::CodecError;
use crate::handle::Handle;
use crate::row_v2::{RowV2, Slot};
use crate::schema_rules::common_handle_columns;
use crate::time::Time;

/// Decodes a row-v2 value. Columns not in the row get their default (or
/// NULL); the int-PK column cannot be recovered without the key — use
/// [`decode_row_v2_with_handle`] for that.
pub fn decode_row_v2(value: &[u8], table: &TableInfo) -> Result<Vec<Datum>, CodecError> {
    decode_row_v2_with_handle(value, table, None)
}

/// Like [`decode_row_v2`], filling the handle columns (int PK, or clustered
/// PK columns left out of the row) from `handle`.
pub fn decode_row_v2_with_handle(
    value: &[u8],
    table: &TableInfo,
    handle: Option<&Handle>,
) -> Result<Vec<Datum>, CodecError> {
    let row = RowV2::parse(value)?;
    let mut out = Vec::with_capacity(table.columns.len());
    for col in &table.columns {
        out.push(match row.get(col.id) {
            Slot::Value(b) => decode_row_value(b, &col.field_type).map_err(|e| {
                CodecError::invalid("row v2 value", format!("column `{}`: {e}", col.name))
            })?,
            Slot::Null => Datum::Null,
            Slot::Missing => missing_column(col),
        });
    }
    if let Some(h) = handle {
        fill_from_handle(table, h, &mut out)?;
    }
    Ok(out)
}

/// The value TiDB reads for a column absent from the row: its default.
fn missing_column(col: &ColumnInfo) -> Datum {
    match &col.default {
        ColumnDefault::Literal(text) => Converter::new("", "UTC")
            .ok()
            .and_then(|c| c.convert(col, Some(text.as_bytes()), &mut Vec::new()).ok())
            .unwrap_or(Datum::Null),
        _ => Datum::Null,
    }
}

fn fill_from_handle(
    table: &TableInfo,
    handle: &Handle,
    out: &mut [Datum],
) -> Result<(), CodecError> {
    match (table.handle, handle) {
        (HandleKind::IntPk, Handle::Int(h)) => {
            if let Some(c) = table.int_handle_column() {
                *slot(out, c.offset)? = if c.field_type.unsigned {
                    Datum::Uint(*h as u64)
                } else {
                    Datum::Int(*h)
                };
            }
        }
        (HandleKind::Common, Handle::Common(bytes)) => {
            let datums = decode_key_datums(bytes)?;
            for (ic, d) in common_handle_columns(table).iter().zip(datums) {
                let col = table
                    .columns
                    .get(ic.offset)
                    .ok_or_else(|| bad_offset(ic.offset))?;
                let target = slot(out, ic.offset)?;
                if target.is_null() {
                    *target = key_datum_for_column(d, col);
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The output datum of the column at `offset`. The schema may come from a
/// user's file (`squall decode --table-schema`), so offsets are checked too.
fn slot(out: &mut [Datum], offset: usize) -> Result<&mut Datum, CodecError> {
    out.get_mut(offset).ok_or_else(|| bad_offset(offset))
}

fn bad_offset(offset: usize) -> CodecError {
    CodecError::invalid(
        "table schema",
        format!("handle column offset {offset} is not a column of the table"),
    )
}

/// Key datums do not say their SQL type: re-type them from the column.
fn key_datum_for_column(d: Datum, col: &ColumnInfo) -> Datum {
    let ft = &col.field_type;
    match (d, ft.tp) {
        (Datum::Uint(p), MysqlType::Date | MysqlType::Datetime | MysqlType::Timestamp) => {
            Datum::Time(Time::from_packed(
                p,
                time_kind(ft.tp),
                ft.decimal.clamp(0, 6) as u8,
            ))
        }
        (Datum::Uint(v), MysqlType::Enum) => Datum::Enum { index: v },
        (Datum::Uint(v), MysqlType::Set) => Datum::Set { mask: v },
        (Datum::Uint(v), MysqlType::Bit) => Datum::Bit(v),
        (Datum::Duration(mut d), MysqlType::Duration) => {
            d.fsp = ft.decimal.clamp(0, 6) as u8;
            Datum::Duration(d)
        }
        (d, _) => d,
    }
}
