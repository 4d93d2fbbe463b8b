//! Per-datum byte forms: comparable key datums (`EncodeKey`) and row-v2
//! column values (`encodeValueDatum`).

use squall_common::schema::{FieldType, MysqlType};

use crate::bytes::{decode_bytes, encode_bytes};
use crate::collation::Collation;
use crate::datum::Datum;
use crate::decimal::{Decimal, MAX_FRAC};
use crate::error::{take, CodecError, EncodeError};
use crate::flag;
use crate::json::Json;
use crate::number::*;
use crate::time::{Duration, Time, TimeKind};

/// The (precision, frac) a decimal is written with: the column's declared
/// shape, or the value's own when the column has none (TiDB `EncodeDecimal`).
pub fn decimal_shape(d: &Decimal, ft: &FieldType) -> (usize, usize) {
    if ft.flen > 0 && ft.decimal >= 0 {
        (ft.flen as usize, (ft.decimal as usize).min(MAX_FRAC))
    } else {
        let (p, f) = d.natural_shape();
        (usize::from(p), usize::from(f))
    }
}

fn write_decimal(buf: &mut Vec<u8>, d: &Decimal, ft: &FieldType) -> Result<(), EncodeError> {
    let (prec, frac) = decimal_shape(d, ft);
    buf.push(prec as u8);
    buf.push(frac as u8);
    let rounded;
    let d = if d.frac_len() > frac {
        rounded = d.round_to(frac);
        &rounded
    } else {
        d
    };
    d.write_bin(buf, prec, frac)
        .map_err(|_| EncodeError::DecimalOverflow {
            value: d.to_string(),
            prec,
            frac,
        })
}

/// Appends one comparable key datum. `collation` is `Some` when new collation
/// is on and the column is a collated string: then the sort key is encoded.
pub fn encode_key_datum(
    buf: &mut Vec<u8>,
    d: &Datum,
    ft: &FieldType,
    collation: Option<Collation>,
) -> Result<(), EncodeError> {
    match d {
        Datum::Null => buf.push(flag::NIL),
        Datum::Int(v) => {
            buf.push(flag::INT);
            encode_int(buf, *v);
        }
        Datum::Uint(v) | Datum::Bit(v) | Datum::Enum { index: v } | Datum::Set { mask: v } => {
            buf.push(flag::UINT);
            encode_uint(buf, *v);
        }
        Datum::Float(f) => {
            buf.push(flag::FLOAT);
            encode_float(buf, *f);
        }
        Datum::Bytes(b) => {
            buf.push(flag::BYTES);
            match collation {
                Some(c) => {
                    let mut key = Vec::with_capacity(b.len() * 2);
                    c.sort_key(b, &mut key);
                    encode_bytes(buf, &key);
                }
                None => encode_bytes(buf, b),
            }
        }
        Datum::Decimal(v) => {
            buf.push(flag::DECIMAL);
            write_decimal(buf, v, ft)?;
        }
        Datum::Time(t) => {
            buf.push(flag::UINT);
            encode_uint(buf, t.to_packed());
        }
        Datum::Duration(v) => {
            buf.push(flag::DURATION);
            encode_int(buf, v.nanos);
        }
        Datum::Json(j) => {
            buf.push(flag::JSON);
            buf.extend_from_slice(j.as_bytes());
        }
    }
    Ok(())
}

/// Decodes a sequence of comparable key datums without a schema. Bytes come
/// back as stored (sort keys for collated strings); times come back as
/// `Uint(packed)` since the key does not say which type they were.
pub fn decode_key_datums(mut b: &[u8]) -> Result<Vec<Datum>, CodecError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        out.push(decode_key_datum(&mut b)?);
    }
    Ok(out)
}

pub fn decode_key_datum(b: &mut &[u8]) -> Result<Datum, CodecError> {
    let f = take(b, 1, "datum flag")?[0];
    Ok(match f {
        flag::NIL => Datum::Null,
        flag::INT => Datum::Int(decode_int(b)?),
        flag::UINT => Datum::Uint(decode_uint(b)?),
        flag::FLOAT => Datum::Float(decode_float(b)?),
        flag::BYTES => Datum::Bytes(decode_bytes(b)?),
        flag::DECIMAL => {
            let h = take(b, 2, "decimal shape")?;
            Datum::Decimal(Decimal::read_bin(b, usize::from(h[0]), usize::from(h[1]))?)
        }
        flag::DURATION => Datum::Duration(Duration {
            nanos: decode_int(b)?,
            fsp: 6,
        }),
        flag::VARINT => Datum::Int(decode_varint(b)?),
        flag::UVARINT => Datum::Uint(decode_uvarint(b)?),
        flag::COMPACT_BYTES => Datum::Bytes(crate::bytes::decode_compact_bytes(b)?),
        flag::JSON => {
            let j = Json::from_binary(b.to_vec())?;
            *b = &[];
            Datum::Json(j)
        }
        other => return Err(CodecError::UnknownFlag(other)),
    })
}

/// Appends a row-v2 column value (no length: the offsets delimit values).
pub fn encode_row_value(buf: &mut Vec<u8>, d: &Datum, ft: &FieldType) -> Result<(), EncodeError> {
    match d {
        Datum::Null => {}
        Datum::Int(v) => encode_compact_int(buf, *v),
        Datum::Uint(v) | Datum::Bit(v) | Datum::Enum { index: v } | Datum::Set { mask: v } => {
            encode_compact_uint(buf, *v)
        }
        Datum::Float(f) => encode_float(buf, *f),
        Datum::Bytes(b) => buf.extend_from_slice(b),
        Datum::Decimal(v) => write_decimal(buf, v, ft)?,
        Datum::Time(t) => encode_compact_uint(buf, t.to_packed()),
        Datum::Duration(v) => encode_compact_int(buf, v.nanos),
        Datum::Json(j) => buf.extend_from_slice(j.as_bytes()),
    }
    Ok(())
}

pub(crate) fn time_kind(tp: MysqlType) -> TimeKind {
    match tp {
        MysqlType::Date => TimeKind::Date,
        MysqlType::Timestamp => TimeKind::Timestamp,
        _ => TimeKind::Datetime,
    }
}

fn fsp(ft: &FieldType) -> u8 {
    ft.decimal.clamp(0, 6) as u8
}

/// Reads a row-v2 column value of type `ft`.
pub fn decode_row_value(b: &[u8], ft: &FieldType) -> Result<Datum, CodecError> {
    use MysqlType as T;
    Ok(match ft.tp {
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong if ft.unsigned => {
            Datum::Uint(decode_compact_uint(b)?)
        }
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong | T::Year => {
            Datum::Int(decode_compact_int(b)?)
        }
        T::Float | T::Double => Datum::Float(decode_float(&mut &b[..])?),
        T::Decimal | T::NewDecimal => {
            let mut rest = b;
            let h = take(&mut rest, 2, "decimal shape")?;
            Datum::Decimal(Decimal::read_bin(
                &mut rest,
                usize::from(h[0]),
                usize::from(h[1]),
            )?)
        }
        T::Date | T::Datetime | T::Timestamp => Datum::Time(Time::from_packed(
            decode_compact_uint(b)?,
            time_kind(ft.tp),
            fsp(ft),
        )),
        T::Duration => Datum::Duration(Duration {
            nanos: decode_compact_int(b)?,
            fsp: fsp(ft),
        }),
        T::Enum => Datum::Enum {
            index: decode_compact_uint(b)?,
        },
        T::Set => Datum::Set {
            mask: decode_compact_uint(b)?,
        },
        T::Bit => Datum::Bit(decode_compact_uint(b)?),
        T::Json => Datum::Json(Json::from_binary(b.to_vec())?),
        T::Null => Datum::Null,
        T::Varchar
        | T::VarString
        | T::String
        | T::TinyBlob
        | T::MediumBlob
        | T::LongBlob
        | T::Blob => Datum::Bytes(b.to_vec()),
    })
}

/// `a, b, c` for humans: strings quoted, bytes that are not text in hex.
pub fn describe_datums(ds: &[Datum]) -> String {
    ds.iter().map(describe_datum).collect::<Vec<_>>().join(", ")
}

pub fn describe_datum(d: &Datum) -> String {
    match d {
        Datum::Null => "NULL".into(),
        Datum::Int(v) => v.to_string(),
        Datum::Uint(v) => format!("{v}u"),
        Datum::Float(v) => format!("{v}"),
        Datum::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
            _ => format!("0x{}", hex::encode(b)),
        },
        Datum::Decimal(v) => v.to_string(),
        Datum::Time(t) => t.to_string(),
        Datum::Duration(v) => format!("TIME {v}"),
        Datum::Json(j) => j.to_text().unwrap_or_else(|_| "<bad JSON>".into()),
        Datum::Enum { index } => format!("enum#{index}"),
        Datum::Set { mask } => format!("set{mask:#b}"),
        Datum::Bit(v) => format!("b'{v:b}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_key_datums() {
        // Spec §3.3: "abc" as a key datum.
        let mut b = Vec::new();
        let ft = FieldType::new(MysqlType::Varchar);
        encode_key_datum(&mut b, &Datum::Bytes(b"abc".to_vec()), &ft, None).expect("encodes");
        assert_eq!(b, [0x01, 0x61, 0x62, 0x63, 0, 0, 0, 0, 0, 0xFA]);
        // Spec §3.6: packed datetime as a key datum.
        let t = Time {
            year: 2023,
            month: 1,
            day: 2,
            hour: 3,
            minute: 4,
            second: 5,
            micro: 678_000,
            kind: TimeKind::Datetime,
            fsp: 3,
        };
        b.clear();
        encode_key_datum(&mut b, &Datum::Time(t), &ft, None).expect("encodes");
        assert_eq!(b, [0x04, 0x19, 0xAF, 0x04, 0x31, 0x05, 0x0A, 0x58, 0x70]);
        b.clear();
        encode_row_value(&mut b, &Datum::Time(t), &ft).expect("encodes");
        assert_eq!(b, [0x70, 0x58, 0x0A, 0x05, 0x31, 0x04, 0xAF, 0x19]);
        let mut dt = FieldType::new(MysqlType::Datetime);
        dt.decimal = 3;
        assert_eq!(decode_row_value(&b, &dt).expect("decodes"), Datum::Time(t));
    }

    #[test]
    fn decimal_uses_declared_shape() {
        // Spec §4 pitfall 2.
        let mut ft = FieldType::new(MysqlType::NewDecimal);
        ft.flen = 10;
        ft.decimal = 4;
        let d = Datum::Decimal(Decimal::parse("11.99").expect("parses").value);
        let mut b = Vec::new();
        encode_row_value(&mut b, &d, &ft).expect("encodes");
        assert_eq!(b, [0x0A, 0x04, 0x80, 0x00, 0x0B, 0x26, 0xAC]);
        let mut natural = Vec::new();
        encode_row_value(&mut natural, &d, &FieldType::new(MysqlType::NewDecimal))
            .expect("encodes");
        assert_eq!(natural, [0x04, 0x02, 0x8B, 0x63]);
    }
}
