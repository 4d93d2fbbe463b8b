//! BIT(n) from source bytes: the bytes are the big-endian bit string, as
//! TiDB reads a string into a BIT column (`BinaryLiteral.ToInt`).

use super::ctx::Ctx;
use super::error::{ConvertError, Problem};
use crate::datum::Datum;

pub(crate) fn convert_bit(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let bits = u32::try_from(cx.col.field_type.flen)
        .ok()
        .filter(|&b| (1..=64).contains(&b))
        .unwrap_or(1);
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let significant = raw
        .iter()
        .position(|&b| b != 0)
        .map_or(&raw[raw.len()..], |p| &raw[p..]);
    let too_long = Problem::TooLong {
        len: raw.len() * 8,
        max: bits as usize,
        unit: "bits",
    };
    if significant.len() > 8 {
        return cx.adjust(too_long, Datum::Bit(max));
    }
    let v = significant
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if v > max {
        return cx.adjust(too_long, Datum::Bit(max));
    }
    Ok(Datum::Bit(v))
}

/// BIT(n) from a number literal (`INSERT ... VALUES (2)`): the number's value,
/// which must fit in n bits, as TiDB converts an integer into a BIT column.
pub(crate) fn convert_bit_number(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let bits = u32::try_from(cx.col.field_type.flen)
        .ok()
        .filter(|&b| (1..=64).contains(&b))
        .unwrap_or(1);
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let text = String::from_utf8_lossy(raw).trim().to_string();
    match super::number::parse_integer(raw) {
        Ok((v, false)) if (0..=i128::from(max)).contains(&v) => Ok(Datum::Bit(v as u64)),
        Ok((v, _)) if v < 0 => cx.adjust(Problem::OutOfRange { value: text }, Datum::Bit(0)),
        Ok((v, true)) if v <= i128::from(max) => {
            cx.adjust(Problem::Truncated { value: text }, Datum::Bit(v as u64))
        }
        Ok(_) => cx.adjust(Problem::OutOfRange { value: text }, Datum::Bit(max)),
        Err(()) => Err(cx.error(Problem::Incorrect {
            ty: "bit",
            value: text,
        })),
    }
}
