//! Evaluates partitioning expressions (`YEAR(d)`, `TO_DAYS(d)`,
//! `UNIX_TIMESTAMP(ts)`, `id DIV 10`, ...) on a row, with MySQL's
//! semantics for the functions partitioning allows. Integers are carried as
//! `i128` so that unsigned BIGINT values compare correctly.

use squall_codec::{Converter, Datum, Time};
use squall_common::schema::{ColumnInfo, FieldType, MysqlType, PartitionExpr, TableInfo};

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Int(i128),
    /// A decimal as text (`FLOOR`/`CEILING` of a DECIMAL column).
    Decimal(String),
    Time(Time),
    /// A string literal, kept as written until a function reads it as a
    /// date (`TO_DAYS('2020-01-01')`).
    Str(String),
}

/// Evaluates `e` on `row` (`None`: a bound, which has no row).
pub(super) fn eval(
    e: &PartitionExpr,
    table: &TableInfo,
    row: Option<&[Datum]>,
    conv: &Converter,
) -> Result<Value, String> {
    use PartitionExpr as E;
    Ok(match e {
        E::Null => Value::Null,
        E::MaxValue => return Err("MAXVALUE is not a value".into()),
        E::Number(n) => number(n)?,
        E::Str(s) => Value::Str(s.clone()),
        E::Column(name) => {
            let col = table
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` is not in the table"))?;
            let Some(row) = row else {
                return Err(format!("a partition bound cannot name column `{name}`"));
            };
            from_datum(&row[col.offset])?
        }
        E::Neg(x) => match eval(x, table, row, conv)? {
            Value::Null => Value::Null,
            v => Value::Int(-int(&v, "-")?),
        },
        E::Binary(op, l, r) => {
            let (l, r) = (eval(l, table, row, conv)?, eval(r, table, row, conv)?);
            if l == Value::Null || r == Value::Null {
                return Ok(Value::Null);
            }
            let (a, b) = (int(&l, op)?, int(&r, op)?);
            match op.as_str() {
                "+" => Value::Int(a + b),
                "-" => Value::Int(a - b),
                "*" => Value::Int(a.checked_mul(b).ok_or("integer overflow in `*`")?),
                // MySQL: division by zero is NULL.
                "DIV" if b == 0 => Value::Null,
                "DIV" => Value::Int(a / b),
                "MOD" if b == 0 => Value::Null,
                "MOD" => Value::Int(a % b),
                _ => {
                    return Err(format!(
                        "operator `{op}` is not allowed in a partitioning expression"
                    ))
                }
            }
        }
        E::Call(name, args) => call(name, args, table, row, conv)?,
    })
}

fn number(n: &str) -> Result<Value, String> {
    if let Ok(v) = n.parse::<i128>() {
        return Ok(Value::Int(v));
    }
    if n.chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Ok(Value::Decimal(n.to_string()));
    }
    Err(format!("number `{n}` is not an integer"))
}

fn from_datum(d: &Datum) -> Result<Value, String> {
    Ok(match d {
        Datum::Null => Value::Null,
        Datum::Int(v) => Value::Int(i128::from(*v)),
        Datum::Uint(v) => Value::Int(i128::from(*v)),
        Datum::Decimal(v) => Value::Decimal(v.to_string()),
        Datum::Time(t) => Value::Time(*t),
        other => return Err(format!("a {} value cannot be partitioned on", kind(other))),
    })
}

fn kind(d: &Datum) -> &'static str {
    match d {
        Datum::Float(_) => "floating-point",
        Datum::Bytes(_) => "string",
        Datum::Duration(_) => "TIME",
        Datum::Json(_) => "JSON",
        Datum::Enum { .. } => "ENUM",
        Datum::Set { .. } => "SET",
        Datum::Bit(_) => "BIT",
        _ => "non-integer",
    }
}

/// An integer operand. A decimal is refused: TiDB requires integer
/// partitioning expressions (wrap it in `FLOOR`/`CEILING`).
pub(super) fn int(v: &Value, what: &str) -> Result<i128, String> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(format!("`{what}` needs an integer, got {other:?}")),
    }
}

fn call(
    name: &str,
    args: &[PartitionExpr],
    table: &TableInfo,
    row: Option<&[Datum]>,
    conv: &Converter,
) -> Result<Value, String> {
    let vals = args
        .iter()
        .map(|a| eval(a, table, row, conv))
        .collect::<Result<Vec<_>, _>>()?;
    let one = || match vals.as_slice() {
        [v] => Ok(v.clone()),
        _ => Err(format!("{name} takes one argument")),
    };
    if name == "MOD" {
        return match vals.as_slice() {
            [Value::Null, _] | [_, Value::Null] => Ok(Value::Null),
            [a, b] => {
                let (a, b) = (int(a, name)?, int(b, name)?);
                Ok(if b == 0 {
                    Value::Null
                } else {
                    Value::Int(a % b)
                })
            }
            _ => Err("MOD takes two arguments".into()),
        };
    }
    let v = one()?;
    if v == Value::Null {
        return Ok(Value::Null);
    }
    Ok(match name {
        "ABS" => Value::Int(int(&v, name)?.abs()),
        "FLOOR" | "CEILING" | "CEIL" => match v {
            Value::Int(i) => Value::Int(i),
            Value::Decimal(d) => Value::Int(round_decimal(&d, name == "FLOOR")?),
            other => return Err(format!("{name} of {other:?}")),
        },
        "YEAR" | "MONTH" | "DAY" | "DAYOFMONTH" | "TO_DAYS" | "TO_SECONDS" => {
            let t = as_time(&v, MysqlType::Datetime, conv)?;
            let (y, m, d) = (i128::from(t.year), i128::from(t.month), i128::from(t.day));
            match name {
                "YEAR" => Value::Int(y),
                "MONTH" => Value::Int(m),
                "DAY" | "DAYOFMONTH" => Value::Int(d),
                // MySQL: TO_DAYS of a zero date is NULL.
                _ if y == 0 && m == 0 => Value::Null,
                "TO_DAYS" => Value::Int(day_number(y, m, d)),
                _ => Value::Int(
                    day_number(y, m, d) * 86_400
                        + i128::from(t.hour) * 3600
                        + i128::from(t.minute) * 60
                        + i128::from(t.second),
                ),
            }
        }
        "UNIX_TIMESTAMP" => {
            // A TIMESTAMP datum is UTC already; a literal is read in the
            // job's time zone (as TiDB read it when the table was created).
            let t = as_time(&v, MysqlType::Timestamp, conv)?;
            match t.to_naive() {
                Some(n) => Value::Int(i128::from(n.and_utc().timestamp()).max(0)),
                None => Value::Int(0),
            }
        }
        _ => return Err(format!("function {name} is not supported in partitioning")),
    })
}

fn as_time(v: &Value, tp: MysqlType, conv: &Converter) -> Result<Time, String> {
    match v {
        Value::Time(t) => Ok(*t),
        Value::Str(s) => {
            let mut ft = FieldType::new(tp);
            ft.decimal = 6;
            let col = ColumnInfo::new(0, "partition bound", 0, ft);
            let mut warnings = Vec::new();
            match conv.convert(&col, Some(s.as_bytes()), &mut warnings) {
                Ok(Datum::Time(t)) => Ok(t),
                Ok(other) => Err(format!("'{s}' is not a date ({other:?})")),
                Err(e) => Err(format!("'{s}' is not a date: {e}")),
            }
        }
        other => Err(format!("expected a date, got {other:?}")),
    }
}

/// MySQL's `calc_daynr` (`TO_DAYS`), the one the generated-column
/// evaluator uses; dates here come from `Time`, so the casts are lossless.
fn day_number(y: i128, m: i128, d: i128) -> i128 {
    i128::from(crate::task::columns::day_number(
        y as i64, m as i64, d as i64,
    ))
}

fn round_decimal(d: &str, floor: bool) -> Result<i128, String> {
    let (int_part, frac) = d.split_once('.').unwrap_or((d, ""));
    let i: i128 = int_part
        .parse()
        .map_err(|_| format!("decimal `{d}` is out of range"))?;
    let has_frac = frac.bytes().any(|b| b != b'0');
    let negative = d.starts_with('-');
    Ok(match (has_frac, floor, negative) {
        (false, _, _) => i,
        (true, true, true) => i - 1,
        (true, false, false) => i + 1,
        (true, _, _) => i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_days_matches_mysql() {
        // SELECT TO_DAYS('2020-01-01') = 737790; TO_DAYS('1970-01-01') = 719528.
        assert_eq!(day_number(2020, 1, 1), 737_790);
        assert_eq!(day_number(1970, 1, 1), 719_528);
        assert_eq!(day_number(2000, 3, 1), 730_545);
    }

    #[test]
    fn floor_and_ceiling_of_decimals() {
        assert_eq!(round_decimal("-1.5", true), Ok(-2));
        assert_eq!(round_decimal("-1.5", false), Ok(-1));
        assert_eq!(round_decimal("2.000", false), Ok(2));
        assert_eq!(round_decimal("2.01", false), Ok(3));
    }
}
