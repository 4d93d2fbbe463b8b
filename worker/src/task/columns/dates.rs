//! Date functions of generated columns: `YEAR`, `MONTH`, `DAY`/`DAYOFMONTH`,
//! `TO_DAYS`, `DATE`, `HOUR`, `MINUTE`, `SECOND`, `QUARTER`, `DAYOFWEEK`,
//! `WEEKDAY`, `DAYOFYEAR`, `DATEDIFF` and `DATE_FORMAT`, on DATE/DATETIME/
//! TIMESTAMP values or text in `YYYY-MM-DD[ hh:mm:ss[.ffffff]]` form, with
//! MySQL's day numbering (`calc_daynr`). A zero or unreadable date gives NULL
//! where MySQL's does (`TO_DAYS`, `DAYOFWEEK`, ...).

use super::value::{text, V};

/// The parts of a date/time value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) struct Parts {
    pub y: i64,
    pub m: i64,
    pub d: i64,
    pub h: i64,
    pub mi: i64,
    pub s: i64,
    pub micro: i64,
}

/// Reads `YYYY-MM-DD[ hh:mm:ss[.ffffff]]` (any non-digit separators).
pub(super) fn parts(v: &V) -> Option<Parts> {
    let t = String::from_utf8_lossy(&text(v)).trim().to_string();
    let (date_time, frac) = match t.rsplit_once('.') {
        Some((a, f)) if t.contains(':') && f.chars().all(|c| c.is_ascii_digit()) => (a, f),
        _ => (t.as_str(), ""),
    };
    let nums: Vec<i64> = date_time
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    if nums.len() < 3 {
        return None;
    }
    let at = |i: usize| nums.get(i).copied().unwrap_or(0);
    let micro = format!("{:0<6}", &frac[..frac.len().min(6)])
        .parse()
        .unwrap_or(0);
    Some(Parts {
        y: at(0),
        m: at(1),
        d: at(2),
        h: at(3),
        mi: at(4),
        s: at(5),
        micro,
    })
}

/// MySQL's `calc_daynr`: days since year 0 (what `TO_DAYS` returns).
pub(crate) fn day_number(y: i64, m: i64, d: i64) -> i64 {
    let mut delsum = 365 * y + 31 * (m - 1) + d;
    let mut y = y;
    if m <= 2 {
        y -= 1;
    } else {
        delsum -= (m * 4 + 23) / 10;
    }
    delsum + y / 4 - ((y / 100 + 1) * 3) / 4
}

fn is_zero_date(p: &Parts) -> bool {
    p.y == 0 || p.m == 0 || p.d == 0
}

/// 0 = Monday (`WEEKDAY`).
fn weekday(p: &Parts) -> i64 {
    (day_number(p.y, p.m, p.d) + 5).rem_euclid(7)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Whether `name` is a date function this module evaluates.
pub(super) fn is_date_function(name: &str) -> bool {
    matches!(
        name,
        "YEAR"
            | "MONTH"
            | "DAY"
            | "DAYOFMONTH"
            | "TO_DAYS"
            | "DATE"
            | "HOUR"
            | "MINUTE"
            | "SECOND"
            | "QUARTER"
            | "DAYOFWEEK"
            | "WEEKDAY"
            | "DAYOFYEAR"
            | "DATEDIFF"
            | "DATE_FORMAT"
    )
}

/// Evaluates a date function (arguments not NULL).
pub(super) fn call(name: &str, vals: &[V]) -> Result<V, String> {
    let want = if matches!(name, "DATEDIFF" | "DATE_FORMAT") {
        2
    } else {
        1
    };
    if vals.len() != want {
        return Err(format!(
            "{name} takes {want} argument(s), got {}",
            vals.len()
        ));
    }
    let Some(p) = parts(&vals[0]) else {
        return Ok(V::Null);
    };
    let int = |i: i64| Ok(V::Int(i128::from(i)));
    match name {
        "YEAR" => int(p.y),
        "MONTH" => int(p.m),
        "DAY" | "DAYOFMONTH" => int(p.d),
        "HOUR" => int(p.h),
        "MINUTE" => int(p.mi),
        "SECOND" => int(p.s),
        "QUARTER" => int((p.m + 2) / 3),
        "DATE" => Ok(V::Time(format!("{:04}-{:02}-{:02}", p.y, p.m, p.d))),
        _ if p.y == 0 && p.m == 0 => Ok(V::Null),
        "TO_DAYS" => int(day_number(p.y, p.m, p.d)),
        _ if is_zero_date(&p) => Ok(V::Null),
        "DAYOFWEEK" => int((weekday(&p) + 1) % 7 + 1),
        "WEEKDAY" => int(weekday(&p)),
        "DAYOFYEAR" => int(day_number(p.y, p.m, p.d) - day_number(p.y, 1, 1) + 1),
        "DATEDIFF" => match parts(&vals[1]) {
            Some(q) if !is_zero_date(&q) => {
                int(day_number(p.y, p.m, p.d) - day_number(q.y, q.m, q.d))
            }
            _ => Ok(V::Null),
        },
        "DATE_FORMAT" => format(&p, &String::from_utf8_lossy(&text(&vals[1]))).map(V::Str),
        _ => Err(format!("function {name} is not supported")),
    }
}

/// `DATE_FORMAT`'s specifiers, except the week ones (`%U %u %V %v %X %x`),
/// which are refused; an unknown specifier gives its character, as MySQL.
fn format(p: &Parts, f: &str) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    let mut chars = f.chars();
    let hour12 = if p.h % 12 == 0 { 12 } else { p.h % 12 };
    let month = |full: bool| {
        let name = MONTHS
            .get((p.m - 1).clamp(0, 11) as usize)
            .copied()
            .unwrap_or("");
        if full {
            name.to_string()
        } else {
            name.chars().take(3).collect()
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else { break };
        let piece = match spec {
            'Y' => format!("{:04}", p.y),
            'y' => format!("{:02}", p.y % 100),
            'm' => format!("{:02}", p.m),
            'c' => p.m.to_string(),
            'M' => month(true),
            'b' => month(false),
            'd' => format!("{:02}", p.d),
            'e' => p.d.to_string(),
            'D' => {
                let suffix = match (p.d % 10, p.d % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                format!("{}{suffix}", p.d)
            }
            'j' => format!(
                "{:03}",
                day_number(p.y, p.m, p.d) - day_number(p.y, 1, 1) + 1
            ),
            'H' => format!("{:02}", p.h),
            'k' => p.h.to_string(),
            'h' | 'I' => format!("{hour12:02}"),
            'l' => hour12.to_string(),
            'i' => format!("{:02}", p.mi),
            's' | 'S' => format!("{:02}", p.s),
            'f' => format!("{:06}", p.micro),
            'p' => if p.h < 12 { "AM" } else { "PM" }.to_string(),
            'r' => format!(
                "{hour12:02}:{:02}:{:02} {}",
                p.mi,
                p.s,
                if p.h < 12 { "AM" } else { "PM" }
            ),
            'T' => format!("{:02}:{:02}:{:02}", p.h, p.mi, p.s),
            'W' => DAYS[weekday(p) as usize].to_string(),
            'a' => DAYS[weekday(p) as usize][..3].to_string(),
            'w' => ((weekday(p) + 1) % 7).to_string(),
            'U' | 'u' | 'V' | 'v' | 'X' | 'x' => {
                return Err(format!(
                    "DATE_FORMAT specifier %{spec} (week numbers) is not supported by Squall"
                ))
            }
            other => other.to_string(),
        };
        out.push_str(&piece);
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> V {
        V::Time(s.to_string())
    }

    fn run(name: &str, args: &[V]) -> V {
        call(name, args).expect("evaluates")
    }

    #[test]
    fn date_parts_and_day_numbers_follow_mysql() {
        let d = t("2024-02-29 13:05:09.250000");
        assert_eq!(run("YEAR", std::slice::from_ref(&d)), V::Int(2024));
        assert_eq!(run("HOUR", std::slice::from_ref(&d)), V::Int(13));
        assert_eq!(run("QUARTER", std::slice::from_ref(&d)), V::Int(1));
        assert_eq!(run("DATE", std::slice::from_ref(&d)), t("2024-02-29"));
        // MySQL: TO_DAYS('2024-02-29') = 739310; 2024-02-29 is a Thursday.
        assert_eq!(run("TO_DAYS", std::slice::from_ref(&d)), V::Int(739_310));
        assert_eq!(run("DAYOFWEEK", std::slice::from_ref(&d)), V::Int(5));
        assert_eq!(run("WEEKDAY", std::slice::from_ref(&d)), V::Int(3));
        assert_eq!(run("DAYOFYEAR", std::slice::from_ref(&d)), V::Int(60));
        assert_eq!(run("DATEDIFF", &[d.clone(), t("2023-12-31")]), V::Int(60));
        assert_eq!(run("TO_DAYS", &[t("0000-00-00")]), V::Null);
        assert_eq!(run("DAYOFWEEK", &[t("2024-00-10")]), V::Null);
        assert_eq!(run("YEAR", &[V::Str(b"not a date".to_vec())]), V::Null);
    }

    #[test]
    fn date_format_specifiers() {
        let d = t("2024-02-03 00:07:09.000120");
        let f = |fmt: &str| run("DATE_FORMAT", &[d.clone(), V::Str(fmt.as_bytes().to_vec())]);
        assert_eq!(f("%Y-%m"), V::Str(b"2024-02".to_vec()));
        assert_eq!(
            f("%D %M %y, %W %a %b %e %c %j"),
            V::Str(b"3rd February 24, Saturday Sat Feb 3 2 034".to_vec())
        );
        assert_eq!(
            f("%h:%i:%s %p %k %f %%"),
            V::Str(b"12:07:09 AM 0 000120 %".to_vec())
        );
        assert!(call("DATE_FORMAT", &[d, V::Str(b"%U".to_vec())]).is_err());
    }
}
