//! Any bytes as datums: flag-prefixed key datums, row-v2 column values of
//! every type, decimals of any declared shape, binary JSON and packed times.
#![no_main]

#[path = "shared/schemas.rs"]
mod schemas;

use libfuzzer_sys::fuzz_target;
use squall_codec::datum_codec::{decode_key_datum, decode_row_value, describe_datum};
use squall_codec::decimal::Decimal;
use squall_codec::{Json, Time, TimeKind};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while !rest.is_empty() {
        let before = rest.len();
        match decode_key_datum(&mut rest) {
            Ok(d) => {
                assert!(rest.len() < before, "a datum consumes its flag");
                let _ = describe_datum(&d);
            }
            Err(_) => break,
        }
    }
    for ft in schemas::field_types() {
        if let Ok(d) = decode_row_value(data, &ft) {
            let _ = d.to_display_string(&ft);
        }
    }
    if let [prec, frac, body @ ..] = data {
        let mut b = body;
        if let Ok(d) = Decimal::read_bin(&mut b, usize::from(*prec), usize::from(*frac)) {
            assert_eq!(d.frac_len(), usize::from(*frac));
            let _ = d.to_string();
        }
    }
    if let Ok(j) = Json::from_binary(data.to_vec()) {
        assert!(j.to_text().is_ok());
    }
    if let Some(b) = data.get(..8) {
        let packed = u64::from_le_bytes(b.try_into().expect("8 bytes"));
        for kind in [TimeKind::Date, TimeKind::Datetime, TimeKind::Timestamp] {
            let t = Time::from_packed(packed, kind, data[0] % 8);
            let _ = t.to_string();
            let _ = t.to_naive();
        }
    }
});
