//! Job control on a real cluster (issue 14): etcd and nats-server, an
//! in-process tikv-sim per job, one `squall coordinator`, two
//! `squall worker` processes.
//!
//! * Job A is paused while w1 encodes its first engine (w1 stops at a
//!   failpoint there): w1 hands the engine back (attempt given back), the
//!   job's other tasks are withdrawn by the workers, no engine changes
//!   state any more, the status says paused and TiKV is in normal mode.
//!   Resumed, it ends verified with every engine claimed exactly once, and
//!   TiKV holds what an embedded import of the same dump leaves.
//! * Job B is cancelled mid-import: the status says cancelled with the
//!   engines done and rows ingested, no engine is held, TiKV is in normal
//!   mode, the follower exits non-zero saying so. Submitted again it ends
//!   verified without redoing a finished engine, equal to the embedded
//!   import; then `squall job destroy` removes its records.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::{keys, typed, EngineCheckpoint, EngineState};
use squall_proto::import_sstpb::{GetModeRequest, SwitchMode};
use squall_tests::http::request;
use squall_tests::kvproto::store_clients;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};
use tikv_sim::SimHandle;

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];
const WAIT: Duration = Duration::from_secs(60);

/// How long w1 stays at its encode failpoint and w3 at its ingest one:
/// the window in which the test's pause or cancel must reach them (a CLI
/// call, one etcd write, the workers' next look at the control — about a
/// second). Generous, so that a loaded machine does not miss it; a miss
/// fails with the time the call took rather than some later assertion.
/// w3's pause costs nothing: the cancel ends its ingest at once.
const ENCODE_HOLD: Duration = Duration::from_secs(10);
const INGEST_HOLD: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_cancel_and_restart_cluster_jobs() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    let dump_arg = dump.display().to_string();
    run_ok(&[
        "gen-dump",
        "--dataset",
        "shop",
        "--size",
        "1536KiB",
        "--file-size",
        "256KiB",
        "--out",
        &dump_arg,
    ]);
    // Engines of several chunks, encoded one chunk at a time: a pause seen
    // while one chunk is encoded stops the engine at the next.
    let config = work.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "[lightning]\nregion-concurrency = 1\n\n[tikv-importer]\nsorted-kv-dir = {:?}\n\n\
             [mydumper]\nbatch-size = \"256KiB\"\nmax-region-size = \"64KiB\"\n\n\
             [conflict]\nstrategy = \"replace\"\n",
            work.path().join("embedded-kv").display().to_string()
        ),
    )
    .unwrap();

    let etcd = EtcdServer::start().expect("etcd starts");
    let nats = NatsServer::start().expect("nats-server starts");
    let sim_a = start_sim(&work.path().join("sim-a")).await;
    let sim_b = start_sim(&work.path().join("sim-b")).await;
    let sim_e = start_sim(&work.path().join("sim-embedded")).await;
    let (etcd_at, nats_at) = (etcd.endpoint(), nats.url());
    let servers = ["--etcd", etcd_at.as_str(), "--nats", nats_at.as_str()];
    let api = free_addr();
    let url = format!("http://{api}");
    let mut cmd = Command::new(SQUALL);
    cmd.args(["coordinator", "--listen", &api.to_string()])
        .args(servers);
    let mut coordinator = ProcessGuard::spawn("coordinator", cmd).unwrap();
    wait(&mut coordinator, "coordinator elected leader");
    let store = EtcdCheckpointStore::connect(EtcdOptions::new([etcd.endpoint()]))
        .await
        .unwrap();
    let cx = Cx {
        work: work.path(),
        config: &config,
        dump: &dump_arg,
        url: &url,
        api,
        store: &store,
    };

    // ---- Job A: pause while w1 encodes, then resume. ----
    let mut w1 = worker(
        "w1",
        work.path(),
        &servers,
        Some(&format!(
            "encode.chunk-done=pause({})@1",
            ENCODE_HOLD.as_millis()
        )),
    );
    let mut follow_a = cx.follow("a", &sim_a);
    wait_alongside(
        &mut w1,
        "failpoint encode.chunk-done reached",
        &mut follow_a,
    );
    let held = Instant::now();
    let job_a = only_job(&cx.jobs().await);
    let paused = run_ok(&["job", "--coordinator", &url, "pause", &job_a]);
    assert!(paused.contains(&format!("job {job_a} paused")), "{paused}");
    assert_within_hold(held, ENCODE_HOLD, "the pause");
    // w2 comes up while the job is paused: it must take none of its tasks.
    let w2 = worker("w2", work.path(), &servers, None);
    let engines_a = cx.engines(&job_a).await.len();
    assert!(engines_a >= 6, "several engines per table: {engines_a}");
    // Settled: w1 handed its engine back and the workers withdrew every
    // other task of the job (each says so once).
    let settled = Instant::now();
    loop {
        let withdrawn = count(&w1, "task withdrawn") + count(&w2, "task withdrawn");
        let engines = cx.engines(&job_a).await;
        let running = engines.values().filter(|e| is_running(e)).count();
        if running == 0 && withdrawn >= engines_a - 1 {
            break;
        }
        assert!(
            settled.elapsed() < WAIT,
            "paused job not settled: {running} engines running, {withdrawn} tasks withdrawn\n{engines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        count(&w1, "engine handed back"),
        1,
        "w1 hands back the engine it encoded: {:?}",
        w1.output()
    );
    let before = cx.engines(&job_a).await;
    for (key, e) in &before {
        assert!(
            matches!(e.state, EngineState::Pending) && e.attempt == 0,
            "{key}: every engine is pending, no attempt counted: {e:?}"
        );
    }
    // Nothing moves while paused: an observation window of several of the
    // workers' and the runner's looks at the control.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        cx.engines(&job_a).await,
        before,
        "no engine changed while paused"
    );
    let status = cx.status(&job_a).await;
    assert_eq!(status["control"], "paused", "{status}");
    assert_eq!(status["running"], true, "{status}");
    assert!(
        status["workers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["alive"] == true && w["doing"].is_null()),
        "workers idle while paused: {status}"
    );
    let shown = run_ok(&["job", "--coordinator", &url, "status", &job_a]);
    assert!(shown.contains("control: paused"), "{shown}");
    assert_import_mode(&sim_a, SwitchMode::Normal, "while paused").await;
    wait(&mut follow_a, &format!("job {job_a} is paused"));
    let again = cx.post(&job_a, "pause").await;
    assert_eq!(again.status, 409, "pausing a paused job: {}", again.body);

    let resumed = run_ok(&["job", "--coordinator", &url, "resume", &job_a]);
    assert!(resumed.contains("resumed"), "{resumed}");
    let exit = wait_exit(&mut follow_a);
    assert!(
        exit.success(),
        "job A ends verified: {exit}\n{:?}",
        follow_a.output()
    );
    for (key, e) in cx.engines(&job_a).await {
        assert!(matches!(e.state, EngineState::Done(_)), "{key}: {e:?}");
        assert_eq!(
            e.attempt, 1,
            "{key}: claimed once after the resume, nothing redone"
        );
    }
    assert_eq!(cx.status(&job_a).await["verified"], true);
    assert_import_mode(&sim_a, SwitchMode::Normal, "after the job").await;

    // The reference: the same dump imported embedded.
    run_ok(&[
        "--config",
        config.to_str().unwrap(),
        "import",
        "--source",
        &dump_arg,
        "--pd",
        &pd_addr(&sim_e),
        "--output",
        work.path().join("out-embedded").to_str().unwrap(),
    ]);
    assert_same_kvs(&dump_arg, &sim_a, &sim_e, "job A (paused and resumed)");

    // ---- Job B: cancel mid-ingest, then submit again. ----
    // w1 and w2 leave (drained, as on any SIGTERM); w3 alone stops in the
    // ingest of its second engine, after its first is done: cancelled
    // there, it must drop the ingest and hand that engine back.
    for w in [w1, w2] {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    }
    let mut w3 = worker(
        "w3",
        work.path(),
        &servers,
        Some(&format!(
            "ingest.region-done=pause({})@2",
            INGEST_HOLD.as_millis()
        )),
    );
    let mut follow_b = cx.follow("b", &sim_b);
    wait_alongside(
        &mut w3,
        "failpoint ingest.region-done reached",
        &mut follow_b,
    );
    let held = Instant::now();
    let job_b = cx
        .jobs()
        .await
        .into_iter()
        .find(|id| *id != job_a)
        .expect("job B is listed");
    let cancelled = run_ok(&["job", "--coordinator", &url, "cancel", &job_b]);
    assert!(
        cancelled.contains(&format!("job {job_b} cancelled")),
        "{cancelled}"
    );
    assert_within_hold(held, INGEST_HOLD, "the cancel");
    let exit = wait_exit(&mut follow_b);
    let said = follow_b.output().join("\n");
    assert!(!exit.success(), "a cancelled job's follower fails: {said}");
    assert_eq!(
        count(&w3, "job cancelled: engine handed back"),
        1,
        "w3 drops the ingest it was in: {:?}",
        w3.output()
    );
    assert!(
        said.contains(&format!("job {job_b} was cancelled")),
        "{said}"
    );

    // What was written, in the status and the job record alike.
    let engines = cx.engines(&job_b).await;
    let done: Vec<_> = engines
        .iter()
        .filter_map(|(k, e)| match &e.state {
            EngineState::Done(r) => Some((k.clone(), (e.attempt, r.clone()))),
            _ => None,
        })
        .collect();
    let rows: u64 = done.iter().map(|(_, (_, r))| r.rows).sum();
    assert!(
        !done.is_empty() && done.len() < engines.len(),
        "{engines:#?}"
    );
    assert!(
        engines.values().all(|e| !is_running(e)),
        "no engine held after the cancel: {engines:#?}"
    );
    let status = cx.status(&job_b).await;
    assert_eq!(status["control"], "cancelled", "{status}");
    assert_eq!(status["running"], false, "{status}");
    assert_eq!(status["state"]["state"], "cancelled", "{status}");
    assert_eq!(
        status["state"]["engines-done"],
        done.len() as u64,
        "{status}"
    );
    assert_eq!(status["state"]["rows"], rows, "{status}");
    assert!(
        status["workers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["doing"].is_null()),
        "workers idle after the cancel: {status}"
    );
    assert_import_mode(&sim_b, SwitchMode::Normal, "after the cancel").await;
    for (action, why) in [("resume", "not paused"), ("pause", "finished")] {
        let refused = cx.post(&job_b, action).await;
        assert_eq!(
            refused.status, 409,
            "{action} a cancelled job ({why}): {}",
            refused.body
        );
    }
    assert_eq!(cx.post("j-unknown", "pause").await.status, 404);
    // w3 withdraws the job's other tasks from the queue (each says so).
    let left = engines.len() - done.len() - 1;
    let drained = Instant::now();
    while count(&w3, "job cancelled: task withdrawn") < left {
        assert!(
            drained.elapsed() < WAIT,
            "{left} tasks not withdrawn: {:?}",
            w3.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut again = cx.follow("b-again", &sim_b);
    let exit = wait_exit(&mut again);
    assert!(
        exit.success(),
        "job B resubmitted ends verified: {exit}\n{:?}",
        again.output()
    );
    let after = cx.engines(&job_b).await;
    for (key, (attempt, result)) in &done {
        let e = &after[key];
        assert_eq!(
            (&e.state, e.attempt),
            (&EngineState::Done(result.clone()), *attempt),
            "{key}: an engine done before the cancel is not redone"
        );
    }
    for (key, e) in &after {
        assert!(matches!(e.state, EngineState::Done(_)), "{key}: {e:?}");
        assert_eq!(e.attempt, 1, "{key}: the cancel cost no attempt");
    }
    assert_eq!(cx.status(&job_b).await["control"], "running");
    assert_same_kvs(
        &dump_arg,
        &sim_b,
        &sim_e,
        "job B (cancelled and resubmitted)",
    );

    // Destroy: the records go, the job is unknown afterwards.
    let destroyed = run_ok(&["job", "--coordinator", &url, "destroy", &job_b]);
    assert!(
        destroyed.contains(&format!("job {job_b} destroyed")),
        "{destroyed}"
    );
    let gone = request(
        api,
        "GET",
        &format!("/jobs/{job_b}"),
        "",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(cx.engines(&job_b).await.is_empty());
    assert_eq!(cx.jobs().await, vec![job_a.clone()]);

    let exit = tokio::task::block_in_place(|| w3.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    let exit =
        tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "coordinator exits 0 on SIGTERM: {exit}");
    for sim in [sim_a, sim_b, sim_e] {
        sim.shutdown().await;
    }
}

/// What the steps of the test share.
struct Cx<'a> {
    work: &'a Path,
    config: &'a Path,
    dump: &'a str,
    url: &'a str,
    api: SocketAddr,
    store: &'a EtcdCheckpointStore,
}

impl Cx<'_> {
    /// `squall import --coordinator` into `sim`, followed in the background.
    fn follow(&self, name: &str, sim: &SimHandle) -> ProcessGuard {
        let mut cmd = Command::new(SQUALL);
        cmd.arg("--config")
            .arg(self.config)
            .args(["import", "--source", self.dump, "--pd", &pd_addr(sim)])
            .arg("--output")
            .arg(self.work.join(format!("out-{name}")))
            .args(["--progress", "log", "--coordinator", self.url]);
        ProcessGuard::spawn(&format!("import-{name}"), cmd).unwrap()
    }

    async fn jobs(&self) -> Vec<String> {
        let resp = request(self.api, "GET", "/jobs", "", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(resp.status, 200, "{}", resp.body);
        let jobs: Vec<serde_json::Value> = serde_json::from_str(&resp.body).unwrap();
        jobs.iter()
            .map(|j| j["job_id"].as_str().unwrap().to_string())
            .collect()
    }

    async fn status(&self, job: &str) -> serde_json::Value {
        let path = format!("/jobs/{job}");
        let resp = request(self.api, "GET", &path, "", Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(resp.status, 200, "{}", resp.body);
        serde_json::from_str(&resp.body).unwrap()
    }

    async fn post(&self, job: &str, action: &str) -> squall_tests::http::HttpResponse {
        let path = format!("/jobs/{job}/{action}");
        request(self.api, "POST", &path, "", Duration::from_secs(10))
            .await
            .unwrap()
    }

    /// The job's engine records by key, straight from etcd.
    async fn engines(&self, job: &str) -> BTreeMap<String, EngineCheckpoint> {
        let all: Vec<typed::Stored<EngineCheckpoint>> =
            typed::read_all(self.store, &keys::engines_prefix(job))
                .await
                .unwrap();
        all.into_iter().map(|s| (s.key, s.record)).collect()
    }
}

fn only_job(jobs: &[String]) -> String {
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs[0].clone()
}

fn is_running(e: &EngineCheckpoint) -> bool {
    matches!(e.state, EngineState::Running { .. })
}

/// Every store of `sim` reports `want` over ImportSST.GetMode.
async fn assert_import_mode(sim: &SimHandle, want: SwitchMode, when: &str) {
    for store in sim.stores() {
        let (_, mut import) = store_clients(&store.address).await;
        let mode = import
            .get_mode(GetModeRequest {})
            .await
            .unwrap()
            .into_inner()
            .mode;
        assert_eq!(mode, want as i32, "store {} {when}", store.id);
    }
}

fn assert_same_kvs(dump: &str, a: &SimHandle, b: &SimHandle, what: &str) {
    for table in TABLES {
        let export = |sim: &SimHandle| {
            run_ok(&[
                "export",
                "--pd",
                &pd_addr(sim),
                "--table",
                table,
                "--source",
                dump,
                "--format",
                "kv",
            ])
        };
        let (x, y) = (export(a), export(b));
        assert!(!x.is_empty(), "{what}: {table}: nothing exported");
        assert!(
            x == y,
            "{what}: {table}: TiKV differs from the embedded import"
        );
    }
}

fn worker(id: &str, work: &Path, servers: &[&str], failpoints: Option<&str>) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.args([
        "--log-level",
        "info",
        "worker",
        "--id",
        id,
        "--concurrency",
        "1",
        "--sorted-kv-dir",
    ])
    .arg(work.join(format!("{id}-kv")))
    .arg("--output")
    .arg(work.join(format!("{id}-out")))
    .args(servers);
    match failpoints {
        Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
        None => cmd.env_remove(squall_common::failpoint::ENV),
    };
    let mut w = ProcessGuard::spawn(id, cmd).unwrap();
    wait(&mut w, "worker ready");
    w
}

/// Waits for `line` from `p` while `client` (the job's follower) runs: a
/// job that failed before `p` got there says why instead of a timeout.
fn wait_alongside(p: &mut ProcessGuard, line: &str, client: &mut ProcessGuard) {
    let deadline = Instant::now() + WAIT;
    tokio::task::block_in_place(|| loop {
        if p.output().iter().any(|l| l.contains(line)) {
            return;
        }
        if let Some(status) = client.try_wait() {
            panic!(
                "the job ended ({status}) before the worker printed {line:?}:\n{}\nthe worker:\n{}",
                client.output().join("\n"),
                p.output().join("\n")
            );
        }
        if let Some(status) = p.try_wait() {
            panic!("the worker exited ({status}):\n{}", p.output().join("\n"));
        }
        assert!(
            Instant::now() < deadline,
            "the worker printed no {line:?} within {WAIT:?}:\n{}\nthe job:\n{}",
            p.output().join("\n"),
            client.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    })
}

/// The pause or cancel was recorded while the worker was still held at
/// its failpoint (it looks at the control twice a second): otherwise the
/// checks after it would test a worker that had already moved on.
fn assert_within_hold(held: Instant, hold: Duration, what: &str) {
    let took = held.elapsed();
    assert!(
        took + Duration::from_secs(1) < hold,
        "{what} took {took:?} to be recorded, too close to the worker's {hold:?} at its failpoint"
    );
}

fn count(p: &ProcessGuard, needle: &str) -> usize {
    p.output().iter().filter(|l| l.contains(needle)).count()
}

fn wait(p: &mut ProcessGuard, line: &str) {
    tokio::task::block_in_place(|| p.wait_for_line(line, WAIT))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output().join("\n")));
}

fn wait_exit(p: &mut ProcessGuard) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(180);
    tokio::task::block_in_place(|| loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within 180 s:\n{}",
            p.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    })
}

fn run_ok(args: &[&str]) -> String {
    let out = Command::new(SQUALL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "squall {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
