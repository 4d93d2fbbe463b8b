//! The session time zone (`tidb.time-zone`): TIMESTAMP text is read in it
//! (the encoder) and instants stored as UTC are shown in it (Parquet
//! timestamps adjusted to UTC, INT96), so both agree on the instant.

use chrono::{FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};

/// A time zone name that is none of the forms `tidb.time-zone` takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time zone {0:?} is not known (tidb.time-zone takes SYSTEM, UTC, +08:00 or an IANA name)")]
pub struct UnknownTimeZone(pub String);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionTz {
    Utc,
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
    /// `SYSTEM`: the machine's zone.
    Local,
}

impl SessionTz {
    /// `SYSTEM` (or empty), `UTC`, an offset such as `+08:00`, or an IANA name.
    pub fn parse(s: &str) -> Result<Self, UnknownTimeZone> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("SYSTEM") || t.eq_ignore_ascii_case("local") {
            return Ok(Self::Local);
        }
        if t.eq_ignore_ascii_case("UTC") || t == "+00:00" || t.eq_ignore_ascii_case("Z") {
            return Ok(Self::Utc);
        }
        if let Some(off) = parse_offset(t) {
            return Ok(Self::Fixed(off));
        }
        t.parse::<chrono_tz::Tz>()
            .map(Self::Named)
            .map_err(|_| UnknownTimeZone(s.to_string()))
    }

    /// Local wall time → UTC. Ambiguous times take the earlier instant;
    /// times in a DST gap are moved forward by the gap, like Go's `time.Date`.
    pub fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self {
            Self::Utc => local,
            Self::Fixed(off) => local - off.fix(),
            Self::Named(tz) => resolve(tz, local),
            Self::Local => resolve(&chrono::Local, local),
        }
    }

    /// UTC → local wall time (`CURRENT_TIMESTAMP` defaults of DATETIME,
    /// instants stored as UTC).
    pub fn from_utc(&self, utc: NaiveDateTime) -> NaiveDateTime {
        match self {
            Self::Utc => utc,
            Self::Fixed(off) => utc + off.fix(),
            Self::Named(tz) => tz.from_utc_datetime(&utc).naive_local(),
            Self::Local => chrono::Local.from_utc_datetime(&utc).naive_local(),
        }
    }
}

fn resolve<Z: TimeZone>(tz: &Z, local: NaiveDateTime) -> NaiveDateTime {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc).naive_utc(),
        LocalResult::None => {
            let later = local + chrono::Duration::hours(1);
            match tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    t.with_timezone(&Utc).naive_utc()
                }
                LocalResult::None => local,
            }
        }
    }
}

/// `+08:00`, `-05:30`, `+8:00`; MySQL's range of hours and minutes.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, 0, 0))
            .expect("valid date")
    }

    #[test]
    fn zones_convert_to_utc() {
        assert_eq!(
            SessionTz::parse("+08:00")
                .expect("ok")
                .to_utc(at(2024, 1, 1, 8)),
            at(2024, 1, 1, 0)
        );
        assert_eq!(
            SessionTz::parse("Asia/Shanghai")
                .expect("ok")
                .to_utc(at(2024, 1, 1, 8)),
            at(2024, 1, 1, 0)
        );
        assert_eq!(
            SessionTz::parse("UTC")
                .expect("ok")
                .to_utc(at(2024, 1, 1, 8)),
            at(2024, 1, 1, 8)
        );
        // 02:30 does not exist on 2024-03-10 in New York; it moves to 03:30 EDT = 07:30 UTC.
        let ny = SessionTz::parse("America/New_York").expect("ok");
        assert_eq!(
            ny.to_utc(at(2024, 3, 10, 2) + chrono::Duration::minutes(30)),
            at(2024, 3, 10, 7) + chrono::Duration::minutes(30)
        );
        assert!(SessionTz::parse("Mars/Olympus").is_err());
        assert!(SessionTz::parse("+15:00").is_err());
    }

    #[test]
    fn shows_utc_in_the_session_zone() {
        let utc = at(2024, 1, 2, 3) + chrono::Duration::seconds(4 * 60 + 5);
        let tz = SessionTz::parse("+08:00").expect("offset");
        assert_eq!(tz.from_utc(utc).to_string(), "2024-01-02 11:04:05");
        let tz = SessionTz::parse("America/New_York").expect("named");
        assert_eq!(tz.from_utc(utc).to_string(), "2024-01-01 22:04:05");
    }
}
