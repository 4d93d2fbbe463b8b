//! Comparisons in generated columns (`= <> < <= > >= <=>`), as MySQL
//! compares: NULL when a side is NULL (`<=>` excepted), integers as
//! integers, a time with a time (text read as a time), text with text
//! (bytewise, trailing spaces ignored as under the PAD SPACE `_bin`
//! collations), and anything else as numbers (double). The result is 1 or 0.

use std::cmp::Ordering;

use super::dates::parts;
use super::value::{real, V};

pub(super) fn compare(op: &str, l: &V, r: &V) -> Result<V, String> {
    if op == "<=>" {
        match (l.is_null(), r.is_null()) {
            (true, true) => return Ok(V::Int(1)),
            (true, false) | (false, true) => return Ok(V::Int(0)),
            _ => {}
        }
    } else if l.is_null() || r.is_null() {
        return Ok(V::Null);
    }
    let ord = order(l, r)?;
    let yes = match op {
        "=" | "<=>" => ord == Ordering::Equal,
        "<>" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">" => ord == Ordering::Greater,
        ">=" => ord != Ordering::Less,
        _ => return Err(format!("operator `{op}` is not supported")),
    };
    Ok(V::Int(i128::from(yes)))
}

fn order(l: &V, r: &V) -> Result<Ordering, String> {
    Ok(match (l, r) {
        (V::Json(_), _) | (_, V::Json(_)) => {
            return Err("comparing JSON values is not supported by Squall".into())
        }
        (V::Int(a), V::Int(b)) => a.cmp(b),
        (V::Time(_), V::Time(_) | V::Str(_)) | (V::Str(_), V::Time(_)) => {
            match (parts(l), parts(r)) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => text_order(l, r),
            }
        }
        (V::Str(_), V::Str(_)) => text_order(l, r),
        _ => real(l).partial_cmp(&real(r)).unwrap_or(Ordering::Equal),
    })
}

fn text_order(l: &V, r: &V) -> Ordering {
    let trim = |v: &V| {
        let mut t = super::value::text(v);
        while t.last() == Some(&b' ') {
            t.pop();
        }
        t
    };
    trim(l).cmp(&trim(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> V {
        V::Str(t.as_bytes().to_vec())
    }

    #[test]
    fn comparisons_follow_mysql() {
        let c = |op: &str, l: V, r: V| compare(op, &l, &r).expect("compares");
        assert_eq!(c("<", V::Int(2), V::Int(10)), V::Int(1));
        // Text against a number compares as numbers: '10' > 9, '1.5x' = 1.5.
        assert_eq!(c(">", s("10"), V::Int(9)), V::Int(1));
        assert_eq!(c("=", s("1.5x"), V::Dec("1.50".into())), V::Int(1));
        // Text with text: bytewise, trailing spaces ignored.
        assert_eq!(c("=", s("ab  "), s("ab")), V::Int(1));
        assert_eq!(c("<", s("B"), s("a")), V::Int(1));
        // A time against text read as a time.
        assert_eq!(
            c("=", V::Time("2024-01-02 00:00:00".into()), s("2024-01-02")),
            V::Int(1)
        );
        assert_eq!(
            c(
                ">=",
                V::Time("2024-01-02 10:00:00".into()),
                s("2024-01-02 09:59:59")
            ),
            V::Int(1)
        );
        // NULL propagates, except through <=>.
        assert_eq!(c("=", V::Null, V::Int(1)), V::Null);
        assert_eq!(c("<=>", V::Null, V::Null), V::Int(1));
        assert_eq!(c("<=>", V::Null, V::Int(1)), V::Int(0));
        assert_eq!(c("<>", V::Int(1), V::Int(1)), V::Int(0));
        assert!(compare("=", &V::Json(serde_json::json!(1)), &V::Int(1)).is_err());
    }
}
