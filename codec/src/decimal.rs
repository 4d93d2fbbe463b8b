//! MySQL DECIMAL: the value type, parsing with MySQL rounding, and the
//! `decimal2bin` binary form TiDB stores (`WriteBin(precision, frac)`).

use std::cmp::Ordering;
use std::fmt;

use crate::error::{take, CodecError};

/// Most digits a DECIMAL column can hold, and most fraction digits.
pub const MAX_PRECISION: usize = 65;
pub const MAX_FRAC: usize = 30;
const DIGITS_PER_WORD: usize = 9;
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// An exact decimal number: sign, integer digits (no leading zeros) and
/// fraction digits (their count is the scale, trailing zeros kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Decimal {
    negative: bool,
    int_digits: Vec<u8>,
    frac_digits: Vec<u8>,
}

/// Why a text could not be read as a decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("not a number")]
    BadNumber,
    #[error("value out of range")]
    Overflow,
}

/// A parsed decimal, and whether text after the number was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDecimal {
    pub value: Decimal,
    pub trailing_garbage: bool,
}

impl Decimal {
    /// Builds from digit values (0..=9); leading integer zeros are dropped.
    pub fn from_digits(negative: bool, int_digits: &[u8], frac_digits: &[u8]) -> Self {
        let first = int_digits
            .iter()
            .position(|&d| d != 0)
            .unwrap_or(int_digits.len());
        let mut d = Self {
            negative,
            int_digits: int_digits[first..].to_vec(),
            frac_digits: frac_digits.to_vec(),
        };
        d.normalize_zero();
        d
    }

    pub fn from_i64(v: i64) -> Self {
        let digits: Vec<u8> = v
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        Self::from_digits(v < 0, &digits, &[])
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    pub fn is_zero(&self) -> bool {
        self.int_digits.is_empty() && self.frac_digits.iter().all(|&d| d == 0)
    }

    /// Number of integer digits (0 for |x| < 1).
    pub fn int_len(&self) -> usize {
        self.int_digits.len()
    }

    /// Number of fraction digits (the scale).
    pub fn frac_len(&self) -> usize {
        self.frac_digits.len()
    }

    /// TiDB `PrecisionAndFrac`: the shape the value has by itself.
    pub fn natural_shape(&self) -> (u8, u8) {
        let frac = self.frac_len().min(MAX_FRAC);
        let prec = (self.int_len() + frac).max(1);
        (prec.min(255) as u8, frac as u8)
    }

    fn normalize_zero(&mut self) {
        if self.is_zero() {
            self.negative = false;
        }
    }

    /// MySQL `decimal_round(.., HALF_UP)` to exactly `frac` fraction digits
    /// (pads with zeros when the value has fewer).
    pub fn round_to(&self, frac: usize) -> Decimal {
        let mut out = self.clone();
        if out.frac_digits.len() <= frac {
            out.frac_digits.resize(frac, 0);
            return out;
        }
        let round_up = out.frac_digits[frac] >= 5;
        out.frac_digits.truncate(frac);
        if round_up {
            out.increment_last_digit();
        }
        out.normalize_zero();
        out
    }

    /// Adds one unit in the last place to the magnitude.
    fn increment_last_digit(&mut self) {
        for d in self.frac_digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        for d in self.int_digits.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        self.int_digits.insert(0, 1);
    }

    /// The largest magnitude a DECIMAL(prec, frac) holds, with the given sign
    /// (TiDB `NewMaxOrMinDec`), e.g. 999.99 for (5, 2).
    pub fn max_for(negative: bool, prec: usize, frac: usize) -> Decimal {
        let int = vec![9u8; prec.saturating_sub(frac)];
        Decimal::from_digits(negative, &int, &vec![9u8; frac])
    }

    /// Integer value, rounded half away from zero; `None` when out of i64 range.
    pub fn to_i64_rounded(&self) -> Option<i64> {
        let r = self.round_to(0);
        let mut v: i128 = 0;
        for &d in &r.int_digits {
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
            if v > i128::from(u64::MAX) + 1 {
                return None;
            }
        }
        i64::try_from(if r.negative { -v } else { v }).ok()
    }

    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    /// Reads a decimal the way MySQL's `string2decimal` does: optional
    /// spaces and sign, digits, optional fraction and exponent. Text after a
    /// valid prefix is reported as `trailing_garbage` (MySQL: truncated).
    pub fn parse(text: &str) -> Result<ParsedDecimal, DecimalError> {
        super::decimal_parse::parse(text)
    }

    /// `WriteBin(prec, frac)`: MySQL's `decimal2bin`. The value must already
    /// be rounded to at most `frac` digits; integer digits beyond `prec - frac`
    /// are an overflow.
    pub fn write_bin(
        &self,
        buf: &mut Vec<u8>,
        prec: usize,
        frac: usize,
    ) -> Result<(), DecimalError> {
        if frac > prec || prec > MAX_PRECISION || frac > MAX_FRAC {
            return Err(DecimalError::Overflow);
        }
        let digits_int = prec - frac;
        if self.int_len() > digits_int {
            return Err(DecimalError::Overflow);
        }
        let start = buf.len();
        let mut int = vec![0u8; digits_int - self.int_len()];
        int.extend_from_slice(&self.int_digits);
        let lead = digits_int % DIGITS_PER_WORD;
        write_group(buf, &int[..lead]);
        for word in int[lead..].chunks(DIGITS_PER_WORD) {
            write_group(buf, word);
        }
        let mut fr: Vec<u8> = self.frac_digits.iter().copied().take(frac).collect();
        fr.resize(frac, 0);
        for word in fr.chunks(DIGITS_PER_WORD) {
            write_group(buf, word);
        }
        let mask = if self.negative { 0xFF } else { 0x00 };
        for b in &mut buf[start..] {
            *b ^= mask;
        }
        buf[start] ^= 0x80;
        Ok(())
    }

    /// Reads `bin_size(prec, frac)` bytes written by [`Decimal::write_bin`].
    pub fn read_bin(buf: &mut &[u8], prec: usize, frac: usize) -> Result<Decimal, CodecError> {
        if frac > prec || prec > MAX_PRECISION || frac > MAX_FRAC || prec == 0 {
            return Err(CodecError::invalid(
                "decimal",
                format!("bad shape ({prec}, {frac})"),
            ));
        }
        let mut raw = take(buf, bin_size(prec, frac), "decimal binary")?.to_vec();
        // prec >= 1, so the binary form has at least one byte.
        let Some(first) = raw.first_mut() else {
            return Err(CodecError::invalid("decimal", "empty binary form"));
        };
        *first ^= 0x80;
        let negative = *first & 0x80 != 0;
        if negative {
            raw.iter_mut().for_each(|b| *b = !*b);
        }
        let digits_int = prec - frac;
        let mut pos = 0;
        let mut int = Vec::with_capacity(digits_int);
        let lead = digits_int % DIGITS_PER_WORD;
        read_group(&raw, &mut pos, lead, &mut int)?;
        for _ in 0..digits_int / DIGITS_PER_WORD {
            read_group(&raw, &mut pos, DIGITS_PER_WORD, &mut int)?;
        }
        let mut fr = Vec::with_capacity(frac);
        for _ in 0..frac / DIGITS_PER_WORD {
            read_group(&raw, &mut pos, DIGITS_PER_WORD, &mut fr)?;
        }
        read_group(&raw, &mut pos, frac % DIGITS_PER_WORD, &mut fr)?;
        Ok(Decimal::from_digits(negative, &int, &fr))
    }
}

/// `DecimalBinSize(prec, frac)`.
pub fn bin_size(prec: usize, frac: usize) -> usize {
    let int = prec.saturating_sub(frac);
    (int / DIGITS_PER_WORD) * 4
        + DIG2BYTES[int % DIGITS_PER_WORD]
        + (frac / DIGITS_PER_WORD) * 4
        + DIG2BYTES[frac % DIGITS_PER_WORD]
}

/// Writes up to 9 digits as a big-endian number in `dig2bytes[len]` bytes.
fn write_group(buf: &mut Vec<u8>, digits: &[u8]) {
    let n = DIG2BYTES[digits.len()];
    let v = digits.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d));
    buf.extend_from_slice(&v.to_be_bytes()[4 - n..]);
}

fn read_group(
    raw: &[u8],
    pos: &mut usize,
    ndigits: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let n = DIG2BYTES[ndigits];
    // `read_bin` took exactly `bin_size` bytes, the sum of the group sizes.
    let group = raw.get(*pos..*pos + n).ok_or(CodecError::Truncated {
        what: "decimal digit group",
        need: *pos + n,
        have: raw.len(),
    })?;
    let v = group.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    *pos += n;
    if ndigits > 0 && u64::from(v) >= 10u64.pow(ndigits as u32) {
        return Err(CodecError::invalid(
            "decimal",
            format!("group value {v} has more than {ndigits} digits"),
        ));
    }
    for i in (0..ndigits).rev() {
        out.push(((v / 10u32.pow(i as u32)) % 10) as u8);
    }
    Ok(())
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.int_len() + self.frac_len() + 3);
        if self.negative {
            s.push('-');
        }
        if self.int_digits.is_empty() {
            s.push('0');
        }
        s.extend(self.int_digits.iter().map(|&d| char::from(b'0' + d)));
        if !self.frac_digits.is_empty() {
            s.push('.');
            s.extend(self.frac_digits.iter().map(|&d| char::from(b'0' + d)));
        }
        f.write_str(&s)
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            _ => {}
        }
        let mag = self
            .int_len()
            .cmp(&other.int_len())
            .then_with(|| self.int_digits.cmp(&other.int_digits))
            .then_with(|| {
                let n = self.frac_len().max(other.frac_len());
                let a = self.frac_digits.iter().chain(std::iter::repeat(&0)).take(n);
                let b = other
                    .frac_digits
                    .iter()
                    .chain(std::iter::repeat(&0))
                    .take(n);
                a.cmp(b)
            });
        if self.negative {
            mag.reverse()
        } else {
            mag
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(text: &str, prec: usize, frac: usize) -> Vec<u8> {
        let d = Decimal::parse(text).expect("parses").value.round_to(frac);
        let mut out = vec![prec as u8, frac as u8];
        d.write_bin(&mut out, prec, frac).expect("fits");
        let mut rest = &out[2..];
        let back = Decimal::read_bin(&mut rest, prec, frac).expect("reads back");
        assert_eq!(back, d, "round trip of {text}");
        assert!(rest.is_empty());
        out
    }

    #[test]
    fn golden_mydecimal_to_bin() {
        // Spec §2.6 (TiDB ToBin doc comment), without the [prec][frac] prefix.
        assert_eq!(
            bin("1234567890.1234", 14, 4)[2..],
            [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2]
        );
        assert_eq!(
            bin("-1234567890.1234", 14, 4)[2..],
            [0x7E, 0xF2, 0x04, 0xC7, 0x2D, 0xFB, 0x2D]
        );
    }

    #[test]
    fn golden_decimal_payloads() {
        // Spec §3.6.
        assert_eq!(
            bin("11.99", 10, 4),
            [0x0A, 0x04, 0x80, 0x00, 0x0B, 0x26, 0xAC]
        );
        assert_eq!(bin("11.99", 4, 2), [0x04, 0x02, 0x8B, 0x63]);
        assert_eq!(bin("1", 1, 0), [0x01, 0x00, 0x81]);
        assert_eq!(bin("-10.55", 4, 2), [0x04, 0x02, 0x75, 0xC8]);
        assert_eq!(bin("0", 10, 2), [0x0A, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(bin("-0", 10, 2), [0x0A, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(
            bin("123.45", 10, 3),
            [0x0A, 0x03, 0x80, 0x00, 0x00, 0x7B, 0x01, 0xC2]
        );
        assert_eq!(bin_size(14, 4), 7);
    }

    #[test]
    fn rounding_is_half_up_away_from_zero() {
        let r = |s: &str, f| {
            Decimal::parse(s)
                .expect("parses")
                .value
                .round_to(f)
                .to_string()
        };
        assert_eq!(r("1.005", 2), "1.01");
        assert_eq!(r("-1.005", 2), "-1.01");
        assert_eq!(r("99.9999", 3), "100.000");
        assert_eq!(r("-0.004", 2), "0.00");
        assert_eq!(r("7", 2), "7.00");
    }

    #[test]
    fn overflow_is_reported() {
        let d = Decimal::parse("1000").expect("parses").value;
        assert_eq!(
            d.write_bin(&mut Vec::new(), 5, 2),
            Err(DecimalError::Overflow)
        );
        assert_eq!(Decimal::max_for(true, 5, 2).to_string(), "-999.99");
    }

    #[test]
    fn ordering_matches_numbers() {
        let p = |s: &str| Decimal::parse(s).expect("parses").value;
        assert!(p("-2") < p("-1.5"));
        assert!(p("-0.1") < p("0"));
        assert!(p("0.10") == p("0.1").round_to(2));
        assert!(p("10") > p("9.999"));
    }
}
