//! Value shapes shared by the datasets, written straight into a buffer:
//! digit strings, dates and times, words.

use rand::rngs::StdRng;
use rand::Rng;

use super::writer::push_padded;

/// `n` random decimal digits; one 64-bit draw gives 18 (10^18 < 2^64, the
/// bias is below 10^-1 and of no concern for sample data).
pub fn push_digits(buf: &mut Vec<u8>, rng: &mut StdRng, n: usize) {
    let mut left = n;
    while left > 0 {
        let mut v: u64 = rng.gen::<u64>() % 1_000_000_000_000_000_000;
        let take = left.min(18);
        for _ in 0..take {
            buf.push(b'0' + (v % 10) as u8);
            v /= 10;
        }
        left -= take;
    }
}

/// `(year, month, day)` of `days` since 1970-01-01 (proleptic Gregorian;
/// Howard Hinnant's `civil_from_days`).
pub fn civil(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as u32;
    (y, m, d)
}

/// Days since 1970-01-01 of a date (inverse of [`civil`]).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD`.
pub fn push_date(buf: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil(days);
    push_padded(buf, y, 4);
    buf.push(b'-');
    push_padded(buf, m, 2);
    buf.push(b'-');
    push_padded(buf, d, 2);
}

/// `HH:MM:SS` of a second of the day.
pub fn push_time(buf: &mut Vec<u8>, secs: u32) {
    push_padded(buf, secs / 3600, 2);
    buf.push(b':');
    push_padded(buf, secs / 60 % 60, 2);
    buf.push(b':');
    push_padded(buf, secs % 60, 2);
}

/// `YYYY-MM-DD HH:MM:SS`.
pub fn push_datetime(buf: &mut Vec<u8>, days: i64, secs: u32) {
    push_date(buf, days);
    buf.push(b' ');
    push_time(buf, secs);
}

pub const WORDS: [&str; 16] = [
    "swift",
    "amber",
    "delta",
    "lumen",
    "orbit",
    "quill",
    "ridge",
    "sable",
    "tonic",
    "vivid",
    "carefully",
    "final",
    "ironic",
    "pending",
    "regular",
    "express",
];

/// `n` words separated by spaces.
pub fn push_words(buf: &mut Vec<u8>, rng: &mut StdRng, n: usize) {
    for i in 0..n {
        if i > 0 {
            buf.push(b' ');
        }
        buf.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 59, 365 * 30 + 7, 8035, 10_500] {
            let (y, m, d) = civil(days);
            assert_eq!(
                days_from_civil(i64::from(y), i64::from(m), i64::from(d)),
                days
            );
        }
        let mut b = Vec::new();
        push_datetime(&mut b, days_from_civil(1992, 2, 29), 3661);
        assert_eq!(b, b"1992-02-29 01:01:01");
    }
}
