//! MySQL DATE / DATETIME / TIMESTAMP values and TiDB's packed form
//! (`Time.ToPackedUint`). TIMESTAMP values are held in UTC.

use std::fmt;

/// Which of the three time types a [`Time`] belongs to (the packed form
/// does not store it; the reader takes it from the column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeKind {
    Date,
    Datetime,
    Timestamp,
}

/// A broken-down date and time with microseconds. `fsp` is the fractional
/// seconds precision used for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
    pub kind: TimeKind,
    pub fsp: u8,
}

impl Time {
    /// The zero date `0000-00-00 00:00:00`.
    pub fn zero(kind: TimeKind, fsp: u8) -> Self {
        Self {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            micro: 0,
            kind,
            fsp,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.to_packed() == 0
    }

    /// `ToPackedUint`: `((ymd << 17) | hms) << 24 | micro`.
    pub fn to_packed(&self) -> u64 {
        let ymd = ((u64::from(self.year) * 13 + u64::from(self.month)) << 5) | u64::from(self.day);
        let hms =
            (u64::from(self.hour) << 12) | (u64::from(self.minute) << 6) | u64::from(self.second);
        (((ymd << 17) | hms) << 24) | u64::from(self.micro)
    }

    /// Inverse of [`Time::to_packed`]; `kind` and `fsp` come from the column.
    pub fn from_packed(packed: u64, kind: TimeKind, fsp: u8) -> Self {
        let micro = (packed & 0xFF_FFFF) as u32;
        let ymdhms = packed >> 24;
        let ymd = ymdhms >> 17;
        let hms = ymdhms & 0x1_FFFF;
        let ym = ymd >> 5;
        Self {
            year: (ym / 13) as u16,
            month: (ym % 13) as u8,
            day: (ymd & 0x1F) as u8,
            hour: (hms >> 12) as u8,
            minute: ((hms >> 6) & 0x3F) as u8,
            second: (hms & 0x3F) as u8,
            micro,
            kind,
            fsp,
        }
    }

    pub fn to_naive(&self) -> Option<chrono::NaiveDateTime> {
        chrono::NaiveDate::from_ymd_opt(
            i32::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        )?
        .and_hms_micro_opt(
            u32::from(self.hour),
            u32::from(self.minute),
            u32::from(self.second),
            self.micro,
        )
    }

    pub fn from_naive(dt: chrono::NaiveDateTime, kind: TimeKind, fsp: u8) -> Self {
        use chrono::{Datelike, Timelike};
        Self {
            year: dt.year() as u16,
            month: dt.month() as u8,
            day: dt.day() as u8,
            hour: dt.hour() as u8,
            minute: dt.minute() as u8,
            second: dt.second() as u8,
            micro: dt.nanosecond() / 1000 % 1_000_000,
            kind,
            fsp,
        }
    }
}

impl fmt::Display for Time {
    /// MySQL text form: `2024-01-02`, `2024-01-02 03:04:05`, `... .123` (fsp digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if self.kind == TimeKind::Date {
            return Ok(());
        }
        write!(f, " {:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        write_fraction(f, self.micro, self.fsp)
    }
}

/// Writes `.ffffff` cut to `fsp` digits (nothing for fsp 0).
pub(crate) fn write_fraction(f: &mut fmt::Formatter<'_>, micro: u32, fsp: u8) -> fmt::Result {
    if fsp == 0 {
        return Ok(());
    }
    let digits = format!("{micro:06}");
    write!(f, ".{}", &digits[..usize::from(fsp.min(6))])
}

/// MySQL TIME: a signed duration in nanoseconds (TiDB `types.Duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration {
    pub nanos: i64,
    pub fsp: u8,
}

pub const NANOS_PER_SEC: i64 = 1_000_000_000;
/// `838:59:59`, the largest MySQL TIME magnitude.
pub const MAX_DURATION_SECS: i64 = 838 * 3600 + 59 * 60 + 59;

impl fmt::Display for Duration {
    /// `[-]HH:MM:SS[.ffffff]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let secs = abs / NANOS_PER_SEC as u64;
        let micro = ((abs % NANOS_PER_SEC as u64) / 1000) as u32;
        write!(
            f,
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        write_fraction(f, micro, self.fsp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> Time {
        Time {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            micro: us,
            kind: TimeKind::Datetime,
            fsp: 6,
        }
    }

    #[test]
    fn golden_packed_times() {
        // Spec §2.5 and §3.6.
        assert_eq!(
            dt(2011, 11, 10, 11, 11, 11, 999_999).to_packed(),
            1840446893366133311
        );
        assert_eq!(
            dt(2023, 1, 2, 3, 4, 5, 678_000).to_packed(),
            0x19AF0431050A5870
        );
        assert_eq!(dt(2018, 1, 19, 3, 14, 7, 0).to_packed(), 0x199EE63387000000);
        assert_eq!(dt(1000, 1, 1, 0, 0, 0, 0).to_packed(), 0x0CB2420000000000);
        assert_eq!(dt(2024, 2, 29, 0, 0, 0, 0).to_packed(), 0x19B2BA0000000000);
        assert_eq!(Time::zero(TimeKind::Date, 0).to_packed(), 0);
        let t = dt(2011, 11, 10, 11, 11, 11, 999_999);
        assert_eq!(Time::from_packed(t.to_packed(), TimeKind::Datetime, 6), t);
    }

    #[test]
    fn display_uses_fsp() {
        let mut t = dt(2024, 1, 2, 3, 4, 5, 123_000);
        t.fsp = 3;
        assert_eq!(t.to_string(), "2024-01-02 03:04:05.123");
        t.kind = TimeKind::Date;
        assert_eq!(t.to_string(), "2024-01-02");
        let d = Duration {
            nanos: -(4 * 3600 + 5) * NANOS_PER_SEC - 500_000_000,
            fsp: 1,
        };
        assert_eq!(d.to_string(), "-04:00:05.5");
    }
}
