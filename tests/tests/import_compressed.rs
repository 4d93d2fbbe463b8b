//! Compressed data files imported end to end into tikv-sim and exported
//! back exactly: a gzip CSV, a zstd SQL file and a snappy CSV (snappy's
//! framing format, what Dumpling writes and Lightning reads), each written
//! by the reference encoder of its format (flate2, zstd, snap), in one
//! table with a file of each kind.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::io::Write;

use import_common::{config, export_rows, import, val};
use squall_tests::sim::start_sim;

const SCHEMA: &str =
    "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `name` VARCHAR(64) NOT NULL\n);\n";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

fn snappy(data: &[u8]) -> Vec<u8> {
    let mut e = snap::write::FrameEncoder::new(Vec::new());
    e.write_all(data).unwrap();
    e.into_inner().unwrap()
}

/// Rows `from..to` with names that need quoting and a multi-byte character.
fn rows(from: u32, to: u32) -> Vec<(u32, String)> {
    (from..to).map(|i| (i, format!("n{i}, \"q\" 中"))).collect()
}

fn csv(rows: &[(u32, String)]) -> Vec<u8> {
    let mut out = String::from("id,name\n");
    for (i, n) in rows {
        out.push_str(&format!("{i},\"{}\"\n", n.replace('"', "\"\"")));
    }
    out.into_bytes()
}

fn sql(rows: &[(u32, String)]) -> Vec<u8> {
    let values: Vec<String> = rows
        .iter()
        .map(|(i, n)| format!("({i},'{}')", n.replace('\'', "''")))
        .collect();
    format!("INSERT INTO `t` VALUES\n{};\n", values.join(",\n")).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gzip_zstd_and_snappy_files_import_and_export_exactly() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    std::fs::create_dir_all(&src).unwrap();
    let w = |name: &str, data: Vec<u8>| std::fs::write(src.join(name), data).unwrap();
    w("cz-schema-create.sql", b"CREATE DATABASE cz;\n".to_vec());
    w("cz.t-schema.sql", SCHEMA.as_bytes().to_vec());
    // Thousands of rows per file: several snappy frames and zstd blocks.
    let (a, b, c) = (rows(1, 3001), rows(3001, 6001), rows(6001, 9001));
    w("cz.t.000000001.csv.gz", gzip(&csv(&a)));
    w("cz.t.000000002.sql.zst", zstd(&sql(&b)));
    w("cz.t.000000003.csv.snappy", snappy(&csv(&c)));
    let mut cfg = config(None, work.path());
    cfg.mydumper.csv.header = true;
    let sim = start_sim(&work.path().join("sim")).await;
    let summary = import(&sim, &src, cfg.clone(), work.path())
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert!(summary.verified, "{summary}");
    let mut got: Vec<(u32, String)> = export_rows(&sim, &src, &cfg, "cz.t")
        .await
        .iter()
        .map(|r| (val(r, "id").parse().unwrap(), val(r, "name").to_string()))
        .collect();
    got.sort();
    let want: Vec<(u32, String)> = a.into_iter().chain(b).chain(c).collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    sim.shutdown().await;
}

/// Guards the test above against an encoder that stores rather than
/// compresses: each file is smaller than its text.
#[test]
fn the_files_are_really_compressed() {
    let text = csv(&rows(1, 3001));
    for (kind, packed) in [
        ("gzip", gzip(&text)),
        ("zstd", zstd(&text)),
        ("snappy", snappy(&text)),
    ] {
        assert!(
            packed.len() < text.len() / 2,
            "{kind}: {} of {}",
            packed.len(),
            text.len()
        );
    }
    assert_eq!(
        &snappy(b"x")[..10],
        b"\xff\x06\x00\x00sNaPpY",
        "snappy's stream identifier"
    );
}
