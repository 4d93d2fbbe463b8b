//! Shard merge with `[[routes]]`: tables `t` of two "shard" databases
//! (shard_1, shard_2: MySQL instances dumped separately, same schema) are
//! routed into `db.t`. Primary keys 91–100 are in both shards: the usual
//! duplicate step finds them as conflicts, and with `replace` the later
//! shard's rows win while the table holds the union of the keys.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export_rows, import, val};
use squall_common::TaskConfig;
use squall_tests::sim::start_sim;

const SCHEMA: &str =
    "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `name` VARCHAR(32) NOT NULL\n);\n";

/// shard_1.t holds ids 1–100, shard_2.t ids 91–190, names saying which shard.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (shard, ids) in [(1, 1..=100), (2, 91..=190)] {
        let db = format!("shard_{shard}");
        std::fs::write(
            dir.join(format!("{db}-schema-create.sql")),
            format!("CREATE DATABASE `{db}`;\n"),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{db}.t-schema.sql")), SCHEMA).unwrap();
        let values: Vec<String> = ids.map(|i| format!("({i},'s{shard}-{i}')")).collect();
        let sql = format!("INSERT INTO `t` VALUES\n{};\n", values.join(",\n"));
        std::fs::write(dir.join(format!("{db}.t.000000001.sql")), sql).unwrap();
    }
}

/// The rules as a Lightning user writes them, loaded through the config file parser.
fn cfg_for(work: &Path, strategy: &str) -> TaskConfig {
    let text = "[[routes]]\nschema-pattern = \"shard_*\"\ntable-pattern = \"t\"\ntarget-schema = \"db\"\ntarget-table = \"t\"\n";
    let file = TaskConfig::from_toml(text, Path::new("routes.toml")).expect("[[routes]] loads");
    let mut cfg = config(None, work);
    cfg.mydumper.routes = file.mydumper.routes;
    assert_eq!(cfg.mydumper.routes.len(), 1);
    cfg.conflict.strategy = strategy.parse().expect("strategy");
    cfg
}

/// Lines of the conflict reports (JSONL) under `out`.
fn reported_rows(out: &Path) -> Vec<String> {
    let mut lines = Vec::new();
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
                lines.extend(
                    std::fs::read_to_string(&p)
                        .unwrap()
                        .lines()
                        .map(str::to_string),
                );
            }
        }
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shards_merge_into_one_table_with_cross_shard_conflicts_replaced() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    write_dump(&src);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), "replace");
    let summary = import(&sim, &src, cfg.clone(), work.path())
        .await
        .unwrap_or_else(|e| panic!("import failed: {e}"));
    assert!(summary.verified, "{summary}");
    let rows: BTreeMap<i64, String> = export_rows(&sim, &src, &cfg, "db.t")
        .await
        .iter()
        .map(|r| (val(r, "id").parse().unwrap(), val(r, "name").to_string()))
        .collect();
    // The union of the shards' keys, each once.
    assert_eq!(rows.len(), 190);
    assert_eq!(
        rows.keys().copied().collect::<Vec<_>>(),
        (1..=190).collect::<Vec<_>>()
    );
    for (id, name) in &rows {
        // Keys in both shards keep the later source row (shard_2's file).
        let shard = if *id > 90 { 2 } else { 1 };
        assert_eq!(name, &format!("s{shard}-{id}"), "id {id}");
    }
    // Every cross-shard key is reported, naming both shards' files.
    let report = reported_rows(&work.path().join("out"));
    let text = report.join("\n");
    assert!(report.len() >= 10, "conflicts reported: {report:?}");
    for needle in ["shard_1.t.000000001.sql", "shard_2.t.000000001.sql"] {
        assert!(
            text.contains(needle),
            "report does not name {needle}: {text}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cross_shard_conflicts_fail_the_import_under_error() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("dump");
    write_dump(&src);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), "error");
    let err = import(&sim, &src, cfg, work.path())
        .await
        .expect_err("duplicate keys across shards must fail under `error`")
        .to_string();
    assert!(err.contains("db") && err.contains('t'), "{err}");
    assert!(!reported_rows(&work.path().join("out")).is_empty(), "{err}");
    sim.shutdown().await;
}
