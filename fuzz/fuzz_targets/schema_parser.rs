//! Any text as a table schema file: a table or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squall_common::schema::DatabaseInfo;
use squall_source::schema_parse::{parse_create_table, parse_database};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let db = parse_database(&text, "db");
    let _ = parse_create_table(
        &text,
        "db.t-schema.sql",
        &DatabaseInfo {
            name: "db".into(),
            ..db
        },
        "t",
    );
});
