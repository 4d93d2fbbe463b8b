//! Source text → [`Datum`] with MySQL semantics under the configured
//! `sql_mode`: strict mode turns a bad value into a [`ConvertError`] naming
//! the column and the reason; non-strict mode stores the adjusted value
//! (clipped, truncated, zero) and records a [`ConvertWarning`], as TiDB does.

mod bit;
mod ctx;
mod datetime;
mod default;
mod duration;
mod enum_set;
mod error;
mod number;
mod sql_mode;
mod string;
mod tz;

use squall_common::schema::{ColumnInfo, MysqlType};

use crate::datum::Datum;
use crate::json::Json;

pub use error::{ConvertError, ConvertWarning, ConverterSetupError, Problem};
pub use sql_mode::SqlMode;
pub use tz::SessionTz;

use ctx::Ctx;

/// How a source value was written (SQL dumps distinguish these; CSV fields
/// are always [`ValueForm::Text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ValueForm {
    /// A quoted string or a CSV field.
    #[default]
    Text,
    /// An unquoted number literal (`12`, `-1.5e3`).
    Number,
    /// A hex or bit literal (`0x41`, `b'1'`): the bytes are the value.
    Binary,
}

/// Converts source values for one import (one SQL mode, one time zone).
/// Cheap to clone; holds no per-row state.
#[derive(Debug, Clone)]
pub struct Converter {
    mode: SqlMode,
    tz: SessionTz,
    /// `CURRENT_TIMESTAMP` for defaults, in UTC (the job's start time).
    now_utc: chrono::NaiveDateTime,
}

impl Converter {
    /// `sql_mode` as in MySQL (`STRICT_TRANS_TABLES,NO_ZERO_DATE,...`),
    /// `time_zone` as `SYSTEM`, `UTC`, `+08:00` or an IANA name.
    pub fn new(sql_mode: &str, time_zone: &str) -> Result<Self, ConverterSetupError> {
        Ok(Self {
            mode: SqlMode::parse(sql_mode),
            tz: SessionTz::parse(time_zone).map_err(|e| ConverterSetupError::TimeZone(e.0))?,
            now_utc: chrono::Utc::now().naive_utc(),
        })
    }

    /// Fixes `CURRENT_TIMESTAMP` (for defaults) to the job's start time, so
    /// that re-running a task produces the same bytes.
    pub fn with_now(mut self, now_utc: chrono::DateTime<chrono::Utc>) -> Self {
        self.now_utc = now_utc.naive_utc();
        self
    }

    pub fn sql_mode(&self) -> SqlMode {
        self.mode
    }

    pub fn is_strict(&self) -> bool {
        self.mode.strict
    }

    /// Converts one source value. `raw = None` is SQL NULL. An AUTO_INCREMENT
    /// or AUTO_RANDOM column given NULL converts to `Datum::Null`; call
    /// [`Converter::fill_auto_ids`] to assign its value.
    pub fn convert(
        &self,
        col: &ColumnInfo,
        raw: Option<&[u8]>,
        warnings: &mut Vec<ConvertWarning>,
    ) -> Result<Datum, ConvertError> {
        self.convert_as(col, raw, ValueForm::Text, warnings)
    }

    /// Like [`Converter::convert`], for a value written as `form` (a number
    /// literal into a BIT column is its value, a hex literal into an INT
    /// column is a big-endian number, ...).
    pub fn convert_as(
        &self,
        col: &ColumnInfo,
        raw: Option<&[u8]>,
        form: ValueForm,
        warnings: &mut Vec<ConvertWarning>,
    ) -> Result<Datum, ConvertError> {
        let mut cx = Ctx::new(col, self.mode, warnings);
        let Some(raw) = raw else {
            return self.convert_null(&mut cx);
        };
        match (form, col.field_type.tp) {
            (ValueForm::Number, MysqlType::Bit) => bit::convert_bit_number(&mut cx, raw),
            (ValueForm::Number, MysqlType::Year) => number::convert_year_number(&mut cx, raw),
            (ValueForm::Binary, tp) if is_numeric(tp) => {
                let text = binary_as_number(raw);
                self.convert_value(&mut cx, text.as_bytes())
            }
            _ => self.convert_value(&mut cx, raw),
        }
    }

    fn convert_value(&self, cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
        use MysqlType as T;
        let ft = &cx.col.field_type;
        match ft.tp {
            T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong => number::convert_int(cx, raw),
            T::Year => number::convert_year(cx, raw),
            T::Float | T::Double => number::convert_float(cx, raw),
            T::Decimal | T::NewDecimal => number::convert_decimal(cx, raw),
            T::Varchar
            | T::VarString
            | T::String
            | T::TinyBlob
            | T::MediumBlob
            | T::LongBlob
            | T::Blob => string::convert_string(cx, raw),
            T::Date | T::Datetime | T::Timestamp => datetime::convert_time(cx, raw, &self.tz),
            T::Duration => duration::convert_duration(cx, raw),
            T::Enum => enum_set::convert_enum(cx, raw),
            T::Set => enum_set::convert_set(cx, raw),
            T::Bit => bit::convert_bit(cx, raw),
            T::Json => Json::from_text(raw)
                .map(Datum::Json)
                .map_err(|e| cx.error(Problem::InvalidJson(e.to_string()))),
            T::Null => Ok(Datum::Null),
        }
    }

    fn convert_null(&self, cx: &mut Ctx<'_>) -> Result<Datum, ConvertError> {
        let col = cx.col;
        if col.auto_increment || col.auto_random_bits.is_some() || !col.field_type.not_null {
            return Ok(Datum::Null);
        }
        // TiDB `HandleBadNull`: an error, or the zero value with a warning.
        let zero = default::zero_value(col);
        cx.adjust(Problem::NotNull, zero)
    }
}

fn is_numeric(tp: MysqlType) -> bool {
    use MysqlType as T;
    matches!(
        tp,
        T::Tiny
            | T::Short
            | T::Int24
            | T::Long
            | T::LongLong
            | T::Year
            | T::Float
            | T::Double
            | T::Decimal
            | T::NewDecimal
    )
}

/// A hex/bit literal in a numeric context is its big-endian unsigned value
/// (more than 8 significant bytes saturate, which then reports out of range).
fn binary_as_number(raw: &[u8]) -> String {
    let significant = raw
        .iter()
        .position(|&b| b != 0)
        .map_or(&raw[raw.len()..], |p| &raw[p..]);
    if significant.len() > 8 {
        return "1e30".to_string();
    }
    significant
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        .to_string()
}

#[cfg(test)]
mod tests;
