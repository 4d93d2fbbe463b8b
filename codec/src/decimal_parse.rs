//! Text → [`Decimal`] with MySQL's `string2decimal` rules.

use crate::decimal::{Decimal, DecimalError, ParsedDecimal, MAX_PRECISION};

/// Exponents beyond this cannot produce a value any DECIMAL column holds.
const MAX_EXPONENT: i64 = 2 * MAX_PRECISION as i64 + 30;

pub(crate) fn parse(text: &str) -> Result<ParsedDecimal, DecimalError> {
    let s = text.trim_start_matches([' ', '\t', '\n', '\r']).as_bytes();
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let int: Vec<u8> = s[int_start..i].iter().map(|b| b - b'0').collect();
    let mut frac = Vec::new();
    if i < s.len() && s[i] == b'.' {
        i += 1;
        let fs = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        frac = s[fs..i].iter().map(|b| b - b'0').collect();
    }
    if int.is_empty() && frac.is_empty() {
        return Err(DecimalError::BadNumber);
    }
    let (exp, after_exp) = parse_exponent(s, i)?;
    let rest = &s[after_exp..];
    let trailing_garbage = !rest
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    let value = shift(negative, int, frac, exp)?;
    Ok(ParsedDecimal {
        value,
        trailing_garbage,
    })
}

/// Reads `e[+-]digits` at `i`; an `e` not followed by digits is not part of the number.
fn parse_exponent(s: &[u8], i: usize) -> Result<(i64, usize), DecimalError> {
    if i >= s.len() || !matches!(s[i], b'e' | b'E') {
        return Ok((0, i));
    }
    let mut j = i + 1;
    let neg = match s.get(j) {
        Some(b'-') => {
            j += 1;
            true
        }
        Some(b'+') => {
            j += 1;
            false
        }
        _ => false,
    };
    let start = j;
    let mut e: i64 = 0;
    while j < s.len() && s[j].is_ascii_digit() {
        e = e.saturating_mul(10).saturating_add(i64::from(s[j] - b'0'));
        j += 1;
    }
    if j == start {
        return Ok((0, i));
    }
    Ok((if neg { -e } else { e }, j))
}

/// Moves the decimal point `exp` places to the right.
fn shift(
    negative: bool,
    mut int: Vec<u8>,
    mut frac: Vec<u8>,
    exp: i64,
) -> Result<Decimal, DecimalError> {
    if exp > MAX_EXPONENT {
        let all_zero = int.iter().chain(frac.iter()).all(|&d| d == 0);
        return if all_zero {
            Ok(Decimal::default())
        } else {
            Err(DecimalError::Overflow)
        };
    }
    if exp < -MAX_EXPONENT {
        return Ok(Decimal::default());
    }
    if exp > 0 {
        let n = exp as usize;
        frac.resize(frac.len().max(n), 0);
        let moved: Vec<u8> = frac.drain(..n).collect();
        int.extend(moved);
    } else if exp < 0 {
        let n = (-exp) as usize;
        let mut padded = vec![0u8; n.saturating_sub(int.len())];
        padded.extend(int);
        let cut = padded.len() - n;
        let mut new_frac = padded.split_off(cut);
        new_frac.extend(frac);
        int = padded;
        frac = new_frac;
    }
    Ok(Decimal::from_digits(negative, &int, &frac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, bool) {
        let r = parse(s).expect("parses");
        (r.value.to_string(), r.trailing_garbage)
    }

    #[test]
    fn parses_mysql_forms() {
        assert_eq!(p("  12.50 "), ("12.50".into(), false));
        assert_eq!(p("-0.0"), ("0.0".into(), false));
        assert_eq!(p("+.5"), ("0.5".into(), false));
        assert_eq!(p("1.5e3"), ("1500".into(), false));
        assert_eq!(p("15e-3"), ("0.015".into(), false));
        assert_eq!(p("12abc"), ("12".into(), true));
        assert_eq!(p("3e"), ("3".into(), true));
        assert_eq!(parse("abc"), Err(DecimalError::BadNumber));
        assert_eq!(parse(""), Err(DecimalError::BadNumber));
        assert_eq!(parse("1e999999999999"), Err(DecimalError::Overflow));
    }
}
