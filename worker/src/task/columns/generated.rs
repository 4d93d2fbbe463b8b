//! Generated columns (`AS (expr) [STORED | VIRTUAL]`): their expressions,
//! parsed once per column list, evaluated per row with MySQL's semantics for
//! what Squall supports (integer arithmetic, `CONCAT`, `LOWER`/`UPPER`,
//! `SUBSTRING`, `LEFT`/`RIGHT`, `LENGTH`/`CHAR_LENGTH`, `IFNULL`/`COALESCE`,
//! `ABS`, `YEAR`/`MONTH`/`DAY`/`TO_DAYS`); the planner refuses any other
//! expression by name. The result is converted to the column's type with
//! the job's converter, as TiDB casts a generated value to its column.

use squall_codec::{Converter, Datum, ValueForm};
use squall_common::schema::{ColumnInfo, PartitionExpr as E, TableInfo};
use squall_source::schema_parse::parse_expression;

/// The parsed expression of every generated column, in column order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeneratedColumns {
    columns: Vec<(usize, E)>,
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Int(i128),
    /// Text: strings, and what is read as text (decimals, times).
    Str(Vec<u8>),
}

impl GeneratedColumns {
    pub fn new(table: &TableInfo) -> Result<Self, String> {
        let mut columns = Vec::new();
        for c in &table.columns {
            if let Some(text) = &c.generated {
                let e = parse_expression(text)
                    .map_err(|e| format!("generated column `{}` AS ({text}): {e}", c.name))?;
                columns.push((c.offset, e));
            }
        }
        Ok(Self { columns })
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Evaluates each generated column into `row[offset]`.
    pub fn fill(
        &self,
        table: &TableInfo,
        row: &mut [Datum],
        conv: &Converter,
    ) -> Result<(), String> {
        for (off, e) in &self.columns {
            let col = &table.columns[*off];
            let why = |reason: String| {
                format!(
                    "generated column `{}` AS ({}): {reason}",
                    col.name,
                    col.generated.as_deref().unwrap_or_default()
                )
            };
            let v = eval(e, table, row).map_err(why)?;
            row[*off] = to_column(col, v, conv).map_err(why)?;
        }
        Ok(())
    }
}

/// The column's datum for a value, through the converter (MySQL's cast).
fn to_column(col: &ColumnInfo, v: V, conv: &Converter) -> Result<Datum, String> {
    let mut warnings = Vec::new();
    let (raw, form) = match &v {
        V::Null => (None, ValueForm::Text),
        V::Int(i) => (Some(i.to_string().into_bytes()), ValueForm::Number),
        V::Str(s) => (Some(s.clone()), ValueForm::Text),
    };
    conv.convert_as(col, raw.as_deref(), form, &mut warnings)
        .map_err(|e| e.to_string())
}

fn eval(e: &E, table: &TableInfo, row: &[Datum]) -> Result<V, String> {
    Ok(match e {
        E::Null => V::Null,
        E::MaxValue => return Err("MAXVALUE is not a value".into()),
        E::Number(n) => match n.parse::<i128>() {
            Ok(i) => V::Int(i),
            Err(_) => V::Str(n.clone().into_bytes()),
        },
        E::Str(s) => V::Str(s.clone().into_bytes()),
        E::Column(name) => {
            let c = table
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` is not in the table"))?;
            from_datum(c, &row[c.offset])?
        }
        E::Neg(x) => match eval(x, table, row)? {
            V::Null => V::Null,
            v => V::Int(-int(&v)?),
        },
        E::Binary(op, l, r) => {
            let (l, r) = (eval(l, table, row)?, eval(r, table, row)?);
            if l == V::Null || r == V::Null {
                return Ok(V::Null);
            }
            let (a, b) = (int(&l)?, int(&r)?);
            match op.as_str() {
                "+" => V::Int(a + b),
                "-" => V::Int(a - b),
                "*" => V::Int(a.checked_mul(b).ok_or("integer overflow in `*`")?),
                "DIV" | "MOD" if b == 0 => V::Null,
                "DIV" => V::Int(a / b),
                "MOD" => V::Int(a % b),
                _ => return Err(format!("operator `{op}` is not supported")),
            }
        }
        E::Call(name, args) => {
            let vals = args
                .iter()
                .map(|a| eval(a, table, row))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, vals)?
        }
    })
}

fn from_datum(col: &ColumnInfo, d: &Datum) -> Result<V, String> {
    Ok(match d {
        Datum::Null => V::Null,
        Datum::Int(v) => V::Int(i128::from(*v)),
        Datum::Uint(v) => V::Int(i128::from(*v)),
        Datum::Bytes(b) => V::Str(b.clone()),
        Datum::Decimal(v) => V::Str(v.to_string().into_bytes()),
        Datum::Time(t) => V::Str(t.to_string().into_bytes()),
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
/// a string (leading digits; `'12abc'` is 12).
fn int(v: &V) -> Result<i128, String> {
    match v {
        V::Int(i) => Ok(*i),
        V::Str(s) => {
            let t = String::from_utf8_lossy(s);
            let t = t.trim_start();
            let end = t
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(t.len(), |(i, _)| i);
            Ok(t[..end].parse().unwrap_or(0))
        }
        V::Null => Err("NULL is not a number".into()),
    }
}

fn text(v: &V) -> Vec<u8> {
    match v {
        V::Int(i) => i.to_string().into_bytes(),
        V::Str(s) => s.clone(),
        V::Null => Vec::new(),
    }
}

fn call(name: &str, vals: Vec<V>) -> Result<V, String> {
    let arity = |lo: usize, hi: usize| {
        if vals.len() < lo || vals.len() > hi {
            Err(format!(
                "{name} takes {lo} to {hi} arguments, got {}",
                vals.len()
            ))
        } else {
            Ok(())
        }
    };
    match name {
        "IFNULL" => {
            arity(2, 2)?;
            return Ok(vals.into_iter().find(|v| *v != V::Null).unwrap_or(V::Null));
        }
        "COALESCE" => return Ok(vals.into_iter().find(|v| *v != V::Null).unwrap_or(V::Null)),
        "CONCAT" => {
            if vals.contains(&V::Null) {
                return Ok(V::Null);
            }
            return Ok(V::Str(vals.iter().flat_map(text).collect()));
        }
        _ => {}
    }
    if vals.contains(&V::Null) {
        return Ok(V::Null);
    }
    let s = |i: usize| String::from_utf8_lossy(&text(&vals[i])).into_owned();
    Ok(match name {
        "LOWER" | "LCASE" => {
            arity(1, 1)?;
            V::Str(s(0).to_lowercase().into_bytes())
        }
        "UPPER" | "UCASE" => {
            arity(1, 1)?;
            V::Str(s(0).to_uppercase().into_bytes())
        }
        "LENGTH" => {
            arity(1, 1)?;
            V::Int(text(&vals[0]).len() as i128)
        }
        "CHAR_LENGTH" => {
            arity(1, 1)?;
            V::Int(s(0).chars().count() as i128)
        }
        "ABS" => {
            arity(1, 1)?;
            V::Int(int(&vals[0])?.abs())
        }
        "SUBSTRING" | "SUBSTR" => {
            arity(2, 3)?;
            let chars: Vec<char> = s(0).chars().collect();
            let len = if vals.len() == 3 {
                Some(int(&vals[2])?)
            } else {
                None
            };
            V::Str(substring(&chars, int(&vals[1])?, len).into_bytes())
        }
        "LEFT" | "RIGHT" => {
            arity(2, 2)?;
            let chars: Vec<char> = s(0).chars().collect();
            let n = int(&vals[1])?.clamp(0, chars.len() as i128) as usize;
            let part = if name == "LEFT" {
                &chars[..n]
            } else {
                &chars[chars.len() - n..]
            };
            V::Str(part.iter().collect::<String>().into_bytes())
        }
        "YEAR" | "MONTH" | "DAY" | "DAYOFMONTH" | "TO_DAYS" => {
            arity(1, 1)?;
            let t = s(0);
            let mut parts = t
                .split(|c: char| !c.is_ascii_digit())
                .map(|p| p.parse::<i128>().unwrap_or(0));
            let (y, m, d) = (
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
                parts.next().unwrap_or(0),
            );
            match name {
                "YEAR" => V::Int(y),
                "MONTH" => V::Int(m),
                "DAY" | "DAYOFMONTH" => V::Int(d),
                _ if y == 0 && m == 0 => V::Null,
                _ => V::Int(day_number(y, m, d)),
            }
        }
        _ => return Err(format!("function {name} is not supported")),
    })
}

/// MySQL `SUBSTRING(s, pos[, len])` on characters: `pos` counts from 1, or
/// from the end when negative; 0 gives ''.
fn substring(chars: &[char], pos: i128, len: Option<i128>) -> String {
    let n = chars.len() as i128;
    let start = match pos {
        0 => return String::new(),
        p if p > 0 => p - 1,
        p => n + p,
    };
    if start < 0 || start >= n {
        return String::new();
    }
    let end = match len {
        Some(l) if l <= 0 => return String::new(),
        Some(l) => (start + l).min(n),
        None => n,
    };
    chars[start as usize..end as usize].iter().collect()
}

/// MySQL's `calc_daynr` (`TO_DAYS`).
fn day_number(y: i128, m: i128, d: i128) -> i128 {
    let mut delsum = 365 * y + 31 * (m - 1) + d;
    let mut y = y;
    if m <= 2 {
        y -= 1;
    } else {
        delsum -= (m * 4 + 23) / 10;
    }
    delsum + y / 4 - ((y / 100 + 1) * 3) / 4
}

#[cfg(test)]
mod tests {
    use squall_common::schema::DatabaseInfo;
    use squall_source::schema_parse::parse_create_table;

    use super::*;

    fn table(sql: &str) -> TableInfo {
        let db = DatabaseInfo {
            name: "d".into(),
            charset: None,
            collate: None,
        };
        parse_create_table(sql, "t-schema.sql", &db, "t")
            .expect("schema parses")
            .info
    }

    fn bytes(s: &str) -> Datum {
        Datum::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn computes_stored_and_virtual_columns_in_order() {
        let t = table(
            "CREATE TABLE t (a INT, s VARCHAR(20), \
             b BIGINT AS (a * 2 + 1) STORED, \
             u VARCHAR(20) AS (UPPER(CONCAT(s, '-', b))) VIRTUAL, \
             p VARCHAR(5) GENERATED ALWAYS AS (SUBSTRING(s, -3)), \
             y INT AS (YEAR('2024-05-06') + a DIV 2))",
        );
        assert!(t.columns[2].generated_stored && !t.columns[3].generated_stored);
        let g = GeneratedColumns::new(&t).expect("parsed");
        let conv = Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter");
        let mut row = vec![
            Datum::Int(5),
            bytes("hello"),
            Datum::Null,
            Datum::Null,
            Datum::Null,
            Datum::Null,
        ];
        g.fill(&t, &mut row, &conv).expect("evaluates");
        assert_eq!(row[2], Datum::Int(11));
        assert_eq!(row[3], bytes("HELLO-11"));
        assert_eq!(row[4], bytes("llo"));
        assert_eq!(row[5], Datum::Int(2026));
        // NULL propagates.
        let mut row = vec![
            Datum::Null,
            bytes("x"),
            Datum::Null,
            Datum::Null,
            Datum::Null,
            Datum::Null,
        ];
        g.fill(&t, &mut row, &conv).expect("evaluates");
        assert_eq!((&row[2], &row[3]), (&Datum::Null, &Datum::Null));
    }

    #[test]
    fn substring_follows_mysql() {
        let c: Vec<char> = "Quadratically".chars().collect();
        assert_eq!(substring(&c, 5, None), "ratically");
        assert_eq!(substring(&c, 5, Some(6)), "ratica");
        assert_eq!(substring(&c, -3, None), "lly");
        assert_eq!(substring(&c, 0, None), "");
        assert_eq!(substring(&c, 20, None), "");
    }
}
