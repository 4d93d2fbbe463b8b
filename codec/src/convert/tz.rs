//! The session time zone TIMESTAMP values are read in (`time_zone`).

use chrono::{FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};

use super::error::ConverterSetupError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionTz {
    Utc,
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
    /// `SYSTEM`: the machine's zone.
    Local,
}

impl SessionTz {
    pub fn parse(s: &str) -> Result<Self, ConverterSetupError> {
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
            .map_err(|_| ConverterSetupError::TimeZone(s.to_string()))
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

    /// UTC → local wall time (for `CURRENT_TIMESTAMP` defaults of DATETIME).
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

/// `+08:00`, `-05:30`, `+8:00`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
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
    }
}
