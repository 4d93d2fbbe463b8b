//! `squall export` shows what TiDB's `SELECT *` shows: a VIRTUAL generated
//! column (not held in the row in TiKV) computed, a STORED one as stored,
//! and no hidden expression-index column (`_V$_…`). Imported from a CSV
//! dump naming only the ordinary columns, the table exports back as that
//! dump with the generated columns' values added.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::{config, export, import};
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE `t` (\n\
  `id` INT NOT NULL PRIMARY KEY,\n\
  `s` VARCHAR(20),\n\
  `a` INT,\n\
  `u` VARCHAR(24) AS (UPPER(CONCAT(`s`, '!'))) VIRTUAL,\n\
  `b` BIGINT AS (`a` * 2 + 1) STORED,\n\
  KEY `iu` (`u`),\n\
  KEY `ke` ((LOWER(`s`)))\n\
);\n";

const SOURCE: &str = "id,s,a\n1,hello,5\n2,\\N,\\N\n3,\"a,b\",-4\n";

const EXPORTED: &str =
    "id,s,a,u,b\n1,hello,5,HELLO!,11\n2,\\N,\\N,\\N,\\N\n3,\"a,b\",-4,\"A,B!\",-7\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn virtual_columns_export_computed_and_hidden_ones_not_at_all() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("xg-schema-create.sql"), "CREATE DATABASE xg;\n").unwrap();
    std::fs::write(source.join("xg.t-schema.sql"), SCHEMA).unwrap();
    std::fs::write(source.join("xg.t.000000001.csv"), SOURCE).unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.mydumper.csv.header = true;
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let csv = export(&sim, &source, &cfg, "xg.t", ExportFormat::Csv).await;
    let jsonl = export(&sim, &source, &cfg, "xg.t", ExportFormat::Jsonl).await;
    sim.shutdown().await;
    assert_eq!(csv, EXPORTED);
    // The source's columns read back as they were given, generated ones after.
    for (exported, given) in csv.lines().zip(SOURCE.lines()) {
        assert!(
            exported.starts_with(&format!("{given},")),
            "{exported} vs {given}"
        );
    }
    assert!(!jsonl.contains("_V$_"), "{jsonl}");
    assert!(jsonl.contains("\"u\":\"HELLO!\""), "{jsonl}");
}
