//! "target tables empty" under the table ids the plan really uses. With
//! `tidb.host`, TiDB's ids (read just before planning) are not the
//! deterministic ones the early prechecks see: a table full of rows under
//! TiDB's id must still stop the import. Here the rows are put under a
//! mapped id (500) by an import with `[squall] table-ids`; the check given
//! that mapping scans id 500 and fails, where the deterministic id's range
//! is empty and passes.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, import};
use squall_client::{ClientOptions, PdClient};
use squall_common::TaskConfig;
use squall_coordinator::precheck::{check_empty_with_ids, targets_with_ids, CHECK_EMPTY};
use squall_coordinator::CoordinatorError;
use squall_tests::sim::start_sim;

fn write_dump(dir: &Path, data: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pi-schema-create.sql"), "CREATE DATABASE pi;\n").unwrap();
    std::fs::write(
        dir.join("pi.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `name` VARCHAR(16) NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pi.p-schema.sql"),
        "CREATE TABLE `p` (`id` INT NOT NULL PRIMARY KEY) PARTITION BY HASH(`id`) PARTITIONS 2;\n",
    )
    .unwrap();
    std::fs::write(dir.join("pi.t.000000001.csv"), data).unwrap();
    std::fs::write(dir.join("pi.p.000000001.csv"), "id\n").unwrap();
}

fn cfg_for(work: &Path, source: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg.mydumper.data_source_dir = source.display().to_string();
    cfg
}

fn mapped() -> BTreeMap<String, i64> {
    BTreeMap::from([
        ("pi.t".to_string(), 500),
        ("pi.p".to_string(), 600),
        ("pi.p#p0".to_string(), 601),
        ("pi.p#p1".to_string(), 602),
    ])
}

#[test]
fn targets_take_the_mapped_ids_of_tables_and_partitions() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    write_dump(&src, "id,name\n1,a\n");
    let cfg = cfg_for(work.path(), &src);
    let ids = mapped();
    let mut targets = targets_with_ids(&cfg, Some(&ids)).unwrap();
    targets.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<(String, Vec<i64>)> = targets
        .into_iter()
        .map(|t| (t.name, t.physical_ids))
        .collect();
    assert_eq!(
        got,
        vec![
            ("pi.p".to_string(), vec![601, 602]),
            ("pi.t".to_string(), vec![500])
        ]
    );
    // Without the mapping: the deterministic ids, none of the mapped ones.
    let plain = targets_with_ids(&cfg, None).unwrap();
    assert!(
        plain
            .iter()
            .flat_map(|t| &t.physical_ids)
            .all(|id| *id >= 100_000),
        "{plain:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_under_the_mapped_id_fail_the_check() {
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    write_dump(&first, "id,name\n1,a\n2,b\n");
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = cfg_for(work.path(), &first);
    cfg.squall.table_ids = mapped();
    import(&sim, &first, cfg, &work.path().join("a"))
        .await
        .expect("the first import verifies");

    let second = work.path().join("second");
    write_dump(&second, "id,name\n10,x\n");
    let cfg2 = cfg_for(work.path(), &second);
    let pd = PdClient::connect(&[sim.pd_addr.to_string()], ClientOptions::for_test())
        .await
        .unwrap();
    // The deterministic ids' ranges are empty: checking them lets it through.
    check_empty_with_ids(&cfg2, &pd, None)
        .await
        .expect("nothing under the deterministic ids");
    // The ids the plan would use hold the first import's rows.
    let err = check_empty_with_ids(&cfg2, &pd, Some(&mapped()))
        .await
        .expect_err("pi.t holds rows under id 500");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            CoordinatorError::Invalid {
                what: "precheck",
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(CHECK_EMPTY) && msg.contains("pi.t (table id 500)"),
        "{msg}"
    );
    assert!(!msg.contains("pi.p "), "{msg}");
    sim.shutdown().await;
}
