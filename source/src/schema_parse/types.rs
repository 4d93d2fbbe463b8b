//! Column types: MySQL type names to TiDB's `FieldType`, with TiDB's default
//! lengths and its charset/collation resolution (column, then table, then
//! database, then utf8mb4/utf8mb4_bin).

use squall_common::schema::{Charset, FieldType, MysqlType};

use super::grammar::ColumnDef;

/// Charset and collation in force where a column is declared.
#[derive(Debug, Clone)]
pub(crate) struct CharsetScope {
    pub charset: String,
    pub collate: String,
}

impl CharsetScope {
    /// Resolves `CHARSET`/`COLLATE` options against an outer scope.
    pub fn resolve(
        outer: &CharsetScope,
        charset: Option<&str>,
        collate: Option<&str>,
    ) -> Result<Self, String> {
        let charset = charset.map(|c| c.to_ascii_lowercase());
        let collate = collate.map(|c| c.to_ascii_lowercase());
        let cs = match (&charset, &collate) {
            (Some(cs), _) => normalize_charset(cs)?,
            (None, Some(coll)) => charset_of_collation(coll)?,
            (None, None) => return Ok(outer.clone()),
        };
        let coll = match collate {
            Some(c) => {
                if charset_of_collation(&c)? != cs {
                    return Err(format!("collation {c} does not belong to charset {cs}"));
                }
                c
            }
            None => default_collation(&cs)?,
        };
        Ok(Self {
            charset: cs,
            collate: coll,
        })
    }
}

fn normalize_charset(cs: &str) -> Result<String, String> {
    let c = Charset::from_name(cs).ok_or_else(|| format!("unsupported character set {cs}"))?;
    Ok(if c == Charset::Utf8 {
        "utf8".into()
    } else {
        c.name().into()
    })
}

fn charset_of_collation(coll: &str) -> Result<String, String> {
    if coll == "binary" {
        return Ok("binary".into());
    }
    let prefix = coll.split('_').next().unwrap_or(coll);
    let cs = if prefix == "utf8mb3" { "utf8" } else { prefix };
    normalize_charset(cs).map_err(|_| format!("unsupported collation {coll}"))
}

fn default_collation(cs: &str) -> Result<String, String> {
    let c = Charset::from_name(cs).ok_or_else(|| format!("unsupported character set {cs}"))?;
    Ok(c.default_collation().to_string())
}

/// TiDB's default display width of integer types (`GetDefaultFieldLength`).
fn int_width(tp: MysqlType, unsigned: bool) -> i32 {
    let w = match tp {
        MysqlType::Tiny => 4,
        MysqlType::Short => 6,
        MysqlType::Int24 => 9,
        MysqlType::Long => 11,
        _ => 20,
    };
    if unsigned && tp != MysqlType::LongLong {
        w - 1
    } else {
        w
    }
}

/// Builds the field type of a column.
pub(crate) fn field_type(col: &ColumnDef, scope: &CharsetScope) -> Result<FieldType, String> {
    use MysqlType as T;
    let arg = |i: usize| col.args.get(i).map(|&v| v as i32);
    let name = col.type_name.as_str();
    let (tp, stringy, binary) = match name {
        "tinyint" | "int1" => (T::Tiny, false, false),
        "bool" | "boolean" => (T::Tiny, false, false),
        "smallint" | "int2" => (T::Short, false, false),
        "mediumint" | "int3" | "middleint" => (T::Int24, false, false),
        "int" | "integer" | "int4" => (T::Long, false, false),
        "bigint" | "int8" | "serial" => (T::LongLong, false, false),
        "decimal" | "dec" | "numeric" | "fixed" => (T::NewDecimal, false, false),
        "float" | "float4" => (
            if arg(0).is_some_and(|p| p > 24) && col.args.len() == 1 {
                T::Double
            } else {
                T::Float
            },
            false,
            false,
        ),
        "double" | "real" | "float8" => (T::Double, false, false),
        "bit" => (T::Bit, false, false),
        "date" => (T::Date, false, false),
        "datetime" => (T::Datetime, false, false),
        "timestamp" => (T::Timestamp, false, false),
        "time" => (T::Duration, false, false),
        "year" => (T::Year, false, false),
        "char" | "nchar" => (T::String, true, false),
        "varchar" | "nvarchar" | "varcharacter" => (T::Varchar, true, false),
        "binary" => (T::String, false, true),
        "varbinary" => (T::Varchar, false, true),
        "tinytext" => (T::TinyBlob, true, false),
        "text" => (T::Blob, true, false),
        "mediumtext" => (T::MediumBlob, true, false),
        "longtext" => (T::LongBlob, true, false),
        "tinyblob" => (T::TinyBlob, false, true),
        "blob" => (T::Blob, false, true),
        "mediumblob" => (T::MediumBlob, false, true),
        "longblob" => (T::LongBlob, false, true),
        "json" => (T::Json, false, true),
        "enum" => (T::Enum, true, false),
        "set" => (T::Set, true, false),
        other => return Err(format!("unsupported column type {other}")),
    };
    let mut ft = FieldType::new(tp);
    ft.unsigned = col.unsigned || name == "serial";
    ft.elems = col.elems.clone();
    set_lengths(&mut ft, name, arg(0), arg(1))?;
    if stringy {
        let s = CharsetScope::resolve(scope, col.charset.as_deref(), col.collate.as_deref())?;
        let mut collate = s.collate;
        if col.binary_attr && s.charset != "binary" {
            collate = default_collation(&s.charset)?;
            if !collate.ends_with("_bin") {
                collate = format!("{}_bin", s.charset);
            }
        }
        ft.charset = Charset::from_name(&s.charset)
            .ok_or_else(|| format!("unsupported character set {}", s.charset))?;
        ft.collate = collate;
        // `CHAR(n) CHARACTER SET binary` is `BINARY(n)`: same type, binary charset.
    } else if !binary {
        // Numbers and times carry binary charset, as in TiDB.
        ft.charset = Charset::Binary;
        ft.collate = "binary".into();
    }
    Ok(ft)
}

fn set_lengths(
    ft: &mut FieldType,
    name: &str,
    a0: Option<i32>,
    a1: Option<i32>,
) -> Result<(), String> {
    use MysqlType as T;
    match ft.tp {
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong => {
            ft.flen = if matches!(name, "bool" | "boolean") {
                1
            } else {
                a0.unwrap_or(int_width(ft.tp, ft.unsigned))
            };
            ft.decimal = 0;
        }
        T::NewDecimal => {
            ft.flen = a0.unwrap_or(10);
            ft.decimal = a1.unwrap_or(0);
            if ft.flen > 65 || ft.decimal > 30 || ft.decimal > ft.flen {
                return Err(format!("invalid DECIMAL({}, {})", ft.flen, ft.decimal));
            }
        }
        T::Float | T::Double => {
            let (f, d) = if ft.tp == T::Float {
                (12, -1)
            } else {
                (22, -1)
            };
            match (a0, a1) {
                (Some(m), Some(dd)) => (ft.flen, ft.decimal) = (m, dd),
                _ => (ft.flen, ft.decimal) = (f, d),
            }
        }
        T::Bit => {
            ft.flen = a0.unwrap_or(1);
            if !(1..=64).contains(&ft.flen) {
                return Err(format!("invalid BIT({})", ft.flen));
            }
        }
        T::Date => (ft.flen, ft.decimal) = (10, 0),
        T::Datetime | T::Timestamp | T::Duration => {
            let fsp = a0.unwrap_or(0);
            if !(0..=6).contains(&fsp) {
                return Err(format!("invalid fractional seconds precision {fsp}"));
            }
            let base = if ft.tp == T::Duration { 10 } else { 19 };
            ft.flen = base + if fsp > 0 { fsp + 1 } else { 0 };
            ft.decimal = fsp;
        }
        T::Year => (ft.flen, ft.decimal) = (4, 0),
        T::String => ft.flen = a0.unwrap_or(1),
        T::Varchar => {
            ft.flen = a0.ok_or_else(|| format!("{} needs a length", name.to_uppercase()))?
        }
        T::TinyBlob => ft.flen = 255,
        T::Blob => ft.flen = a0.unwrap_or(65535),
        T::MediumBlob => ft.flen = 16_777_215,
        T::LongBlob => ft.flen = u32::MAX as i32,
        _ => {}
    }
    Ok(())
}

/// Checks a literal DEFAULT against the column type, as TiDB does when it
/// creates the table ("Invalid default value").
pub(crate) fn check_default(ft: &FieldType, value: &str) -> Result<(), String> {
    use MysqlType as T;
    let v = value.trim();
    let ok = match ft.tp {
        T::Tiny | T::Short | T::Int24 | T::Long | T::LongLong | T::Year | T::Bit => {
            v.parse::<i128>().is_ok() || v.parse::<f64>().is_ok_and(f64::is_finite)
        }
        T::NewDecimal | T::Float | T::Double => v.parse::<f64>().is_ok_and(f64::is_finite),
        T::Date | T::Datetime | T::Timestamp => is_datetime_literal(v),
        T::Enum => ft.elems.iter().any(|e| e.eq_ignore_ascii_case(v)) || v.is_empty(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid default value {value:?}"))
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.frac]]` with a valid month and day (zero dates allowed).
fn is_datetime_literal(v: &str) -> bool {
    let (date, time) = match v.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let nums: Vec<Option<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let date_ok = matches!(nums.as_slice(), [Some(_), Some(m), Some(d)] if *m <= 12 && *d <= 31);
    let time_ok = time.is_none_or(|t| {
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        let f: Vec<Option<u32>> = hms.split(':').map(|p| p.parse().ok()).collect();
        matches!(f.as_slice(), [Some(h), Some(m), Some(s)] if *h < 24 && *m < 60 && *s < 60)
            && frac.bytes().all(|b| b.is_ascii_digit())
    });
    date_ok && time_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> CharsetScope {
        CharsetScope {
            charset: "utf8mb4".into(),
            collate: "utf8mb4_bin".into(),
        }
    }

    #[test]
    fn resolves_collation_from_charset_and_back() {
        let s = CharsetScope::resolve(&scope(), Some("utf8"), None).expect("utf8");
        assert_eq!(
            (s.charset.as_str(), s.collate.as_str()),
            ("utf8", "utf8_bin")
        );
        let s = CharsetScope::resolve(&scope(), None, Some("utf8mb4_general_ci")).expect("coll");
        assert_eq!(s.charset, "utf8mb4");
        assert!(CharsetScope::resolve(&scope(), Some("utf8"), Some("latin1_bin")).is_err());
        assert!(CharsetScope::resolve(&scope(), Some("klingon"), None).is_err());
    }

    #[test]
    fn datetime_defaults() {
        assert!(is_datetime_literal("2020-01-31 10:00:00.5"));
        assert!(is_datetime_literal("0000-00-00 00:00:00"));
        assert!(!is_datetime_literal("2020-13-01"));
        assert!(!is_datetime_literal("yesterday"));
    }
}
