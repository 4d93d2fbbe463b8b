//! Property tests: decode(encode(x)) == x for every type, and memcomparable
//! byte order == value order for every type that goes into keys.

use proptest::prelude::*;
use squall_codec::bytes::{decode_bytes, encode_bytes};
use squall_codec::datum_codec::{
    decode_key_datum, decode_row_value, encode_key_datum, encode_row_value,
};
use squall_codec::decimal::Decimal;
use squall_codec::number::*;
use squall_codec::row_v2::{RowColumn, RowV2, RowV2Encoder, Slot};
use squall_codec::{decode_record_key, record_key, Datum, Duration, Handle, Json, Time, TimeKind};
use squall_common::schema::{FieldType, MysqlType};

fn key_of(d: &Datum, ft: &FieldType) -> Vec<u8> {
    let mut b = Vec::new();
    encode_key_datum(&mut b, d, ft, None).expect("encodes");
    b
}

fn row_value(d: &Datum, ft: &FieldType) -> Vec<u8> {
    let mut b = Vec::new();
    encode_row_value(&mut b, d, ft).expect("encodes");
    b
}

fn decimal_ft(prec: usize, frac: usize) -> FieldType {
    let mut ft = FieldType::new(MysqlType::NewDecimal);
    ft.flen = prec as i32;
    ft.decimal = frac as i32;
    ft
}

/// A decimal that fits DECIMAL(prec, frac), with exactly `frac` fraction digits.
fn decimal_in(prec: usize, frac: usize) -> impl Strategy<Value = Decimal> {
    (
        any::<bool>(),
        prop::collection::vec(0u8..10, prec - frac),
        prop::collection::vec(0u8..10, frac),
    )
        .prop_map(|(neg, i, f)| Decimal::from_digits(neg, &i, &f))
}

fn time_strategy() -> impl Strategy<Value = Time> {
    (
        0u16..10000,
        1u8..13,
        1u8..29,
        0u8..24,
        0u8..60,
        0u8..60,
        0u32..1_000_000,
    )
        .prop_map(|(y, mo, d, h, mi, s, us)| Time {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            micro: us,
            kind: TimeKind::Datetime,
            fsp: 6,
        })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1e300f64..1e300).prop_map(serde_json::Value::from),
        "[a-z0-9 ]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z]{0,5}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn ints_round_trip_and_sort(a: i64, b: i64) {
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        encode_int(&mut ka, a);
        encode_int(&mut kb, b);
        prop_assert_eq!(decode_int(&mut ka.as_slice()).expect("decodes"), a);
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        let ft = FieldType::new(MysqlType::LongLong);
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Int(a), &ft), &ft).expect("decodes"), Datum::Int(a));
        prop_assert_eq!(decode_key_datum(&mut key_of(&Datum::Int(a), &ft).as_slice()).expect("decodes"), Datum::Int(a));
        let (mut va, mut ua) = (Vec::new(), Vec::new());
        encode_varint(&mut va, a);
        encode_uvarint(&mut ua, a as u64);
        prop_assert_eq!(decode_varint(&mut va.as_slice()).expect("decodes"), a);
        prop_assert_eq!(decode_uvarint(&mut ua.as_slice()).expect("decodes"), a as u64);
    }

    #[test]
    fn uints_round_trip_and_sort(a: u64, b: u64) {
        let mut ft = FieldType::new(MysqlType::LongLong);
        ft.unsigned = true;
        let (ka, kb) = (key_of(&Datum::Uint(a), &ft), key_of(&Datum::Uint(b), &ft));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        prop_assert_eq!(decode_key_datum(&mut ka.as_slice()).expect("decodes"), Datum::Uint(a));
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Uint(a), &ft), &ft).expect("decodes"), Datum::Uint(a));
        // ENUM, SET and BIT share the uint key encoding.
        for (tp, d) in [(MysqlType::Enum, Datum::Enum { index: a }), (MysqlType::Set, Datum::Set { mask: a }), (MysqlType::Bit, Datum::Bit(a))] {
            let ft = FieldType::new(tp);
            prop_assert_eq!(key_of(&d, &ft), ka.clone());
            prop_assert_eq!(decode_row_value(&row_value(&d, &ft), &ft).expect("decodes"), d);
        }
    }

    #[test]
    fn floats_round_trip_and_sort(a in any::<f64>().prop_filter("not NaN", |f| !f.is_nan()), b in any::<f64>().prop_filter("not NaN", |f| !f.is_nan())) {
        let ft = FieldType::new(MysqlType::Double);
        let (ka, kb) = (key_of(&Datum::Float(a), &ft), key_of(&Datum::Float(b), &ft));
        prop_assert_eq!(decode_key_datum(&mut ka.as_slice()).expect("decodes"), Datum::Float(a));
        if a != b {
            prop_assert_eq!(ka.cmp(&kb), a.partial_cmp(&b).expect("ordered"));
        }
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Float(a), &ft), &ft).expect("decodes"), Datum::Float(a));
    }

    #[test]
    fn bytes_round_trip_and_sort(a in prop::collection::vec(any::<u8>(), 0..40), b in prop::collection::vec(any::<u8>(), 0..40)) {
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        encode_bytes(&mut ka, &a);
        encode_bytes(&mut kb, &b);
        prop_assert_eq!(decode_bytes(&mut ka.as_slice()).expect("decodes"), a.clone());
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        let ft = FieldType::new(MysqlType::Blob);
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Bytes(a.clone()), &ft), &ft).expect("decodes"), Datum::Bytes(a));
    }

    #[test]
    fn decimals_round_trip_and_sort((prec, frac, a, b) in (1usize..=65).prop_flat_map(|p| (Just(p), 0..=p.min(30))).prop_flat_map(|(p, f)| (Just(p), Just(f), decimal_in(p, f), decimal_in(p, f)))) {
        let ft = decimal_ft(prec, frac);
        let (ka, kb) = (key_of(&Datum::Decimal(a.clone()), &ft), key_of(&Datum::Decimal(b.clone()), &ft));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        prop_assert_eq!(decode_key_datum(&mut ka.as_slice()).expect("decodes"), Datum::Decimal(a.clone()));
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Decimal(a.clone()), &ft), &ft).expect("decodes"), Datum::Decimal(a.clone()));
        let text = a.to_string();
        prop_assert_eq!(Decimal::parse(&text).expect("parses").value, a);
    }

    #[test]
    fn times_round_trip_and_sort(a in time_strategy(), b in time_strategy()) {
        let mut ft = FieldType::new(MysqlType::Datetime);
        ft.decimal = 6;
        let (ka, kb) = (key_of(&Datum::Time(a), &ft), key_of(&Datum::Time(b), &ft));
        let order = (a.year, a.month, a.day, a.hour, a.minute, a.second, a.micro).cmp(&(b.year, b.month, b.day, b.hour, b.minute, b.second, b.micro));
        prop_assert_eq!(ka.cmp(&kb), order);
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Time(a), &ft), &ft).expect("decodes"), Datum::Time(a));
    }

    #[test]
    fn durations_round_trip_and_sort(a in -3_020_399_000_000_000i64..3_020_399_000_000_000, b in -3_020_399_000_000_000i64..3_020_399_000_000_000) {
        let mut ft = FieldType::new(MysqlType::Duration);
        ft.decimal = 6;
        let (da, db) = (Datum::Duration(Duration { nanos: a, fsp: 6 }), Datum::Duration(Duration { nanos: b, fsp: 6 }));
        prop_assert_eq!(key_of(&da, &ft).cmp(&key_of(&db, &ft)), a.cmp(&b));
        prop_assert_eq!(decode_key_datum(&mut key_of(&da, &ft).as_slice()).expect("decodes"), da.clone());
        prop_assert_eq!(decode_row_value(&row_value(&da, &ft), &ft).expect("decodes"), da);
    }

    #[test]
    fn json_round_trips(v in json_value()) {
        let j = Json::from_value(&v).expect("encodes");
        prop_assert_eq!(j.to_value().expect("decodes"), v);
        let ft = FieldType::new(MysqlType::Json);
        prop_assert_eq!(decode_row_value(&row_value(&Datum::Json(j.clone()), &ft), &ft).expect("decodes"), Datum::Json(j));
    }

    #[test]
    fn record_keys_round_trip_and_sort(t in 1i64..1_000_000, a: i64, b: i64) {
        let (ka, kb) = (record_key(t, &Handle::Int(a)), record_key(t, &Handle::Int(b)));
        prop_assert_eq!(decode_record_key(&ka).expect("decodes"), (t, Handle::Int(a)));
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
    }

    #[test]
    fn rows_round_trip(vals in prop::collection::btree_map(1i64..400, prop::option::of(any::<i64>()), 0..20), text in "[a-z]{0,300}") {
        let int = FieldType::new(MysqlType::LongLong);
        let s = FieldType::new(MysqlType::Varchar);
        let datums: Vec<(i64, Datum)> = vals.iter().map(|(id, v)| (*id, v.map_or(Datum::Null, Datum::Int))).collect();
        let text_d = Datum::Bytes(text.into_bytes());
        let mut cols: Vec<RowColumn<'_>> = datums.iter().map(|(id, d)| RowColumn { id: *id, datum: d, ft: &int }).collect();
        cols.push(RowColumn { id: 1000, datum: &text_d, ft: &s });
        let mut out = Vec::new();
        RowV2Encoder::default().encode(&cols, &mut out).expect("encodes");
        let row = RowV2::parse(&out).expect("parses");
        for (id, d) in &datums {
            match row.get(*id) {
                Slot::Value(b) => prop_assert_eq!(&decode_row_value(b, &int).expect("decodes"), d),
                Slot::Null => prop_assert!(d.is_null()),
                Slot::Missing => prop_assert!(false, "column {} missing", id),
            }
        }
        prop_assert_eq!(row.get(1000), Slot::Value(text_d.as_bytes().expect("bytes")));
    }
}
