//! The chaos suite of cluster mode (issue 14). Each scenario imports a
//! multi-table dump (`shop`: three tables, CSV and SQL, unique and secondary
//! indexes, duplicates across engines) through `squall import
//! --coordinator` on real servers — nats-server and etcd (restartable on
//! the same ports and data dirs), an in-process tikv-sim, two `squall
//! coordinator` and three `squall worker` processes — while its faults are
//! injected, and checks the result exact against an embedded import of the
//! same dump: per table the totals (rows, KVs, bytes, local duplicates,
//! conflicting rows), the KV count and SHA-256 of what TiKV holds, and the
//! conflict report. It prints, per scenario, the faults injected, the tasks
//! redone, the queue's deliveries and the extra time against the run
//! without faults (and writes the table to `<target>/chaos-<tier>.md`).
//!
//! Scenarios: kill -9 a random worker every few seconds (restarted a
//! second later); SIGSTOP a worker past the ack wait, then SIGCONT; kill -9
//! the leader coordinator twice (restarted as a standby); crash and restart
//! nats-server; the same for etcd; the sim's RPC faults at 5 % with stores
//! going down; all of them at once; a worker whose disk is full. Besides,
//! a poison task (a malformed row) must fail the job with its file and
//! offset, without looping.
//!
//! `scripts/test.sh` runs the quick tier (a small dump, the scenarios the
//! other cluster tests do not cover); `SQUALL_CHAOS=long` runs every
//! scenario on 300 MiB (see README, Development).
#![allow(clippy::unwrap_used)]

mod chaos {
    pub mod cluster;
    pub mod disk;
    pub mod faults;
    pub mod figures;
    pub mod node;
    pub mod outcome;
    pub mod scenario;
    pub mod tier;

    pub const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
}

use std::process::Command;
use std::time::{Duration, Instant};

use chaos::cluster::{Cluster, Disks, ACK_WAIT_SECS, MAX_DELIVERIES};
use chaos::figures::{table, Figures};
use chaos::scenario::{run, Fixture, Scenario};
use chaos::tier::Tier;
use chaos::SQUALL;
use squall_common::checkpoint::EngineState;
use squall_tests::{servers_installed, ProcessGuard};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_scenarios_end_exact() {
    let tier = Tier::from_env();
    run_tier(tier, "", tier.scenarios()).await;
}

/// A worker whose `--sorted-kv-dir` fills up (a small tmpfs: a real ENOSPC)
/// fails its task with an error naming the directory, the task goes back to
/// the queue and another worker does it, and the full worker takes no more
/// tasks until it has room (the disk is grown), the job ending exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_costs_one_delivery_and_the_worker_waits_for_room() {
    let tier = Tier::from_env();
    run_tier(tier, "-full-disk", tier.full_disk()).await;
}

/// Runs `scenarios` on the tier's dump against one embedded reference,
/// prints and stores the figures, and fails unless every one was exact.
async fn run_tier(tier: Tier, label: &str, scenarios: Vec<Scenario>) {
    if !servers_installed(&["etcd", "nats-server"]) || scenarios.is_empty() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let fx = Fixture::new(tier, work.path());
    let (want, reference) = fx.reference().await;
    eprintln!(
        "chaos: tier {}, {} rows, {} conflicting rows; embedded import {reference:.1?}",
        tier.name(),
        want.rows(),
        want.conflicting_rows()
    );
    let seed = std::env::var("SQUALL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let mut rows: Vec<Figures> = Vec::new();
    for scenario in &scenarios {
        rows.push(run(*scenario, &fx, &want, seed).await);
    }
    let baseline = scenarios
        .iter()
        .position(|s| *s == Scenario::NoFaults)
        .map(|i| rows[i].took);
    let text = table(tier.name(), &rows, baseline, reference);
    eprintln!("{text}");
    if let Some(dir) = squall_tests::target_profile_dir() {
        let path = dir.join(format!("chaos-{}{label}.md", tier.name()));
        if std::fs::write(&path, &text).is_ok() {
            eprintln!("chaos: figures written to {}", path.display());
        }
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|f| !f.exact())
        .map(|f| format!("{}: {}", f.scenario, f.problems.join("; ")))
        .collect();
    assert!(
        failed.is_empty(),
        "seed {seed}; not exact:\n{}",
        failed.join("\n")
    );
}

/// A task that fails the same way on every delivery — a row the strict SQL
/// mode refuses — fails the job with that row's file, line and byte
/// offset, after at most the queue's deliveries; nothing loops afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_task_fails_the_job_with_its_file_and_offset() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    let made = Command::new(SQUALL)
        .args([
            "gen-dump",
            "--dataset",
            "shop",
            "--size",
            "2MiB",
            "--file-size",
            "256KiB",
            "--out",
        ])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let poisoned = dump.join("shop.orders.000000002.csv");
    let text = std::fs::read_to_string(&poisoned).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let bad = "1099511699999,11435,not-a-number,\"paid\",\"2024-03-28 15:40:26\",1.0,\"poison\"";
    lines[99] = bad;
    std::fs::write(&poisoned, lines.join("\n") + "\n").unwrap();
    let config = work.path().join("task.toml");
    std::fs::write(&config, "[mydumper]\nbatch-size = \"256KiB\"\n").unwrap();

    let cluster = Cluster::start(&work.path().join("cluster"), Disks::Roomy).await;
    let mut cmd = Command::new(SQUALL);
    cmd.arg("--config")
        .arg(&config)
        .args([
            "import",
            "--progress",
            "log",
            "--pd",
            &cluster.pd(),
            "--source",
        ])
        .arg(&dump)
        .arg("--output")
        .arg(work.path().join("out"))
        .args(["--coordinator", &cluster.coordinator_urls()]);
    let started = Instant::now();
    let mut client = ProcessGuard::spawn("import", cmd).unwrap();
    let exit = tokio::task::block_in_place(|| loop {
        if let Some(status) = client.try_wait() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the poisoned job did not end within 180 s: it loops"
        );
        std::thread::sleep(Duration::from_millis(50));
    });
    let said = client.output().join("\n");
    assert!(!exit.success(), "a poisoned job fails: {said}");
    for needle in [
        "shop.orders.000000002.csv:100",
        "(byte ",
        "column amount",
        "not-a-number",
    ] {
        assert!(said.contains(needle), "the error names {needle:?}:\n{said}");
    }
    let engines = cluster.engines().await;
    let failed: Vec<_> = engines
        .iter()
        .filter_map(|e| match &e.state {
            EngineState::Failed { reason, .. } => Some((e.attempt, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "one engine failed: {engines:?}");
    let (attempts, reason) = &failed[0];
    assert!(
        reason.contains("shop.orders.000000002.csv:100 (byte "),
        "{reason}"
    );
    assert!(
        (1..=MAX_DELIVERIES).contains(attempts),
        "the poison task ran {attempts} times, at most {MAX_DELIVERIES}"
    );
    // No loop: the queue makes no more deliveries once the job has failed.
    let deliveries = cluster.deliveries().await;
    tokio::time::sleep(Duration::from_secs(3 * ACK_WAIT_SECS)).await;
    assert_eq!(
        cluster.deliveries().await,
        deliveries,
        "deliveries went on after the job failed"
    );
    eprintln!(
        "poison task: job failed after {:.1?}, the task ran {attempts} time(s), {deliveries} deliveries in all",
        started.elapsed()
    );
    cluster.shut_down().await;
}
