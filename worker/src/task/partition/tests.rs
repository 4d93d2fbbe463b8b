//! Routing checked against partition choices worked out by hand from
//! TiDB's rules (bounds, NULL handling, collations, CRC-32 for KEY).

use squall_codec::{Converter, Datum, Time, TimeKind};
use squall_common::checkpoint::PartitionRecord;
use squall_common::schema::DatabaseInfo;
use squall_source::schema_parse::parse_create_table;

use super::*;

fn router(sql: &str) -> PartitionRouter {
    let db = DatabaseInfo {
        name: "d".into(),
        charset: None,
        collate: None,
    };
    let mut parsed = parse_create_table(sql, "t-schema.sql", &db, "t").expect("schema parses");
    parsed.info.id = 100;
    let p = parsed.partition.expect("partitioned");
    let record = PartitionRecord {
        kind: p.kind,
        expr: p.expr,
        partitions: p
            .partitions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), 101 + i as i64))
            .collect(),
        scheme: p.scheme,
    };
    PartitionRouter::new(&parsed.info, Some(&record))
}

fn conv(tz: &str) -> Converter {
    Converter::new("STRICT_TRANS_TABLES", tz).expect("converter")
}

fn date(y: u16, m: u8, d: u8) -> Datum {
    Datum::Time(Time {
        year: y,
        month: m,
        day: d,
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
        kind: TimeKind::Date,
        fsp: 0,
    })
}

fn ts(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Datum {
    Datum::Time(Time {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
        micro: 0,
        kind: TimeKind::Timestamp,
        fsp: 0,
    })
}

#[test]
fn range_on_year_with_maxvalue_and_null() {
    let r = router(
        "CREATE TABLE t (id INT, d DATE) PARTITION BY RANGE (YEAR(d)) (\
         PARTITION p0 VALUES LESS THAN (2020), PARTITION p1 VALUES LESS THAN (2021), \
         PARTITION pmax VALUES LESS THAN MAXVALUE)",
    );
    let c = conv("UTC");
    assert_eq!(r.physical_ids(), [101, 102, 103]);
    assert_eq!(r.route(&[Datum::Int(1), date(2019, 12, 31)], &c), Ok(0));
    assert_eq!(r.route(&[Datum::Int(1), date(2020, 1, 1)], &c), Ok(1));
    assert_eq!(r.route(&[Datum::Int(1), date(2030, 6, 1)], &c), Ok(2));
    assert_eq!(r.route(&[Datum::Int(1), Datum::Null], &c), Ok(0));
}

#[test]
fn range_without_room_is_tidbs_error() {
    let r = router(
        "CREATE TABLE t (id BIGINT) PARTITION BY RANGE (id DIV 10) (\
         PARTITION p0 VALUES LESS THAN (1), PARTITION p1 VALUES LESS THAN (5))",
    );
    let c = conv("UTC");
    assert_eq!(r.route(&[Datum::Int(9)], &c), Ok(0));
    assert_eq!(r.route(&[Datum::Int(49)], &c), Ok(1));
    let err = r.route(&[Datum::Int(50)], &c).expect_err("no partition");
    assert!(
        err.to_string()
            .contains("Table has no partition for value 5"),
        "{err}"
    );
    assert!(err.to_string().contains("`d`.`t`"), "{err}");
}

#[test]
fn range_on_to_days_and_unix_timestamp_bounds() {
    let r = router(
        "CREATE TABLE t (d DATE) PARTITION BY RANGE (TO_DAYS(d)) (\
         PARTITION p0 VALUES LESS THAN (TO_DAYS('2020-01-01')), \
         PARTITION p1 VALUES LESS THAN (MAXVALUE))",
    );
    let c = conv("UTC");
    assert_eq!(r.route(&[date(2019, 12, 31)], &c), Ok(0));
    assert_eq!(r.route(&[date(2020, 1, 1)], &c), Ok(1));
    // The bound is read in the job's time zone: 2020-01-01 00:00 at +08:00
    // is 2019-12-31 16:00 UTC; TIMESTAMP datums are UTC.
    let r = router(
        "CREATE TABLE t (ts TIMESTAMP) PARTITION BY RANGE (UNIX_TIMESTAMP(ts)) (\
         PARTITION p0 VALUES LESS THAN (UNIX_TIMESTAMP('2020-01-01 00:00:00')), \
         PARTITION p1 VALUES LESS THAN (MAXVALUE))",
    );
    let c = conv("+08:00");
    assert_eq!(r.route(&[ts(2019, 12, 31, 15, 59, 59)], &c), Ok(0));
    assert_eq!(r.route(&[ts(2019, 12, 31, 16, 0, 0)], &c), Ok(1));
}

#[test]
fn range_columns_compare_tuples_under_the_collation() {
    let r = router(
        "CREATE TABLE t (a INT, b VARCHAR(10) COLLATE utf8mb4_general_ci) \
         PARTITION BY RANGE COLUMNS (a, b) (\
         PARTITION p0 VALUES LESS THAN (10, 'm'), PARTITION p1 VALUES LESS THAN (10, MAXVALUE), \
         PARTITION p2 VALUES LESS THAN (MAXVALUE, MAXVALUE))",
    );
    let c = conv("UTC");
    let row = |a: i64, b: &str| [Datum::Int(a), Datum::Bytes(b.as_bytes().to_vec())];
    assert_eq!(r.route(&row(9, "zzz"), &c), Ok(0));
    assert_eq!(r.route(&row(10, "L"), &c), Ok(0));
    // 'M' equals 'm' under general_ci: not below the bound.
    assert_eq!(r.route(&row(10, "M"), &c), Ok(1));
    assert_eq!(r.route(&row(11, "a"), &c), Ok(2));
    assert_eq!(r.route(&[Datum::Null, Datum::Null], &c), Ok(0));
    let d = router(
        "CREATE TABLE t (d DATETIME) PARTITION BY RANGE COLUMNS (d) (\
         PARTITION p0 VALUES LESS THAN ('2020-01-01'), PARTITION p1 VALUES LESS THAN ('2021-01-01'))",
    );
    assert_eq!(d.route(&[date(2020, 6, 1)], &c), Ok(1));
    assert!(d.route(&[date(2022, 6, 1)], &c).is_err());
}

#[test]
fn list_with_null_and_default() {
    let r = router(
        "CREATE TABLE t (id INT) PARTITION BY LIST (id MOD 10) (\
         PARTITION p0 VALUES IN (1, 3, NULL), PARTITION p1 VALUES IN (2, 4), PARTITION pd DEFAULT)",
    );
    let c = conv("UTC");
    assert_eq!(r.route(&[Datum::Int(13)], &c), Ok(0));
    assert_eq!(r.route(&[Datum::Null], &c), Ok(0));
    assert_eq!(r.route(&[Datum::Int(24)], &c), Ok(1));
    assert_eq!(r.route(&[Datum::Int(7)], &c), Ok(2));
    let strict = router(
        "CREATE TABLE t (id INT) PARTITION BY LIST (id) (PARTITION p0 VALUES IN (1), PARTITION p1 VALUES IN (2))",
    );
    assert!(strict
        .route(&[Datum::Int(3)], &c)
        .expect_err("unlisted")
        .to_string()
        .contains("no partition for value 3"));
}

#[test]
fn list_columns_match_under_the_collation() {
    let r = router(
        "CREATE TABLE t (region VARCHAR(8) COLLATE utf8mb4_0900_ai_ci, n INT) \
         PARTITION BY LIST COLUMNS (region) (\
         PARTITION pe VALUES IN ('eu', 'uk'), PARTITION pa VALUES IN ('asia'))",
    );
    let c = conv("UTC");
    let row = |s: &str| [Datum::Bytes(s.as_bytes().to_vec()), Datum::Int(0)];
    assert_eq!(r.route(&row("EU"), &c), Ok(0));
    assert_eq!(r.route(&row("Asia"), &c), Ok(1));
    // NO PAD: 'eu ' is not 'eu'.
    assert!(r.route(&row("eu "), &c).is_err());
}

#[test]
fn hash_and_linear_hash_and_key() {
    let c = conv("UTC");
    let h = router("CREATE TABLE t (id INT, d DATE) PARTITION BY HASH (id) PARTITIONS 3");
    assert_eq!(h.route(&[Datum::Int(7), Datum::Null], &c), Ok(1));
    assert_eq!(h.route(&[Datum::Int(-7), Datum::Null], &c), Ok(1));
    assert_eq!(h.route(&[Datum::Null, Datum::Null], &c), Ok(0));
    let y =
        router("CREATE TABLE t (id INT, d DATE) PARTITION BY LINEAR HASH (YEAR(d)) PARTITIONS 4");
    assert_eq!(y.route(&[Datum::Int(0), date(2023, 1, 1)], &c), Ok(3));
    // KEY: crc32("5") = 2226203566, % 4 = 2; crc32("1000") % 4 = 3;
    // NULL then 5: crc32("\x005") % 4 = 0.
    let k = router("CREATE TABLE t (id INT, b INT) PARTITION BY KEY (id) PARTITIONS 4");
    assert_eq!(k.route(&[Datum::Int(5), Datum::Null], &c), Ok(2));
    assert_eq!(k.route(&[Datum::Int(1000), Datum::Null], &c), Ok(3));
    let k2 = router("CREATE TABLE t (id INT, b INT) PARTITION BY KEY (b, id) PARTITIONS 4");
    assert_eq!(k2.route(&[Datum::Int(5), Datum::Null], &c), Ok(0));
}

#[test]
fn unpartitioned_uses_the_table_id() {
    let db = DatabaseInfo {
        name: "d".into(),
        charset: None,
        collate: None,
    };
    let mut parsed =
        parse_create_table("CREATE TABLE t (id INT)", "t-schema.sql", &db, "t").expect("parses");
    parsed.info.id = 10;
    let r = PartitionRouter::new(&parsed.info, None);
    assert_eq!(r.physical_ids(), [10]);
    assert_eq!(r.route(&[Datum::Int(1)], &conv("UTC")), Ok(0));
}
