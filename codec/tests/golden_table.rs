//! Whole-row golden vectors from the spec (§3.2, §3.7, §4) through the
//! public `TableEncoder`.

mod common;

use common::*;
use squall_codec::{
    decode_handle_from_index_value, decode_record_key, Datum, EncodeOptions, EncodedKv, Handle,
    TableEncoder,
};
use squall_common::schema::*;

fn encode(t: &TableInfo, row: &[Datum], row_id: i64) -> Vec<EncodedKv> {
    let mut enc = TableEncoder::new(t).expect("valid table");
    let mut out = Vec::new();
    enc.encode_row(row, row_id, &mut out).expect("encodes");
    out
}

/// Table 45: `a INT` (col 1, id 1) with index 2 on it, `_tidb_rowid` handle.
fn int_index_table(unique: bool) -> TableInfo {
    table(
        45,
        vec![col(1, "a", 0, MysqlType::Long)],
        vec![index(2, "ia", &[0], unique)],
        HandleKind::RowId,
    )
}

#[test]
fn golden_int_index_non_unique() {
    let kvs = encode(&int_index_table(false), &[Datum::Int(7)], 9);
    assert_eq!(kvs.len(), 2);
    assert_eq!(
        kvs[0].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 72 80 00 00 00 00 00 00 09")
    );
    assert_eq!(kvs[0].index_id, None);
    assert_eq!(kvs[0].value, hex("80 00 01 00 00 00 01 01 00 07"));
    assert_eq!(
        kvs[1].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 03 80 00 00 00 00 00 00 07 03 80 00 00 00 00 00 00 09")
    );
    assert_eq!(kvs[1].value, hex("30"));
    assert_eq!(kvs[1].index_id, Some(2));
}

#[test]
fn golden_int_index_unique_and_null() {
    let kvs = encode(&int_index_table(true), &[Datum::Int(7)], 9);
    assert_eq!(
        kvs[1].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 03 80 00 00 00 00 00 00 07")
    );
    assert_eq!(kvs[1].value, hex("00 00 00 00 00 00 00 09"));
    assert_eq!(
        decode_handle_from_index_value(&kvs[1].value).expect("handle"),
        Handle::Int(9)
    );
    // A NULL makes the unique index non-distinct: handle in the key, value '0'.
    let kvs = encode(&int_index_table(true), &[Datum::Null], 9);
    assert_eq!(kvs[1].key, hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 00 03 80 00 00 00 00 00 00 09"));
    assert_eq!(kvs[1].value, hex("30"));
    // The nullable column with a NULL default is omitted from the row.
    assert_eq!(kvs[0].value, hex("80 00 00 00 00 00"));
    let kvs = encode(&int_index_table(true), &[Datum::Int(7)], -1);
    assert_eq!(kvs[1].value, hex("FF FF FF FF FF FF FF FF"));
}

/// §3.7: `VARCHAR utf8mb4_general_ci` column id 2 with index 2, table 45.
fn general_ci_table(unique: bool) -> TableInfo {
    let cols = vec![
        col(1, "id", 0, MysqlType::Long),
        varchar(2, "s", 1, "utf8mb4_general_ci"),
    ];
    table(
        45,
        cols,
        vec![index(2, "is", &[1], unique)],
        HandleKind::RowId,
    )
}

#[test]
fn golden_new_collation_index() {
    let row = [Datum::Null, Datum::Bytes(b"A".to_vec())];
    let kvs = encode(&general_ci_table(false), &row, 9);
    assert_eq!(
        kvs[1].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 01 00 41 00 00 00 00 00 00 F9 03 80 00 00 00 00 00 00 09")
    );
    assert_eq!(kvs[1].value, hex("00 80 00 01 00 00 00 02 01 00 41"));
    let kvs = encode(&general_ci_table(true), &row, 9);
    assert_eq!(kvs[1].key, hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 01 00 41 00 00 00 00 00 00 F9"));
    assert_eq!(
        kvs[1].value,
        hex("08 80 00 01 00 00 00 02 01 00 41 00 00 00 00 00 00 00 09")
    );
    assert_eq!(
        decode_handle_from_index_value(&kvs[1].value).expect("handle"),
        Handle::Int(9)
    );
}

/// A unique index on one column of `collate` (table 45, index 2).
fn unique_on(collate: &str) -> TableInfo {
    let cols = vec![
        col(1, "id", 0, MysqlType::Long),
        varchar(2, "s", 1, collate),
    ];
    table(
        45,
        cols,
        vec![index(2, "us", &[1], true)],
        HandleKind::RowId,
    )
}

fn unique_key(collate: &str, s: &str) -> Vec<u8> {
    encode(
        &unique_on(collate),
        &[Datum::Null, Datum::Bytes(s.as_bytes().to_vec())],
        9,
    )[1]
    .key
    .clone()
}

#[test]
fn unique_index_keys_follow_every_collation() {
    // 0900_ai_ci: 'a' = [1C47]; the key holds the sort key, memcomparable.
    assert_eq!(
        unique_key("utf8mb4_0900_ai_ci", "A"),
        hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 01 1C 47 00 00 00 00 00 00 F9")
    );
    // The conflicts: equal keys are one unique key in TiKV.
    let same = |c: &str, a: &str, b: &str| unique_key(c, a) == unique_key(c, b);
    assert!(same("utf8mb4_0900_ai_ci", "a", "A"));
    assert!(!same("utf8mb4_0900_ai_ci", "a", "a "));
    assert!(same("utf8mb4_unicode_ci", "a", "A "));
    assert!(!same("utf8mb4_bin", "a", "A"));
    assert!(same("utf8_unicode_ci", "straße", "STRASSE"));
    assert!(same("gbk_chinese_ci", "abc ", "ABC"));
    assert!(!same("gbk_bin", "abc", "ABC"));
    // Case-folding collations keep the original value in the index value.
    let kvs = encode(
        &unique_on("utf8mb4_unicode_ci"),
        &[Datum::Null, Datum::Bytes(b"A".to_vec())],
        9,
    );
    assert_eq!(
        kvs[1].value,
        hex("08 80 00 01 00 00 00 02 01 00 41 00 00 00 00 00 00 00 09")
    );
}

#[test]
fn new_collation_off_uses_raw_bytes_and_old_values() {
    let opts = EncodeOptions {
        new_collation: false,
    };
    let mut enc = TableEncoder::with_options(&general_ci_table(false), opts).expect("valid");
    let mut out = Vec::new();
    enc.encode_row(&[Datum::Null, Datum::Bytes(b"A ".to_vec())], 9, &mut out)
        .expect("encodes");
    assert_eq!(out[1].value, hex("30"));
    assert_eq!(out[1].key[19..29], hex("01 41 20 00 00 00 00 00 00 F9"));
}

#[test]
fn char_bin_index_needs_no_restore_but_varchar_bin_does() {
    let mut c = col(2, "c", 1, MysqlType::String);
    c.field_type.collate = "utf8mb4_bin".into();
    let t = table(
        45,
        vec![col(1, "id", 0, MysqlType::Long), c],
        vec![index(2, "ic", &[1], false)],
        HandleKind::RowId,
    );
    let kvs = encode(&t, &[Datum::Int(1), Datum::Bytes(b"a".to_vec())], 9);
    assert_eq!(kvs[1].value, hex("30"));
    let t = table(
        45,
        vec![
            col(1, "id", 0, MysqlType::Long),
            varchar(2, "v", 1, "utf8mb4_bin"),
        ],
        vec![index(2, "iv", &[1], false)],
        HandleKind::RowId,
    );
    let kvs = encode(&t, &[Datum::Int(1), Datum::Bytes(b"a ".to_vec())], 9);
    // Key trims the trailing space; the value restores "a ".
    assert_eq!(kvs[1].key[19..29], hex("01 61 00 00 00 00 00 00 00 F8"));
    assert_eq!(kvs[1].value, hex("00 80 00 01 00 00 00 02 02 00 61 20"));
}

#[test]
fn int_pk_is_the_handle_and_left_out_of_the_row() {
    let mut pk = index(1, "PRIMARY", &[0], true);
    pk.primary = true;
    let t = table(
        45,
        vec![
            col(1, "id", 0, MysqlType::LongLong),
            col(2, "v", 1, MysqlType::Varchar),
        ],
        vec![pk],
        HandleKind::IntPk,
    );
    let kvs = encode(&t, &[Datum::Int(1), Datum::Bytes(b"abc".to_vec())], 999);
    assert_eq!(kvs.len(), 1, "clustered PK writes no index KV");
    assert_eq!(
        kvs[0].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 72 80 00 00 00 00 00 00 01")
    );
    assert_eq!(kvs[0].value, hex("80 00 01 00 00 00 02 03 00 61 62 63"));
    assert_eq!(
        decode_record_key(&kvs[0].key).expect("decodes"),
        (45, Handle::Int(1))
    );
}

#[test]
fn clustered_common_handle_table() {
    let mut pk = index(1, "PRIMARY", &[0], true);
    pk.primary = true;
    let cols = vec![
        varchar(1, "k", 0, "utf8mb4_general_ci"),
        col(2, "v", 1, MysqlType::Long),
    ];
    let t = table(
        45,
        cols,
        vec![pk, index(2, "iv", &[1], false), index(3, "uv", &[1], true)],
        HandleKind::Common,
    );
    let kvs = encode(&t, &[Datum::Bytes(b"a".to_vec()), Datum::Int(5)], 0);
    let handle = hex("01 00 41 00 00 00 00 00 00 F9");
    let mut want_key = hex("74 80 00 00 00 00 00 00 2D 5F 72");
    want_key.extend_from_slice(&handle);
    assert_eq!(kvs[0].key, want_key);
    // The general_ci PK column needs restored data, so it stays in the row.
    assert_eq!(
        kvs[0].value,
        hex("80 00 02 00 00 00 01 02 01 00 02 00 61 05")
    );
    // Non-unique: handle appended to the key; value 00 7D 01 + PK restored data {1: "a"}.
    assert!(kvs[1].key.ends_with(&handle));
    assert_eq!(kvs[1].value, hex("00 7D 01 80 00 01 00 00 00 01 01 00 61"));
    // Unique: handle in the value after 7F + u16 length.
    let mut want = hex("00 7D 01 7F 00 0A");
    want.extend_from_slice(&handle);
    want.extend_from_slice(&hex("80 00 01 00 00 00 01 01 00 61"));
    assert_eq!(kvs[2].value, want);
    assert_eq!(
        decode_handle_from_index_value(&kvs[2].value).expect("handle"),
        Handle::Common(handle)
    );
}

#[test]
fn virtual_generated_columns_are_indexed_but_not_in_the_row() {
    let mut v = col(2, "v", 1, MysqlType::Long);
    v.generated = Some("a + 1".into());
    let mut s = col(3, "s", 2, MysqlType::Long);
    s.generated = Some("a * 2".into());
    s.generated_stored = true;
    let t = table(
        45,
        vec![col(1, "a", 0, MysqlType::Long), v, s],
        vec![index(2, "iv", &[1], false)],
        HandleKind::RowId,
    );
    let kvs = encode(&t, &[Datum::Int(7), Datum::Int(8), Datum::Int(14)], 9);
    // Row v2 with columns 1 and 3 only: ids [01, 03], values 07 and 0E.
    assert_eq!(
        kvs[0].value,
        hex("80 00 02 00 00 00 01 03 01 00 02 00 07 0E")
    );
    // The index holds the virtual column's value 8.
    assert_eq!(
        kvs[1].key,
        hex("74 80 00 00 00 00 00 00 2D 5F 69 80 00 00 00 00 00 00 02 03 80 00 00 00 00 00 00 08 03 80 00 00 00 00 00 00 09")
    );
}

#[test]
fn schema_problems_are_reported_up_front() {
    let t = table(
        45,
        vec![varchar(1, "s", 0, "latin1_swedish_ci")],
        vec![index(2, "is", &[0], false)],
        HandleKind::RowId,
    );
    let err = TableEncoder::new(&t).expect_err("latin1_swedish_ci unsupported");
    assert!(err.to_string().contains("unsupported collation"), "{err}");
    let mut enc = TableEncoder::new(&int_index_table(false)).expect("valid");
    assert!(enc.encode_row(&[], 1, &mut Vec::new()).is_err());
}
