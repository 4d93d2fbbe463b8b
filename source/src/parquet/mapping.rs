//! Parquet column types → the text the encoder converts, as Lightning maps
//! them: integers (signed and unsigned) and booleans as numbers, decimals
//! with their scale, dates as `YYYY-MM-DD`, times of day as `HH:MM:SS.f`,
//! timestamps in their unit (instants adjusted to UTC, and INT96, shown in
//! the session time zone; local timestamps as they are), strings, JSON and
//! enums as text, UUIDs in their canonical form, and binary as its bytes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use parquet::schema::types::ColumnDescriptor;

use super::tz::ShowTz;
use crate::row::ValueKind;

/// How one column's values become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mapping {
    Bool,
    /// INT32/INT64 read as signed (`INT(8..64, true)` or no annotation).
    Signed,
    /// INT32/INT64 holding an unsigned value (`INT(n, false)`, `UINT_n`).
    Unsigned,
    Float,
    Double,
    /// FIXED_LEN_BYTE_ARRAY(2), IEEE half precision.
    Float16,
    /// The unscaled integer (INT32, INT64, or big-endian two's complement bytes).
    Decimal {
        scale: i32,
    },
    /// Days since 1970-01-01.
    Date,
    /// Units since midnight.
    Time {
        unit: Unit,
    },
    /// Units since the epoch; `utc`: an instant (shown in the session zone).
    Timestamp {
        unit: Unit,
        utc: bool,
    },
    /// INT96: Julian day and nanoseconds of the day (Hive, Impala, Spark), an instant.
    Int96,
    /// UTF-8 text (STRING, ENUM, JSON) or bytes without annotation: passed as they are.
    Bytes,
    /// FIXED_LEN_BYTE_ARRAY(16) UUID, shown as `xxxxxxxx-xxxx-...`.
    Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn from_parquet(u: &TimeUnit) -> Self {
        match u {
            TimeUnit::MILLIS => Self::Millis,
            TimeUnit::MICROS => Self::Micros,
            TimeUnit::NANOS => Self::Nanos,
        }
    }

    fn per_second(self) -> i64 {
        match self {
            Self::Millis => 1_000,
            Self::Micros => 1_000_000,
            Self::Nanos => 1_000_000_000,
        }
    }

    fn digits(self) -> usize {
        match self {
            Self::Millis => 3,
            Self::Micros => 6,
            Self::Nanos => 9,
        }
    }
}

impl Mapping {
    /// The mapping of a column, or why it cannot be imported.
    pub(crate) fn of(col: &ColumnDescriptor) -> Result<Self, String> {
        if col.max_rep_level() > 0 || col.path().parts().len() > 1 {
            return Err(format!(
                "nested or repeated column {} (lists, maps, structs) cannot be imported into a table column; \
                 flatten it when exporting",
                col.path().string()
            ));
        }
        let physical = col.physical_type();
        if let Some(logical) = col.logical_type_ref() {
            if let Some(m) = from_logical(logical, physical)? {
                return Ok(m);
            }
        }
        from_converted(col.converted_type(), physical, col.type_scale())
    }

    /// The kind the encoder is told: numbers are unquoted numbers, the rest text.
    pub(crate) fn kind(self) -> ValueKind {
        match self {
            Self::Bool
            | Self::Signed
            | Self::Unsigned
            | Self::Float
            | Self::Double
            | Self::Float16
            | Self::Decimal { .. } => ValueKind::Number,
            _ => ValueKind::Text,
        }
    }
}

fn from_logical(l: &LogicalType, p: PhysicalType) -> Result<Option<Mapping>, String> {
    use PhysicalType as P;
    Ok(Some(match (l, p) {
        (LogicalType::Integer { is_signed, .. }, P::INT32 | P::INT64) => {
            if *is_signed {
                Mapping::Signed
            } else {
                Mapping::Unsigned
            }
        }
        (LogicalType::Decimal { scale, .. }, _) => Mapping::Decimal { scale: *scale },
        (LogicalType::Date, P::INT32) => Mapping::Date,
        (LogicalType::Time { unit, .. }, P::INT32 | P::INT64) => Mapping::Time {
            unit: Unit::from_parquet(unit),
        },
        (
            LogicalType::Timestamp {
                unit,
                is_adjusted_to_u_t_c,
            },
            P::INT64,
        ) => Mapping::Timestamp {
            unit: Unit::from_parquet(unit),
            utc: *is_adjusted_to_u_t_c,
        },
        (LogicalType::String | LogicalType::Enum | LogicalType::Json, P::BYTE_ARRAY) => {
            Mapping::Bytes
        }
        (LogicalType::Bson, _) => Mapping::Bytes,
        (LogicalType::Uuid, P::FIXED_LEN_BYTE_ARRAY) => Mapping::Uuid,
        (LogicalType::Float16, P::FIXED_LEN_BYTE_ARRAY) => Mapping::Float16,
        // Other annotations: fall back to the converted type or the physical type.
        _ => return Ok(None),
    }))
}

fn from_converted(c: ConvertedType, p: PhysicalType, scale: i32) -> Result<Mapping, String> {
    use ConvertedType as C;
    use PhysicalType as P;
    Ok(match (c, p) {
        (C::UINT_8 | C::UINT_16 | C::UINT_32 | C::UINT_64, P::INT32 | P::INT64) => {
            Mapping::Unsigned
        }
        (C::DECIMAL, _) => Mapping::Decimal { scale },
        (C::DATE, P::INT32) => Mapping::Date,
        (C::TIME_MILLIS, P::INT32) => Mapping::Time { unit: Unit::Millis },
        (C::TIME_MICROS, P::INT64) => Mapping::Time { unit: Unit::Micros },
        // Converted timestamps are instants (the old annotation meant UTC).
        (C::TIMESTAMP_MILLIS, P::INT64) => Mapping::Timestamp {
            unit: Unit::Millis,
            utc: true,
        },
        (C::TIMESTAMP_MICROS, P::INT64) => Mapping::Timestamp {
            unit: Unit::Micros,
            utc: true,
        },
        (C::INTERVAL, _) => {
            return Err("INTERVAL columns cannot be imported (MySQL has no interval type)".into())
        }
        (_, P::BOOLEAN) => Mapping::Bool,
        (_, P::INT32 | P::INT64) => Mapping::Signed,
        (_, P::INT96) => Mapping::Int96,
        (_, P::FLOAT) => Mapping::Float,
        (_, P::DOUBLE) => Mapping::Double,
        (_, P::BYTE_ARRAY) => Mapping::Bytes,
        (_, P::FIXED_LEN_BYTE_ARRAY) => Mapping::Bytes,
    })
}

/// Text of an integer value under `m` (`v` as stored: INT32 sign-extended).
pub(crate) fn write_int(m: Mapping, v: i64, physical_bits: u32, tz: &ShowTz, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = match m {
        Mapping::Unsigned => {
            let u = if physical_bits == 32 {
                u64::from(v as u32)
            } else {
                v as u64
            };
            write!(out, "{u}")
        }
        Mapping::Decimal { scale } => {
            write_decimal(i128::from(v), scale, out);
            Ok(())
        }
        Mapping::Date => match NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::Duration::days(v)))
        {
            Some(d) => write!(out, "{}", d.format("%Y-%m-%d")),
            None => write!(out, "date {v} days from 1970-01-01"),
        },
        Mapping::Time { unit } => {
            let per = unit.per_second();
            let (secs, frac) = (v.div_euclid(per), v.rem_euclid(per));
            match NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, 0) {
                Some(t) if (0..86_400).contains(&secs) => write!(out, "{}", t.format("%H:%M:%S"))
                    .and_then(|_| write_fraction(out, frac, unit)),
                _ => write!(out, "time {v} ({unit:?} since midnight)"),
            }
        }
        Mapping::Timestamp { unit, utc } => {
            let per = unit.per_second();
            let (secs, frac) = (v.div_euclid(per), v.rem_euclid(per));
            let nanos = (frac * (1_000_000_000 / per)) as u32;
            write_instant(secs, nanos, frac, unit, utc, tz, out);
            Ok(())
        }
        Mapping::Bool => write!(out, "{}", u8::from(v != 0)),
        _ => write!(out, "{v}"),
    };
}

/// INT96: nanoseconds of the day (low 8 bytes) and the Julian day (high 4).
pub(crate) fn write_int96(words: &[u32], tz: &ShowTz, out: &mut Vec<u8>) {
    const JULIAN_DAY_OF_EPOCH: i64 = 2_440_588;
    let nanos_of_day = (i64::from(words[1]) << 32) | i64::from(words[0]);
    let day = i64::from(words[2] as i32) - JULIAN_DAY_OF_EPOCH;
    let secs = day * 86_400 + nanos_of_day.div_euclid(1_000_000_000);
    let frac = nanos_of_day.rem_euclid(1_000_000_000);
    write_instant(secs, frac as u32, frac, Unit::Nanos, true, tz, out);
}

fn write_instant(
    secs: i64,
    nanos: u32,
    frac: i64,
    unit: Unit,
    utc: bool,
    tz: &ShowTz,
    out: &mut Vec<u8>,
) {
    use std::io::Write;
    let Some(t) = DateTime::from_timestamp(secs, nanos).map(|t| t.naive_utc()) else {
        let _ = write!(out, "timestamp {secs}s from 1970-01-01 (out of range)");
        return;
    };
    let shown: NaiveDateTime = if utc { tz.from_utc(t) } else { t };
    let _ = write!(out, "{}", shown.format("%Y-%m-%d %H:%M:%S"));
    let _ = write_fraction(out, frac, unit);
}

/// `.fff`, `.ffffff` or `.fffffffff` (the unit's digits), nothing when zero.
fn write_fraction(out: &mut Vec<u8>, frac: i64, unit: Unit) -> std::io::Result<()> {
    use std::io::Write;
    if frac == 0 {
        return Ok(());
    }
    write!(out, ".{frac:0width$}", width = unit.digits())
}

/// A decimal's text from its unscaled value.
pub(crate) fn write_decimal(unscaled: i128, scale: i32, out: &mut Vec<u8>) {
    let digits = unscaled.unsigned_abs().to_string();
    place_point(unscaled < 0, &digits, scale, out);
}

/// A decimal's text from big-endian two's complement bytes of any length
/// (MySQL's DECIMAL(65) needs 28 bytes, more than an i128).
pub(crate) fn write_decimal_bytes(bytes: &[u8], scale: i32, out: &mut Vec<u8>) {
    if bytes.len() <= 16 {
        let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            0xFF
        } else {
            0
        };
        let mut buf = [fill; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        write_decimal(i128::from_be_bytes(buf), scale, out);
        return;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        // Two's complement: invert and add one.
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    // Repeated division by 10 of the big-endian magnitude.
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    let digits = String::from_utf8_lossy(&digits).into_owned();
    place_point(negative, &digits, scale, out);
}

fn place_point(negative: bool, digits: &str, scale: i32, out: &mut Vec<u8>) {
    if negative {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        out.extend(std::iter::repeat_n(b'0', scale.unsigned_abs() as usize));
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int.as_bytes());
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    }
}

/// A UUID's canonical text.
pub(crate) fn write_uuid(b: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        let _ = write!(out, "{byte:02x}");
    }
}

/// IEEE half precision → its shortest decimal text (via f32, exact).
pub(crate) fn write_f16(b: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    let bits = u16::from_le_bytes([
        b.first().copied().unwrap_or(0),
        b.get(1).copied().unwrap_or(0),
    ]);
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1F);
    let mant = f32::from(bits & 0x3FF);
    let v = match exp {
        0 => sign * mant * 2f32.powi(-24),
        31 if mant == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + mant / 1024.0) * 2f32.powi(e - 15),
    };
    let _ = write!(out, "{v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn decimals_from_integers_and_bytes() {
        assert_eq!(text(|o| write_decimal(-12345, 2, o)), "-123.45");
        assert_eq!(text(|o| write_decimal(5, 3, o)), "0.005");
        assert_eq!(text(|o| write_decimal(7, 0, o)), "7");
        assert_eq!(text(|o| write_decimal_bytes(&[0xFF, 0x85], 1, o)), "-12.3");
        // 2^128 in 20 bytes, beyond an i128.
        let mut bytes = vec![0u8; 20];
        bytes[3] = 1;
        assert_eq!(
            text(|o| write_decimal_bytes(&bytes, 6, o)),
            "340282366920938463463374607431768.211456"
        );
        let neg: Vec<u8> = {
            // -(2^128) in 20 bytes: invert 2^128 and add one.
            let mut n: Vec<u8> = bytes.iter().map(|b| !b).collect();
            for b in n.iter_mut().rev() {
                let (v, c) = b.overflowing_add(1);
                *b = v;
                if !c {
                    break;
                }
            }
            n
        };
        assert_eq!(
            text(|o| write_decimal_bytes(&neg, 0, o)),
            "-340282366920938463463374607431768211456"
        );
    }

    #[test]
    fn times_and_timestamps_keep_their_unit() {
        let utc = ShowTz::Utc;
        let ts = |unit, utc_flag, v| {
            text(|o| {
                write_int(
                    Mapping::Timestamp {
                        unit,
                        utc: utc_flag,
                    },
                    v,
                    64,
                    &utc,
                    o,
                )
            })
        };
        assert_eq!(
            ts(Unit::Millis, true, 1_700_000_000_123),
            "2023-11-14 22:13:20.123"
        );
        assert_eq!(ts(Unit::Micros, false, -1), "1969-12-31 23:59:59.999999");
        assert_eq!(
            ts(Unit::Nanos, true, 1_000_000_001),
            "1970-01-01 00:00:01.000000001"
        );
        let plus8 = ShowTz::parse("+08:00").expect("tz");
        let shown = text(|o| {
            write_int(
                Mapping::Timestamp {
                    unit: Unit::Micros,
                    utc: true,
                },
                0,
                64,
                &plus8,
                o,
            )
        });
        assert_eq!(shown, "1970-01-01 08:00:00");
        let local = text(|o| {
            write_int(
                Mapping::Timestamp {
                    unit: Unit::Micros,
                    utc: false,
                },
                0,
                64,
                &plus8,
                o,
            )
        });
        assert_eq!(local, "1970-01-01 00:00:00");
        assert_eq!(
            text(|o| write_int(Mapping::Time { unit: Unit::Millis }, 3_723_004, 32, &utc, o)),
            "01:02:03.004"
        );
        assert_eq!(
            text(|o| write_int(Mapping::Date, 19_000, 32, &utc, o)),
            "2022-01-08"
        );
        assert_eq!(
            text(|o| write_int(Mapping::Unsigned, -1, 32, &utc, o)),
            "4294967295"
        );
        assert_eq!(
            text(|o| write_int(Mapping::Unsigned, -1, 64, &utc, o)),
            "18446744073709551615"
        );
    }

    #[test]
    fn int96_is_julian_day_and_nanos() {
        // 2440589 = 1970-01-02; 1.5 s into the day.
        let nanos: u64 = 1_500_000_000;
        let words = [nanos as u32, (nanos >> 32) as u32, 2_440_589];
        assert_eq!(
            text(|o| write_int96(&words, &ShowTz::Utc, o)),
            "1970-01-02 00:00:01.500000000"
        );
    }

    #[test]
    fn uuid_and_half_floats() {
        let b: Vec<u8> = (0u8..16).collect();
        assert_eq!(
            text(|o| write_uuid(&b, o)),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(text(|o| write_f16(&[0x00, 0x3C], o)), "1");
        assert_eq!(text(|o| write_f16(&[0x00, 0xC1], o)), "-2.5");
    }
}
