//! Row encode throughput for a sysbench-like table:
//! `id INT PRIMARY KEY, k INT, c CHAR(120), pad CHAR(60)`, index on `k`.
//! Covers text → datum conversion and datum → KV encoding.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use squall_codec::{Converter, Datum, EncodedKv, TableEncoder};
use squall_common::schema::*;

fn sysbench_table() -> TableInfo {
    let col = |id: i64, name: &str, off: usize, tp: MysqlType, flen: i32| {
        let mut ft = FieldType::new(tp);
        ft.flen = flen;
        ft.not_null = true;
        if tp == MysqlType::String {
            ft.charset = Charset::Utf8mb4;
            ft.collate = "utf8mb4_bin".into();
        }
        ColumnInfo::new(id, name, off, ft)
    };
    let ix = |id: i64, name: &str, off: usize, unique: bool, primary: bool| IndexInfo {
        id,
        name: name.into(),
        columns: vec![IndexColumn {
            offset: off,
            name: name.into(),
            prefix_len: None,
        }],
        unique,
        primary,
    };
    TableInfo {
        id: 100,
        db: "sbtest".into(),
        name: "sbtest1".into(),
        columns: vec![
            col(1, "id", 0, MysqlType::Long, 11),
            col(2, "k", 1, MysqlType::Long, 11),
            col(3, "c", 2, MysqlType::String, 120),
            col(4, "pad", 3, MysqlType::String, 60),
        ],
        indices: vec![
            ix(1, "PRIMARY", 0, true, true),
            ix(2, "k_1", 1, false, false),
        ],
        handle: HandleKind::IntPk,
        charset: None,
        collate: None,
        row_ids: Default::default(),
    }
}

/// Source rows as text, the way a CSV reader hands them over.
fn source_rows(n: usize) -> Vec<[String; 4]> {
    (0..n)
        .map(|i| {
            let c: String = (0..10)
                .map(|g| format!("{:011}", (i * 7919 + g * 104729) % 100_000_000_000))
                .collect::<Vec<_>>()
                .join("-");
            let pad: String = (0..5)
                .map(|g| format!("{:011}", (i * 31 + g * 1299709) % 100_000_000_000))
                .collect::<Vec<_>>()
                .join("-");
            [
                (i + 1).to_string(),
                ((i * 2654435761) % 1_000_000).to_string(),
                c,
                pad,
            ]
        })
        .collect()
}

fn bench_encode(crit: &mut Criterion) {
    let table = sysbench_table();
    let conv =
        Converter::new(squall_common::config::SQUALL_DEFAULT_SQL_MODE, "UTC").expect("valid mode");
    let rows = source_rows(1000);
    let src_bytes: usize = rows
        .iter()
        .map(|r| r.iter().map(String::len).sum::<usize>())
        .sum();
    let mut group = crit.benchmark_group("sysbench_row");
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("convert+encode rows/s", |b| {
        let mut enc = TableEncoder::new(&table).expect("valid table");
        b.iter_batched_ref(
            || Vec::<EncodedKv>::with_capacity(2 * rows.len()),
            |out| encode_all(&conv, &table, &mut enc, &rows, out),
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Bytes(src_bytes as u64));
    group.bench_function("convert+encode source MB/s", |b| {
        let mut enc = TableEncoder::new(&table).expect("valid table");
        b.iter_batched_ref(
            || Vec::<EncodedKv>::with_capacity(2 * rows.len()),
            |out| encode_all(&conv, &table, &mut enc, &rows, out),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn encode_all(
    conv: &Converter,
    table: &TableInfo,
    enc: &mut TableEncoder,
    rows: &[[String; 4]],
    out: &mut Vec<EncodedKv>,
) {
    let mut warnings = Vec::new();
    let mut datums: Vec<Datum> = Vec::with_capacity(4);
    for (i, r) in rows.iter().enumerate() {
        datums.clear();
        for (col, v) in table.columns.iter().zip(r) {
            datums.push(
                conv.convert(col, Some(v.as_bytes()), &mut warnings)
                    .expect("valid value"),
            );
        }
        enc.encode_row(&datums, i as i64 + 1, out).expect("encodes");
    }
}

criterion_group!(benches, bench_encode);
criterion_main!(benches);
