//! Coordinator high availability on real servers (issue 14): two
//! `squall coordinator` processes campaign in etcd. The leader is frozen
//! (SIGSTOP) in the middle of planning a job; the standby is elected once
//! the leader's lease runs out and carries the job on from etcd; the old
//! leader, resumed (SIGCONT), finds its writes fenced and exits. The client
//! follows across the failover (`--coordinator A,B`), and what TiKV holds
//! equals an embedded import of the same dump.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_tests::http::request;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_and_fenced_and_the_job_ends_exact() {
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
        "2MiB",
        "--file-size",
        "256KiB",
        "--duplicates",
        "0.02",
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
    let servers = ["--etcd", etcd_at.as_str(), "--nats", nats_at.as_str()];

    // Leader A pauses (inside planning) at its second persisted engine.
    let (api_a, api_b) = (free_addr(), free_addr());
    let mut a = coordinator(
        "coordinator-a",
        api_a,
        &servers,
        Some("plan.engine-persisted=pause(8000)@2"),
    );
    wait(&mut a, "coordinator elected leader");
    let mut b = coordinator("coordinator-b", api_b, &servers, None);
    wait(&mut b, "coordinator listening");
    let mut workers = Vec::new();
    for n in 1..=2 {
        let (id, dir) = (format!("w{n}"), work.path().join(format!("w{n}-kv")));
        let mut cmd = Command::new(SQUALL);
        cmd.args([
            "worker",
            "--id",
            &id,
            "--concurrency",
            "1",
            "--sorted-kv-dir",
        ])
        .arg(&dir)
        .args(servers);
        let mut w = ProcessGuard::spawn(&id, cmd).unwrap();
        wait(&mut w, "worker ready");
        workers.push(w);
    }

    let coordinators = format!("http://{api_a},http://{api_b}");
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
            "--log-interval",
            "1",
            "--coordinator",
            &coordinators,
        ]);
    let mut follow = ProcessGuard::spawn("import", follow).unwrap();

    wait(&mut a, "failpoint plan.engine-persisted reached");
    // The standby answers from etcd: the job runs, in its recorded phase.
    let listed = request(api_b, "GET", "/jobs", "", Duration::from_secs(10))
        .await
        .expect("the standby answers GET /jobs");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let jobs: serde_json::Value = serde_json::from_str(&listed.body).unwrap();
    let job = &jobs.as_array().expect("a job list")[0];
    assert_eq!(job["running"], true, "{jobs}");
    assert_eq!(job["phase"], "planning", "{jobs}");
    signal("-STOP", &a);
    let frozen = Instant::now();
    wait(&mut b, "coordinator elected leader");
    eprintln!(
        "standby elected {:?} after the leader froze",
        frozen.elapsed()
    );
    signal("-CONT", &a);

    // The deposed leader stops by itself, without writing.
    let exit = wait_exit(&mut a);
    assert!(!exit.success(), "a deposed leader exits non-zero: {exit}");
    let said = a.output().join("\n");
    assert!(
        said.contains("leadership lost") || said.contains("no longer the leader"),
        "the deposed leader says why it stopped:\n{said}"
    );

    let exit = wait_exit(&mut follow);
    let clustered = follow.output().join("\n");
    assert!(
        exit.success(),
        "the followed import ends verified: {exit}\n{clustered}"
    );
    assert!(clustered.contains("imported and verified"), "{clustered}");

    // The same as an embedded import of the dump, table by table and KV by KV.
    let embedded = run_ok(&[
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
    assert_eq!(table_lines(&clustered), table_lines(&embedded));
    assert_eq!(table_lines(&clustered).len(), TABLES.len());
    for table in TABLES {
        let export = |pd: String| {
            run_ok(&[
                "export", "--pd", &pd, "--table", table, "--source", &dump_arg, "--format", "kv",
            ])
        };
        let (c, e) = (export(pd_addr(&sim)), export(pd_addr(&embedded_sim)));
        assert!(!c.is_empty(), "{table}: nothing exported");
        assert!(
            c == e,
            "{table}: the failed-over import left other KVs than the embedded one"
        );
    }

    for w in workers {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    }
    let exit = tokio::task::block_in_place(|| b.terminate(Duration::from_secs(20))).unwrap();
    assert!(
        exit.success(),
        "the leader hands over and exits 0 on SIGTERM: {exit}"
    );
    sim.shutdown().await;
    embedded_sim.shutdown().await;
}

fn coordinator(
    name: &str,
    api: std::net::SocketAddr,
    servers: &[&str],
    failpoints: Option<&str>,
) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.args([
        "--log-level",
        "info",
        "coordinator",
        "--leader-ttl-secs",
        "2",
        "--listen",
    ])
    .arg(api.to_string())
    .args(servers);
    match failpoints {
        Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
        None => cmd.env_remove(squall_common::failpoint::ENV),
    };
    ProcessGuard::spawn(name, cmd).unwrap()
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

/// Runs squall to its end; panics unless it exits 0; returns its stdout.
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

/// The summary's table lines up to the timing.
fn table_lines(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| l.strip_prefix("[import] ").unwrap_or(l))
        .filter(|l| l.starts_with("  `"))
        .map(|l| l.split(" (detect+resolve").next().unwrap_or(l).to_string())
        .collect()
}
