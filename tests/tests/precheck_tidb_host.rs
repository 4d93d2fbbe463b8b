//! With `tidb.host`, "target tables empty" runs once the SQL server was
//! asked for the table ids (here MariaDB, so the plan's ids are the
//! deterministic ones), before the plan is stored: a table that already
//! holds rows stops the import then, and, the job being still `Planning`
//! (nothing written), a rerun checks again instead of taking the rows for
//! its own.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, import};
use squall_common::config::{Password, PostOpLevel};
use squall_common::TaskConfig;
use squall_coordinator::precheck::CHECK_EMPTY;
use squall_coordinator::CoordinatorError;
use squall_tests::mariadb;
use squall_tests::sim::start_sim;

fn write_dump(dir: &Path, values: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ph-schema-create.sql"), "CREATE DATABASE `ph`;\n").unwrap();
    std::fs::write(
        dir.join("ph.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `v` VARCHAR(8));\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ph.t.000000001.sql"),
        format!("INSERT INTO `t` VALUES {values};\n"),
    )
    .unwrap();
}

fn sql_config(work: &Path, port: u16) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.host = "127.0.0.1".into();
    cfg.tidb.port = port;
    cfg.tidb.user = mariadb::USER.into();
    cfg.tidb.password = Password(mariadb::PASSWORD.into());
    cfg.post_restore.analyze = PostOpLevel::Off;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_table_stops_the_import_after_the_ids_are_read() {
    let Some(db) = mariadb::start_or_skip().await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let first = work.path().join("first");
    write_dump(&first, "(1,'a'),(2,'b')");
    let cfg = sql_config(work.path(), db.port());
    let summary = import(&sim, &first, cfg.clone(), &work.path().join("a"))
        .await
        .expect("the first import verifies");
    assert!(summary.verified, "{summary}");

    let second = work.path().join("second");
    write_dump(&second, "(10,'x')");
    for attempt in 0..2 {
        let err = import(&sim, &second, cfg.clone(), &work.path().join("b"))
            .await
            .expect_err("rows already in ph.t stop the import");
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                CoordinatorError::Invalid {
                    what: "precheck",
                    ..
                }
            ),
            "attempt {attempt}: {msg}"
        );
        assert!(
            msg.contains(CHECK_EMPTY) && msg.contains("ph.t (table id"),
            "attempt {attempt}: {msg}"
        );
    }
    sim.shutdown().await;
}
