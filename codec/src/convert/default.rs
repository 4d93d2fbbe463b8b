//! Values for columns the source does not give: declared defaults, zero
//! values, and AUTO_INCREMENT / AUTO_RANDOM IDs.

use squall_common::schema::{ColumnDefault, ColumnInfo, FieldType, MysqlType, TableInfo};

use super::ctx::Ctx;
use super::error::{ConvertError, ConvertWarning, Problem};
use super::number::decimal_bounds;
use super::Converter;
use crate::datum::Datum;
use crate::datum_codec::time_kind;
use crate::decimal::Decimal;
use crate::json::Json;
use crate::time::{Duration, Time, TimeKind};

/// TiDB `GetZeroValue`: what a NOT NULL column gets in non-strict mode.
pub(crate) fn zero_value(col: &ColumnInfo) -> Datum {
    let ft = &col.field_type;
    use MysqlType as T;
    match ft.tp {
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong if ft.unsigned => Datum::Uint(0),
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong | T::Year => Datum::Int(0),
        T::Float | T::Double => Datum::Float(0.0),
        T::Decimal | T::NewDecimal => {
            Datum::Decimal(Decimal::default().round_to(decimal_bounds(ft).1))
        }
        T::String if ft.charset == squall_common::schema::Charset::Binary => {
            Datum::Bytes(vec![0; usize::try_from(ft.flen).unwrap_or(0)])
        }
        T::Varchar
        | T::VarString
        | T::String
        | T::TinyBlob
        | T::MediumBlob
        | T::LongBlob
        | T::Blob => Datum::Bytes(Vec::new()),
        T::Date | T::Datetime | T::Timestamp => Datum::Time(Time::zero(time_kind(ft.tp), fsp(ft))),
        T::Duration => Datum::Duration(Duration {
            nanos: 0,
            fsp: fsp(ft),
        }),
        T::Enum => Datum::Enum { index: 0 },
        T::Set => Datum::Set { mask: 0 },
        T::Bit => Datum::Bit(0),
        T::Json => Json::from_value(&serde_json::Value::Null)
            .map(Datum::Json)
            .unwrap_or(Datum::Null),
        T::Null => Datum::Null,
    }
}

fn fsp(ft: &FieldType) -> u8 {
    ft.decimal.clamp(0, 6) as u8
}

impl Converter {
    /// The value of a column the source row does not mention: its DEFAULT,
    /// `CURRENT_TIMESTAMP` (the converter's `now`), NULL, or for NOT NULL
    /// columns without a default an error (strict) / zero value (non-strict).
    /// ENUM NOT NULL without default takes its first member, as in MySQL.
    /// AUTO_INCREMENT / AUTO_RANDOM columns return `Null`: see [`Converter::fill_auto_ids`].
    pub fn default_for(
        &self,
        col: &ColumnInfo,
        warnings: &mut Vec<ConvertWarning>,
    ) -> Result<Datum, ConvertError> {
        if col.auto_increment || col.auto_random_bits.is_some() {
            return Ok(Datum::Null);
        }
        match &col.default {
            ColumnDefault::Literal(text) => self.convert(col, Some(text.as_bytes()), warnings),
            ColumnDefault::CurrentTimestamp => Ok(self.current_timestamp(col)),
            ColumnDefault::Null => Ok(Datum::Null),
            ColumnDefault::None if !col.field_type.not_null => Ok(Datum::Null),
            ColumnDefault::None
                if col.field_type.tp == MysqlType::Enum && !col.field_type.elems.is_empty() =>
            {
                Ok(Datum::Enum { index: 1 })
            }
            ColumnDefault::None => {
                let mut cx = Ctx::new(col, self.mode, warnings);
                cx.adjust(Problem::NoDefault, zero_value(col))
            }
        }
    }

    fn current_timestamp(&self, col: &ColumnInfo) -> Datum {
        let ft = &col.field_type;
        let kind = time_kind(ft.tp);
        let at = if ft.tp == MysqlType::Timestamp {
            self.now_utc
        } else {
            self.tz.from_utc(self.now_utc)
        };
        let mut t = Time::from_naive(at, kind, fsp(ft));
        // Fractional seconds beyond the column's precision are dropped.
        let unit = 10u32.pow(6 - u32::from(t.fsp));
        t.micro = t.micro / unit * unit;
        if kind == TimeKind::Date {
            (t.hour, t.minute, t.second, t.micro) = (0, 0, 0, 0);
        }
        Datum::Time(t)
    }

    /// Assigns AUTO_INCREMENT and AUTO_RANDOM values from `row_id` where the
    /// row has NULL (or 0, unless `NO_AUTO_VALUE_ON_ZERO`), as Lightning does.
    /// AUTO_RANDOM values are laid out as TiDB's `ShardIDFormat` with the
    /// shard derived from `row_id`, so re-runs agree ([`crate::row_id`]).
    pub fn fill_auto_ids(&self, table: &TableInfo, row: &mut [Datum], row_id: i64) {
        for (col, d) in table.columns.iter().zip(row.iter_mut()) {
            if !col.auto_increment && col.auto_random_bits.is_none() {
                continue;
            }
            let empty = match d {
                Datum::Null => true,
                Datum::Int(0) | Datum::Uint(0) => !self.mode.no_auto_value_on_zero,
                _ => false,
            };
            if !empty {
                continue;
            }
            let v = match col.auto_random_bits {
                Some(bits) => crate::row_id::auto_random_value(
                    bits,
                    table.row_ids.auto_random_range_bits.unwrap_or(0),
                    col.field_type.unsigned,
                    row_id,
                ),
                None => row_id,
            };
            *d = if col.field_type.unsigned {
                Datum::Uint(v as u64)
            } else {
                Datum::Int(v)
            };
        }
    }
}
