//! Crash safety of `squall import`: the real binary is killed with SIGKILL
//! at several points (planning, encoding, mid-ingest, between engines) and
//! rerun until it finishes. The result must be exactly what one clean run
//! produces (same KVs, same row IDs), each engine's commit ts must never
//! change once stored, and an engine recorded as done must not be redone.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use import_common::gen::generate;
use import_common::{config, export, import};
use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, LocalCheckpointStore, Stored,
};
use squall_common::config::ByteSize;
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;
use squall_tests::{squall_binary, ProcessGuard};

/// Log lines to kill at, and a random extra delay after each.
const KILL_POINTS: &[&str] = &[
    "connected to PD",
    "engine task started",
    "ingesting engine",
    "engine task done",
    "ingesting engine",
];

struct EngineView {
    commit_ts: u64,
    done_attempt: Option<u32>,
}

async fn engines(checkpoint: &Path) -> BTreeMap<String, EngineView> {
    let store = LocalCheckpointStore::open(checkpoint).expect("open checkpoint");
    let all: Vec<Stored<EngineCheckpoint>> = typed::read_all(&store, &keys::jobs_prefix())
        .await
        .unwrap_or_default();
    all.into_iter()
        .filter(|s| s.key.contains("/engines/"))
        .map(|s| {
            let done = match &s.record.state {
                EngineState::Done(r) => Some(r.attempt),
                _ => None,
            };
            (
                s.key,
                EngineView {
                    commit_ts: s.record.commit_ts,
                    done_attempt: done,
                },
            )
        })
        .collect()
}

/// A small xorshift seeded from the clock; the seed is printed for replay.
fn rng() -> impl FnMut() -> u64 {
    let mut x = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("kill delays seeded with {x}");
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_import_resumes_to_the_exact_result() {
    let Some(bin) = squall_binary() else {
        eprintln!("skipping: the squall binary is not built (cargo build -p squall)");
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let source = work.path().join("dump");
    let generated = generate(&source, 6);
    let mut cfg = config(None, work.path());
    cfg.mydumper.max_region_size = ByteSize::kib(32);
    cfg.mydumper.batch_size = ByteSize::kib(96);
    cfg.tikv_importer.region_split_size = ByteSize::kib(48);
    cfg.tikv_importer.local_writer_mem_cache_size = ByteSize::kib(256);

    // The reference: one clean run into its own cluster.
    let ref_sim = start_sim(&work.path().join("ref-sim")).await;
    let ref_work = work.path().join("ref");
    let reference = import(&ref_sim, &source, cfg.clone(), &ref_work)
        .await
        .expect("reference import");
    assert!(reference.verified, "{reference}");

    let sim = start_sim(&work.path().join("sim")).await;
    let cfg_path = work.path().join("task.toml");
    std::fs::write(&cfg_path, toml_of(&cfg)).expect("write config");
    let out = work.path().join("out");
    let checkpoint = out.join("checkpoint");
    let run = || {
        let mut cmd = Command::new(&bin);
        cmd.arg("--config").arg(&cfg_path).args([
            "--log-level",
            "info",
            "import",
            "--progress",
            "log",
            "--source",
        ]);
        cmd.arg(&source)
            .arg("--pd")
            .arg(sim.pd_addr.to_string())
            .arg("--output")
            .arg(&out);
        ProcessGuard::spawn("import", cmd).expect("spawn squall import")
    };

    let mut next = rng();
    let mut ts_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut done_seen: BTreeMap<String, u32> = BTreeMap::new();
    for point in KILL_POINTS {
        let mut p = run();
        if p.wait_for_line(point, Duration::from_secs(120)).is_err() {
            // The job finished (or failed) before this point: nothing to kill.
            break;
        }
        std::thread::sleep(Duration::from_millis(next() % 300));
        drop(p); // SIGKILL
        for (key, e) in engines(&checkpoint).await {
            let first = *ts_seen.entry(key.clone()).or_insert(e.commit_ts);
            assert_eq!(first, e.commit_ts, "{key}: the commit ts never changes");
            if let Some(&attempt) = done_seen.get(&key) {
                assert_eq!(
                    e.done_attempt,
                    Some(attempt),
                    "{key}: a done engine is not redone"
                );
            } else if let Some(a) = e.done_attempt {
                done_seen.insert(key, a);
            }
        }
        eprintln!(
            "killed at {point:?}: {} engines planned, {} done",
            ts_seen.len(),
            done_seen.len()
        );
    }
    let mut last = run();
    let status = wait_exit(&mut last, Duration::from_secs(300));
    assert!(
        status.success(),
        "the final run exits 0: {:?}",
        last.output()
    );
    assert!(
        last.output().iter().any(|l| l.contains("verified")),
        "the summary says verified"
    );
    for (key, e) in engines(&checkpoint).await {
        if let Some(&ts) = ts_seen.get(&key) {
            assert_eq!(ts, e.commit_ts, "{key}: same commit ts after resume");
        }
        if let Some(&a) = done_seen.get(&key) {
            assert_eq!(
                e.done_attempt,
                Some(a),
                "{key}: done before, untouched after"
            );
        }
    }
    for (table, rows) in &generated.tables {
        let want = export(&ref_sim, &source, &cfg, table, ExportFormat::Kv).await;
        let got = export(&sim, &source, &cfg, table, ExportFormat::Kv).await;
        assert!(
            want.lines().count() >= rows.len(),
            "{table}: at least one KV per row"
        );
        assert!(
            want == got,
            "{table}: the resumed import's KVs (keys, row IDs, values) equal a clean run's"
        );
    }
    sim.shutdown().await;
    ref_sim.shutdown().await;
}

fn wait_exit(p: &mut ProcessGuard, timeout: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "import did not finish in {timeout:?}: {:?}",
            p.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn toml_of(cfg: &squall_common::TaskConfig) -> String {
    toml::to_string(cfg).expect("the config serializes")
}
