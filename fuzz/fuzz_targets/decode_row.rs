//! Any bytes as a row format v2 value: parsed without a schema (every slot
//! in bounds), then decoded against tables with every column kind.
#![no_main]

#[path = "shared/schemas.rs"]
mod schemas;

use libfuzzer_sys::fuzz_target;
use squall_codec::datum_codec::decode_row_value;
use squall_codec::row_v2::{RowV2, Slot};
use squall_codec::{decode_row_v2, decode_row_v2_with_handle, Handle};

fuzz_target!(|data: &[u8]| {
    if let Ok(row) = RowV2::parse(data) {
        let types = schemas::field_types();
        for (i, &id) in row.not_null_ids.iter().enumerate() {
            let v = row.value_at(i).expect("parse checked every offset");
            for ft in &types {
                if let Ok(d) = decode_row_value(v, ft) {
                    let _ = d.to_display_string(ft);
                }
            }
            assert!(matches!(
                row.get(i64::from(id)),
                Slot::Value(_) | Slot::Null
            ));
        }
        assert!(row.value_at(row.not_null_ids.len()).is_none());
    }
    let handles = [
        Handle::Int(1),
        Handle::Common(data.get(..12).unwrap_or(data).to_vec()),
    ];
    for t in schemas::all() {
        if let Ok(ds) = decode_row_v2(data, &t) {
            assert_eq!(ds.len(), t.columns.len());
        }
        for h in &handles {
            let _ = decode_row_v2_with_handle(data, &t, Some(h));
        }
    }
});
