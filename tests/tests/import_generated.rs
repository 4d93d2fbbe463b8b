//! Generated columns end to end: a STORED column is computed and kept in
//! the row, a VIRTUAL one is left out of the row but its index holds the
//! computed value; the source (Dumpling style) names only the other columns.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::{config, export, export_rows, import, val};
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;

const SCHEMA: &str = "CREATE TABLE `t` (\n\
  `id` INT NOT NULL PRIMARY KEY,\n\
  `a` INT,\n\
  `s` VARCHAR(20),\n\
  `b` BIGINT AS (`a` * 2 + 1) STORED,\n\
  `u` VARCHAR(20) AS (UPPER(CONCAT(`s`, '!'))) VIRTUAL,\n\
  KEY `iu` (`u`)\n\
);\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stored_and_virtual_generated_columns() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("g-schema-create.sql"), "CREATE DATABASE g;\n").unwrap();
    std::fs::write(source.join("g.t-schema.sql"), SCHEMA).unwrap();
    std::fs::write(
        source.join("g.t.000000001.sql"),
        "INSERT INTO `t` (`id`,`a`,`s`) VALUES (1,5,'hello'),(2,NULL,'x'),(3,-4,NULL);\n",
    )
    .unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let rows = export_rows(&sim, &source, &cfg, "g.t").await;
    let kvs = export(&sim, &source, &cfg, "g.t", ExportFormat::Kv).await;
    sim.shutdown().await;
    let b: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (val(r, "id").to_string(), r["b"].clone()))
        .collect();
    assert_eq!(
        b,
        [
            ("1".to_string(), Some("11".to_string())),
            ("2".to_string(), None),
            ("3".to_string(), Some("-7".to_string()))
        ]
    );
    // Index `iu` (id 1) holds UPPER(CONCAT(s, '!')): "HELLO!" as a
    // memcomparable bytes datum, and NULL for the row whose s is NULL.
    let index_keys: Vec<String> = kvs
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_uppercase())
        .filter(|k| k.contains("5F698000000000000001"))
        .collect();
    assert_eq!(index_keys.len(), 3, "{index_keys:?}");
    assert!(
        index_keys
            .iter()
            .any(|k| k.contains("0148454C4C4F210000FD")),
        "{index_keys:?}"
    );
    assert!(
        index_keys
            .iter()
            .any(|k| k.contains("015821000000000000F9")),
        "{index_keys:?}"
    );
}
