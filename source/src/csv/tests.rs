use squall_common::config::{CsvConfig, NullMarkers};

use super::*;
use crate::error::ErrorKind;
use crate::row::{ReadOptions, Row, RowReader};

fn reader<'a>(data: &'a [u8], cfg: &CsvConfig, block: usize) -> CsvReader<&'a [u8]> {
    let opts = CsvOptions::from_config(cfg).expect("valid config");
    let span = CsvSpan {
        start: 0,
        end: u64::MAX,
        start_line: 1,
        columns: None,
    };
    CsvReader::new(data, opts, "t.csv", span, &ReadOptions::default(), block).expect("reader")
}

fn rows_with(data: &[u8], cfg: &CsvConfig, block: usize) -> Vec<Vec<Option<String>>> {
    let mut r = reader(data, cfg, block);
    let mut out = Vec::new();
    while let Some(row) = r.next_row().expect("row") {
        out.push(
            row.fields
                .iter()
                .map(|f| f.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()))
                .collect(),
        );
    }
    out
}

fn no_header() -> CsvConfig {
    CsvConfig {
        header: false,
        ..CsvConfig::default()
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn quotes_escapes_and_nulls() {
    let data = b"1,\"a,b\",\\N,\"\\N\",x\\,y\n2,\"\"\"\",,\"\",\"l1\nl2\"\r\n";
    let rows = rows_with(data, &no_header(), 4096);
    assert_eq!(
        rows,
        vec![
            vec![s("1"), s("a,b"), None, None, s("x,y")],
            vec![s("2"), s("\""), s(""), s(""), s("l1\nl2")],
        ]
    );
}

#[test]
fn same_rows_for_every_block_size() {
    let data = b"id,name\n1,\"multi\nline \\\"q\\\"\"\n\n2,plain\r\n3,\"x\"\"y\"\n".repeat(50);
    let cfg = CsvConfig {
        header: false,
        ..CsvConfig::default()
    };
    let small = rows_with(&data, &cfg, 1);
    let big = rows_with(&data, &cfg, 1 << 20);
    assert_eq!(small, big);
    assert_eq!(small.len(), 200);
}

#[test]
fn header_gives_lowercased_columns_and_field_count() {
    let mut r = reader(b"ID,Name\n1,a\n2,b,c\n3,d\n", &CsvConfig::default(), 4096);
    assert_eq!(
        r.columns(),
        Some(&["id".to_string(), "name".to_string()][..])
    );
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!((row.offset, row.line), (8, 2));
    let err = r.next_row().expect_err("3 fields");
    assert_eq!(err.kind, ErrorKind::Data);
    assert_eq!((err.pos.offset, err.pos.line), (Some(12), Some(3)));
    // The bad row is skipped; reading goes on.
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!(row.fields[0].as_deref(), Some(&b"3"[..]));
}

#[test]
fn multibyte_separator_custom_terminator_and_no_quotes() {
    let cfg = CsvConfig {
        separator: "||".into(),
        delimiter: String::new(),
        terminator: ";;\n".into(),
        header: false,
        backslash_escape: false,
        null: NullMarkers::Many(vec!["NULL".into(), "-".into()]),
        ..CsvConfig::default()
    };
    let rows = rows_with(b"a|b||\"c\"||NULL;;\nd\ne||-||x;;\n", &cfg, 4096);
    assert_eq!(
        rows,
        vec![
            vec![s("a|b"), s("\"c\""), None],
            vec![s("d\ne"), None, s("x")]
        ]
    );
}

#[test]
fn trim_last_separator_and_not_null() {
    let cfg = CsvConfig {
        trim_last_separator: true,
        not_null: true,
        header: false,
        ..CsvConfig::default()
    };
    assert_eq!(
        rows_with(b"1,\\N,\n", &cfg, 4096),
        vec![vec![s("1"), s("N")]]
    );
}

#[test]
fn blank_lines_are_skipped() {
    assert_eq!(
        rows_with(b"\n\n  \n1\n\r\n2", &no_header(), 4096),
        vec![vec![s("1")], vec![s("2")]]
    );
}

#[test]
fn syntax_errors_have_positions() {
    let cases: [(&[u8], u64, u64); 4] = [
        (b"1,2\n3,\"open\n4,5\n", 6, 2),
        (b"1,ab\"c\n", 4, 1),
        (b"1,\"a\"b\n", 5, 1),
        (b"1,2\\", 3, 1),
    ];
    for (data, offset, line) in cases {
        let mut r = reader(data, &no_header(), 4096);
        let err = loop {
            match r.next_row() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(data)),
                Err(e) => break e,
            }
        };
        assert!(err.is_syntax(), "{err}");
        assert_eq!(
            (err.pos.offset, err.pos.line),
            (Some(offset), Some(line)),
            "{err}"
        );
    }
}

#[test]
fn chunk_end_stops_at_row_start() {
    let data = b"1,a\n2,b\n3,c\n";
    let opts = CsvOptions::from_config(&no_header()).expect("cfg");
    let span = CsvSpan {
        start: 4,
        end: 8,
        start_line: 2,
        columns: None,
    };
    let mut r = CsvReader::new(
        &data[4..],
        opts,
        "t.csv",
        span,
        &ReadOptions::default(),
        4096,
    )
    .expect("reader");
    let mut row = Row::default();
    assert!(r.read_row(&mut row).expect("row"));
    assert_eq!(
        (row.offset, row.line, row.fields[0].as_deref()),
        (4, 2, Some(&b"2"[..]))
    );
    assert!(!r.read_row(&mut row).expect("end"));
    assert_eq!(r.position(), 8);
}

#[test]
fn charset_conversion_errors_name_the_column() {
    let opts = CsvOptions::from_config(&no_header()).expect("cfg");
    let read = ReadOptions {
        data_charset: crate::SourceCharset::Utf8mb4,
        ..ReadOptions::default()
    };
    let span = CsvSpan {
        start: 0,
        end: u64::MAX,
        start_line: 1,
        columns: None,
    };
    let data: &[u8] = b"ok,\xff\n";
    let mut r = CsvReader::new(data, opts, "t.csv", span, &read, 4096).expect("reader");
    let err = r.next_row().expect_err("invalid utf8");
    assert_eq!(err.kind, ErrorKind::Charset);
    assert_eq!(err.pos.column.as_deref(), Some("#2"));
}
