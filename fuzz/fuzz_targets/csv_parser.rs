//! Any bytes under any CSV dialect: rows or a positioned error, never a panic,
//! and the same rows whatever the read block size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use squall_common::config::{CsvConfig, NullMarkers};
use squall_source::csv::{CsvOptions, CsvReader, CsvSpan};
use squall_source::{ReadOptions, Row, RowReader};

fn dialect(sel: u8) -> CsvConfig {
    CsvConfig {
        separator: [",", "||", "\t", ";;;"][usize::from(sel & 3)].into(),
        delimiter: ["\"", "", "'", "\"\""][usize::from(sel >> 2 & 3)].into(),
        terminator: ["", "\n", "\r\n", "|"][usize::from(sel >> 4 & 3)].into(),
        header: sel & 0x40 != 0,
        backslash_escape: sel & 0x80 != 0,
        trim_last_separator: sel & 0x41 == 0x41,
        null: NullMarkers::Many(vec!["\\N".into(), "NULL".into()]),
        ..CsvConfig::default()
    }
}

fn read_all(data: &[u8], opts: &CsvOptions, block: usize) -> Vec<Result<Row, String>> {
    let span = CsvSpan {
        start: 0,
        end: u64::MAX,
        start_line: 1,
        columns: None,
    };
    let read = ReadOptions {
        max_row_bytes: 1 << 16,
        ..ReadOptions::default()
    };
    let mut r = match CsvReader::new(data, opts.clone(), "fuzz.csv", span, &read, block) {
        Ok(r) => r,
        Err(e) => return vec![Err(e.to_string())],
    };
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

fuzz_target!(|input: &[u8]| {
    let Some((&sel, data)) = input.split_first() else {
        return;
    };
    let Ok(opts) = CsvOptions::from_config(&dialect(sel)) else {
        return;
    };
    let small = read_all(data, &opts, 1);
    let big = read_all(data, &opts, 1 << 16);
    assert_eq!(small, big);
});
