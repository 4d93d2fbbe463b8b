//! Generated columns (`AS (expr) [STORED | VIRTUAL]`, and the hidden ones
//! of expression indexes): their expressions, parsed once per column list,
//! evaluated per row with MySQL's semantics for what Squall supports
//! (integer arithmetic, comparisons (`compare.rs`), `CONCAT`,
//! `LOWER`/`UPPER`, `SUBSTRING`, `LEFT`/`RIGHT`, `LENGTH`/`CHAR_LENGTH`,
//! `IFNULL`/`COALESCE`, `ABS`, JSON extraction (`json_fn.rs`), date
//! functions (`dates.rs`)); the planner refuses any other function by name.
//! The result is converted to the column's type with the job's converter,
//! as TiDB casts a generated value to its column.

use squall_codec::{Converter, Datum, ValueForm};
use squall_common::schema::{ColumnInfo, PartitionExpr as E, TableInfo};
use squall_source::schema_parse::parse_expression;

use super::value::{from_datum, int, text, V};

/// The parsed expression of every generated column, in column order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GeneratedColumns {
    columns: Vec<(usize, E)>,
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
        V::Int(_) | V::Dec(_) => (Some(text(&v)), ValueForm::Number),
        _ => (Some(text(&v)), ValueForm::Text),
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
            Err(_) => V::Dec(n.clone()),
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
            V::Dec(d) => V::Dec(
                d.strip_prefix('-')
                    .map_or_else(|| format!("-{d}"), str::to_string),
            ),
            v => V::Int(-int(&v)?),
        },
        E::Binary(op, l, r) => {
            let (l, r) = (eval(l, table, row)?, eval(r, table, row)?);
            if matches!(op.as_str(), "=" | "<>" | "<" | "<=" | ">" | ">=" | "<=>") {
                return super::compare::compare(op, &l, &r);
            }
            if l == V::Null || r == V::Null {
                return Ok(V::Null);
            }
            if matches!(l, V::Dec(_)) || matches!(r, V::Dec(_)) {
                return Err(format!(
                    "`{op}` on a DECIMAL/FLOAT value cannot be evaluated by Squall (integer arithmetic only)"
                ));
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
        "JSON_EXTRACT" => return super::json_fn::extract(&vals),
        "JSON_UNQUOTE" => {
            arity(1, 1)?;
            return super::json_fn::unquote(&vals[0]);
        }
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
    if super::dates::is_date_function(name) {
        return super::dates::call(name, &vals);
    }
    let s = |i: usize| String::from_utf8_lossy(&text(&vals[i])).into_owned();
    Ok(match name {
        "CAST" => {
            arity(2, 2)?;
            cast(&vals[0], &s(1))?
        }
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
        _ => return Err(format!("function {name} is not supported")),
    })
}

/// `CAST(v AS type)` for the types the parser accepts: `SIGNED` and
/// `UNSIGNED` (text truncated to its leading integer, a fraction rounded
/// half away from zero, a negative value wrapped to 64 bits when unsigned),
/// `DATE` (NULL when unreadable), `CHAR[(n)]` (text, cut to `n` characters).
fn cast(v: &V, ty: &str) -> Result<V, String> {
    let signed = |v: &V| -> Result<i128, String> {
        Ok(match v {
            V::Dec(d) => d.parse::<f64>().map_or(0, |f| f.round() as i128),
            other => int(other)?,
        })
    };
    Ok(match ty {
        "SIGNED" => V::Int(i128::from(signed(v)? as i64)),
        "UNSIGNED" => V::Int(i128::from(signed(v)? as i64 as u64)),
        "DATE" => match super::dates::parts(v) {
            Some(p) => V::Time(format!("{:04}-{:02}-{:02}", p.y, p.m, p.d)),
            None => V::Null,
        },
        "CHAR" => V::Str(text(v)),
        t => {
            let n: usize = t
                .strip_prefix("CHAR(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("CAST to {t} is not supported"))?;
            let s = String::from_utf8_lossy(&text(v)).into_owned();
            V::Str(s.chars().take(n).collect::<String>().into_bytes())
        }
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
    fn json_comparison_and_date_columns() {
        let t = table(
            "CREATE TABLE t (j JSON, d DATETIME, n INT, \
             name VARCHAR(20) AS (j->>'$.name') STORED, \
             tag JSON AS (JSON_EXTRACT(j, '$.tags[last]')) VIRTUAL, \
             big TINYINT AS (n >= 10), \
             ym CHAR(7) AS (DATE_FORMAT(d, '%Y-%m')), \
             dow INT AS (DAYOFWEEK(d)), \
             same INT AS (n <=> NULL))",
        );
        let g = GeneratedColumns::new(&t).expect("parsed");
        let conv = Converter::new("STRICT_TRANS_TABLES", "UTC").expect("converter");
        let mut w = Vec::new();
        let j = conv
            .convert_as(
                &t.columns[0],
                Some(br#"{"name": "Ann", "tags": ["a", "b"]}"#),
                ValueForm::Text,
                &mut w,
            )
            .expect("json");
        let d = conv
            .convert_as(
                &t.columns[1],
                Some(b"2024-02-29 10:00:00"),
                ValueForm::Text,
                &mut w,
            )
            .expect("datetime");
        let mut row = vec![j, d, Datum::Int(12)];
        row.resize(t.columns.len(), Datum::Null);
        g.fill(&t, &mut row, &conv).expect("evaluates");
        assert_eq!(row[3], bytes("Ann"), "->> unquotes");
        let Datum::Json(tag) = &row[4] else {
            panic!("json: {:?}", row[4])
        };
        assert_eq!(tag.to_text().expect("text"), "\"b\"");
        assert_eq!(row[5], Datum::Int(1));
        assert_eq!(row[6], bytes("2024-02"));
        assert_eq!(row[7], Datum::Int(5));
        assert_eq!(row[8], Datum::Int(0));
        // NULL JSON: extraction is NULL; NULL n: the comparison is NULL.
        let mut row = vec![Datum::Null; t.columns.len()];
        g.fill(&t, &mut row, &conv).expect("evaluates");
        assert_eq!(
            (&row[3], &row[5], &row[8]),
            (&Datum::Null, &Datum::Null, &Datum::Int(1))
        );
    }

    #[test]
    fn casts_follow_mysql() {
        let c = |v: V, t: &str| cast(&v, t).expect("casts");
        assert_eq!(c(V::Str(b"12abc".to_vec()), "SIGNED"), V::Int(12));
        assert_eq!(c(V::Dec("1.5".into()), "SIGNED"), V::Int(2));
        assert_eq!(c(V::Dec("-1.5".into()), "SIGNED"), V::Int(-2));
        assert_eq!(c(V::Int(-1), "UNSIGNED"), V::Int(i128::from(u64::MAX)));
        assert_eq!(
            c(V::Time("2024-05-06 07:08:09".into()), "DATE"),
            V::Time("2024-05-06".into())
        );
        assert_eq!(c(V::Str(b"junk".to_vec()), "DATE"), V::Null);
        assert_eq!(
            c(V::Str("héllo".as_bytes().to_vec()), "CHAR(2)"),
            V::Str("hé".as_bytes().to_vec())
        );
        assert_eq!(
            c(V::Json(serde_json::json!({"a": 1})), "CHAR"),
            V::Str(b"{\"a\": 1}".to_vec())
        );
    }

    #[test]
    fn substring_follows_mysql() {
        let c: Vec<char> = "Quadratically".chars().collect();
        assert_eq!(substring(&c, 5, None), "ratically");
        assert_eq!(substring(&c, 5, Some(6)), "ratica");
        assert_eq!(substring(&c, -3, None), "lly");
        assert_eq!(substring(&c, 0, None), "");
        assert_eq!(substring(&c, 20, None), "");
        assert_eq!(substring(&c, -20, None), "");
        assert_eq!(substring(&c, -5, Some(2)), "ca");
        assert_eq!(substring(&c, 1, Some(0)), "");
    }
}
