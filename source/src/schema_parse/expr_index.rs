//! Expression indexes (MySQL 8 functional key parts, `INDEX i ((LOWER(a)))`)
//! as TiDB stores them: each expression key part becomes a hidden VIRTUAL
//! generated column `_V$_{index}_{key part position}`, appended after the
//! table's columns (next column ID), whose type is the expression's type;
//! the index is then an ordinary index on that column, so its key holds the
//! computed value encoded under that type and collation.
//!
//! The type is inferred as TiDB infers it for the expressions Squall
//! evaluates: string functions keep their argument's string type
//! (charset, collation, length), `CONCAT` takes its first string
//! argument's, numeric and date-part functions and comparisons are BIGINT,
//! `DATE()` a DATE, `JSON_EXTRACT` JSON (which TiDB, like MySQL, cannot put
//! in an index key, so it is refused, as is `->>`'s LONGTEXT).

use squall_common::schema::{ColumnInfo, FieldType, MysqlType, PartitionExpr as E};

use super::build::{unsupported, BuildError};
use super::grammar::{Constraint, ConstraintKind};
use super::types::CharsetScope;

/// TiDB's name for an expression index that has none.
const UNNAMED: &str = "expression_index";

/// Turns every expression key part of `constraints` into a hidden column of
/// `columns`, naming the index when it has no name; returns the offsets of
/// the hidden columns (for the generated-column checks).
pub(crate) fn add_hidden_columns(
    constraints: &mut [Constraint],
    columns: &mut Vec<ColumnInfo>,
    scope: &CharsetScope,
) -> Result<Vec<(usize, usize)>, BuildError> {
    let mut hidden = Vec::new();
    let mut taken: Vec<String> = constraints.iter().filter_map(|c| c.name.clone()).collect();
    for c in constraints.iter_mut() {
        if c.expressions.iter().all(Option::is_none) {
            continue;
        }
        if c.kind == ConstraintKind::Primary {
            return Err(unsupported(
                c.offset,
                "an expression in the PRIMARY KEY: TiDB does not allow it",
            ));
        }
        let name = match &c.name {
            Some(n) => n.clone(),
            None => {
                let n = (1..)
                    .map(|i| match i {
                        1 => UNNAMED.to_string(),
                        i => format!("{UNNAMED}_{i}"),
                    })
                    .find(|n| !taken.iter().any(|t| t.eq_ignore_ascii_case(n)))
                    .unwrap_or_else(|| UNNAMED.to_string());
                taken.push(n.clone());
                c.name = Some(n.clone());
                n
            }
        };
        for (i, expr) in c.expressions.iter().enumerate() {
            let Some(text) = expr else { continue };
            let col_name = format!("_V$_{name}_{i}");
            let parsed = super::partition::parse_expression(text).map_err(|e| {
                unsupported(c.offset, format!("expression index `{name}` ({text}): {e}"))
            })?;
            let ft = infer(&parsed, columns, scope).map_err(|why| {
                unsupported(
                    c.offset,
                    format!("expression index `{name}` ({text}): {why}"),
                )
            })?;
            let offset = columns.len();
            let mut col = ColumnInfo::new(offset as i64 + 1, col_name.clone(), offset, ft);
            col.generated = Some(text.clone());
            col.generated_stored = false;
            columns.push(col);
            c.columns[i].0 = col_name;
            hidden.push((offset, c.offset));
        }
    }
    Ok(hidden)
}

/// Whether a column is one of these hidden columns (not in dumps, not in
/// exports).
pub fn is_hidden_column(name: &str) -> bool {
    name.starts_with("_V$_")
}

fn find<'a>(columns: &'a [ColumnInfo], name: &str) -> Option<&'a ColumnInfo> {
    columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

fn varchar(scope: &CharsetScope, flen: i32) -> Result<FieldType, String> {
    let mut ft = FieldType::new(MysqlType::Varchar);
    ft.charset = squall_common::schema::Charset::from_name(&scope.charset)
        .ok_or_else(|| format!("charset {} is not supported", scope.charset))?;
    ft.collate = scope.collate.clone();
    ft.flen = flen;
    Ok(ft)
}

fn is_string(ft: &FieldType) -> bool {
    matches!(
        ft.tp,
        MysqlType::Varchar | MysqlType::String | MysqlType::VarString
    )
}

fn bigint() -> FieldType {
    let mut ft = FieldType::new(MysqlType::LongLong);
    ft.flen = 20;
    ft
}

/// The type TiDB gives the expression (see the module comment).
fn infer(e: &E, columns: &[ColumnInfo], scope: &CharsetScope) -> Result<FieldType, String> {
    let ft = match e {
        E::Column(c) => {
            let mut ft = find(columns, c)
                .ok_or_else(|| format!("column `{c}` is not in the table"))?
                .field_type
                .clone();
            ft.not_null = false;
            ft
        }
        E::Number(n) if n.parse::<i64>().is_ok() => bigint(),
        E::Str(s) => varchar(scope, s.chars().count() as i32)?,
        E::Null => return Err("a NULL key part has no type".into()),
        E::Binary(_, l, r) => {
            for side in [l, r] {
                let t = infer(side, columns, scope)?;
                if !t.tp.is_integer() && !is_string(&t) {
                    return Err(format!(
                        "arithmetic or comparison on a {:?} value: Squall infers index types for integer expressions only",
                        t.tp
                    ));
                }
            }
            bigint()
        }
        E::Neg(x) => infer(x, columns, scope)?,
        E::Call(name, args) => call_type(name, args, columns, scope)?,
        other => return Err(format!("cannot index `{other}`")),
    };
    if matches!(
        ft.tp,
        MysqlType::Json
            | MysqlType::TinyBlob
            | MysqlType::Blob
            | MysqlType::MediumBlob
            | MysqlType::LongBlob
    ) {
        return Err(format!(
            "it returns {:?}, which an index key cannot hold (TiDB refuses it too): CAST it to a sized type in the schema",
            ft.tp
        ));
    }
    Ok(ft)
}

fn call_type(
    name: &str,
    args: &[E],
    columns: &[ColumnInfo],
    scope: &CharsetScope,
) -> Result<FieldType, String> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| format!("{name} needs an argument"))
            .and_then(|a| infer(a, columns, scope))
    };
    Ok(match name {
        "LOWER" | "LCASE" | "UPPER" | "UCASE" | "SUBSTRING" | "SUBSTR" | "LEFT" | "RIGHT" => {
            let t = arg(0)?;
            if is_string(&t) {
                t
            } else {
                varchar(scope, -1)?
            }
        }
        "CONCAT" => {
            let types = (0..args.len()).map(arg).collect::<Result<Vec<_>, _>>()?;
            let mut ft = match types.iter().find(|t| is_string(t)) {
                Some(t) => t.clone(),
                None => varchar(scope, -1)?,
            };
            ft.tp = MysqlType::Varchar;
            ft.flen = types
                .iter()
                .map(|t| (t.flen >= 0).then_some(t.flen))
                .sum::<Option<i32>>()
                .unwrap_or(-1);
            ft
        }
        "IFNULL" | "COALESCE" => arg(0)?,
        "LENGTH" | "CHAR_LENGTH" | "YEAR" | "MONTH" | "DAY" | "DAYOFMONTH" | "TO_DAYS" | "HOUR"
        | "MINUTE" | "SECOND" | "QUARTER" | "DAYOFWEEK" | "WEEKDAY" | "DAYOFYEAR" | "DATEDIFF" => {
            bigint()
        }
        "ABS" => {
            let t = arg(0)?;
            if !t.tp.is_integer() {
                return Err("ABS of a non-integer value: Squall infers integer ABS only".into());
            }
            bigint()
        }
        "DATE" => FieldType::new(MysqlType::Date),
        "DATE_FORMAT" => varchar(scope, -1)?,
        "CAST" => {
            let ty = match args.get(1) {
                Some(E::Str(t)) => t.as_str(),
                _ => return Err("CAST without a type".into()),
            };
            match ty {
                "SIGNED" => bigint(),
                "UNSIGNED" => {
                    let mut ft = bigint();
                    ft.unsigned = true;
                    ft
                }
                "DATE" => FieldType::new(MysqlType::Date),
                // TiDB: CAST AS CHAR takes the connection charset, utf8mb4
                // (collation utf8mb4_bin); CHAR(n) gives a VARCHAR(n).
                t => {
                    let n = t
                        .strip_prefix("CHAR(")
                        .and_then(|r| r.strip_suffix(')'))
                        .and_then(|n| n.parse::<i32>().ok())
                        .ok_or("CAST(... AS CHAR) without a length returns LONGTEXT, which an index key cannot hold (TiDB refuses it too): give CHAR(n)")?;
                    let utf8mb4 = CharsetScope {
                        charset: "utf8mb4".into(),
                        collate: "utf8mb4_bin".into(),
                    };
                    varchar(&utf8mb4, n)?
                }
            }
        }
        "JSON_EXTRACT" => FieldType::new(MysqlType::Json),
        "JSON_UNQUOTE" => FieldType::new(MysqlType::LongBlob),
        other => {
            return Err(format!(
                "function {other} cannot be evaluated by Squall (it evaluates {})",
                super::partition::GENERATED_FUNCTIONS.join(", ")
            ))
        }
    })
}
