//! The prechecks against tikv-sim: a clean dump passes every check; a
//! target table that already holds rows fails the check and `run_import`
//! refuses to start (no checkpoint written), unless `incremental-import` is
//! set or the checks are off; CSV settings that do not fit the files fail
//! naming the file; a stopped store fails store and region health; a
//! source larger than the free disk fails unless `disk-quota` bounds the
//! local engines; an unreadable source and an unreachable PD fail and skip
//! what depends on them.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, import};
use squall_client::ClientOptions;
use squall_common::checkpoint::{keys, typed, JobCheckpoint, LocalCheckpointStore};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_coordinator::precheck::{
    run_prechecks, CheckStatus, PrecheckInput, PrecheckReport, CHECK_CLUSTER, CHECK_DISK,
    CHECK_EMPTY, CHECK_FILES, CHECK_REGIONS, CHECK_SCHEMAS, CHECK_SOURCE, CHECK_STORES,
    CHECK_VERSIONS,
};
use squall_coordinator::{CoordinatorError, ImportOptions};
use squall_tests::sim::start_sim;
use tikv_sim::SimHandle;

const ALL: [&str; 9] = [
    CHECK_SOURCE,
    CHECK_SCHEMAS,
    CHECK_FILES,
    CHECK_CLUSTER,
    CHECK_VERSIONS,
    CHECK_STORES,
    CHECK_REGIONS,
    CHECK_DISK,
    CHECK_EMPTY,
];

fn write_dump(dir: &Path, data: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pc-schema-create.sql"), "CREATE DATABASE pc;\n").unwrap();
    std::fs::write(
        dir.join("pc.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `name` VARCHAR(16) NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(dir.join("pc.t.000000001.csv"), data).unwrap();
}

const CLEAN: &str = "id,name\n1,a\n2,b\n3,c\n";

fn cfg_for(work: &Path, source: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg.mydumper.data_source_dir = source.display().to_string();
    cfg
}

async fn check(sim: &SimHandle, cfg: &TaskConfig) -> PrecheckReport {
    check_at(&[sim.pd_addr.to_string()], cfg).await
}

async fn check_at(pd: &[String], cfg: &TaskConfig) -> PrecheckReport {
    let input = PrecheckInput {
        cfg,
        pd_addrs: pd,
        client: ClientOptions::for_test(),
        resuming: false,
        local_engines: true,
    };
    run_prechecks(&input).await
}

fn status(report: &PrecheckReport, name: &str) -> CheckStatus {
    report
        .get(name)
        .unwrap_or_else(|| panic!("{name} not in\n{report}"))
        .status
}

fn detail<'a>(report: &'a PrecheckReport, name: &str) -> &'a str {
    &report.get(name).unwrap().detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_dump_and_cluster_pass_every_check() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, CLEAN);
    let sim = start_sim(&work.path().join("sim")).await;
    let report = check(&sim, &cfg_for(work.path(), &source)).await;
    for name in ALL {
        assert_eq!(status(&report, name), CheckStatus::Pass, "{name}\n{report}");
    }
    assert!(report.passed());
    let text = report.to_string();
    assert!(text.contains("all prechecks passed"), "{text}");
    assert!(detail(&report, CHECK_VERSIONS).contains("8.5.0"), "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_rows_stops_the_import_before_it_writes() {
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    write_dump(&first, CLEAN);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = cfg_for(work.path(), &first);
    import(&sim, &first, cfg.clone(), &work.path().join("a"))
        .await
        .expect("the first import verifies");

    // Another dump of the same table: another job, and the table is full.
    let second = work.path().join("second");
    write_dump(&second, "id,name\n10,x\n");
    let cfg2 = cfg_for(work.path(), &second);
    let report = check(&sim, &cfg2).await;
    assert_eq!(status(&report, CHECK_EMPTY), CheckStatus::Fail, "{report}");
    assert!(detail(&report, CHECK_EMPTY).contains("pc.t"), "{report}");
    assert!(report.to_string().contains("TRUNCATE TABLE"), "{report}");

    let out = work.path().join("b");
    let err = import(&sim, &second, cfg2.clone(), &out)
        .await
        .expect_err("the precheck stops the import");
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
    assert!(msg.contains(CHECK_EMPTY) && msg.contains("pc.t"), "{msg}");
    // Nothing was written: no job record, so a rerun is not a "resume".
    let job = ImportOptions::new(
        cfg2.clone(),
        second.clone(),
        vec![sim.pd_addr.to_string()],
        out.join("out"),
    )
    .job_id()
    .unwrap();
    let store = LocalCheckpointStore::open(out.join("out/checkpoint")).unwrap();
    assert!(typed::read::<JobCheckpoint>(&store, &keys::job(&job))
        .await
        .unwrap()
        .is_none());

    // incremental-import: the checksum would count the old rows, so it
    // must not be required; with it optional, a warning and the import may go on.
    let mut incremental = cfg2.clone();
    incremental.tikv_importer.incremental_import = true;
    let report = check(&sim, &incremental).await;
    assert_eq!(status(&report, CHECK_EMPTY), CheckStatus::Fail, "{report}");
    assert!(
        report.to_string().contains("post-restore.checksum"),
        "{report}"
    );
    incremental.post_restore.checksum = squall_common::config::PostOpLevel::Optional;
    let report = check(&sim, &incremental).await;
    assert_eq!(status(&report, CHECK_EMPTY), CheckStatus::Warn, "{report}");
    assert!(report.passed(), "{report}");

    // The first job again: its checkpoint says verified, nothing is checked.
    let again = import(&sim, &first, cfg.clone(), &work.path().join("a"))
        .await
        .expect("a verified job reports its summary");
    assert!(again.already_done);

    // Checks off: the import starts, writes, and fails where the precheck
    // said it would (TiKV's checksum counts rows 1..3 the job did not write).
    let mut off = cfg2.clone();
    off.lightning.check_requirements = false;
    let err = import(&sim, &second, off, &work.path().join("c"))
        .await
        .expect_err("the rows already there break the checksum");
    assert!(
        matches!(err, CoordinatorError::ChecksumMismatch { .. }),
        "{err}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_settings_that_do_not_fit_the_files_are_named() {
    let work = tempfile::tempdir().unwrap();
    let sim = start_sim(&work.path().join("sim")).await;

    // Fields separated by ';' read with ',' as the separator.
    let semi = work.path().join("semi");
    write_dump(&semi, "1;a\n2;b\n");
    let mut cfg = cfg_for(work.path(), &semi);
    cfg.mydumper.csv.header = false;
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_FILES), CheckStatus::Fail, "{report}");
    let d = detail(&report, CHECK_FILES);
    assert!(
        d.contains("pc.t.000000001.csv") && d.contains("1 fields") && d.contains("2 columns"),
        "{d}"
    );
    // With a max-error budget such rows would be skipped: a warning no more.
    cfg.lightning.max_error = 10;
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_FILES), CheckStatus::Pass, "{report}");

    // header = true on a file without one: "1" and "a" are no columns.
    let bare = work.path().join("bare");
    write_dump(&bare, "1,a\n2,b\n");
    let cfg = cfg_for(work.path(), &bare);
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_FILES), CheckStatus::Fail, "{report}");
    assert!(detail(&report, CHECK_FILES).contains("column"), "{report}");

    // header = false on a file with one: a warning.
    let headed = work.path().join("headed");
    write_dump(&headed, CLEAN);
    let mut cfg = cfg_for(work.path(), &headed);
    cfg.mydumper.csv.header = false;
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_FILES), CheckStatus::Warn, "{report}");
    assert!(report.to_string().contains("mydumper.csv.header = true"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_store_fails_store_and_region_health() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, CLEAN);
    let sim = start_sim(&work.path().join("sim")).await;
    sim.stop_store(3).await.unwrap();
    let report = check(&sim, &cfg_for(work.path(), &source)).await;
    assert_eq!(status(&report, CHECK_STORES), CheckStatus::Fail, "{report}");
    assert!(
        detail(&report, CHECK_STORES).contains("store 3"),
        "{report}"
    );
    assert_eq!(
        status(&report, CHECK_REGIONS),
        CheckStatus::Fail,
        "{report}"
    );
    assert!(
        detail(&report, CHECK_REGIONS).contains("store 3"),
        "{report}"
    );
    assert!(!report.passed());
    sim.start_store(3).await.unwrap();
    let report = check(&sim, &cfg_for(work.path(), &source)).await;
    assert!(report.passed(), "{report}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_larger_than_the_disk_needs_a_quota() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, CLEAN);
    // A 1 TiB data file that takes no disk: its first rows are real, the
    // rest is a hole (only the first rows are read).
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(source.join("pc.t.000000001.csv"))
        .unwrap();
    file.set_len(1 << 40).unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = cfg_for(work.path(), &source);
    cfg.mydumper.batch_size = ByteSize(1 << 40);
    let (_, free) =
        squall_coordinator::precheck::available_bytes(&work.path().join("sorted")).unwrap();
    assert!(free < 2 << 40, "this test needs less than 2 TiB free");
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_DISK), CheckStatus::Fail, "{report}");
    assert!(report.to_string().contains("tikv-importer.disk-quota"));
    cfg.tikv_importer.disk_quota = ByteSize::mib(64);
    let report = check(&sim, &cfg).await;
    assert_eq!(status(&report, CHECK_DISK), CheckStatus::Pass, "{report}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_source_and_a_dead_pd_skip_what_depends_on_them() {
    let work = tempfile::tempdir().unwrap();
    let cfg = cfg_for(work.path(), &work.path().join("no-such-dump"));
    let dead = squall_tests::free_addr().to_string();
    let report = check_at(std::slice::from_ref(&dead), &cfg).await;
    assert_eq!(status(&report, CHECK_SOURCE), CheckStatus::Fail, "{report}");
    assert!(detail(&report, CHECK_SOURCE).contains("no-such-dump"));
    assert_eq!(status(&report, CHECK_SCHEMAS), CheckStatus::Skipped);
    assert_eq!(
        status(&report, CHECK_CLUSTER),
        CheckStatus::Fail,
        "{report}"
    );
    assert!(detail(&report, CHECK_CLUSTER).contains(&dead));
    for name in [
        CHECK_VERSIONS,
        CHECK_STORES,
        CHECK_REGIONS,
        CHECK_DISK,
        CHECK_EMPTY,
    ] {
        assert_eq!(
            status(&report, name),
            CheckStatus::Skipped,
            "{name}\n{report}"
        );
    }
}
