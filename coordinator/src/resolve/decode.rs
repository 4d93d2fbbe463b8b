//! A record (handle + row-v2 value) back to one datum per column, in the
//! form `TableEncoder` takes, so a conflicting row can be shown to the user
//! and its index KVs derived again for deletion.
//!
//! Columns that are not in the row value come from the handle: the integer
//! primary key of an `IntPk` table, and the clustered primary key columns of
//! a `Common` table that TiDB leaves out of the row (their key form is their
//! value: only columns whose key form loses nothing are left out).

use squall_codec::datum_codec::{decode_key_datums, decode_row_value};
use squall_codec::row_v2::{RowV2, Slot};
use squall_codec::schema_rules::{common_handle_columns, omit_when_null};
use squall_codec::{Datum, Duration, Handle, Time, TimeKind};
use squall_common::schema::{ColumnInfo, FieldType, HandleKind, MysqlType, TableInfo};

/// Decodes the row stored under `handle`. Errors name the column and why.
pub fn decode_row(table: &TableInfo, handle: &Handle, value: &[u8]) -> Result<Vec<Datum>, String> {
    let row = RowV2::parse(value).map_err(|e| format!("row value: {e}"))?;
    let from_handle = handle_columns(table, handle)?;
    table
        .columns
        .iter()
        .map(|col| {
            let datum = match row.get(col.id) {
                Slot::Value(bytes) => decode_row_value(bytes, &col.field_type)
                    .map_err(|e| format!("column `{}`: {e}", col.name))?,
                Slot::Null => Datum::Null,
                Slot::Missing => match from_handle.iter().find(|(offset, _)| *offset == col.offset)
                {
                    Some((_, d)) => d.clone(),
                    None if omit_when_null(col) => Datum::Null,
                    None => return Err(missing(col)),
                },
            };
            Ok(datum)
        })
        .collect()
}

fn missing(col: &ColumnInfo) -> String {
    format!(
        "column `{}` (id {}) is not in the row and has a non-NULL default",
        col.name, col.id
    )
}

/// The column values the handle holds: `(column offset, datum)`.
fn handle_columns(table: &TableInfo, handle: &Handle) -> Result<Vec<(usize, Datum)>, String> {
    match (table.handle, handle) {
        (HandleKind::IntPk, Handle::Int(h)) => {
            let col = table
                .int_handle_column()
                .ok_or("IntPk table without a primary key column")?;
            let d = if col.field_type.unsigned {
                Datum::Uint(*h as u64)
            } else {
                Datum::Int(*h)
            };
            Ok(vec![(col.offset, d)])
        }
        (HandleKind::Common, Handle::Common(bytes)) => {
            let datums = decode_key_datums(bytes).map_err(|e| format!("common handle: {e}"))?;
            let cols = common_handle_columns(table);
            if datums.len() != cols.len() {
                return Err(format!(
                    "common handle has {} values, the primary key {} columns",
                    datums.len(),
                    cols.len()
                ));
            }
            cols.iter()
                .zip(datums)
                .map(|(ic, d)| {
                    Ok((
                        ic.offset,
                        typed_key_datum(d, &table.columns[ic.offset].field_type),
                    ))
                })
                .collect()
        }
        (HandleKind::RowId, Handle::Int(_)) => Ok(Vec::new()),
        (kind, h) => Err(format!("handle {h} does not fit a {kind:?} table")),
    }
}

/// A key datum comes back without its column type (times as packed uints,
/// ENUM/SET/BIT as uints); give it the column's.
fn typed_key_datum(d: Datum, ft: &FieldType) -> Datum {
    match (d, ft.tp) {
        (Datum::Uint(packed), MysqlType::Date | MysqlType::Datetime | MysqlType::Timestamp) => {
            Datum::Time(Time::from_packed(packed, time_kind(ft.tp), fsp(ft)))
        }
        (Datum::Uint(v), MysqlType::Enum) => Datum::Enum { index: v },
        (Datum::Uint(v), MysqlType::Set) => Datum::Set { mask: v },
        (Datum::Uint(v), MysqlType::Bit) => Datum::Bit(v),
        (Datum::Duration(v), MysqlType::Duration) => Datum::Duration(Duration {
            nanos: v.nanos,
            fsp: fsp(ft),
        }),
        (d, _) => d,
    }
}

fn time_kind(tp: MysqlType) -> TimeKind {
    match tp {
        MysqlType::Date => TimeKind::Date,
        MysqlType::Timestamp => TimeKind::Timestamp,
        _ => TimeKind::Datetime,
    }
}

fn fsp(ft: &FieldType) -> u8 {
    ft.decimal.clamp(0, 6) as u8
}

#[cfg(test)]
mod tests {
    use squall_codec::TableEncoder;
    use squall_common::schema::*;

    use super::*;
    use crate::duplicate::target::tests::sample_table;

    fn round_trip(table: &TableInfo, row: Vec<Datum>, row_id: i64) {
        let mut enc = TableEncoder::new(table).expect("valid schema");
        let mut kvs = Vec::new();
        enc.encode_row(&row, row_id, &mut kvs).expect("encodes");
        let (_, handle) = squall_codec::decode_record_key(&kvs[0].key).expect("record key");
        assert_eq!(
            decode_row(table, &handle, &kvs[0].value).expect("decodes"),
            row
        );
    }

    #[test]
    fn int_pk_and_row_id_tables() {
        let row = vec![
            Datum::Int(7),
            Datum::Int(70),
            Datum::Bytes(b"seven".to_vec()),
        ];
        round_trip(&sample_table(HandleKind::IntPk), row.clone(), 0);
        round_trip(&sample_table(HandleKind::RowId), row, 12);
        let nulls = vec![Datum::Int(8), Datum::Null, Datum::Null];
        round_trip(&sample_table(HandleKind::IntPk), nulls, 0);
    }

    #[test]
    fn clustered_common_handle_columns_come_from_the_key() {
        let mut t = sample_table(HandleKind::Common);
        let mut dt = FieldType::new(MysqlType::Datetime);
        dt.decimal = 3;
        t.columns[0] = ColumnInfo::new(1, "id", 0, dt);
        let time = Time {
            year: 2024,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
            micro: 123_000,
            kind: TimeKind::Datetime,
            fsp: 3,
        };
        round_trip(
            &t,
            vec![
                Datum::Time(time),
                Datum::Int(1),
                Datum::Bytes(b"x".to_vec()),
            ],
            0,
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let t = sample_table(HandleKind::IntPk);
        assert!(decode_row(&t, &Handle::Int(1), b"\x01\x02").is_err());
        assert!(decode_row(&t, &Handle::Common(vec![1, 2]), &[0x80, 0, 0, 0, 0, 0]).is_err());
    }
}
