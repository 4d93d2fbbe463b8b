//! Values while a generated column's expression is evaluated, and how
//! MySQL reads one kind of value as another (a string as a number, a
//! number as text).

use squall_codec::Datum;
use squall_common::schema::ColumnInfo;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum V {
    Null,
    Int(i128),
    /// A number with a fraction (DECIMAL, FLOAT/DOUBLE, `1.5`), as text.
    Dec(String),
    /// Text: strings, and what is read as text (ENUM/SET names, ...).
    Str(Vec<u8>),
    /// DATE/DATETIME/TIMESTAMP as `YYYY-MM-DD[ hh:mm:ss[.ffffff]]`:
    /// compared as a time, not as text.
    Time(String),
    Json(serde_json::Value),
}

impl V {
    pub(super) fn is_null(&self) -> bool {
        *self == V::Null
    }
}

/// The value of a column's datum.
pub(super) fn from_datum(col: &ColumnInfo, d: &Datum) -> Result<V, String> {
    Ok(match d {
        Datum::Null => V::Null,
        Datum::Int(v) => V::Int(i128::from(*v)),
        Datum::Uint(v) | Datum::Bit(v) => V::Int(i128::from(*v)),
        Datum::Bytes(b) => V::Str(b.clone()),
        Datum::Decimal(v) => V::Dec(v.to_string()),
        Datum::Float(f) => V::Dec(f.to_string()),
        Datum::Time(t) => V::Time(t.to_string()),
        Datum::Json(j) => V::Json(
            j.to_value()
                .map_err(|e| format!("column `{}`: {e}", col.name))?,
        ),
        other => {
            return Err(format!(
                "column `{}` holds {}, which Squall does not evaluate in generated columns",
                col.name,
                squall_codec::datum_codec::describe_datum(other)
            ))
        }
    })
}

/// An integer operand: integers, or text read as MySQL reads a number from
/// a string (leading digits; `'12abc'` is 12). A fraction is cut off.
pub(super) fn int(v: &V) -> Result<i128, String> {
    match v {
        V::Int(i) => Ok(*i),
        V::Str(_) | V::Dec(_) | V::Time(_) => {
            let t = text(v);
            let t = String::from_utf8_lossy(&t);
            let t = t.trim_start();
            let end = t
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(t.len(), |(i, _)| i);
            Ok(t[..end].parse().unwrap_or(0))
        }
        V::Json(_) => Err("a JSON value is not an integer here".into()),
        V::Null => Err("NULL is not a number".into()),
    }
}

/// A number as MySQL reads it for a comparison with a number: the longest
/// numeric prefix of text (`'1.5e2x'` is 150), 0 when there is none.
pub(super) fn real(v: &V) -> f64 {
    match v {
        V::Int(i) => *i as f64,
        V::Null => 0.0,
        _ => {
            let t = String::from_utf8_lossy(&text(v)).trim_start().to_string();
            (1..=t.len())
                .rev()
                .filter(|&n| t.is_char_boundary(n))
                .find_map(|n| t[..n].parse::<f64>().ok())
                .unwrap_or(0.0)
        }
    }
}

/// The value as text (`CONCAT`'s argument, a string function's input).
pub(super) fn text(v: &V) -> Vec<u8> {
    match v {
        V::Int(i) => i.to_string().into_bytes(),
        V::Dec(s) | V::Time(s) => s.clone().into_bytes(),
        V::Str(s) => s.clone(),
        V::Json(j) => super::json_fn::json_text(j).into_bytes(),
        V::Null => Vec::new(),
    }
}
