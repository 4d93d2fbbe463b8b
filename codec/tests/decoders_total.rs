//! Every decoder is total: on arbitrary bytes, and on every truncation of a
//! valid encoding, it returns `Ok` or `Err` and never panics. Values read
//! back from TiKV during conflict resolution come from outside the process,
//! so a panic here would take the coordinator down.
//!
//! Three kinds of properties:
//! * arbitrary bytes through every decoder (plus what an `Ok` implies);
//! * truncations of rows and index entries made by `TableEncoder`, of key
//!   datums, decimals and binary JSON, cut at every length;
//! * round trips through the encoders where one exists.

mod common;

use common::*;
use proptest::prelude::*;
use squall_codec::bytes::{
    decode_bytes, decode_bytes_desc, decode_compact_bytes, encode_bytes, encode_bytes_desc,
};
use squall_codec::datum_codec::{
    decode_key_datum, decode_key_datums, decode_row_value, encode_key_datum,
};
use squall_codec::decimal::Decimal;
use squall_codec::index_value::{
    encode_index_value_clustered_v1, encode_index_value_v0, split_index_value,
};
use squall_codec::key::decode_table_id;
use squall_codec::number::*;
use squall_codec::row_v2::{RowV2, Slot};
use squall_codec::{
    decode_handle_from_index_value, decode_index_handle, decode_index_key, decode_record_key,
    decode_row_v2, decode_row_v2_with_handle, describe, describe_with_table, CodecError, Datum,
    Duration, Handle, Json, TableEncoder, Time, TimeKind,
};
use squall_common::schema::*;

// ---------------------------------------------------------------- schemas

/// Every row-v2 column kind, with indexes in each value layout TiDB writes
/// for a `_tidb_rowid` table: old 8-byte handle, `'0'`, and version 0 with
/// restored data (general_ci strings).
fn wide_table() -> TableInfo {
    let mut uns = col(2, "u", 1, MysqlType::LongLong);
    uns.field_type.unsigned = true;
    let mut dec = col(4, "d", 3, MysqlType::NewDecimal);
    (dec.field_type.flen, dec.field_type.decimal) = (10, 2);
    let mut dt = col(5, "t", 4, MysqlType::Datetime);
    dt.field_type.decimal = 3;
    let mut dur = col(6, "dur", 5, MysqlType::Duration);
    dur.field_type.decimal = 0;
    let mut en = col(10, "e", 9, MysqlType::Enum);
    en.field_type.elems = vec!["a".into(), "b".into(), "c".into()];
    let mut set = col(11, "st", 10, MysqlType::Set);
    set.field_type.elems = vec!["x".into(), "y".into()];
    table(
        45,
        vec![
            col(1, "i", 0, MysqlType::LongLong),
            uns,
            varchar(3, "s", 2, "utf8mb4_general_ci"),
            dec,
            dt,
            dur,
            col(7, "j", 6, MysqlType::Json),
            col(8, "f", 7, MysqlType::Double),
            col(9, "b", 8, MysqlType::Blob),
            en,
            set,
            col(12, "bit", 11, MysqlType::Bit),
        ],
        vec![
            index(1, "ui", &[0], true),
            index(2, "is", &[2], false),
            index(3, "usd", &[2, 3], true),
            index(4, "itd", &[4, 5], false),
            index(5, "uf", &[7], true),
        ],
        HandleKind::RowId,
    )
}

/// Clustered primary key (k general_ci, v int): version 1 index values with
/// a common handle and restored data.
fn clustered_table() -> TableInfo {
    let mut pk = index(1, "PRIMARY", &[0, 1], true);
    pk.primary = true;
    table(
        46,
        vec![
            varchar(1, "k", 0, "utf8mb4_general_ci"),
            col(2, "v", 1, MysqlType::Long),
            col(3, "w", 2, MysqlType::LongLong),
        ],
        vec![pk, index(2, "uw", &[2], true), index(3, "ik", &[0], false)],
        HandleKind::Common,
    )
}

/// Integer primary key: the handle column is left out of the row.
fn int_pk_table() -> TableInfo {
    let mut pk = index(1, "PRIMARY", &[0], true);
    pk.primary = true;
    table(
        47,
        vec![
            col(1, "id", 0, MysqlType::LongLong),
            varchar(2, "name", 1, "utf8mb4_bin"),
        ],
        vec![pk, index(2, "un", &[1], true)],
        HandleKind::IntPk,
    )
}

// ------------------------------------------------------------- strategies

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e300f64..1e300).prop_map(serde_json::Value::from),
        "[a-z0-9 é]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z]{0,6}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json() -> impl Strategy<Value = Json> {
    json_value().prop_map(|v| Json::from_value(&v).expect("small documents encode"))
}

/// A decimal with exactly `frac` fraction digits that fits DECIMAL(prec, frac).
fn decimal(prec: usize, frac: usize) -> impl Strategy<Value = Decimal> {
    (
        any::<bool>(),
        prop::collection::vec(0u8..10, prec - frac),
        prop::collection::vec(0u8..10, frac),
    )
        .prop_map(|(neg, i, f)| Decimal::from_digits(neg, &i, &f))
}

fn time(fsp: u8) -> impl Strategy<Value = Time> {
    (
        (0u16..10000, 1u8..13, 1u8..29),
        (0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000),
    )
        .prop_map(
            move |((year, month, day), (hour, minute, second, micro))| Time {
                year,
                month,
                day,
                hour,
                minute,
                second,
                micro,
                kind: TimeKind::Datetime,
                fsp,
            },
        )
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    "[a-zA-Z0-9 äß€]{0,24}".prop_map(String::into_bytes)
}

fn nullable<S: Strategy<Value = Datum>>(s: S) -> impl Strategy<Value = Datum> {
    prop_oneof![1 => Just(Datum::Null), 4 => s]
}

/// One row of [`wide_table`], typed as the decoder returns it.
fn wide_row() -> impl Strategy<Value = Vec<Datum>> {
    (
        (
            nullable(any::<i64>().prop_map(Datum::Int)),
            nullable(any::<u64>().prop_map(Datum::Uint)),
            nullable(text().prop_map(Datum::Bytes)),
            nullable(decimal(10, 2).prop_map(Datum::Decimal)),
            nullable(time(3).prop_map(Datum::Time)),
            nullable(any::<i64>().prop_map(|nanos| Datum::Duration(Duration { nanos, fsp: 0 }))),
        ),
        (
            nullable(json().prop_map(Datum::Json)),
            nullable(
                any::<f64>()
                    .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
                    .prop_map(Datum::Float),
            ),
            nullable(prop::collection::vec(any::<u8>(), 0..80).prop_map(Datum::Bytes)),
            nullable((0u64..4).prop_map(|index| Datum::Enum { index })),
            nullable((0u64..4).prop_map(|mask| Datum::Set { mask })),
            nullable(any::<u64>().prop_map(Datum::Bit)),
        ),
    )
        .prop_map(|((a, b, c, d, e, f), (g, h, i, j, k, l))| {
            vec![a, b, c, d, e, f, g, h, i, j, k, l]
        })
}

fn clustered_row() -> impl Strategy<Value = Vec<Datum>> {
    (
        text(),
        any::<i32>(),
        nullable(any::<i64>().prop_map(Datum::Int)),
    )
        .prop_map(|(k, v, w)| vec![Datum::Bytes(k), Datum::Int(i64::from(v)), w])
}

fn int_pk_row() -> impl Strategy<Value = Vec<Datum>> {
    (any::<i64>(), nullable(text().prop_map(Datum::Bytes)))
        .prop_map(|(id, name)| vec![Datum::Int(id), name])
}

/// A key datum of every kind `EncodeKey` writes.
fn key_datum() -> impl Strategy<Value = (Datum, FieldType)> {
    let plain = |tp| FieldType::new(tp);
    prop_oneof![
        Just((Datum::Null, plain(MysqlType::LongLong))),
        any::<i64>().prop_map(move |v| (Datum::Int(v), plain(MysqlType::LongLong))),
        any::<u64>().prop_map(move |v| (Datum::Uint(v), plain(MysqlType::LongLong))),
        any::<f64>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(move |f| (Datum::Float(f), plain(MysqlType::Double))),
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(move |b| (Datum::Bytes(b), plain(MysqlType::Blob))),
        decimal(20, 6).prop_map(|d| {
            let mut ft = FieldType::new(MysqlType::NewDecimal);
            (ft.flen, ft.decimal) = (20, 6);
            (Datum::Decimal(d), ft)
        }),
        any::<i64>().prop_map(move |nanos| {
            (
                Datum::Duration(Duration { nanos, fsp: 6 }),
                plain(MysqlType::Duration),
            )
        }),
    ]
}

// ---------------------------------------------------------------- helpers

/// Runs every schema-less decoder over `b`. Panics are the failure this
/// suite looks for; where a decoder succeeds, what that implies is checked.
fn decode_everything(b: &[u8]) -> Result<(), TestCaseError> {
    check_consumed(b, decode_int, |v, out| encode_int(out, v))?;
    check_consumed(b, decode_uint, |v, out| encode_uint(out, v))?;
    check_consumed(b, decode_bytes, |v, out| encode_bytes(out, &v))?;
    check_consumed(b, decode_bytes_desc, |v, out| encode_bytes_desc(out, &v))?;
    let mut rest = b;
    if decode_uvarint(&mut rest).is_ok() {
        prop_assert!(rest.len() < b.len(), "a varint takes at least one byte");
    }
    let _ = decode_varint(&mut &b[..]);
    let _ = decode_float(&mut &b[..]);
    let _ = decode_compact_bytes(&mut &b[..]);
    let _ = decode_compact_int(b);
    let _ = decode_compact_uint(b);
    if let Ok(ds) = decode_key_datums(b) {
        prop_assert!(ds.len() <= b.len(), "every key datum has a flag byte");
    }
    let _ = decode_table_id(b);
    if let Ok((_, Handle::Int(_))) = decode_record_key(b) {
        prop_assert_eq!(b.len(), 19, "an int handle record key is 19 bytes");
    }
    let _ = decode_index_key(b);
    check_row(b)?;
    check_index_value(b)?;
    if let Ok(j) = Json::from_binary(b.to_vec()) {
        prop_assert!(j.to_text().is_ok(), "from_binary checked the document");
    }
    let text = describe(b);
    prop_assert!(!text.is_empty());
    for t in [wide_table(), clustered_table(), int_pk_table()] {
        prop_assert!(!describe_with_table(b, &t).is_empty());
        let _ = decode_row_v2(b, &t);
        let _ = decode_row_v2_with_handle(b, &t, Some(&Handle::Common(b.to_vec())));
        let _ = decode_row_v2_with_handle(b, &t, Some(&Handle::Int(7)));
        for ix in &t.indices {
            let _ = decode_index_handle(b, b, &t, ix);
        }
    }
    Ok(())
}

/// `decode(b)`: on success, the bytes consumed are exactly the encoding of
/// the value (these codecs are canonical: padding and markers are checked).
fn check_consumed<T>(
    b: &[u8],
    decode: impl Fn(&mut &[u8]) -> Result<T, CodecError>,
    encode: impl Fn(T, &mut Vec<u8>),
) -> Result<(), TestCaseError> {
    let mut rest = b;
    if let Ok(v) = decode(&mut rest) {
        let used = b.len() - rest.len();
        let mut again = Vec::new();
        encode(v, &mut again);
        prop_assert_eq!(&again[..], &b[..used]);
    }
    Ok(())
}

/// Every column of a parsed row yields its slot; values decode as any type.
fn check_row(b: &[u8]) -> Result<(), TestCaseError> {
    let Ok(row) = RowV2::parse(b) else {
        return Ok(());
    };
    for (i, id) in row.not_null_ids.iter().enumerate() {
        let v = row.value_at(i);
        prop_assert!(v.is_some(), "not-null column #{} has bytes", i);
        let v = v.unwrap_or_default();
        let types = [
            MysqlType::LongLong,
            MysqlType::Double,
            MysqlType::NewDecimal,
            MysqlType::Datetime,
            MysqlType::Duration,
            MysqlType::Json,
            MysqlType::Enum,
            MysqlType::Bit,
            MysqlType::Blob,
        ];
        for tp in types {
            if let Ok(d) = decode_row_value(v, &FieldType::new(tp)) {
                // Rendering a decoded value must not panic either.
                let _ = d.to_display_string(&FieldType::new(tp));
            }
        }
        let _ = row.get(i64::from(*id));
    }
    prop_assert!(row.value_at(row.not_null_ids.len()).is_none());
    Ok(())
}

/// A split index value points into the value it came from.
fn check_index_value(b: &[u8]) -> Result<(), TestCaseError> {
    let Ok(p) = split_index_value(b) else {
        prop_assert!(decode_handle_from_index_value(b).is_err());
        return Ok(());
    };
    for part in [p.common_handle, p.restored].into_iter().flatten() {
        prop_assert!(part.len() < b.len());
    }
    match decode_handle_from_index_value(b) {
        Ok(Handle::Int(h)) => prop_assert_eq!(p.int_handle, Some(h)),
        Ok(Handle::Common(c)) => prop_assert_eq!(p.common_handle, Some(c.as_slice())),
        Err(_) => prop_assert!(p.int_handle.is_none() && p.common_handle.is_none()),
    }
    Ok(())
}

fn encode_table_row(t: &TableInfo, row: &[Datum], row_id: i64) -> Vec<squall_codec::EncodedKv> {
    let mut enc = TableEncoder::new(t).expect("test schemas are valid");
    let mut out = Vec::new();
    enc.encode_row(row, row_id, &mut out).expect("row encodes");
    out
}

/// Encodes `row`, checks every KV decodes back to it, then decodes every
/// truncation of every key and value.
fn check_table_row(t: &TableInfo, row: &[Datum], row_id: i64) -> Result<(), TestCaseError> {
    let kvs = encode_table_row(t, row, row_id);
    let record = kvs
        .iter()
        .find(|kv| kv.index_id.is_none())
        .expect("a record KV");
    let (table_id, handle) = decode_record_key(&record.key).expect("record key decodes");
    prop_assert_eq!(table_id, t.id);
    let back = decode_row_v2_with_handle(&record.value, t, Some(&handle)).expect("row decodes");
    prop_assert_eq!(&back, &row.to_vec());
    for kv in kvs.iter().filter(|kv| kv.index_id.is_some()) {
        let ix = t
            .indices
            .iter()
            .find(|i| Some(i.id) == kv.index_id)
            .expect("index of the KV");
        let k = decode_index_key(&kv.key).expect("index key decodes");
        prop_assert_eq!((k.table_id, k.index_id), (t.id, ix.id));
        prop_assert_eq!(
            decode_index_handle(&kv.key, &kv.value, t, ix).expect("handle decodes"),
            handle.clone()
        );
    }
    for kv in &kvs {
        for cut in 0..kv.key.len() {
            let short = &kv.key[..cut];
            // A cut common handle can still be a (shorter) valid handle; a
            // cut int handle record key never is.
            if kv.index_id.is_none() && matches!(handle, Handle::Int(_)) {
                prop_assert!(decode_record_key(short).is_err(), "cut at {}", cut);
            }
            let _ = decode_index_key(short);
            prop_assert!(!describe_with_table(short, t).is_empty());
        }
        for cut in 0..kv.value.len() {
            let short = &kv.value[..cut];
            if kv.index_id.is_none() {
                prop_assert!(RowV2::parse(short).is_err(), "cut at {}", cut);
                prop_assert!(decode_row_v2_with_handle(short, t, Some(&handle)).is_err());
            } else {
                let _ = split_index_value(short);
                let _ = decode_handle_from_index_value(short);
                for ix in &t.indices {
                    let _ = decode_index_handle(&kv.key, short, t, ix);
                }
            }
            decode_everything(short)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..200)) {
        decode_everything(&b)?;
    }

    /// Random bytes rarely get past the first check; these start with the
    /// bytes each format opens with, so the deeper paths run too.
    #[test]
    fn plausible_prefixes_never_panic(
        prefix in prop_oneof![
            Just(vec![0x80u8, 0x00]),
            Just(vec![0x80, 0x01]),
            Just(vec![0x80, 0x02]),
            Just(vec![0x00, 0x7D, 0x01]),
            Just(vec![0x01, 0x7D, 0x01]),
            Just(vec![0x00, 0x7F]),
            Just(vec![0x08, 0x7E]),
            Just(vec![0x00, 0x7D, 0x01, 0x7F, 0x00]),
            Just(vec![0x01]),
            Just(vec![0x03]),
            Just(vec![0x06]),
            Just(vec![0x0A, 0x01]),
            Just(vec![0x0A, 0x03]),
            Just(vec![0x0A, 0x0C]),
            Just(b"t\x80\x00\x00\x00\x00\x00\x00\x2D_r".to_vec()),
            Just(b"t\x80\x00\x00\x00\x00\x00\x00\x2D_i\x80\x00\x00\x00\x00\x00\x00\x01".to_vec()),
            Just(b"zt\x80\x00\x00\x00\x00\x00\x00\x2D_r".to_vec()),
        ],
        tail in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut b = prefix;
        b.extend_from_slice(&tail);
        decode_everything(&b)?;
        // As a JSON body (flag 0x0A already consumed) too.
        if let Some(rest) = b.get(1..) {
            let _ = Json::from_binary(rest.to_vec());
        }
    }

    #[test]
    fn wide_rows_round_trip_and_truncations_fail_cleanly(row in wide_row(), row_id: i64) {
        check_table_row(&wide_table(), &row, row_id)?;
    }

    #[test]
    fn clustered_rows_round_trip_and_truncations_fail_cleanly(row in clustered_row()) {
        check_table_row(&clustered_table(), &row, 0)?;
    }

    #[test]
    fn int_pk_rows_round_trip_and_truncations_fail_cleanly(row in int_pk_row()) {
        check_table_row(&int_pk_table(), &row, 0)?;
    }

    #[test]
    fn key_datums_round_trip_and_truncations_fail(ds in prop::collection::vec(key_datum(), 1..5)) {
        let mut b = Vec::new();
        for (d, ft) in &ds {
            encode_key_datum(&mut b, d, ft, None).expect("encodes");
        }
        let want: Vec<Datum> = ds.into_iter().map(|(d, _)| d).collect();
        prop_assert_eq!(&decode_key_datums(&b).expect("decodes"), &want);
        for cut in 0..b.len() {
            let mut rest = &b[..cut];
            let mut got = Vec::new();
            while !rest.is_empty() {
                match decode_key_datum(&mut rest) {
                    Ok(d) => got.push(d),
                    Err(_) => break,
                }
            }
            // A cut never yields the whole sequence.
            prop_assert_ne!(&got, &want);
            decode_everything(&b[..cut])?;
        }
    }

    #[test]
    fn decimals_truncated_or_reshaped_never_panic(
        d in decimal(30, 10),
        prec in 0usize..80,
        frac in 0usize..40,
    ) {
        let mut b = Vec::new();
        d.write_bin(&mut b, 30, 10).expect("fits");
        prop_assert_eq!(&Decimal::read_bin(&mut b.as_slice(), 30, 10).expect("reads"), &d);
        for cut in 0..b.len() {
            prop_assert!(Decimal::read_bin(&mut &b[..cut], 30, 10).is_err());
        }
        // Any declared shape over the same bytes: a value or an error.
        if let Ok(v) = Decimal::read_bin(&mut b.as_slice(), prec, frac) {
            prop_assert!(v.frac_len() == frac && prec >= frac && prec <= 65);
        }
    }

    #[test]
    fn json_round_trips_and_truncations_fail(j in json()) {
        let bytes = j.as_bytes().to_vec();
        let back = Json::from_binary(bytes.clone()).expect("own encoding decodes");
        prop_assert_eq!(&back, &j);
        // Binary -> value -> binary is exact. (Not via text: serde_json's
        // default float parser can be one ULP off.)
        let value = back.to_value().expect("decodes");
        prop_assert_eq!(Json::from_value(&value).expect("re-encodes"), j);
        prop_assert!(!back.to_text().expect("renders").is_empty());
        for cut in 0..bytes.len() {
            // Scalars read a fixed width and strings their length, so a
            // cut document is an error except where a prefix is itself a
            // complete value (never for containers: their size is checked).
            let r = Json::from_binary(bytes[..cut].to_vec());
            if matches!(bytes[0], 0x01 | 0x03) {
                prop_assert!(r.is_err(), "cut container at {} accepted", cut);
            }
        }
    }

    #[test]
    fn index_value_encoders_round_trip(
        h: i64,
        // An encoded common handle is at least one 9-byte datum; a distinct
        // v1 value is then longer than any old-format value (9 bytes).
        common in prop::collection::vec(any::<u8>(), 9..40),
        // Restored data is a row v2 of at least one column: 0x80 and 8 or
        // more bytes, so no v1 value with it is as short as 9 bytes.
        restored_tail in prop::collection::vec(any::<u8>(), 8..30),
        distinct: bool,
        with_restored: bool,
    ) {
        let mut restored = vec![0x80u8];
        restored.extend_from_slice(&restored_tail);
        let r = with_restored.then_some(restored.as_slice());
        let mut v0 = Vec::new();
        encode_index_value_v0(&mut v0, distinct, &Handle::Int(h), r);
        let p = split_index_value(&v0).expect("v0 splits");
        prop_assert_eq!(p.int_handle, distinct.then_some(h));
        prop_assert_eq!(p.restored, r);
        let mut v1 = Vec::new();
        encode_index_value_clustered_v1(&mut v1, distinct, &Handle::Common(common.clone()), r);
        let p = split_index_value(&v1).expect("v1 splits");
        prop_assert_eq!(p.version, 1);
        prop_assert_eq!(p.common_handle, distinct.then_some(common.as_slice()));
        prop_assert_eq!(p.restored, r);
        for v in [&v0, &v1] {
            for cut in 0..v.len() {
                let _ = split_index_value(&v[..cut]);
                decode_everything(&v[..cut])?;
            }
        }
    }

    #[test]
    fn memcomparable_bytes_truncations_fail(data in prop::collection::vec(any::<u8>(), 0..40)) {
        let (mut asc, mut desc) = (Vec::new(), Vec::new());
        encode_bytes(&mut asc, &data);
        encode_bytes_desc(&mut desc, &data);
        prop_assert_eq!(&decode_bytes(&mut asc.as_slice()).expect("asc"), &data);
        prop_assert_eq!(&decode_bytes_desc(&mut desc.as_slice()).expect("desc"), &data);
        for cut in 0..asc.len() {
            prop_assert!(decode_bytes(&mut &asc[..cut]).is_err());
            prop_assert!(decode_bytes_desc(&mut &desc[..cut]).is_err());
        }
    }

    #[test]
    fn packed_times_render(packed: u64, fsp in 0u8..10, nanos: i64) {
        for kind in [TimeKind::Date, TimeKind::Datetime, TimeKind::Timestamp] {
            let t = Time::from_packed(packed, kind, fsp);
            prop_assert!(t.to_string().len() >= 10);
            let _ = t.to_naive();
        }
        let d = Duration { nanos, fsp };
        prop_assert!(d.to_string().contains(':'));
    }
}

// ------------------------------------------------- hostile inputs, by name

#[test]
fn issue_20_index_value_017d01_is_an_error() {
    // Version 1 header with a tail length of 1: the tail overlaps the header.
    let err = split_index_value(&hex("01 7D 01")).expect_err("tail overlaps the header");
    assert!(err.to_string().contains("version header"), "{err}");
    let text = describe(&hex("01 7D 01"));
    assert!(
        text.contains("unrecognised 3 bytes 017d01") && text.contains("version header"),
        "{text}"
    );
    assert!(squall_codec::try_describe(&hex("01 7D 01"), None).is_err());
}

#[test]
fn index_value_lengths_past_the_end_are_errors() {
    for (bad, why) in [
        ("00 7D 01 7F", "common handle length"),
        ("00 7D 01 7F 00 0A 01 02 03 04", "common handle"),
        ("00 7D 01 7E 80 00", "comparable int"),
        ("FF 00 00 00 00 00 00 00 00 00 00", "tail length"),
        ("0B 00 00 00 00 00 00 00 00 00 00", "tail length"),
    ] {
        let err = split_index_value(&hex(bad)).expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
    assert!(split_index_value(&[]).is_err());
}

#[test]
fn json_offsets_that_loop_or_nest_too_deep_are_errors() {
    // Array of one element whose value entry points back at the array.
    let looping = hex("03 01 00 00 00 0D 00 00 00 03 00 00 00 00");
    let err = Json::from_binary(looping).expect_err("self-reference");
    assert!(
        err.to_string().contains("overlap") || err.to_string().contains("deeper"),
        "{err}"
    );
    // Object whose key entry is cut after its offset (bytes 4..6 missing).
    let short_key = hex("01 01 00 00 00 0C 00 00 00 0C 00 00 00");
    assert!(Json::from_binary(short_key).is_err());
    // Element count far beyond the container.
    let huge = hex("03 FF FF FF FF 0D 00 00 00 04 01 00 00 00");
    let err = Json::from_binary(huge).expect_err("count too large");
    assert!(err.to_string().contains("entries"), "{err}");
    // A string longer than the document.
    assert!(Json::from_binary(hex("0C FF FF FF FF 0F 61")).is_err());
}

#[test]
fn row_v2_offsets_out_of_order_or_past_the_end_are_errors() {
    let cases = [
        (
            "80 00 02 00 00 00 01 02 05 00 03 00 61 62 63 64 65",
            "before the previous",
        ),
        ("80 00 01 00 00 00 01 FF 00", "row v2 data"),
        ("80 01 01 00 00 00 01 00 00 00 FF FF FF FF", "row v2 data"),
        ("80 00 FF FF FF FF", "column ids"),
        ("80 00 02 00 00 00 02 01 01 00 02 00 61 62", "not ascending"),
        ("80 00 00 00 02 00 03 03", "not ascending"),
    ];
    for (bad, why) in cases {
        let err = RowV2::parse(&hex(bad)).expect_err(bad);
        assert!(err.to_string().contains(why), "{bad}: {err}");
    }
}

#[test]
fn key_datum_lengths_past_the_end_are_errors() {
    // Compact bytes claiming 2^62 bytes; decimal with an impossible shape.
    let mut huge = vec![0x02];
    encode_varint(&mut huge, i64::MAX / 2);
    assert!(decode_key_datum(&mut huge.as_slice()).is_err());
    assert!(decode_key_datum(&mut &hex("06 FF 00 80")[..]).is_err());
    assert!(decode_key_datum(&mut &hex("06 05 06 80")[..]).is_err());
    assert!(decode_key_datum(&mut &hex("FB")[..]).is_err());
}

#[test]
fn bad_schema_offsets_are_errors_not_panics() {
    // A user-supplied TableInfo whose primary key points past the columns.
    let mut t = int_pk_table();
    t.columns.truncate(1);
    t.columns[0].offset = 5;
    let row = hex("80 00 00 00 00 00");
    // int_handle_column is looked up by index offset 0 (valid), and the
    // column says offset 5: the slot is outside the output row.
    let err = decode_row_v2_with_handle(&row, &t, Some(&Handle::Int(1)))
        .expect_err("offset 5 is not a column");
    assert!(err.to_string().contains("offset 5"), "{err}");
    let row_lookup = RowV2::parse(&row).expect("empty row");
    assert_eq!(row_lookup.get(1), Slot::Missing);
}
