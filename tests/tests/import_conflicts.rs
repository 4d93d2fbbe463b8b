//! `squall import` end to end with conflicting rows: duplicates inside one
//! file (one engine), across files (several engines), on the primary key, on
//! a unique key, on both, and identical rows. Each `conflict.strategy` must
//! leave exactly the expected table (read back with `export`), report every
//! conflicting row, and still verify its checksum.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeSet;
use std::path::Path;

use import_common::{config, export_rows, import, val};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_coordinator::CoordinatorError;
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE `u` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `email` VARCHAR(64) NOT NULL,\n  `name` VARCHAR(32) NOT NULL,\n  UNIQUE KEY `uk_email` (`email`),\n  KEY `idx_name` (`name`)\n);\n";

/// 200 clean rows per file plus the conflicts; files 1 and 2 become
/// separate engines (batch-size is tiny).
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("cf-schema-create.sql"), "CREATE DATABASE cf;\n").unwrap();
    std::fs::write(dir.join("cf.u-schema.sql"), SCHEMA).unwrap();
    let mut f1 = String::from("id,email,name\n");
    for i in 1..=200 {
        f1.push_str(&format!("{i},e{i}@x,n{i}\n"));
    }
    // Same file: id 5 again with a new email (primary key conflict).
    f1.push_str("5,dup5@x,late5\n");
    // Identical copy of row 7.
    f1.push_str("7,e7@x,n7\n");
    let mut f2 = String::from("id,email,name\n");
    for i in 1001..=1200 {
        f2.push_str(&format!("{i},e{i}@x,n{i}\n"));
    }
    // Across engines: id 10 again (primary key), e20@x again (unique key),
    // and id 30 with e40@x (both keys, two different earlier rows).
    f2.push_str("10,new10@x,late10\n");
    f2.push_str("2000,e20@x,late20\n");
    f2.push_str("30,e40@x,late3040\n");
    std::fs::write(dir.join("cf.u.000000001.csv"), f1).unwrap();
    std::fs::write(dir.join("cf.u.000000002.csv"), f2).unwrap();
}

fn cfg_for(work: &Path, strategy: &str) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(4);
    cfg.conflict.strategy = strategy.parse().expect("strategy");
    cfg
}

/// Runs one import with `strategy` into a fresh sim; returns the ids left
/// (with their names) or the error.
async fn run(strategy: &str) -> (Result<BTreeSet<(i64, String)>, CoordinatorError>, usize) {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), strategy);
    let result = import(&sim, &source, cfg.clone(), work.path()).await;
    let reported = reported_rows(&work.path().join("out"));
    let rows = match result {
        Ok(summary) => {
            assert!(summary.verified, "{summary}");
            let rows = export_rows(&sim, &source, &cfg, "cf.u").await;
            Ok(rows
                .iter()
                .map(|r| (val(r, "id").parse().unwrap(), val(r, "name").to_string()))
                .collect())
        }
        Err(e) => Err(e),
    };
    sim.shutdown().await;
    (rows, reported)
}

/// Lines in every conflict report (JSONL) under the output dir.
fn reported_rows(out: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl")
                && p.to_string_lossy().contains("conflict")
            {
                n += std::fs::read_to_string(&p).unwrap().lines().count();
            }
        }
    }
    n
}

fn clean_ids() -> BTreeSet<i64> {
    (1..=200).chain(1001..=1200).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn error_strategy_fails_and_keeps_the_report() {
    let (result, reported) = run("error").await;
    let err = result.expect_err("conflicts fail the job under `error`");
    let msg = err.to_string();
    assert!(msg.contains("cf") && msg.contains("u"), "{msg}");
    assert!(reported > 0, "the report is written before failing: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn record_keeps_one_row_per_key_and_reports_conflicts() {
    let (result, reported) = run("record").await;
    let rows = result.expect("record does not fail");
    let ids: BTreeSet<i64> = rows.iter().map(|(id, _)| *id).collect();
    // Every clean id is present exactly once (a set of ids from a scan of
    // record keys cannot hold one twice); 2000 may or may not have won.
    assert!(clean_ids().is_subset(&ids), "every clean id is present");
    assert!(reported >= 4, "conflicting rows are reported: {reported}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remove_deletes_every_conflicting_row() {
    let (result, _) = run("remove").await;
    let rows = result.expect("remove verifies");
    let ids: BTreeSet<i64> = rows.iter().map(|(id, _)| *id).collect();
    // Conflicting keys: id 5, 7 (identical copy: still a duplicate key), 10,
    // 30; email e20@x (rows 20 and 2000), e40@x (rows 40 and 30).
    let removed: BTreeSet<i64> = [5, 7, 10, 20, 30, 40, 2000].into();
    let expected: BTreeSet<i64> = clean_ids().difference(&removed).copied().collect();
    assert_eq!(ids, expected, "exactly the conflicting rows are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replace_keeps_the_latest_source_row() {
    let (result, _) = run("replace").await;
    let rows = result.expect("replace verifies");
    let names: std::collections::BTreeMap<i64, String> = rows.into_iter().collect();
    assert_eq!(names.get(&5).map(String::as_str), Some("late5"));
    assert_eq!(names.get(&10).map(String::as_str), Some("late10"));
    assert_eq!(names.get(&2000).map(String::as_str), Some("late20"));
    assert!(
        !names.contains_key(&20),
        "row 20 lost e20@x to the later row 2000"
    );
    assert_eq!(names.get(&30).map(String::as_str), Some("late3040"));
    assert!(
        !names.contains_key(&40),
        "row 40 lost e40@x to the later row 30"
    );
    assert_eq!(names.get(&7).map(String::as_str), Some("n7"));
}
