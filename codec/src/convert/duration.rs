//! TIME from text: `[-][D ]HH:MM[:SS][.f]` or `[-]HHMMSS[.f]`, clipped to
//! ±838:59:59.

use super::ctx::Ctx;
use super::error::{shown, ConvertError, Problem};
use crate::datum::Datum;
use crate::time::{Duration, MAX_DURATION_SECS, NANOS_PER_SEC};

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 12 {
        return None;
    }
    s.parse().ok()
}

/// Returns (seconds, microseconds, round-up-7th-digit) without sign.
fn parse_parts(s: &str) -> Option<(i64, u32, bool)> {
    let (main, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut micro = 0u32;
    for i in 0..6 {
        micro = micro * 10 + frac.as_bytes().get(i).map_or(0, |&b| u32::from(b - b'0'));
    }
    let round = frac.as_bytes().get(6).is_some_and(|&b| b >= b'5');
    let secs = if main.contains(':') {
        let (days, hms) = match main.split_once(' ') {
            Some((d, rest)) => (digits(d)?, rest.trim_start()),
            None => (0, main),
        };
        let parts: Vec<&str> = hms.split(':').collect();
        let (h, m, sec) = match parts.as_slice() {
            [h, m] => (digits(h)?, digits(m)?, 0),
            [h, m, s] => (digits(h)?, digits(m)?, digits(s)?),
            _ => return None,
        };
        if m > 59 || sec > 59 {
            return None;
        }
        (days * 24 + h) * 3600 + m * 60 + sec
    } else {
        let n = digits(main)?;
        let (h, m, sec) = (n / 10000, n / 100 % 100, n % 100);
        if m > 59 || sec > 59 {
            return None;
        }
        h * 3600 + m * 60 + sec
    };
    Some((secs, micro, round))
}

pub(crate) fn convert_duration(cx: &mut Ctx<'_>, raw: &[u8]) -> Result<Datum, ConvertError> {
    let fsp = cx.col.field_type.decimal.clamp(0, 6) as u8;
    let zero = Datum::Duration(Duration { nanos: 0, fsp });
    let text = String::from_utf8_lossy(raw.trim_ascii()).into_owned();
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let Some((secs, micro, round)) = parse_parts(body) else {
        return cx.adjust(
            Problem::Incorrect {
                ty: "time",
                value: shown(raw),
            },
            zero,
        );
    };
    let unit = 10u32.pow(6 - u32::from(fsp));
    let micro = (micro + u32::from(round) + unit / 2) / unit * unit;
    let mut nanos = secs
        .saturating_mul(NANOS_PER_SEC)
        .saturating_add(i64::from(micro) * 1000);
    let max = MAX_DURATION_SECS * NANOS_PER_SEC;
    let clipped = nanos > max;
    if clipped {
        nanos = max;
    }
    if neg {
        nanos = -nanos;
    }
    let d = Datum::Duration(Duration { nanos, fsp });
    if clipped {
        return cx.adjust(Problem::OutOfRange { value: shown(raw) }, d);
    }
    Ok(d)
}
