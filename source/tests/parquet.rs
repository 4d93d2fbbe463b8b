//! Parquet files written by pyarrow (tests/data/parquet, made by make.py
//! there) read through discovery, the chunk planner and the reader: row
//! groups become chunks, every row comes back once in file order with its
//! row number, and errors name the file, the row group and the column.
//! The values themselves are checked after an import into tikv-sim, in
//! tests/tests/import_parquet.rs.

mod common;

use std::path::{Path, PathBuf};

use common::{config, load, text};
use squall_common::config::ByteSize;
use squall_source::ErrorKind;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/parquet")
}

/// A source dir holding `files` of tests/data/parquet.
fn source(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in files {
        std::fs::copy(data().join(f), dir.path().join(f)).expect("copy");
    }
    dir
}

fn expected_ids() -> Vec<String> {
    (1..=10).map(|i| i.to_string()).collect()
}

#[test]
fn row_groups_are_chunks_and_rows_come_back_in_order() {
    let dir = source(&["pq-schema-create.sql", "pq.t-schema.sql", "pq.t.parquet"]);
    let mut cfg = config(None, dir.path());
    // Every row group (3 rows each, a few KB) its own chunk.
    cfg.mydumper.max_region_size = ByteSize(1);
    let loaded = load(&cfg).expect("load");
    let chunks = &loaded.chunks["pq.t"];
    assert_eq!(chunks.len(), 4, "{chunks:#?}");
    let rows_per_chunk: Vec<u64> = chunks.iter().map(|c| c.est_rows).collect();
    assert_eq!(rows_per_chunk, vec![3, 3, 3, 1]);
    // Disjoint row-ID ranges sized exactly.
    for c in chunks {
        assert_eq!(c.row_id_max - c.row_id_base, c.est_rows as i64);
    }
    let rows = loaded.rows("pq.t");
    let ids: Vec<String> = rows.iter().map(|(r, _)| text(r, 0).expect("id")).collect();
    assert_eq!(ids, expected_ids());
    let lines: Vec<u64> = rows.iter().map(|(r, _)| r.line).collect();
    assert_eq!(lines, (1..=10).collect::<Vec<u64>>());
    let cols = rows[0].1.as_ref().expect("column names");
    assert_eq!(cols[0], "id");
    assert_eq!(cols.len(), 30);
    // Row 2 (id 2) has NULL in every nullable column; row 1 has none.
    assert!(rows[1].0.fields[1..].iter().all(Option::is_none));
    assert!(rows[0].0.fields.iter().all(Option::is_some));
    // One chunk when the limit is large.
    cfg.mydumper.max_region_size = ByteSize::mib(256);
    let loaded = load(&cfg).expect("load");
    assert_eq!(loaded.chunks["pq.t"].len(), 1);
    assert_eq!(loaded.rows("pq.t").len(), 10);
}

#[test]
fn a_corrupt_row_group_names_file_row_group_and_column() {
    let dir = source(&["pq-schema-create.sql", "pq.t-schema.sql", "pq.t.parquet"]);
    let path = dir.path().join("pq.t.parquet");
    let mut bytes = std::fs::read(&path).expect("read");
    // Overwrite the second row group's first bytes (a page header).
    let store =
        squall_source::SourceStore::open(dir.path().to_str().expect("utf8")).expect("store");
    let file = squall_source::DataFile {
        path: "pq.t.parquet".into(),
        kind: squall_source::FileKind::Parquet,
        compression: squall_source::Compression::None,
        size: bytes.len() as u64,
        sort_key: String::new(),
    };
    let spans = squall_source::parquet::row_group_spans(&store, &file).expect("spans");
    let at = spans[1].start as usize;
    bytes[at..at + 16].fill(0xFF);
    std::fs::write(&path, &bytes).expect("write");
    let cfg = config(None, dir.path());
    let err = load(&cfg)
        .err()
        .expect("corrupt file must fail")
        .to_string();
    for needle in ["pq.t.parquet", "row group 1", "column id", ":4"] {
        assert!(err.contains(needle), "missing {needle:?} in: {err}");
    }
}

#[test]
fn nested_columns_are_refused_by_name() {
    let dir = source(&["pq.nested.parquet"]);
    std::fs::write(
        dir.path().join("pq-schema-create.sql"),
        "CREATE DATABASE pq;",
    )
    .expect("w");
    std::fs::write(
        dir.path().join("pq.nested-schema.sql"),
        "CREATE TABLE nested (id BIGINT, tags TEXT);",
    )
    .expect("write");
    let err = load(&config(None, dir.path()))
        .err()
        .expect("nested column");
    assert_eq!(err.kind, ErrorKind::Unsupported, "{err}");
    let msg = err.to_string();
    for needle in ["pq.nested.parquet", "tags", "nested or repeated"] {
        assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
    }
}

#[test]
fn legacy_int96_and_plain_binary_strings_read() {
    let dir = source(&[
        "pq-schema-create.sql",
        "pq.legacy-schema.sql",
        "pq.legacy.parquet",
    ]);
    let loaded = load(&config(None, dir.path())).expect("load");
    let rows = loaded.rows("pq.legacy");
    assert_eq!(rows.len(), 10);
    assert_eq!(text(&rows[0].0, 1).as_deref(), Some("1970-01-01 00:00:00"));
    assert_eq!(
        text(&rows[2].0, 1).as_deref(),
        Some("1900-01-01 00:00:00.000001000")
    );
    assert_eq!(text(&rows[2].0, 2).as_deref(), Some(""));
    assert_eq!(text(&rows[1].0, 2), None);
    assert_eq!(loaded.chunks["pq.legacy"].len(), 1);
}

#[test]
fn required_columns_without_definition_levels_read() {
    let dir = source(&["pq.req.parquet"]);
    std::fs::write(
        dir.path().join("pq-schema-create.sql"),
        "CREATE DATABASE pq;",
    )
    .expect("w");
    std::fs::write(
        dir.path().join("pq.req-schema.sql"),
        "CREATE TABLE req (id INT PRIMARY KEY, name TEXT NOT NULL);",
    )
    .expect("write");
    let mut cfg = config(None, dir.path());
    cfg.mydumper.max_region_size = ByteSize(1);
    let loaded = load(&cfg).expect("load");
    assert_eq!(loaded.chunks["pq.req"].len(), 3);
    let rows = loaded.rows("pq.req");
    assert_eq!(rows.len(), 2000);
    for (i, (row, _)) in rows.iter().enumerate() {
        let n = i + 1;
        assert_eq!(text(row, 0), Some(n.to_string()));
        assert_eq!(text(row, 1), Some(format!("r{n}")));
        assert_eq!(row.line, n as u64);
    }
}
