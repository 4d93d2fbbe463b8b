//! An import while TiDB's GC runs constantly (tikv-sim with a GC round
//! every 20 ms and a GC life time of 100 ms, so every round wants to
//! collect everything older than a tenth of a second; TiDB's minimum is 10
//! minutes). The life time is not zero so that the job's safepoint can be
//! registered at all: with zero, every GC round proposes "now" and a new
//! job's registration loses to any round between its TSO and its PD call,
//! which on a loaded machine was every one of them.
//!
//! Two engines write the same primary and unique keys at two commit ts;
//! six more engines follow, so GC rounds certainly run between those
//! ingests and duplicate detection. With the job's service GC safepoint
//! (the default) PD holds GC at the job's start ts: every version stays,
//! detection finds every conflict, `replace` leaves the expected rows and
//! the checksum verifies, and the safepoint is gone afterwards. With it
//! switched off (`squall.gc-safepoint-ttl-secs = 0`), GC collects the older
//! copy of each conflicting key before detection sees it, and the job fails
//! its checksum: the safepoint is what makes the first run pass.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use import_common::{config, export_rows, import, val};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_coordinator::gc_safepoint::service_id;
use squall_coordinator::{CoordinatorError, ImportOptions};
use squall_tests::sim::start_sim_with;
use tikv_sim::{SimConfig, SimHandle};

const SCHEMA: &str = "CREATE TABLE `u` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `email` VARCHAR(64) NOT NULL,\n  `name` VARCHAR(32) NOT NULL,\n  UNIQUE KEY `uk_email` (`email`)\n);\n";

/// Files 1 and 2 conflict (id 10 again; e20@x again); files 3..=8 are clean
/// and keep the job busy after the conflicting ingests.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("gc-schema-create.sql"), "CREATE DATABASE gc;\n").unwrap();
    std::fs::write(dir.join("gc.u-schema.sql"), SCHEMA).unwrap();
    for file in 1..=8u32 {
        let base = i64::from(file) * 1000;
        let mut text = String::from("id,email,name\n");
        for i in base..base + 150 {
            text.push_str(&format!("{i},e{i}@x,n{i}\n"));
        }
        if file == 2 {
            text.push_str("1010,new1010@x,late1010\n");
            text.push_str("9999,e1020@x,late1020\n");
        }
        std::fs::write(dir.join(format!("gc.u.{file:09}.csv")), text).unwrap();
    }
}

fn cfg_for(work: &Path, gc_ttl_secs: u64) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(4);
    // One engine at a time, in plan order: files 1 and 2 first.
    cfg.lightning.index_concurrency = 1;
    cfg.conflict.strategy = "replace".parse().unwrap();
    cfg.squall.gc_safepoint_ttl_secs = gc_ttl_secs;
    cfg
}

async fn gc_sim(dir: &Path) -> SimHandle {
    let cfg = SimConfig {
        gc_interval: Some(Duration::from_millis(20)),
        gc_life_time: Duration::from_millis(100),
        ..SimConfig::new(dir)
    };
    start_sim_with(cfg).await
}

/// Watches PD's GC state while the job runs: whether the job's service
/// safepoint was seen, and the largest GC safepoint seen while it was.
struct Watch {
    seen: AtomicBool,
    max_gc_while_held: AtomicU64,
    held_at: AtomicU64,
    stop: AtomicBool,
}

async fn watch(sim: Arc<SimHandle>, service: String, w: Arc<Watch>) {
    while !w.stop.load(Ordering::SeqCst) {
        let status = sim.gc_status().unwrap();
        if let Some(ours) = status
            .service_safe_points
            .iter()
            .find(|s| s.service_id == service)
        {
            w.seen.store(true, Ordering::SeqCst);
            w.held_at.store(ours.safe_point, Ordering::SeqCst);
            w.max_gc_while_held
                .fetch_max(status.gc_safe_point, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Run {
    result: Result<BTreeMap<i64, String>, CoordinatorError>,
    watch: Arc<Watch>,
    service_left: bool,
    removed_versions: u64,
    rounds: u64,
}

async fn run(gc_ttl_secs: u64) -> Run {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = Arc::new(gc_sim(&work.path().join("sim")).await);
    let cfg = cfg_for(work.path(), gc_ttl_secs);
    let job = ImportOptions::new(
        cfg.clone(),
        source.clone(),
        vec![sim.pd_addr.to_string()],
        work.path().join("out"),
    )
    .job_id()
    .unwrap();
    let w = Arc::new(Watch {
        seen: AtomicBool::new(false),
        max_gc_while_held: AtomicU64::new(0),
        held_at: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let watcher = tokio::spawn(watch(sim.clone(), service_id(&job), w.clone()));
    let result = import(&sim, &source, cfg.clone(), work.path()).await;
    w.stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let result = match result {
        Ok(summary) => {
            assert!(summary.verified, "{summary}");
            let rows = export_rows(&sim, &source, &cfg, "gc.u").await;
            Ok(rows
                .iter()
                .map(|r| (val(r, "id").parse().unwrap(), val(r, "name").to_string()))
                .collect())
        }
        Err(e) => Err(e),
    };
    let status = sim.gc_status().unwrap();
    let service_left = status
        .service_safe_points
        .iter()
        .any(|s| s.service_id == service_id(&job));
    let sim = Arc::into_inner(sim).expect("the watcher is done");
    sim.shutdown().await;
    Run {
        result,
        watch: w,
        service_left,
        removed_versions: status.removed_versions,
        rounds: status.rounds,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_safepoint_keeps_conflicting_versions_from_gc() {
    let run = run(600).await;
    let names = run.result.expect("the job verifies while GC runs");
    assert!(
        run.rounds > 10,
        "GC ran during the job: {} rounds",
        run.rounds
    );
    assert!(
        run.watch.seen.load(Ordering::SeqCst),
        "the job registered its service safepoint"
    );
    let held_at = run.watch.held_at.load(Ordering::SeqCst);
    let max_gc = run.watch.max_gc_while_held.load(Ordering::SeqCst);
    assert!(
        max_gc <= held_at,
        "GC stayed at or below the job's safepoint ({max_gc} > {held_at})"
    );
    assert!(!run.service_left, "the safepoint is removed at the end");
    // `replace`: the later source rows won both conflicts.
    assert_eq!(names.get(&1010).map(String::as_str), Some("late1010"));
    assert_eq!(names.get(&9999).map(String::as_str), Some("late1020"));
    assert!(
        !names.contains_key(&1020),
        "row 1020 lost e1020@x to row 9999"
    );
    assert_eq!(names.len(), 8 * 150 - 1 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_safepoint_gc_breaks_the_job() {
    let run = run(0).await;
    assert!(
        !run.watch.seen.load(Ordering::SeqCst),
        "gc-safepoint-ttl-secs = 0 registers nothing"
    );
    assert!(
        run.removed_versions > 0,
        "GC collected versions the job needed"
    );
    match run.result {
        Err(CoordinatorError::ChecksumMismatch { table, .. }) => {
            assert!(table.contains('u'), "{table}")
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
}
