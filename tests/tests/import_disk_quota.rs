//! `tikv-importer.disk-quota`: one engine of ~1 MiB of KVs imported under a
//! 256 KiB quota ingests what it has sorted several times while it encodes
//! (early imports) and must end exactly as the same import without a quota:
//! the same rows in TiKV, the same KV counts, the same local duplicates and
//! conflicts (a primary key and a unique key repeated in chunks that land in
//! different parts, and one repeated inside a chunk), and a verified
//! checksum. The quota run ingests more SSTs, which shows the early imports
//! happened.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export_rows, import, val};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_coordinator::ImportSummary;
use squall_tests::sim::start_sim;
use tikv_sim::SimHandle;

const SCHEMA: &str = "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `email` VARCHAR(64) NOT NULL,\n  `pad` VARCHAR(255) NOT NULL,\n  UNIQUE KEY `uk_email` (`email`)\n);\n";
const ROWS: i64 = 4000;

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("q-schema-create.sql"), "CREATE DATABASE q;\n").unwrap();
    std::fs::write(dir.join("q.t-schema.sql"), SCHEMA).unwrap();
    let pad = "p".repeat(150);
    let mut text = String::from("id,email,pad\n");
    for i in 1..=ROWS {
        text.push_str(&format!("{i},e{i}@x,{pad}{i}\n"));
        if i == 50 {
            // Inside one chunk: id 50 again.
            text.push_str(&format!("50,again50@x,{pad}late50\n"));
        }
    }
    // Far from their first copies (other chunks, other parts): id 17 again,
    // and e100@x again under a new id.
    text.push_str(&format!("17,new17@x,{pad}late17\n"));
    text.push_str(&format!("9999,e100@x,{pad}late100\n"));
    std::fs::write(dir.join("q.t.000000001.csv"), text).unwrap();
}

fn cfg_for(work: &Path, quota: ByteSize) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.csv.header = true;
    // One engine, cut into ~20 chunks encoded one at a time.
    cfg.mydumper.max_region_size = ByteSize::kib(32);
    cfg.lightning.region_concurrency = 1;
    cfg.lightning.index_concurrency = 1;
    cfg.conflict.strategy = "replace".parse().unwrap();
    cfg.tikv_importer.disk_quota = quota;
    cfg
}

struct Run {
    summary: ImportSummary,
    rows: BTreeMap<i64, (String, String)>,
    ssts: u64,
}

async fn run(quota: ByteSize) -> Run {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), quota);
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .unwrap_or_else(|e| panic!("import with disk-quota {quota:?}: {e}"));
    let rows = export_rows(&sim, &source, &cfg, "q.t")
        .await
        .iter()
        .map(|r| {
            (
                val(r, "id").parse().unwrap(),
                (val(r, "email").to_string(), val(r, "pad").to_string()),
            )
        })
        .collect();
    let ssts = ssts(&sim);
    sim.shutdown().await;
    Run {
        summary,
        rows,
        ssts,
    }
}

fn ssts(sim: &SimHandle) -> u64 {
    sim.store_ids()
        .into_iter()
        .map(|id| sim.ingested_sst_count(id))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_over_the_quota_imports_early_and_ends_exact() {
    let plain = run(ByteSize(0)).await;
    let quota = run(ByteSize::kib(256)).await;
    assert!(plain.summary.verified && quota.summary.verified);
    assert_eq!(plain.summary.engines, 1);
    assert!(
        quota.ssts > plain.ssts,
        "early imports ingest more SSTs: {} with the quota, {} without",
        quota.ssts,
        plain.ssts
    );
    let (p, q) = (&plain.summary.tables[0], &quota.summary.tables[0]);
    assert_eq!(
        (p.rows, p.kvs, p.kv_bytes, p.local_duplicates, p.conflicts),
        (q.rows, q.kvs, q.kv_bytes, q.local_duplicates, q.conflicts)
    );
    assert!(q.local_duplicates >= 3, "{q:?}");
    assert_eq!(plain.rows, quota.rows);
    // `replace`: the later source rows won.
    assert!(quota.rows[&17].1.ends_with("late17"));
    assert!(quota.rows[&50].1.ends_with("late50"));
    assert_eq!(quota.rows[&9999].0, "e100@x");
    assert!(!quota.rows.contains_key(&100));
    assert_eq!(quota.rows.len() as i64, ROWS - 1 + 1);
}
