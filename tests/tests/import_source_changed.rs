//! A job is named by its source path and cluster, so a new dump put at the
//! same path must not be answered "already imported and verified": the job
//! record keeps a fingerprint of the routed files and sizes, and a rerun on
//! a changed source is refused with what to do. A source that routes no
//! table (empty, or a volume mounted elsewhere) is an error, not an import
//! of nothing.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, import};
use squall_common::TaskConfig;
use squall_tests::sim::start_sim;

fn write_dump(dir: &Path, rows: u32) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("sc-schema-create.sql"), "CREATE DATABASE sc;\n").unwrap();
    std::fs::write(
        dir.join("sc.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `v` VARCHAR(16) NOT NULL);\n",
    )
    .unwrap();
    let mut text = String::from("id,v\n");
    for i in 1..=rows {
        text.push_str(&format!("{i},v{i}\n"));
    }
    std::fs::write(dir.join("sc.t.000000001.csv"), text).unwrap();
}

fn cfg_for(work: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_dump_at_the_same_path_is_refused_not_skipped() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, 100);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path());

    let first = import(&sim, &source, cfg.clone(), work.path())
        .await
        .unwrap();
    assert!(first.verified && first.rows() == 100, "{first}");
    // The same source again: done already, nothing changes.
    let again = import(&sim, &source, cfg.clone(), work.path())
        .await
        .unwrap();
    assert!(again.already_done, "{again}");

    // Another dump at the same path (more rows): refused, naming the way out.
    write_dump(&source, 150);
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("a changed source must not be called imported");
    let text = err.to_string();
    assert!(text.contains("changed since job"), "{text}");
    assert!(text.contains("remove the old job's checkpoints"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_tables_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("empty");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("README.txt"), "not a dump\n").unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let err = import(&sim, &source, cfg_for(work.path()), work.path())
        .await
        .expect_err("nothing to import is not a success");
    let text = err.to_string();
    assert!(text.contains("no table to import"), "{text}");
    assert!(text.contains("1 files skipped"), "{text}");
    sim.shutdown().await;
}
