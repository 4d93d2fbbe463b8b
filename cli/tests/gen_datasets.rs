//! `squall gen-dump`'s datasets import exactly (issue 16): each dataset in
//! CSV and SQL, a few hundred KiB over several files and engines, imported
//! by `squall import` into an in-process tikv-sim. The import must read
//! every generated row, report exactly the conflicting rows the generator
//! announced (`conflict.strategy` record or replace), verify its checksum,
//! and, where only one key can repeat, leave one row per key.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use squall_tests::sim::{pd_addr, start_sim};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");

/// What `gen-dump` announced for the dataset's one table.
struct Generated {
    table: String,
    rows: u64,
    duplicate_rows: u64,
    conflicting_rows: u64,
}

fn gen_dump(dump: &Path, dataset: &str, format: &str, duplicates: &str) -> Generated {
    let out = Command::new(SQUALL)
        .args(["gen-dump", "--dataset", dataset, "--format", format])
        .args(["--size", "768KiB", "--file-size", "160KiB"])
        .args(["--duplicates", duplicates, "--seed", "16", "--out"])
        .arg(dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "gen-dump: {out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &summary["details"][0];
    assert!(
        t["files"].as_u64().unwrap() >= 4,
        "several files: {summary}"
    );
    Generated {
        table: t["table"].as_str().unwrap().to_string(),
        rows: t["rows"].as_u64().unwrap(),
        duplicate_rows: t["duplicate_rows"].as_u64().unwrap(),
        conflicting_rows: t["conflicting_rows"].as_u64().unwrap(),
    }
}

/// The number before `suffix` in a summary table line (`…, 12 conflicting rows`).
fn figure(line: &str, suffix: &str) -> Option<u64> {
    let end = line.find(suffix)?;
    line[..end]
        .rsplit([' ', ','])
        .find(|w| !w.is_empty())?
        .parse()
        .ok()
}

/// Generates, imports, and checks the import against the generator.
async fn import_exactly(dataset: &str, format: &str, duplicates: &str, strategy: &str) {
    import_exactly_with(dataset, format, duplicates, strategy, "").await;
}

/// [`import_exactly`] with `extra` lines in the task's `[conflict]` section;
/// returns the import's stderr.
async fn import_exactly_with(
    dataset: &str,
    format: &str,
    duplicates: &str,
    strategy: &str,
    extra: &str,
) -> String {
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    let want = gen_dump(&dump, dataset, format, duplicates);
    if duplicates != "0" {
        assert!(want.duplicate_rows > 0, "the dump has duplicates");
    }
    let config = work.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = \"256KiB\"\n\n[conflict]\nstrategy = {strategy:?}\n{extra}",
            work.path().join("kv").display().to_string()
        ),
    )
    .unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let pd = pd_addr(&sim);
    let done = tokio::task::block_in_place(|| {
        Command::new(SQUALL)
            .arg("--config")
            .arg(&config)
            .args(["import", "--progress", "none", "--pd", &pd, "--source"])
            .arg(&dump)
            .arg("--output")
            .arg(work.path().join("out"))
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(
        done.status.success(),
        "{dataset} {format}: the import fails: {stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("imported and verified"), "{stdout}");
    let (db, table) = want.table.split_once('.').unwrap();
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("  `{db}`.`{table}`: ")))
        .unwrap_or_else(|| panic!("no summary line for {}: {stdout}", want.table));
    assert_eq!(figure(line, " rows,"), Some(want.rows), "rows read: {line}");
    let conflicting = figure(line, " conflicting rows").unwrap_or(0);
    assert_eq!(
        conflicting, want.conflicting_rows,
        "{dataset} {format}: conflicting rows: {line}"
    );
    // One row per key is left where only the primary key repeats.
    if dataset != "wide" {
        let exported = tokio::task::block_in_place(|| {
            Command::new(SQUALL)
                .args(["export", "--format", "csv", "--pd", &pd, "--table"])
                .arg(&want.table)
                .arg("--source")
                .arg(&dump)
                .output()
                .unwrap()
        });
        assert!(exported.status.success(), "export: {exported:?}");
        let records = csv_records(&exported.stdout);
        assert_eq!(
            records,
            want.rows - want.duplicate_rows,
            "{dataset} {format}: rows left after {strategy}"
        );
    }
    sim.shutdown().await;
    String::from_utf8_lossy(&done.stderr).into_owned()
}

/// Records in `squall export --format csv` output (header excluded; line
/// breaks inside quoted fields do not end a record).
fn csv_records(out: &[u8]) -> u64 {
    let (mut records, mut quoted, mut escaped) = (0u64, false, false);
    for &b in out {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'\n' if !quoted => records += 1,
            _ => {}
        }
    }
    records.saturating_sub(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysbench_sql_with_one_percent_duplicates_imports_exactly() {
    import_exactly("sysbench", "sql", "0.01", "record").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysbench_csv_imports_exactly() {
    import_exactly("sysbench", "csv", "0", "record").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_csv_with_ten_percent_duplicates_imports_exactly() {
    import_exactly("wide", "csv", "0.1", "record").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_sql_with_one_percent_duplicates_imports_exactly() {
    import_exactly("wide", "sql", "0.01", "replace").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn norowid_sql_with_ten_percent_duplicates_imports_exactly() {
    import_exactly("norowid", "sql", "0.1", "replace").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn norowid_csv_imports_exactly() {
    import_exactly("norowid", "csv", "0", "record").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineitem_csv_with_ten_percent_duplicates_imports_exactly() {
    import_exactly("lineitem", "csv", "0.1", "replace").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineitem_sql_with_one_percent_duplicates_imports_exactly() {
    import_exactly("lineitem", "sql", "0.01", "record").await;
}

/// A 1 KiB `conflict.resolve-memory` resolves in shards spilled to disk
/// (a unique secondary index links rows across keys in `wide`) and imports
/// exactly the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_duplicates_resolved_in_spilled_shards_import_exactly() {
    for dataset in ["wide", "lineitem"] {
        let log = import_exactly_with(
            dataset,
            "csv",
            "0.1",
            "replace",
            "resolve-memory = \"1KiB\"\n",
        )
        .await;
        assert!(
            log.contains("resolving in shards"),
            "{dataset}: spilled: {log}"
        );
    }
}

#[test]
fn figures_are_read_from_a_summary_line() {
    let line = "  `a`.`b`: 10512 rows, 20917 KVs, 2646633 bytes, 107 local duplicates, 213 conflicting rows (detect+resolve 0.6s)";
    assert_eq!(figure(line, " rows,"), Some(10512));
    assert_eq!(figure(line, " conflicting rows"), Some(213));
    assert_eq!(csv_records(b"a,b\n\"x\\\"\ny\",1\n2,3\n"), 2);
}
