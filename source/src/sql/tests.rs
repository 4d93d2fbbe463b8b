use super::*;
use crate::error::ErrorKind;
use crate::row::{ReadOptions, Row, RowReader, ValueKind};

fn reader(data: &[u8], block: usize) -> SqlReader<&[u8]> {
    let span = SqlSpan {
        end: u64::MAX,
        start_line: 1,
        ..SqlSpan::default()
    };
    SqlReader::new(data, "t.sql", span, &ReadOptions::default(), block)
}

fn rows(data: &[u8]) -> Vec<Row> {
    let mut r = reader(data, 4096);
    let mut out = Vec::new();
    while let Some(row) = r.next_row().expect("row") {
        out.push(row);
    }
    out
}

fn field(row: &Row, i: usize) -> Option<&[u8]> {
    row.fields[i].as_deref()
}

#[test]
fn dumpling_file_with_headers_and_comments() {
    let data = b"/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\nSET @a = 'x;y';\n-- comment\n# another\nINSERT INTO `t` (`a`,`b`) VALUES\n(1,'x'),\n(2,/* c */ NULL);\nREPLACE t VALUES (3,'y');";
    let mut r = reader(data, 4096);
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!(r.columns(), Some(&["a".to_string(), "b".to_string()][..]));
    assert_eq!(
        (field(&row, 0), field(&row, 1), row.line),
        (Some(&b"1"[..]), Some(&b"x"[..]), 7)
    );
    assert_eq!(row.kinds, vec![ValueKind::Number, ValueKind::Text]);
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!(field(&row, 1), None);
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!(r.columns(), None);
    assert_eq!(field(&row, 1), Some(&b"y"[..]));
    assert!(r.next_row().expect("end").is_none());
}

#[test]
fn every_literal_form() {
    let data = br#"insert into t values ('a\'b''c\\\n\Z', "d""e\"", x'4A4b', X'', 0x1, 0b101, b'1', b'', TRUE, false, -1.5e-3, +7, .5, _binary 'raw', _utf8mb4"u", CONVERT("{}" USING UTF8MB4), \N, null)"#;
    let r = rows(data);
    let row = &r[0];
    let want: Vec<Option<&[u8]>> = vec![
        Some(b"a'b'c\\\n\x1a"),
        Some(b"d\"e\""),
        Some(b"JK"),
        Some(b""),
        Some(b"\x01"),
        Some(b"\x05"),
        Some(b"\x01"),
        Some(b""),
        Some(b"1"),
        Some(b"0"),
        Some(b"-1.5e-3"),
        Some(b"+7"),
        Some(b".5"),
        Some(b"raw"),
        Some(b"u"),
        Some(b"{}"),
        None,
        None,
    ];
    let got: Vec<Option<&[u8]>> = row.fields.iter().map(|f| f.as_deref()).collect();
    assert_eq!(got, want);
    assert_eq!(row.kind(2), ValueKind::Binary);
    assert_eq!(row.kind(8), ValueKind::Number);
    assert_eq!(row.kind(13), ValueKind::Text);
}

#[test]
fn empty_tuples_and_column_lists() {
    let r = rows(b"INSERT INTO t () VALUES (), ();INSERT INTO t VALUES ();");
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|row| row.fields.is_empty()));
}

#[test]
fn same_rows_for_every_block_size() {
    let data = b"INSERT INTO t VALUES (1,'a\\'b /* not a comment */'),(2,\"x\ny\");\n".repeat(40);
    let small: Vec<Row> = {
        let mut r = reader(&data, 1);
        std::iter::from_fn(|| r.next_row().expect("row")).collect()
    };
    assert_eq!(small, rows(&data));
    assert_eq!(small.len(), 80);
}

#[test]
fn value_count_mismatch_is_a_data_error() {
    let mut r = reader(b"INSERT INTO t (a,b) VALUES (1),(2,3);", 4096);
    let err = r.next_row().expect_err("1 of 2");
    assert_eq!(err.kind, ErrorKind::Data);
    assert_eq!(err.pos.offset, Some(27));
    assert!(r.next_row().expect("next").is_some());
}

#[test]
fn syntax_errors_have_positions() {
    let cases: [(&[u8], u64); 7] = [
        (b"INSERT INTO t VALUES ('open", 22),
        (b"INSERT INTO t VALUES (1 2)", 24),
        (b"INSERT INTO t VALUES (12ab)", 22),
        (b"INSERT INTO t VALUES (x'4g')", 22),
        (b"INSERT INTO t VALUES (1),\n", 26),
        (b"INSERT INTO t SELECT * FROM u;", 0),
        (b"INSERT INTO t VALUES (1) (2)", 25),
    ];
    for (data, offset) in cases {
        let mut r = reader(data, 4096);
        let err = loop {
            match r.next_row() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(data)),
                Err(e) => break e,
            }
        };
        assert!(err.is_syntax(), "{err}");
        assert_eq!(err.pos.offset, Some(offset), "{err}");
    }
}

#[test]
fn chunk_inside_values_list() {
    let data = b"INSERT INTO t (a) VALUES (1),(2),(3);";
    let span = SqlSpan {
        start: 29,
        end: 33,
        start_line: 1,
        in_values: true,
        columns: Some(vec!["a".into()]),
    };
    let mut r = SqlReader::new(&data[29..], "t.sql", span, &ReadOptions::default(), 4096);
    let row = r.next_row().expect("ok").expect("row");
    assert_eq!((row.offset, field(&row, 0)), (29, Some(&b"2"[..])));
    assert!(r.next_row().expect("end").is_none());
    assert_eq!(r.columns(), Some(&["a".to_string()][..]));
}
