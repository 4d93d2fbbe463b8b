//! [`Datum`]: one column value after conversion, in the form TiDB encodes.

use squall_common::schema::{FieldType, MysqlType};

use crate::decimal::Decimal;
use crate::json::Json;
use crate::time::{Duration, Time};

/// A typed column value (TiDB `types.Datum`, restricted to the kinds that
/// reach the storage layer).
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    /// Signed integer columns and YEAR.
    Int(i64),
    /// UNSIGNED integer columns.
    Uint(u64),
    /// FLOAT (already rounded to f32 precision) and DOUBLE.
    Float(f64),
    /// CHAR/VARCHAR/TEXT/BINARY/VARBINARY/BLOB contents.
    Bytes(Vec<u8>),
    Decimal(Decimal),
    /// DATE/DATETIME/TIMESTAMP; TIMESTAMP values are in UTC.
    Time(Time),
    /// TIME.
    Duration(Duration),
    Json(Json),
    /// ENUM member by 1-based index (0 is MySQL's '' error value).
    Enum {
        index: u64,
    },
    /// SET members as a bitmask (bit i = member i).
    Set {
        mask: u64,
    },
    /// BIT(n) as its big-endian integer value.
    Bit(u64),
}

impl Datum {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The value as bytes, for string kinds.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Datum::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// MySQL's text form of the value for export (CSV/JSONL) and reports:
    /// `2024-01-02 03:04:05.123`, decimals with their scale, ENUM/SET by
    /// member names. NULL is `NULL`; BIT is its unsigned integer value; bytes
    /// that are not UTF-8 are shown with replacement characters.
    pub fn to_display_string(&self, ft: &FieldType) -> String {
        match self {
            Datum::Null => "NULL".to_string(),
            Datum::Int(v) => v.to_string(),
            Datum::Uint(v) | Datum::Bit(v) => v.to_string(),
            Datum::Float(f) if ft.tp == MysqlType::Float => {
                format_float(f64::from(*f as f32), true)
            }
            Datum::Float(f) => format_float(*f, false),
            Datum::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Datum::Decimal(d) => d.to_string(),
            Datum::Time(t) => {
                let mut t = *t;
                t.fsp = fsp_of(ft);
                t.to_string()
            }
            Datum::Duration(d) => Duration {
                nanos: d.nanos,
                fsp: fsp_of(ft),
            }
            .to_string(),
            Datum::Json(j) => j.to_text().unwrap_or_else(|e| format!("<bad JSON: {e}>")),
            Datum::Enum { index } => enum_name(ft, *index).to_string(),
            Datum::Set { mask } => set_names(ft, *mask),
        }
    }
}

fn fsp_of(ft: &FieldType) -> u8 {
    ft.decimal.clamp(0, 6) as u8
}

/// Shortest text that reads back to the same float (f32 precision for FLOAT).
fn format_float(f: f64, single: bool) -> String {
    if single {
        format!("{}", f as f32)
    } else {
        format!("{f}")
    }
}

pub(crate) fn enum_name(ft: &FieldType, index: u64) -> &str {
    usize::try_from(index)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| ft.elems.get(i))
        .map_or("", String::as_str)
}

pub(crate) fn set_names(ft: &FieldType, mask: u64) -> String {
    let names: Vec<&str> = ft
        .elems
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 64 && mask & (1u64 << i) != 0)
        .map(|(_, n)| n.as_str())
        .collect();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeKind;

    #[test]
    fn display_forms() {
        let mut ft = FieldType::new(MysqlType::Datetime);
        ft.decimal = 3;
        let t = Time {
            year: 2024,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
            micro: 123_000,
            kind: TimeKind::Datetime,
            fsp: 6,
        };
        assert_eq!(
            Datum::Time(t).to_display_string(&ft),
            "2024-01-02 03:04:05.123"
        );
        let mut e = FieldType::new(MysqlType::Enum);
        e.elems = vec!["y".into(), "n".into()];
        assert_eq!(Datum::Enum { index: 2 }.to_display_string(&e), "n");
        assert_eq!(Datum::Enum { index: 0 }.to_display_string(&e), "");
        e.tp = MysqlType::Set;
        assert_eq!(Datum::Set { mask: 3 }.to_display_string(&e), "y,n");
        let d = Decimal::parse("1.5").expect("parses").value.round_to(2);
        assert_eq!(
            Datum::Decimal(d).to_display_string(&FieldType::new(MysqlType::NewDecimal)),
            "1.50"
        );
        assert_eq!(
            Datum::Float(0.1f32 as f64).to_display_string(&FieldType::new(MysqlType::Float)),
            "0.1"
        );
        assert_eq!(Datum::Null.to_display_string(&ft), "NULL");
    }
}
