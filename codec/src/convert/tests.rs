use squall_common::schema::{Charset, ColumnDefault, ColumnInfo, FieldType, MysqlType};

use super::*;
use crate::decimal::Decimal;
use crate::time::{Time, TimeKind};

const STRICT: &str = squall_common::config::SQUALL_DEFAULT_SQL_MODE;
const LOOSE: &str = squall_common::config::LIGHTNING_DEFAULT_SQL_MODE;

fn column(tp: MysqlType, f: impl FnOnce(&mut FieldType)) -> ColumnInfo {
    let mut ft = FieldType::new(tp);
    if tp.is_string_like() || matches!(tp, MysqlType::Enum | MysqlType::Set) {
        ft.charset = Charset::Utf8mb4;
        ft.collate = "utf8mb4_bin".into();
    }
    f(&mut ft);
    ColumnInfo::new(1, "c", 0, ft)
}

fn conv(mode: &str, col: &ColumnInfo, raw: &str) -> (Result<Datum, ConvertError>, usize) {
    let c = Converter::new(mode, "UTC").expect("valid");
    let mut w = Vec::new();
    let r = c.convert(col, Some(raw.as_bytes()), &mut w);
    (r, w.len())
}

fn ok(mode: &str, col: &ColumnInfo, raw: &str) -> Datum {
    conv(mode, col, raw)
        .0
        .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
}

fn strict_err(col: &ColumnInfo, raw: &str) -> String {
    conv(STRICT, col, raw)
        .0
        .expect_err("strict mode rejects it")
        .to_string()
}

#[test]
fn integers_range_truncation_and_rounding() {
    let tiny = column(MysqlType::Tiny, |_| {});
    assert_eq!(ok(STRICT, &tiny, " 127 "), Datum::Int(127));
    assert_eq!(ok(STRICT, &tiny, "1.5"), Datum::Int(2));
    assert_eq!(ok(STRICT, &tiny, "-1.5"), Datum::Int(-2));
    assert_eq!(ok(STRICT, &tiny, "1e2"), Datum::Int(100));
    let e = strict_err(&tiny, "128");
    assert!(
        e.contains("column `c`") && e.contains("out of range"),
        "{e}"
    );
    assert_eq!(conv(LOOSE, &tiny, "128"), (Ok(Datum::Int(127)), 1));
    assert_eq!(conv(LOOSE, &tiny, "-999"), (Ok(Datum::Int(-128)), 1));
    assert!(strict_err(&tiny, "abc").contains("incorrect integer value"));
    assert_eq!(conv(LOOSE, &tiny, "abc"), (Ok(Datum::Int(0)), 1));
    assert_eq!(conv(LOOSE, &tiny, "12abc"), (Ok(Datum::Int(12)), 1));
    assert_eq!(conv(LOOSE, &tiny, ""), (Ok(Datum::Int(0)), 1));
    let u = column(MysqlType::LongLong, |ft| ft.unsigned = true);
    assert_eq!(
        ok(STRICT, &u, "18446744073709551615"),
        Datum::Uint(u64::MAX)
    );
    assert_eq!(conv(LOOSE, &u, "-1"), (Ok(Datum::Uint(0)), 1));
    let big = column(MysqlType::LongLong, |_| {});
    assert_eq!(conv(LOOSE, &big, "1e30"), (Ok(Datum::Int(i64::MAX)), 1));
}

#[test]
fn years() {
    let y = column(MysqlType::Year, |_| {});
    assert_eq!(ok(STRICT, &y, "1999"), Datum::Int(1999));
    assert_eq!(ok(STRICT, &y, "69"), Datum::Int(2069));
    assert_eq!(ok(STRICT, &y, "70"), Datum::Int(1970));
    assert_eq!(ok(STRICT, &y, "0"), Datum::Int(2000));
    assert_eq!(ok(STRICT, &y, "0000"), Datum::Int(0));
    assert!(strict_err(&y, "1800").contains("out of range"));
}

#[test]
fn floats() {
    let f = column(MysqlType::Float, |_| {});
    assert_eq!(ok(STRICT, &f, "0.1"), Datum::Float(f64::from(0.1f32)));
    assert_eq!(
        conv(LOOSE, &f, "1e39"),
        (Ok(Datum::Float(f64::from(f32::MAX))), 1)
    );
    let d = column(MysqlType::Double, |_| {});
    assert_eq!(ok(STRICT, &d, "-1.8"), Datum::Float(-1.8));
    assert!(strict_err(&d, "x").contains("incorrect double value"));
    assert_eq!(conv(LOOSE, &d, "1.5x"), (Ok(Datum::Float(1.5)), 1));
    let fd = column(MysqlType::Double, |ft| {
        ft.flen = 5;
        ft.decimal = 2;
    });
    assert_eq!(ok(STRICT, &fd, "1.234"), Datum::Float(1.23));
    assert_eq!(conv(LOOSE, &fd, "12345"), (Ok(Datum::Float(999.99)), 1));
}

#[test]
fn decimals_round_and_clip() {
    let c = column(MysqlType::NewDecimal, |ft| {
        ft.flen = 5;
        ft.decimal = 2;
    });
    let dec = |s: &str| Datum::Decimal(Decimal::parse(s).expect("parses").value);
    assert_eq!(ok(STRICT, &c, "1.5"), dec("1.50"));
    // Rounding is a warning even in strict mode, not an error.
    assert_eq!(conv(STRICT, &c, "1.235"), (Ok(dec("1.24")), 1));
    assert_eq!(conv(STRICT, &c, "1.230"), (Ok(dec("1.23")), 0));
    assert!(strict_err(&c, "1000").contains("out of range"));
    assert_eq!(conv(LOOSE, &c, "1000"), (Ok(dec("999.99")), 1));
    assert_eq!(conv(LOOSE, &c, "-1e10"), (Ok(dec("-999.99")), 1));
    assert_eq!(conv(LOOSE, &c, "999.999"), (Ok(dec("999.99")), 1));
    assert!(strict_err(&c, "x").contains("incorrect decimal value"));
    assert!(strict_err(&c, "1.5x").contains("truncated"));
}

#[test]
fn strings_length_charset_and_padding() {
    let v = column(MysqlType::Varchar, |ft| ft.flen = 3);
    assert_eq!(
        ok(STRICT, &v, "中文字"),
        Datum::Bytes("中文字".as_bytes().to_vec())
    );
    let e = strict_err(&v, "abcd");
    assert!(
        e.contains("data too long") && e.contains("4 characters"),
        "{e}"
    );
    assert_eq!(
        conv(LOOSE, &v, "abcd"),
        (Ok(Datum::Bytes(b"abc".to_vec())), 1)
    );
    // Overflow that is only spaces is cut (VARCHAR notes it).
    assert_eq!(
        conv(STRICT, &v, "abc   "),
        (Ok(Datum::Bytes(b"abc".to_vec())), 1)
    );
    let c = column(MysqlType::String, |ft| ft.flen = 5);
    assert_eq!(ok(STRICT, &c, "ab  "), Datum::Bytes(b"ab".to_vec()));
    let bin = column(MysqlType::String, |ft| {
        ft.flen = 4;
        ft.charset = Charset::Binary;
        ft.collate = "binary".into();
    });
    assert_eq!(ok(STRICT, &bin, "ab"), Datum::Bytes(b"ab\0\0".to_vec()));
    let raw = [b'a', 0xFF, b'b'];
    let c = Converter::new(STRICT, "UTC").expect("valid");
    let e = c
        .convert(&v, Some(&raw), &mut Vec::new())
        .expect_err("invalid utf8");
    assert!(e.to_string().contains("not valid utf8mb4"), "{e}");
    let loose = Converter::new(LOOSE, "UTC").expect("valid");
    let mut w = Vec::new();
    assert_eq!(
        loose.convert(&v, Some(&raw), &mut w).expect("clipped"),
        Datum::Bytes(b"a".to_vec())
    );
    assert_eq!(w.len(), 1);
    let mb3 = column(MysqlType::Varchar, |ft| {
        ft.charset = Charset::Utf8;
        ft.flen = 10;
    });
    assert!(strict_err(&mb3, "a😀").contains("utf8"));
}

#[test]
fn dates_and_times() {
    let dt = column(MysqlType::Datetime, |ft| ft.decimal = 3);
    let t = |y, mo, d, h, mi, s, us| Time {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
        micro: us,
        kind: TimeKind::Datetime,
        fsp: 3,
    };
    assert_eq!(
        ok(STRICT, &dt, "2024-01-02 03:04:05.1234"),
        Datum::Time(t(2024, 1, 2, 3, 4, 5, 123_000))
    );
    assert_eq!(
        ok(STRICT, &dt, "2024-01-02 03:04:05.9996"),
        Datum::Time(t(2024, 1, 2, 3, 4, 6, 0))
    );
    assert_eq!(
        ok(STRICT, &dt, "20240102030405"),
        Datum::Time(t(2024, 1, 2, 3, 4, 5, 0))
    );
    assert_eq!(
        ok(STRICT, &dt, "2024/1/2T3:4:5"),
        Datum::Time(t(2024, 1, 2, 3, 4, 5, 0))
    );
    assert_eq!(
        ok(STRICT, &dt, "24-01-02"),
        Datum::Time(t(2024, 1, 2, 0, 0, 0, 0))
    );
    assert!(strict_err(&dt, "2023-02-29").contains("incorrect datetime value"));
    assert_eq!(
        conv(LOOSE, &dt, "2023-02-29"),
        (Ok(Datum::Time(Time::zero(TimeKind::Datetime, 3))), 1)
    );
    assert!(strict_err(&dt, "0000-00-00 00:00:00").contains("zero date"));
    assert_eq!(
        conv(LOOSE, &dt, "0000-00-00"),
        (Ok(Datum::Time(Time::zero(TimeKind::Datetime, 3))), 0)
    );
    assert!(strict_err(&dt, "2024-00-10").contains("incorrect"));
    assert!(strict_err(&dt, "yesterday").contains("incorrect"));
    let d = column(MysqlType::Date, |_| {});
    let want = Time {
        year: 2024,
        month: 2,
        day: 29,
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
        kind: TimeKind::Date,
        fsp: 0,
    };
    assert_eq!(ok(STRICT, &d, "2024-02-29 12:00:00"), Datum::Time(want));
}

#[test]
fn timestamps_are_stored_in_utc() {
    let ts = column(MysqlType::Timestamp, |_| {});
    let c = Converter::new(STRICT, "+08:00").expect("valid");
    let got = c
        .convert(&ts, Some(b"2024-01-01 08:00:00"), &mut Vec::new())
        .expect("converts");
    let want = Time {
        year: 2024,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
        kind: TimeKind::Timestamp,
        fsp: 0,
    };
    assert_eq!(got, Datum::Time(want));
    let e = c
        .convert(&ts, Some(b"2040-01-01 00:00:00"), &mut Vec::new())
        .expect_err("out of range");
    assert!(e.to_string().contains("timestamp"));
    assert!(Converter::new(STRICT, "Nowhere/Land").is_err());
}

#[test]
fn durations() {
    let t = column(MysqlType::Duration, |_| {});
    let ns = |s: i64| {
        Datum::Duration(crate::time::Duration {
            nanos: s * 1_000_000_000,
            fsp: 0,
        })
    };
    assert_eq!(ok(STRICT, &t, "4:00:00"), ns(14400));
    assert_eq!(ok(STRICT, &t, "-1 01:00:00"), ns(-(25 * 3600)));
    assert_eq!(ok(STRICT, &t, "123456"), ns(12 * 3600 + 34 * 60 + 56));
    assert_eq!(ok(STRICT, &t, "10:30"), ns(10 * 3600 + 30 * 60));
    assert_eq!(
        conv(LOOSE, &t, "900:00:00"),
        (Ok(ns(838 * 3600 + 59 * 60 + 59)), 1)
    );
    assert!(strict_err(&t, "12:61:00").contains("incorrect time"));
}

#[test]
fn enums_sets_bits_json() {
    let e = column(MysqlType::Enum, |ft| {
        ft.elems = vec!["y".into(), "n".into()];
        ft.collate = "utf8mb4_general_ci".into();
    });
    assert_eq!(ok(STRICT, &e, "n"), Datum::Enum { index: 2 });
    assert_eq!(ok(STRICT, &e, "N "), Datum::Enum { index: 2 });
    assert_eq!(ok(STRICT, &e, "1"), Datum::Enum { index: 1 });
    assert!(strict_err(&e, "maybe").contains("truncated"));
    assert_eq!(conv(LOOSE, &e, "maybe"), (Ok(Datum::Enum { index: 0 }), 1));
    let s = column(MysqlType::Set, |ft| {
        ft.elems = vec!["n1".into(), "n2".into(), "n3".into()]
    });
    assert_eq!(ok(STRICT, &s, "n1"), Datum::Set { mask: 1 });
    assert_eq!(ok(STRICT, &s, "n3,n1"), Datum::Set { mask: 5 });
    assert_eq!(ok(STRICT, &s, ""), Datum::Set { mask: 0 });
    assert_eq!(ok(STRICT, &s, "6"), Datum::Set { mask: 6 });
    assert!(strict_err(&s, "n4").contains("truncated"));
    let b = column(MysqlType::Bit, |ft| ft.flen = 24);
    assert_eq!(ok(STRICT, &b, "\u{31}\u{30}\u{30}"), Datum::Bit(0x313030));
    assert_eq!(conv(LOOSE, &b, "abcd"), (Ok(Datum::Bit(0xFF_FFFF)), 1));
    let j = column(MysqlType::Json, |_| {});
    assert!(matches!(ok(STRICT, &j, r#"{"a":1}"#), Datum::Json(_)));
    assert!(
        conv(LOOSE, &j, "{bad").0.is_err(),
        "invalid JSON is an error in every mode"
    );
}

#[test]
fn nulls_defaults_and_auto_ids() {
    let c = Converter::new(STRICT, "UTC").expect("valid");
    let loose = Converter::new(LOOSE, "UTC").expect("valid");
    let mut nn = column(MysqlType::Long, |ft| ft.not_null = true);
    assert!(c
        .convert(&nn, None, &mut Vec::new())
        .expect_err("not null")
        .to_string()
        .contains("cannot be null"));
    let mut w = Vec::new();
    assert_eq!(
        loose.convert(&nn, None, &mut w).expect("zero"),
        Datum::Int(0)
    );
    assert_eq!(w.len(), 1);
    assert!(c
        .default_for(&nn, &mut Vec::new())
        .expect_err("no default")
        .to_string()
        .contains("default"));
    nn.default = ColumnDefault::Literal("42".into());
    assert_eq!(
        c.default_for(&nn, &mut Vec::new()).expect("default"),
        Datum::Int(42)
    );
    let nullable = column(MysqlType::Long, |_| {});
    assert_eq!(
        c.default_for(&nullable, &mut Vec::new()).expect("null"),
        Datum::Null
    );
    let mut en = column(MysqlType::Enum, |ft| {
        ft.elems = vec!["a".into(), "b".into()];
        ft.not_null = true;
    });
    assert_eq!(
        c.default_for(&en, &mut Vec::new()).expect("first member"),
        Datum::Enum { index: 1 }
    );
    en.default = ColumnDefault::Literal("b".into());
    assert_eq!(
        c.default_for(&en, &mut Vec::new()).expect("b"),
        Datum::Enum { index: 2 }
    );
    let mut ts = column(MysqlType::Timestamp, |ft| ft.decimal = 0);
    ts.default = ColumnDefault::CurrentTimestamp;
    let now = chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09.5Z")
        .expect("valid")
        .with_timezone(&chrono::Utc);
    let fixed = Converter::new(STRICT, "+08:00")
        .expect("valid")
        .with_now(now);
    let want = Time {
        year: 2024,
        month: 5,
        day: 6,
        hour: 7,
        minute: 8,
        second: 9,
        micro: 0,
        kind: TimeKind::Timestamp,
        fsp: 0,
    };
    assert_eq!(
        fixed.default_for(&ts, &mut Vec::new()).expect("now"),
        Datum::Time(want)
    );
    ts.field_type.tp = MysqlType::Datetime;
    let Datum::Time(local) = fixed.default_for(&ts, &mut Vec::new()).expect("now") else {
        panic!("time")
    };
    assert_eq!(local.hour, 15, "DATETIME defaults are in the session zone");
}

#[test]
fn auto_increment_and_auto_random_fill_from_row_id() {
    use squall_common::schema::{HandleKind, TableInfo};
    let mut id = column(MysqlType::LongLong, |ft| ft.not_null = true);
    id.auto_increment = true;
    let mut ar = ColumnInfo::new(2, "r", 1, FieldType::new(MysqlType::LongLong));
    ar.auto_random_bits = Some(5);
    let t = TableInfo {
        id: 1,
        db: "d".into(),
        name: "t".into(),
        columns: vec![id.clone(), ar],
        indices: vec![],
        handle: HandleKind::RowId,
        charset: None,
        collate: None,
        row_ids: Default::default(),
    };
    let c = Converter::new(STRICT, "UTC").expect("valid");
    assert_eq!(
        c.convert(&id, None, &mut Vec::new()).expect("pending"),
        Datum::Null
    );
    let mut row = vec![Datum::Null, Datum::Int(0)];
    c.fill_auto_ids(&t, &mut row, 77);
    assert_eq!(row[0], Datum::Int(77));
    let Datum::Int(r) = row[1] else { panic!("int") };
    assert!(
        r > 0 && r & ((1 << 58) - 1) == 77,
        "shard bits above the row id: {r:#x}"
    );
    let mut again = vec![Datum::Null, Datum::Null];
    c.fill_auto_ids(&t, &mut again, 77);
    assert_eq!(again[1], row[1], "deterministic");
    let keep_zero = Converter::new("NO_AUTO_VALUE_ON_ZERO", "UTC").expect("valid");
    let mut z = vec![Datum::Int(0), Datum::Int(5)];
    keep_zero.fill_auto_ids(&t, &mut z, 9);
    assert_eq!(z, vec![Datum::Int(0), Datum::Int(5)]);
}

#[test]
fn value_forms_from_sql_literals() {
    let c = Converter::new(STRICT, "UTC").expect("valid");
    let mut w = Vec::new();
    let bit = column(MysqlType::Bit, |ft| ft.flen = 2);
    assert_eq!(
        c.convert_as(&bit, Some(b"2"), ValueForm::Number, &mut w)
            .expect("bit"),
        Datum::Bit(2)
    );
    assert_eq!(
        c.convert_as(&bit, Some(&[0x03]), ValueForm::Binary, &mut w)
            .expect("bit"),
        Datum::Bit(3)
    );
    assert!(c
        .convert_as(&bit, Some(b"4"), ValueForm::Number, &mut w)
        .is_err());
    let int = column(MysqlType::Long, |_| {});
    assert_eq!(
        c.convert_as(&int, Some(&[0x01, 0x00]), ValueForm::Binary, &mut w)
            .expect("int"),
        Datum::Int(256)
    );
    let y = column(MysqlType::Year, |_| {});
    assert_eq!(
        c.convert_as(&y, Some(b"0"), ValueForm::Number, &mut w)
            .expect("year"),
        Datum::Int(0)
    );
    assert_eq!(
        c.convert_as(&y, Some(b"0"), ValueForm::Text, &mut w)
            .expect("year"),
        Datum::Int(2000)
    );
    let bin = column(MysqlType::Varchar, |ft| {
        ft.charset = Charset::Binary;
        ft.collate = "binary".into();
        ft.flen = 4;
    });
    assert_eq!(
        c.convert_as(&bin, Some(&[0xFF, 0x00]), ValueForm::Binary, &mut w)
            .expect("bytes"),
        Datum::Bytes(vec![0xFF, 0])
    );
    assert!(w.is_empty());
}
