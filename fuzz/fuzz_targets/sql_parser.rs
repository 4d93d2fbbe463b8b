//! Any bytes as a SQL dump: rows or a positioned error, never a panic, and
//! the same rows whatever the read block size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squall_source::sql::{SqlReader, SqlSpan};
use squall_source::{ReadOptions, Row, RowReader};

fn read_all(data: &[u8], block: usize) -> Vec<Result<Row, String>> {
    let span = SqlSpan {
        end: u64::MAX,
        start_line: 1,
        ..SqlSpan::default()
    };
    let read = ReadOptions {
        max_row_bytes: 1 << 16,
        ..ReadOptions::default()
    };
    let mut r = SqlReader::new(data, "fuzz.sql", span, &read, block);
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match r.next_row() {
            Ok(Some(row)) => out.push(Ok(row)),
            Ok(None) => break,
            Err(e) => {
                assert!(e.pos.offset.is_some(), "error without offset: {e}");
                let fatal = e.is_fatal();
                out.push(Err(e.to_string()));
                if fatal {
                    break;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(read_all(data, 1), read_all(data, 1 << 16));
});
