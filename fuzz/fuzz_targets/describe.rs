//! `squall decode`'s renderer on any bytes: with and without a schema it
//! always returns text (it routes to every key and value decoder).
#![no_main]

#[path = "shared/schemas.rs"]
mod schemas;

use libfuzzer_sys::fuzz_target;
use squall_codec::{describe, describe_with_table};

fuzz_target!(|data: &[u8]| {
    assert!(!describe(data).is_empty());
    for t in schemas::all() {
        assert!(!describe_with_table(data, &t).is_empty());
    }
});
