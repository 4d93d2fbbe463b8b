//! Integers, YEAR, FLOAT/DOUBLE and DECIMAL from text.

use squall_common::schema::{FieldType, MysqlType};

use super::ctx::Ctx;
use super::error::{shown, ConvertError, Problem};
use crate::datum::Datum;
use crate::decimal::{Decimal, DecimalError, MAX_FRAC, MAX_PRECISION};

/// Inclusive range of an integer column.
fn int_range(ft: &FieldType) -> (i128, i128) {
    let bits = match ft.tp {
        MysqlType::Tiny => 8,
        MysqlType::Short => 16,
        MysqlType::Int24 => 24,
        MysqlType::Long => 32,
        _ => 64,
    };
    if ft.unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

fn trim(raw: &[u8]) -> &[u8] {
    raw.trim_ascii()
}

/// Reads an integer the way TiDB's insert path does: a plain integer, or
/// the valid numeric prefix rounded half away from zero ("1.5" → 2, "1e3"
/// → 1000). Returns the value (unbounded) and whether text was ignored.
pub(crate) fn parse_integer(raw: &[u8]) -> Result<(i128, bool), ()> {
    let s = trim(raw);
    if let Ok(text) = std::str::from_utf8(s) {
        if let Ok(v) = text.parse::<i128>() {
            return Ok((v, false));
        }
    }
    let text = String::from_utf8_lossy(s);
    match Decimal::parse(&text) {
        Ok(p) => {
            let r = p.value.round_to(0);
            let v = if r.int_len() > 30 {
                if r.is_negative() {
                    i128::MIN
                } else {
                    i128::MAX
                }
            } else {
                r.to_string().parse::<i128>().unwrap_or(0)
            };
            Ok((v, p.trailing_garbage))
        }
        Err(DecimalError::Overflow) => Ok((
            if text.trim_start().starts_with('-') {
                i128::MIN
            } else {
                i128::MAX
            },
            false,
        )),
        Err(DecimalError::BadNumber) => Err(()),
    }
}

pub(crate) fn convert_int(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let ft = &cx.col.field_type;
    let (lo, hi) = int_range(ft);
    let make = |v: i128| {
        if ft.unsigned {
            Datum::Uint(v as u64)
        } else {
            Datum::Int(v as i64)
        }
    };
    let (v, garbage) = match parse_integer(raw) {
        Ok(x) => x,
        Err(()) => {
            return cx.adjust(
                Problem::Incorrect {
                    ty: "integer",
                    value: shown(raw),
                },
                make(0),
            )
        }
    };
    let clipped = v.clamp(lo, hi);
    if clipped != v {
        return cx.adjust(Problem::OutOfRange { value: shown(raw) }, make(clipped));
    }
    if garbage {
        return cx.adjust(Problem::Truncated { value: shown(raw) }, make(v));
    }
    Ok(make(v))
}

/// YEAR: 4 digits as is; 1-69 → 20xx, 70-99 → 19xx; "0"/"00" → 2000, 0 → 0.
pub(crate) fn convert_year(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let s = trim(raw);
    let (v, garbage) = match parse_integer(s) {
        Ok(x) => x,
        Err(()) => {
            return cx.adjust(
                Problem::Incorrect {
                    ty: "year",
                    value: shown(raw),
                },
                Datum::Int(0),
            )
        }
    };
    if garbage {
        return cx.adjust(Problem::Truncated { value: shown(raw) }, Datum::Int(0));
    }
    let adjust_zero = s.len() != 4 && v == 0 && s.first() == Some(&b'0');
    let y = match v {
        0 if !adjust_zero => 0,
        0 => 2000,
        1..=69 => 2000 + v,
        70..=99 => 1900 + v,
        _ => v,
    };
    if y != 0 && !(1901..=2155).contains(&y) {
        return cx.adjust(Problem::OutOfRange { value: shown(raw) }, Datum::Int(0));
    }
    Ok(Datum::Int(y as i64))
}

/// An unquoted number into YEAR: 0 stays 0 (only the strings '0'/'00' mean 2000).
pub(crate) fn convert_year_number(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let s = trim(raw);
    match parse_integer(s) {
        Ok((0, false)) => Ok(Datum::Int(0)),
        _ => convert_year(cx, s),
    }
}

/// Length of the longest prefix of `s` that is a float literal.
fn float_prefix_len(s: &[u8]) -> usize {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut any = i > digits_start;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let f = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        any |= i > f;
    }
    if !any {
        return 0;
    }
    if i < s.len() && matches!(s[i], b'e' | b'E') {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let e = j;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    i
}

pub(crate) fn convert_float(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let s = trim(raw);
    let n = float_prefix_len(s);
    if n == 0 {
        return cx.adjust(
            Problem::Incorrect {
                ty: "double",
                value: shown(raw),
            },
            Datum::Float(0.0),
        );
    }
    let text = std::str::from_utf8(&s[..n]).unwrap_or("0");
    let mut f: f64 = text.parse().unwrap_or(0.0);
    let ft = &cx.col.field_type;
    let single = ft.tp == MysqlType::Float;
    let max = if single {
        f64::from(f32::MAX)
    } else {
        f64::MAX
    };
    let mut problem = None;
    if !f.is_finite() || f.abs() > max {
        f = max.copysign(f);
        problem = Some(Problem::OutOfRange { value: shown(raw) });
    }
    if ft.flen > 0 && ft.decimal >= 0 && problem.is_none() {
        // FLOAT(M,D) / DOUBLE(M,D): round to D places, clip to M digits.
        let scale = 10f64.powi(ft.decimal);
        let rounded = (f * scale).round() / scale;
        let limit = 10f64.powi(ft.flen - ft.decimal) - 1.0 / scale;
        f = rounded;
        if f.abs() > limit {
            f = limit.copysign(f);
            problem = Some(Problem::OutOfRange { value: shown(raw) });
        }
    }
    if ft.unsigned && f < 0.0 {
        f = 0.0;
        problem = Some(Problem::OutOfRange { value: shown(raw) });
    }
    if single {
        f = f64::from(f as f32);
    }
    if let Some(p) = problem {
        return cx.adjust(p, Datum::Float(f));
    }
    if n < s.len() {
        return cx.adjust(Problem::Truncated { value: shown(raw) }, Datum::Float(f));
    }
    Ok(Datum::Float(f))
}

/// The (M, D) a DECIMAL column declares, MySQL's DECIMAL(10,0) if unspecified.
pub(crate) fn decimal_bounds(ft: &FieldType) -> (usize, usize) {
    let frac = if ft.decimal >= 0 {
        (ft.decimal as usize).min(MAX_FRAC)
    } else {
        0
    };
    let prec = if ft.flen > 0 {
        (ft.flen as usize).min(MAX_PRECISION)
    } else {
        10
    };
    (prec.max(frac).max(1), frac)
}

pub(crate) fn convert_decimal(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let (prec, frac) = decimal_bounds(&cx.col.field_type);
    let text = String::from_utf8_lossy(trim(raw));
    let parsed = match Decimal::parse(&text) {
        Ok(p) => p,
        Err(DecimalError::BadNumber) => {
            let zero = Decimal::default().round_to(frac);
            return cx.adjust(
                Problem::Incorrect {
                    ty: "decimal",
                    value: shown(raw),
                },
                Datum::Decimal(zero),
            );
        }
        Err(DecimalError::Overflow) => {
            let max = Decimal::max_for(text.trim_start().starts_with('-'), prec, frac);
            return cx.adjust(
                Problem::OutOfRange { value: shown(raw) },
                Datum::Decimal(max),
            );
        }
    };
    let rounded = parsed.value.round_to(frac);
    if rounded.int_len() > prec - frac {
        let max = Decimal::max_for(rounded.is_negative(), prec, frac);
        return cx.adjust(
            Problem::OutOfRange { value: shown(raw) },
            Datum::Decimal(max),
        );
    }
    if cx.col.field_type.unsigned && rounded.is_negative() {
        return cx.adjust(
            Problem::OutOfRange { value: shown(raw) },
            Datum::Decimal(Decimal::default().round_to(frac)),
        );
    }
    if parsed.trailing_garbage {
        return cx.adjust(
            Problem::Truncated { value: shown(raw) },
            Datum::Decimal(rounded),
        );
    }
    if parsed.value.frac_len() > frac && !fraction_tail_is_zero(&parsed.value, frac) {
        // TiDB rounds and notes it even in strict mode (a warning, not an error).
        cx.warn(Problem::Truncated { value: shown(raw) });
    }
    Ok(Datum::Decimal(rounded))
}

fn fraction_tail_is_zero(d: &Decimal, frac: usize) -> bool {
    let s = d.to_string();
    let Some((_, f)) = s.split_once('.') else {
        return true;
    };
    f.bytes().skip(frac).all(|b| b == b'0')
}
