//! A worker frozen mid-task (issue 14): `squall worker` w1 is SIGSTOPped
//! while it encodes an engine; after the ack wait the queue hands that task
//! to w2, which claims a newer attempt and finishes the job. w1, resumed
//! (SIGCONT), goes on with its stale attempt until it records progress: the
//! attempt CAS refuses it and w1 drops the task. The engine records stay as
//! w2 left them, and TiKV holds exactly what an embedded import leaves.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::{keys, typed, EngineCheckpoint, EngineState};
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLE: &str = "shop.orders";
const WAIT: Duration = Duration::from_secs(90);
const ACK_WAIT: &str = "3";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_workers_late_result_is_refused_and_changes_nothing() {
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
        "1MiB",
        "--file-size",
        "256KiB",
        "--out",
        &dump_arg,
    ]);
    let config = work.path().join("task.toml");
    std::fs::write(
        &config,
        format!(
            "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = \"256KiB\"\n\n[conflict]\nstrategy = \"replace\"\n",
            work.path().join("embedded-kv").display().to_string()
        ),
    )
    .unwrap();
    let etcd = EtcdServer::start().expect("etcd starts");
    let nats = NatsServer::start().expect("nats-server starts");
    let sim = start_sim(&work.path().join("sim-cluster")).await;
    let embedded_sim = start_sim(&work.path().join("sim-embedded")).await;
    let (etcd_at, nats_at) = (etcd.endpoint(), nats.url());
    let servers = [
        "--etcd",
        etcd_at.as_str(),
        "--nats",
        nats_at.as_str(),
        "--ack-wait-secs",
        ACK_WAIT,
    ];

    let api = free_addr();
    let mut cmd = Command::new(SQUALL);
    cmd.args(["coordinator", "--listen", &api.to_string()])
        .args(servers);
    let mut coordinator = ProcessGuard::spawn("coordinator", cmd).unwrap();
    wait(&mut coordinator, "coordinator elected leader");
    // w1 pauses after its first encoded chunk: that is where it is frozen.
    let mut w1 = worker(
        "w1",
        work.path(),
        &servers,
        Some("encode.chunk-done=pause(1000)@1"),
    );
    let mut follow = Command::new(SQUALL);
    follow
        .arg("--config")
        .arg(&config)
        .args(["import", "--source", &dump_arg, "--pd", &pd_addr(&sim)])
        .arg("--output")
        .arg(work.path().join("out-cluster"))
        .args([
            "--progress",
            "log",
            "--coordinator",
            &format!("http://{api}"),
        ]);
    let mut follow = ProcessGuard::spawn("import", follow).unwrap();
    wait(&mut w1, "failpoint encode.chunk-done reached");
    signal("-STOP", &w1);
    // w2 gets w1's task once the ack wait has passed, and everything else.
    let w2 = worker("w2", work.path(), &servers, None);
    let exit = wait_exit(&mut follow);
    let clustered = follow.output().join("\n");
    assert!(
        exit.success(),
        "the import ends verified while w1 is frozen: {exit}\n{clustered}"
    );

    let store = EtcdCheckpointStore::connect(EtcdOptions::new([etcd.endpoint()]))
        .await
        .unwrap();
    let job_id = clustered
        .lines()
        .filter(|l| l.contains(": imported and verified"))
        .find_map(|l| l.split("job ").nth(1)?.split(':').next())
        .expect("the summary names the job")
        .to_string();
    let engines = || async {
        let all: Vec<typed::Stored<EngineCheckpoint>> =
            typed::read_all(&store, &keys::engines_prefix(&job_id))
                .await
                .unwrap();
        all.into_iter()
            .map(|s| (s.key, s.record))
            .collect::<Vec<_>>()
    };
    let before = engines().await;
    let redone: Vec<_> = before.iter().filter(|(_, e)| e.attempt > 1).collect();
    assert!(
        !redone.is_empty(),
        "w1's engine was redelivered and redone: {before:?}"
    );
    for (key, e) in &before {
        match &e.state {
            EngineState::Done(r) => {
                assert_eq!(r.worker, "w2", "{key}: done by w2 while w1 is frozen")
            }
            other => panic!("{key}: {other:?}"),
        }
    }

    // w1 wakes up, finishes its stale attempt and has its result refused.
    signal("-CONT", &w1);
    wait(
        &mut w1,
        "engine was taken over by a newer attempt; not recording this one",
    );
    assert_eq!(
        engines().await,
        before,
        "the late result changed no engine record"
    );

    // Nothing extra in TiKV: the same KVs as an embedded import.
    run_ok(&[
        "--config",
        config.to_str().unwrap(),
        "import",
        "--source",
        &dump_arg,
        "--pd",
        &pd_addr(&embedded_sim),
        "--output",
        work.path().join("out-embedded").to_str().unwrap(),
    ]);
    let export = |pd: String| {
        run_ok(&[
            "export", "--pd", &pd, "--table", TABLE, "--source", &dump_arg, "--format", "kv",
        ])
    };
    let (c, e) = (export(pd_addr(&sim)), export(pd_addr(&embedded_sim)));
    assert!(!c.is_empty(), "nothing exported");
    assert!(
        c == e,
        "the frozen worker's late ingest left other KVs than the embedded import"
    );

    for w in [w1, w2] {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    }
    sim.shutdown().await;
    embedded_sim.shutdown().await;
}

fn worker(
    id: &str,
    work: &std::path::Path,
    servers: &[&str],
    failpoints: Option<&str>,
) -> ProcessGuard {
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
    .args(servers);
    match failpoints {
        Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
        None => cmd.env_remove(squall_common::failpoint::ENV),
    };
    let mut w = ProcessGuard::spawn(id, cmd).unwrap();
    wait(&mut w, "worker ready");
    w
}

fn wait(p: &mut ProcessGuard, line: &str) {
    tokio::task::block_in_place(|| p.wait_for_line(line, WAIT))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output().join("\n")));
}

fn signal(flag: &str, p: &ProcessGuard) {
    let pid = p.pid().expect("running").to_string();
    let sent = Command::new("kill").args([flag, &pid]).status().unwrap();
    assert!(sent.success(), "kill {flag} {pid}");
}

fn wait_exit(p: &mut ProcessGuard) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within 180 s:\n{}",
            p.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
