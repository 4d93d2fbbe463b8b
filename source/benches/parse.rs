//! Parse throughput of the CSV and SQL readers on generated files, beside the
//! `csv` crate reading the same CSV file in the same run.
//!
//! Size: `SQUALL_BENCH_BYTES` (default 64 MiB; the documented run is 1 GB:
//! `SQUALL_BENCH_BYTES=1000000000 cargo bench -p squall-source --bench parse`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use squall_source::csv::{CsvOptions, CsvReader, CsvSpan};
use squall_source::sql::{SqlReader, SqlSpan};
use squall_source::{ReadOptions, Row, RowReader};

const BLOCK: usize = 64 << 10;

fn target_bytes() -> u64 {
    std::env::var("SQUALL_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 << 20)
}

/// One row of mixed columns, in a form that needs quotes and escapes now and then.
fn row_values(i: u64) -> (u64, String, String, String, Option<String>) {
    let name = if i.is_multiple_of(7) {
        format!("name, \"quoted\" {i}")
    } else {
        format!("name {i}")
    };
    let price = format!("{}.{:02}", i % 10_000, i % 100);
    let ts = format!(
        "2020-{:02}-{:02} {:02}:{:02}:{:02}",
        i % 12 + 1,
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60
    );
    let note = (!i.is_multiple_of(5)).then(|| format!("note line {i}\\ with backslash"));
    (i, name, price, ts, note)
}

fn generate_csv(path: &Path, bytes: u64) -> u64 {
    let mut w = BufWriter::new(File::create(path).expect("create csv"));
    let (mut written, mut i) = (0u64, 0u64);
    while written < bytes {
        let (id, name, price, ts, note) = row_values(i);
        let name = name.replace('"', "\"\"");
        let note = note.map_or("\\N".to_string(), |n| {
            format!("\"{}\"", n.replace('\\', "\\\\"))
        });
        let line = format!("{id},\"{name}\",{price},{ts},{note}\n");
        w.write_all(line.as_bytes()).expect("write");
        written += line.len() as u64;
        i += 1;
    }
    w.flush().expect("flush");
    written
}

fn generate_sql(path: &Path, bytes: u64) -> u64 {
    let mut w = BufWriter::new(File::create(path).expect("create sql"));
    let header = "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n";
    w.write_all(header.as_bytes()).expect("write");
    let (mut written, mut i) = (header.len() as u64, 0u64);
    while written < bytes {
        let mut stmt = String::from("INSERT INTO `t` VALUES\n");
        for k in 0..1000 {
            let (id, name, price, ts, note) = row_values(i);
            i += 1;
            let q = |s: &str| {
                s.replace('\\', "\\\\")
                    .replace('\'', "\\'")
                    .replace('"', "\\\"")
            };
            let note = note.map_or("NULL".to_string(), |n| format!("'{}'", q(&n)));
            let sep = if k == 999 { ";\n" } else { ",\n" };
            stmt.push_str(&format!("({id},'{}',{price},'{ts}',{note}){sep}", q(&name)));
        }
        w.write_all(stmt.as_bytes()).expect("write");
        written += stmt.len() as u64;
    }
    w.flush().expect("flush");
    written
}

fn squall_csv(path: &Path) -> u64 {
    let opts = CsvOptions::from_config(&squall_common::config::CsvConfig {
        header: false,
        ..Default::default()
    })
    .expect("opts");
    let span = CsvSpan {
        start: 0,
        end: u64::MAX,
        start_line: 1,
        columns: None,
    };
    let file = File::open(path).expect("open");
    let mut r = CsvReader::new(
        file,
        opts,
        "bench.csv",
        span,
        &ReadOptions::default(),
        BLOCK,
    )
    .expect("reader");
    count(&mut r)
}

fn squall_sql(path: &Path) -> u64 {
    let span = SqlSpan {
        end: u64::MAX,
        start_line: 1,
        ..SqlSpan::default()
    };
    let mut r = SqlReader::new(
        File::open(path).expect("open"),
        "bench.sql",
        span,
        &ReadOptions::default(),
        BLOCK,
    );
    count(&mut r)
}

fn count(r: &mut dyn RowReader) -> u64 {
    let (mut row, mut n) = (Row::default(), 0u64);
    while r.read_row(&mut row).expect("valid generated data") {
        n += 1;
    }
    n
}

/// The `csv` crate with MySQL-style escapes, reusing one record (its fastest path).
fn csv_crate(path: &Path) -> u64 {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .escape(Some(b'\\'))
        .buffer_capacity(BLOCK)
        .from_path(path)
        .expect("open");
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while r.read_byte_record(&mut rec).expect("valid csv") {
        n += 1;
    }
    n
}

struct Files {
    _dir: tempfile::TempDir,
    csv: PathBuf,
    sql: PathBuf,
    csv_bytes: u64,
    sql_bytes: u64,
}

fn files() -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv, sql) = (dir.path().join("t.csv"), dir.path().join("t.sql"));
    let bytes = target_bytes();
    let csv_bytes = generate_csv(&csv, bytes);
    let sql_bytes = generate_sql(&sql, bytes);
    Files {
        _dir: dir,
        csv,
        sql,
        csv_bytes,
        sql_bytes,
    }
}

fn bench(c: &mut Criterion) {
    let f = files();
    let rows = squall_csv(&f.csv);
    assert_eq!(rows, csv_crate(&f.csv), "both readers see the same rows");
    let mut g = c.benchmark_group("parse");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(f.csv_bytes));
    g.bench_function("csv/squall", |b| b.iter(|| squall_csv(&f.csv)));
    g.bench_function("csv/csv-crate", |b| b.iter(|| csv_crate(&f.csv)));
    g.throughput(Throughput::Bytes(f.sql_bytes));
    g.bench_function("sql/squall", |b| b.iter(|| squall_sql(&f.sql)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
