//! Any bytes as an index value (old format, version 0 with restored data,
//! clustered version 1, common handle, partition ID, untouched flag), and
//! as a key + value pair for the handle lookup that conflict resolution does.
#![no_main]

#[path = "shared/schemas.rs"]
mod schemas;

use libfuzzer_sys::fuzz_target;
use squall_codec::index_value::split_index_value;
use squall_codec::{decode_handle_from_index_value, decode_index_handle, Handle};

fuzz_target!(|input: &[u8]| {
    let Some((&cut, data)) = input.split_first() else {
        return;
    };
    match split_index_value(data) {
        Ok(p) => {
            for part in [p.common_handle, p.restored].into_iter().flatten() {
                assert!(part.len() < data.len());
            }
            match decode_handle_from_index_value(data) {
                Ok(Handle::Int(h)) => assert_eq!(p.int_handle, Some(h)),
                Ok(Handle::Common(c)) => assert_eq!(p.common_handle, Some(c.as_slice())),
                Err(_) => assert!(p.int_handle.is_none() && p.common_handle.is_none()),
            }
        }
        Err(_) => assert!(decode_handle_from_index_value(data).is_err()),
    }
    // The first byte splits the rest into an index key and its value.
    let (key, value) = data.split_at(usize::from(cut).min(data.len()));
    for t in schemas::all() {
        for ix in &t.indices {
            let _ = decode_index_handle(key, value, &t, ix);
        }
    }
});
