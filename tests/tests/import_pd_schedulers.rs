//! PD's balance schedulers and region merging are paused for a job's life
//! and restored at its end, whether it verified, failed or was interrupted.
//! Read over PD's HTTP API on PD's own address (tikv-sim serves it beside
//! gRPC, as PD does), by a watcher polling while the job runs. With the
//! sim's leader balancer on, leaders move before and after a job but not
//! while it runs.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use import_common::config;
use serde_json::Value;
use squall_client::{ClientOptions, PdClient, PdHttp};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_coordinator::{run_import, CoordinatorError, ImportOptions, ImportProgress};
use squall_tests::sim::start_sim;
use tikv_sim::SimHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const SCHEMA: &str =
    "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `name` VARCHAR(32) NOT NULL\n);\n";
const BALANCE: [&str; 3] = [
    "balance-leader-scheduler",
    "balance-region-scheduler",
    "balance-hot-region-scheduler",
];

/// Six files of 300 rows; `poison` puts a non-integer id in the last one.
fn write_dump(dir: &Path, poison: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ps-schema-create.sql"), "CREATE DATABASE ps;\n").unwrap();
    std::fs::write(dir.join("ps.t-schema.sql"), SCHEMA).unwrap();
    for file in 1..=6u32 {
        let base = i64::from(file) * 1000;
        let mut text = String::from("id,name\n");
        for i in base..base + 300 {
            text.push_str(&format!("{i},n{i}\n"));
        }
        if poison && file == 6 {
            text.push_str("not-a-number,poison\n");
        }
        std::fs::write(dir.join(format!("ps.t.{file:09}.csv")), text).unwrap();
    }
}

fn cfg_for(work: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(4);
    cfg.lightning.index_concurrency = 1;
    cfg.lightning.max_error = 0;
    cfg
}

async fn http(sim: &SimHandle) -> PdHttp {
    let pd = PdClient::connect(&[sim.pd_addr.to_string()], ClientOptions::for_test())
        .await
        .unwrap();
    PdHttp::new(&pd).unwrap()
}

/// What PD's scheduling looked like while the job ran.
#[derive(Default)]
struct Seen {
    /// Polls that saw every balance scheduler paused and merging off.
    paused: AtomicU64,
    polls: AtomicU64,
    stop: AtomicBool,
    /// The first paused state seen, for messages.
    first: Mutex<Option<(Vec<String>, Value)>>,
}

async fn watch(http: PdHttp, seen: Arc<Seen>) {
    while !seen.stop.load(Ordering::SeqCst) {
        let paused = http.paused_schedulers().await.unwrap();
        let config = http.schedule_config().await.unwrap();
        seen.polls.fetch_add(1, Ordering::SeqCst);
        let all_paused = BALANCE.iter().all(|s| paused.iter().any(|p| p == s));
        if all_paused && config["max-merge-region-size"] == 0 {
            seen.paused.fetch_add(1, Ordering::SeqCst);
            seen.first
                .lock()
                .unwrap()
                .get_or_insert((paused, Value::Object(config)));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The state a fresh PD has: nothing paused, merging on.
async fn assert_restored(http: &PdHttp, after: &str) {
    let paused = http.paused_schedulers().await.unwrap();
    assert!(paused.is_empty(), "after {after}: still paused: {paused:?}");
    let running = http.schedulers().await.unwrap();
    for s in BALANCE {
        assert!(
            running.iter().any(|r| r == s),
            "after {after}: {s} is gone: {running:?}"
        );
    }
    let config = http.schedule_config().await.unwrap();
    assert_eq!(
        config["max-merge-region-size"], 20,
        "after {after}: {config:?}"
    );
    assert_eq!(config["max-merge-region-keys"], 200_000, "after {after}");
    assert_eq!(config["leader-schedule-limit"], 4, "after {after}");
    assert_eq!(config["enable-location-replacement"], true, "after {after}");
}

/// Runs one import with a watcher; returns the outcome and what it saw.
async fn run_watched(
    sim: &SimHandle,
    source: &Path,
    cfg: TaskConfig,
    work: &Path,
    shutdown: CancellationToken,
) -> (Result<(), CoordinatorError>, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let watcher = tokio::spawn(watch(http(sim).await, seen.clone()));
    let mut opts = ImportOptions::new(
        cfg,
        source.to_path_buf(),
        vec![sim.pd_addr.to_string()],
        work.join("out"),
    );
    opts.client = ClientOptions::for_test();
    let result = run_import(opts, ImportProgress::new(), shutdown)
        .await
        .map(|_| ());
    seen.stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    (result, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedulers_are_paused_during_a_job_and_restored_after_it() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, false);
    let sim = start_sim(&work.path().join("sim")).await;
    let http = http(&sim).await;
    assert_restored(&http, "start (a fresh PD)").await;

    let (result, seen) = run_watched(
        &sim,
        &source,
        cfg_for(work.path()),
        work.path(),
        CancellationToken::new(),
    )
    .await;
    result.expect("the job verifies");
    let (paused, config) = seen.first.lock().unwrap().clone().unwrap_or_else(|| {
        panic!(
            "no poll of {} saw the balance schedulers paused and merging off",
            seen.polls.load(Ordering::SeqCst)
        )
    });
    assert!(
        paused.iter().all(|p| p != "evict-slow-store-scheduler"),
        "{paused:?}"
    );
    assert_eq!(config["max-merge-region-keys"], 0, "{config}");
    // Raised for the job's scatter, as BR does (× 3 stores).
    assert_eq!(config["leader-schedule-limit"], 12, "{config}");
    assert_eq!(config["enable-location-replacement"], false, "{config}");
    assert_restored(&http, "a verified job").await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedulers_are_restored_after_a_failed_job() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, true);
    let sim = start_sim(&work.path().join("sim")).await;
    let http = http(&sim).await;
    let (result, seen) = run_watched(
        &sim,
        &source,
        cfg_for(work.path()),
        work.path(),
        CancellationToken::new(),
    )
    .await;
    let err = result.expect_err("a poison row with max-error 0 fails the job");
    assert!(err.to_string().contains("not-a-number"), "{err}");
    assert!(
        seen.paused.load(Ordering::SeqCst) > 0,
        "the failed job had paused the schedulers"
    );
    assert_restored(&http, "a failed job").await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schedulers_are_restored_after_an_interrupted_job() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, false);
    let sim = start_sim(&work.path().join("sim")).await;
    let http = http(&sim).await;
    // Interrupt as soon as the pause is seen (the job is running then).
    let shutdown = CancellationToken::new();
    let trigger = {
        let (http, shutdown) = (http.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                let paused = http.paused_schedulers().await.unwrap();
                if paused.iter().any(|p| p == BALANCE[0]) {
                    shutdown.cancel();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let (result, _) = run_watched(&sim, &source, cfg_for(work.path()), work.path(), shutdown).await;
    trigger.await.unwrap();
    match result {
        Err(CoordinatorError::Interrupted) => {}
        other => panic!("expected an interruption, got {other:?}"),
    }
    assert_restored(&http, "an interrupted job").await;
    sim.shutdown().await;
}

/// One HTTP/1.1 call to the sim's PD port (the balancer switch is the
/// sim's own endpoint, not PD's API, so no client of Squall knows it).
async fn sim_call(sim: &SimHandle, method: &str, path: &str, body: &str) -> Value {
    let mut conn = tokio::net::TcpStream::connect(sim.pd_addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sim.pd_addr,
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

async fn moves(sim: &SimHandle) -> u64 {
    sim_call(sim, "GET", "/sim/balance-leader", "").await["moves"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_balancer_moves_no_leader_while_a_job_runs() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source, false);
    let sim = Arc::new(start_sim(&work.path().join("sim")).await);
    let http = http(&sim).await;
    sim_call(&sim, "POST", "/sim/balance-leader", r#"{"interval-ms": 2}"#).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while moves(&sim).await < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the balancer moves leaders"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // The moves counted at the first and the last poll that saw the pause.
    let window = Arc::new(Mutex::new(None::<(u64, u64)>));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sim, http, window, stop) = (sim.clone(), http.clone(), window.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let paused = http.paused_schedulers().await.unwrap();
                let now = moves(&sim).await;
                if paused.iter().any(|p| p == BALANCE[0]) {
                    let mut w = window.lock().unwrap();
                    let first = w.map_or(now, |(f, _)| f);
                    *w = Some((first, now));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut opts = ImportOptions::new(
        cfg_for(work.path()),
        source.clone(),
        vec![sim.pd_addr.to_string()],
        work.path().join("out"),
    );
    opts.client = ClientOptions::for_test();
    let summary = run_import(opts, ImportProgress::new(), CancellationToken::new())
        .await
        .expect("the job verifies");
    assert!(summary.verified, "{summary}");
    stop.store(true, Ordering::SeqCst);
    watcher.await.unwrap();
    let (first, last) = window.lock().unwrap().expect("the pause was seen");
    assert_eq!(first, last, "leaders moved while the balancer was paused");

    // Restored: the balancer moves leaders again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while moves(&sim).await <= last {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the balancer resumed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sim_call(&sim, "POST", "/sim/balance-leader", r#"{"interval-ms": 0}"#).await;
    let sim = Arc::into_inner(sim).expect("the watcher is done");
    sim.shutdown().await;
}
