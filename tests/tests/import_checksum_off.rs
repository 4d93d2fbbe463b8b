//! "Verified" is said only when a checksum compared equal: with
//! `post-restore.checksum = "off"` the job ends (`Ok`, state `Imported`)
//! but its summary never says "verified", names the tables whose checksum
//! was NOT CHECKED, and so does a rerun that finds the job done; the same
//! import with the checksum on says "imported and verified".
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, import};
use squall_common::config::PostOpLevel;
use squall_common::TaskConfig;
use squall_tests::sim::start_sim;

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ck-schema-create.sql"), "CREATE DATABASE ck;\n").unwrap();
    std::fs::write(
        dir.join("ck.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `v` VARCHAR(16) NOT NULL);\n",
    )
    .unwrap();
    let mut text = String::from("id,v\n");
    for i in 1..=200 {
        text.push_str(&format!("{i},v{i}\n"));
    }
    std::fs::write(dir.join("ck.t.000000001.csv"), text).unwrap();
}

fn cfg_for(work: &Path, checksum: PostOpLevel) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg.post_restore.checksum = checksum;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_off_never_says_verified() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), PostOpLevel::Off);

    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("the job ends");
    let text = summary.to_string();
    assert!(!summary.verified, "{text}");
    assert!(!text.contains("verified"), "{text}");
    assert!(
        text.contains("NOT CHECKED: no checksum compared with TiKV's for 1 of 1 tables (`ck`.`t`)")
            || text
                .contains("NOT CHECKED: no checksum compared with TiKV's for 1 of 1 tables (ck.t)"),
        "{text}"
    );
    assert!(text.contains("checksum NOT checked"), "{text}");
    assert_eq!(summary.rows(), 200);

    // A rerun finds the job ended and says the same.
    let again = import(&sim, &source, cfg, work.path()).await.unwrap();
    let text = again.to_string();
    assert!(again.already_done && !again.verified, "{text}");
    assert!(!text.contains("verified"), "{text}");
    assert!(text.contains("NOT CHECKED"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_checksum_says_verified() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let summary = import(
        &sim,
        &source,
        cfg_for(work.path(), PostOpLevel::Required),
        work.path(),
    )
    .await
    .unwrap();
    let text = summary.to_string();
    assert!(summary.verified, "{text}");
    assert!(text.contains("imported and verified"), "{text}");
    assert!(!text.contains("NOT CHECKED"), "{text}");
    sim.shutdown().await;
}
