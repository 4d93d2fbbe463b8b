//! Every conflict-report line names the source row it is about (issue 20):
//! a dump shaped like TiDB Lightning's `lightning_duplicate_detection`
//! dataset (tables `ta`..`tf`: primary-key and unique-key conflicts, many
//! rows on one key, identical rows, one clean table) plus a table without a
//! clustered key (`tg`, handles are `_tidb_rowid`s), written as three files
//! per table and imported with tiny engines, so keys collide inside one
//! engine and across engines. Every report line must carry the source file
//! and byte offset, and the bytes there must be the reported row.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use import_common::{config, import};
use squall_common::config::ByteSize;
use squall_tests::sim::start_sim;

const TABLES: [&str; 7] = ["ta", "tb", "tc", "td", "te", "tf", "tg"];
const FILES: usize = 3;

fn schema(table: &str) -> String {
    let key = if table == "tg" {
        "id int not null"
    } else {
        "id int not null primary key clustered"
    };
    format!(
        "create table {table} (\n    {key},\n    name varchar(20) not null,\n    size bigint not null,\n    unique key uni_name(name)\n);\n"
    )
}

/// Row `i` of file `f` of `table`: `(id, name, size)`.
fn row(table: &str, f: usize, i: usize) -> (usize, String, u64) {
    let own = 1000 * (f + 1) + i;
    let size = (own as u64).wrapping_mul(2_654_435_761) % 1_000_000_007;
    let name = |n: usize| format!("n{n}");
    match table {
        // Primary key: every 7th row reuses a key of this file, every 11th
        // one of the first file.
        "ta" if i % 11 == 10 => (1000 + i / 11, name(own), size),
        "ta" if i % 7 == 6 => (own - 3, name(own), size),
        // Unique key, the same pattern.
        "tb" | "tg" if i % 11 == 10 => (own, name(1000 + i / 11), size),
        "tb" | "tg" if i % 7 == 6 => (own, name(own - 3), size),
        // Many rows on one key, inside and across files.
        "tc" if i.is_multiple_of(5) => (4, name(own), size),
        "td" if i.is_multiple_of(5) => (own, name(4), size),
        // Identical rows.
        "te" if i.is_multiple_of(6) => (7, name(7), 77),
        _ => (own, name(own), size),
    }
}

/// One statement per row, or one multi-row INSERT (every 8 rows) in file 1.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("dup_detect-schema-create.sql"),
        "create database dup_detect;\n",
    )
    .unwrap();
    for t in TABLES {
        std::fs::write(dir.join(format!("dup_detect.{t}-schema.sql")), schema(t)).unwrap();
        for f in 0..FILES {
            let mut text = String::new();
            for i in 0..40 {
                let (id, name, size) = row(t, f, i);
                let tuple = format!("({id}, '{name}', {size})");
                match (f, i % 8) {
                    (1, 0) => write!(text, "insert into {t} values {tuple}").unwrap(),
                    (1, 7) => writeln!(text, ",\n{tuple};").unwrap(),
                    (1, _) => write!(text, ",\n{tuple}").unwrap(),
                    _ => writeln!(text, "insert into {t} values {tuple};").unwrap(),
                }
            }
            std::fs::write(dir.join(format!("dup_detect.{t}.{f}.sql")), text).unwrap();
        }
    }
}

type Line = serde_json::Map<String, serde_json::Value>;

fn report_lines(out: &Path) -> BTreeMap<String, Vec<Line>> {
    let mut by_table = BTreeMap::new();
    for e in std::fs::read_dir(out.join("conflicts")).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            let text = std::fs::read_to_string(&p).unwrap();
            let lines: Vec<Line> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            by_table.insert(p.file_stem().unwrap().to_string_lossy().into_owned(), lines);
        }
    }
    by_table
}

fn text<'a>(line: &'a Line, field: &str) -> Option<&'a str> {
    line.get(field).and_then(|v| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_conflicting_row_is_reported_at_its_source_position() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.mydumper.batch_size = ByteSize::kib(1);
    cfg.conflict.strategy = "record".parse().expect("strategy");
    let summary = import(&sim, &source, cfg, work.path()).await;
    sim.shutdown().await;
    let summary = summary.unwrap_or_else(|e| panic!("import failed: {e}"));
    assert!(summary.verified, "{summary}");

    let out = work.path().join("out");
    let by_table = report_lines(&out);
    let mut total = 0;
    let mut single_copies = 0;
    let mut unpositioned = Vec::new();
    let mut cross_file_keys = 0;
    for t in ["ta", "tb", "tc", "td", "te", "tg"] {
        let lines = by_table
            .get(&format!("dup_detect.{t}"))
            .unwrap_or_else(|| panic!("no report for {t}: {:?}", by_table.keys()));
        assert!(lines.len() >= 10, "{t}: {} lines", lines.len());
        let mut files_per_key: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        for line in lines {
            total += 1;
            assert_eq!(text(line, "origin"), Some("imported"), "{line:?}");
            if line.get("local_duplicate") == Some(&serde_json::Value::Bool(false)) {
                single_copies += 1;
            }
            let (Some(file), Some(offset)) = (
                text(line, "source_file"),
                line.get("source_offset").and_then(|v| v.as_u64()),
            ) else {
                unpositioned.push(format!("{t}: {line:?}"));
                continue;
            };
            files_per_key
                .entry(text(line, "key_hex").unwrap())
                .or_default()
                .insert(file);
            let bytes = std::fs::read(source.join(file)).unwrap();
            let at = String::from_utf8_lossy(&bytes[offset as usize..]);
            let row = line["row"].as_object().unwrap();
            let want = format!(
                "({}, '{}', {})",
                row["id"].as_str().unwrap(),
                row["name"].as_str().unwrap(),
                row["size"].as_str().unwrap()
            );
            assert!(
                at.starts_with(&want),
                "{t}: {file}@{offset} holds {:?}, the report says {want}",
                &at[..at.len().min(40)]
            );
        }
        cross_file_keys += files_per_key.values().filter(|f| f.len() > 1).count();
    }
    eprintln!(
        "{total} report lines, {} without a source position, {single_copies} rows that were \
         their engine's only copy, {cross_file_keys} keys reported in more than one file",
        unpositioned.len()
    );
    assert!(
        unpositioned.is_empty(),
        "{} of {total} lines lack a position:\n{}",
        unpositioned.len(),
        unpositioned.join("\n")
    );
    assert!(
        cross_file_keys >= 6,
        "the dump has conflicts across engines: {cross_file_keys}"
    );
    assert!(
        single_copies > 0,
        "some conflicting rows were their engine's only copy (found by reading the source again)"
    );
    assert!(
        by_table.get("dup_detect.tf").is_none_or(|l| l.is_empty()),
        "tf has no conflicts"
    );
}
