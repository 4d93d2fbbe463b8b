//! How a SQL literal's form changes the text handed to the converter. The
//! converter reads text; the SQL reader also says whether a value was a hex
//! or bit literal (its bytes are the value) or an unquoted number. MySQL
//! reads a binary literal into a numeric column as the big-endian integer
//! of its bytes, and a number into a BIT column as that integer's bytes.

use std::borrow::Cow;

use squall_common::schema::{ColumnInfo, MysqlType};
use squall_source::ValueKind;

/// The bytes to convert for `raw` written as `kind` into `col`.
pub fn adapt<'a>(col: &ColumnInfo, kind: ValueKind, raw: &'a [u8]) -> Cow<'a, [u8]> {
    let tp = col.field_type.tp;
    match kind {
        ValueKind::Binary if is_numeric(tp) => Cow::Owned(binary_as_integer(raw).into_bytes()),
        ValueKind::Number if tp == MysqlType::Bit => match parse_u64(raw) {
            Some(v) => Cow::Owned(integer_as_binary(v)),
            None => Cow::Borrowed(raw),
        },
        _ => Cow::Borrowed(raw),
    }
}

fn is_numeric(tp: MysqlType) -> bool {
    tp.is_integer()
        || matches!(
            tp,
            MysqlType::Float | MysqlType::Double | MysqlType::Decimal | MysqlType::NewDecimal
        )
}

/// The decimal text of the bytes read as a big-endian unsigned integer
/// (more than 8 significant bytes saturate, and the converter reports it).
fn binary_as_integer(raw: &[u8]) -> String {
    let significant = raw
        .iter()
        .position(|&b| b != 0)
        .map_or(&raw[raw.len()..], |p| &raw[p..]);
    if significant.len() > 8 {
        return u128::MAX.to_string();
    }
    significant
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        .to_string()
}

fn integer_as_binary(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let first = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    bytes[first..].to_vec()
}

fn parse_u64(raw: &[u8]) -> Option<u64> {
    std::str::from_utf8(raw).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use squall_common::schema::FieldType;

    use super::*;

    fn col(tp: MysqlType) -> ColumnInfo {
        ColumnInfo::new(1, "c", 0, FieldType::new(tp))
    }

    #[test]
    fn binary_literal_into_int_is_its_integer() {
        assert_eq!(
            &*adapt(&col(MysqlType::Long), ValueKind::Binary, &[0x01, 0x00]),
            b"256"
        );
        assert_eq!(&*adapt(&col(MysqlType::Long), ValueKind::Binary, &[]), b"0");
        assert_eq!(
            &*adapt(&col(MysqlType::Varchar), ValueKind::Binary, b"AB"),
            b"AB"
        );
    }

    #[test]
    fn number_into_bit_is_its_bytes() {
        assert_eq!(
            &*adapt(&col(MysqlType::Bit), ValueKind::Number, b"3"),
            &[3u8][..]
        );
        assert_eq!(
            &*adapt(&col(MysqlType::Bit), ValueKind::Number, b"0"),
            &[0u8][..]
        );
        assert_eq!(
            &*adapt(&col(MysqlType::Bit), ValueKind::Number, b"258"),
            &[1u8, 2][..]
        );
        assert_eq!(
            &*adapt(&col(MysqlType::Bit), ValueKind::Binary, &[2]),
            &[2u8][..]
        );
        assert_eq!(
            &*adapt(&col(MysqlType::Long), ValueKind::Number, b"12"),
            b"12"
        );
    }
}
