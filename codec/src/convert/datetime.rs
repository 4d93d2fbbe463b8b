//! DATE / DATETIME / TIMESTAMP from text (`2024-01-02 03:04:05.123`,
//! `20240102030405`, `24-1-2`, ...), with MySQL's zero-date and invalid-date
//! rules and TIMESTAMP conversion from the session time zone to UTC.

use squall_common::schema::MysqlType;

use super::ctx::Ctx;
use super::error::{shown, ConvertError, Problem};
use super::tz::SessionTz;
use crate::datum::Datum;
use crate::datum_codec::time_kind;
use crate::time::{Time, TimeKind};

/// Broken-down fields as written, before validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fields {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micro: u32,
    /// Seven or more fraction digits: the 7th rounds.
    pub round_up_micro: bool,
}

fn two_digit_year(y: u32) -> u32 {
    if y < 70 {
        2000 + y
    } else {
        1900 + y
    }
}

fn num(s: &[u8]) -> u32 {
    s.iter()
        .take(9)
        .fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'))
}

/// Reads `.ffffff…` digits as microseconds.
fn fraction(d: &[u8]) -> (u32, bool) {
    let mut micro = 0u32;
    for i in 0..6 {
        micro = micro * 10 + d.get(i).map_or(0, |&b| u32::from(b - b'0'));
    }
    (micro, d.get(6).is_some_and(|&b| b >= b'5'))
}

/// Parses the text into fields; `None` if it is not a date/time at all.
pub(crate) fn parse_fields(s: &[u8]) -> Option<Fields> {
    let (main, frac) = match s.iter().position(|&b| b == b'.') {
        Some(p) if s[..p].iter().all(u8::is_ascii_digit) => (&s[..p], Some(&s[p + 1..])),
        _ => (s, None),
    };
    if !main.is_empty() && main.iter().all(u8::is_ascii_digit) {
        let mut f = parse_numeric(main)?;
        if let Some(fr) = frac {
            if !fr.iter().all(u8::is_ascii_digit) {
                return None;
            }
            (f.micro, f.round_up_micro) = fraction(fr);
        }
        return Some(f);
    }
    parse_delimited(s)
}

/// `YYYYMMDDHHMMSS`, `YYMMDDHHMMSS`, `YYYYMMDD`, `YYMMDD`.
fn parse_numeric(d: &[u8]) -> Option<Fields> {
    let mut f = Fields::default();
    let (ylen, rest) = match d.len() {
        14 | 8 => (4, &d[4..]),
        12 | 6 => (2, &d[2..]),
        _ => return None,
    };
    f.year = num(&d[..ylen]);
    if ylen == 2 {
        f.year = two_digit_year(f.year);
    }
    f.month = num(&rest[0..2]);
    f.day = num(&rest[2..4]);
    if rest.len() == 10 {
        f.hour = num(&rest[4..6]);
        f.minute = num(&rest[6..8]);
        f.second = num(&rest[8..10]);
    }
    Some(f)
}

/// `Y-M-D[ T]h:m:s[.f]` with any punctuation as delimiters.
fn parse_delimited(s: &[u8]) -> Option<Fields> {
    // Digit runs, each with the separator text that preceded it.
    let mut runs: Vec<(&[u8], &[u8])> = Vec::with_capacity(7);
    let mut i = 0;
    while i < s.len() {
        let sep_start = i;
        while i < s.len() && !s[i].is_ascii_digit() {
            let b = s[i];
            if !(b == b' ' || b == b'T' || b.is_ascii_punctuation()) {
                return None;
            }
            i += 1;
        }
        let sep = &s[sep_start..i];
        if i == s.len() {
            // Trailing delimiters ("2024-01-02 ") are not part of a value.
            return None;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        runs.push((&s[start..i], sep));
    }
    fields_of(&runs)
}

fn fields_of(runs: &[(&[u8], &[u8])]) -> Option<Fields> {
    if !matches!(runs.len(), 3 | 6 | 7) || !runs[0].1.is_empty() {
        return None;
    }
    let mut f = Fields {
        year: num(runs[0].0),
        month: num(runs[1].0),
        day: num(runs[2].0),
        ..Fields::default()
    };
    if runs[0].0.len() <= 2 {
        f.year = two_digit_year(f.year);
    }
    if runs.len() >= 6 {
        f.hour = num(runs[3].0);
        f.minute = num(runs[4].0);
        f.second = num(runs[5].0);
    }
    if runs.len() == 7 {
        if runs[6].1 != b"." {
            return None;
        }
        (f.micro, f.round_up_micro) = fraction(runs[6].0);
    }
    Some(f)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

pub(crate) fn convert_time(
    cx: &mut Ctx<'_>,
    raw: &[u8],
    tz: &SessionTz,
) -> Result<Datum, ConvertError> {
    let ft = &cx.col.field_type;
    let kind = time_kind(ft.tp);
    let fsp = if kind == TimeKind::Date {
        0
    } else {
        ft.decimal.clamp(0, 6) as u8
    };
    let zero = Datum::Time(Time::zero(kind, fsp));
    let ty = if ft.tp == MysqlType::Timestamp {
        "timestamp"
    } else if kind == TimeKind::Date {
        "date"
    } else {
        "datetime"
    };
    let incorrect = || Problem::Incorrect {
        ty,
        value: shown(raw),
    };
    let Some(mut f) = parse_fields(raw.trim_ascii()) else {
        return cx.adjust(incorrect(), zero);
    };
    if kind == TimeKind::Date {
        (f.hour, f.minute, f.second, f.micro, f.round_up_micro) = (0, 0, 0, 0, false);
    }
    if f.year > 9999 || f.month > 12 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 59
    {
        return cx.adjust(incorrect(), zero);
    }
    let all_zero = f.year == 0
        && f.month == 0
        && f.day == 0
        && f.hour == 0
        && f.minute == 0
        && f.second == 0
        && f.micro == 0;
    if all_zero {
        if cx.mode.no_zero_date {
            return cx.adjust(Problem::ZeroDate { value: shown(raw) }, zero);
        }
        return Ok(zero);
    }
    let zero_in_date = f.month == 0 || f.day == 0;
    if zero_in_date {
        if cx.mode.no_zero_in_date || kind == TimeKind::Timestamp {
            return cx.adjust(incorrect(), zero);
        }
        return Ok(Datum::Time(to_time(&f, kind, fsp)));
    }
    let max_day = if cx.mode.allow_invalid_dates {
        31
    } else {
        days_in_month(f.year, f.month)
    };
    if f.day > max_day {
        return cx.adjust(incorrect(), zero);
    }
    let Some(t) = round_to_fsp(&f, kind, fsp) else {
        return cx.adjust(incorrect(), zero);
    };
    if kind != TimeKind::Timestamp {
        return Ok(Datum::Time(t));
    }
    let Some(local) = t.to_naive() else {
        return cx.adjust(incorrect(), zero);
    };
    let utc = Time::from_naive(tz.to_utc(local), kind, fsp);
    if !timestamp_in_range(&utc) {
        return cx.adjust(incorrect(), zero);
    }
    Ok(Datum::Time(utc))
}

fn to_time(f: &Fields, kind: TimeKind, fsp: u8) -> Time {
    Time {
        year: f.year as u16,
        month: f.month as u8,
        day: f.day as u8,
        hour: f.hour as u8,
        minute: f.minute as u8,
        second: f.second as u8,
        micro: f.micro,
        kind,
        fsp,
    }
}

/// Rounds the fraction half up to `fsp` digits, carrying into the seconds.
fn round_to_fsp(f: &Fields, kind: TimeKind, fsp: u8) -> Option<Time> {
    let unit = 10u32.pow(6 - u32::from(fsp));
    let mut micro = f.micro + u32::from(f.round_up_micro);
    micro = (micro + unit / 2) / unit * unit;
    let mut t = to_time(f, kind, fsp);
    if micro < 1_000_000 {
        t.micro = micro;
        return Some(t);
    }
    t.micro = 0;
    let next = t.to_naive()? + chrono::Duration::seconds(1);
    Some(Time::from_naive(next, kind, fsp))
}

/// `1970-01-01 00:00:01` .. `2038-01-19 03:14:07.999999` UTC.
fn timestamp_in_range(t: &Time) -> bool {
    let lo = (1970, 1, 1, 0, 0, 1);
    let hi = (2038, 1, 19, 3, 14, 7);
    let v = (t.year, t.month, t.day, t.hour, t.minute, t.second);
    v >= lo && v <= hi
}
