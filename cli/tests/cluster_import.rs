//! Cluster mode end to end, on real servers: etcd and nats-server
//! (squall-cluster's `testserver`), an in-process tikv-sim, one
//! `squall coordinator` and three `squall worker` processes. A multi-table
//! dump with duplicates across engines goes in through
//! `squall import --coordinator`; what TiKV then holds must equal an
//! embedded `squall import` of the same dump into a second sim, with the
//! same conflicts reported, and the engine records in etcd must show the
//! work shared by at least two workers. Each worker writes its reports to
//! its own directory, as on machines that share no file system: the local
//! duplicates reach the coordinator through the NATS artefact bucket only.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions, NatsArtefactOptions, NatsArtefactStore};
use squall_common::artefacts::ArtefactStore;
use squall_common::checkpoint::{keys, typed, EngineCheckpoint, EngineState};
use squall_tests::http::request;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_import_equals_embedded_import() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    run_ok(squall(&[
        "gen-dump",
        "--dataset",
        "shop",
        "--size",
        "3MiB",
        "--file-size",
        "256KiB",
        "--duplicates",
        "0.02",
        "--out",
        dump.to_str().unwrap(),
    ]))
    .await;
    let config = work.path().join("task.toml");
    write_config(&config, &work.path().join("embedded-kv"));

    let etcd = EtcdServer::start().expect("etcd starts");
    let nats = NatsServer::start().expect("nats-server starts");
    let cluster_sim = start_sim(&work.path().join("sim-cluster")).await;
    let embedded_sim = start_sim(&work.path().join("sim-embedded")).await;

    let api = free_addr();
    let (etcd_at, nats_at, api_at) = (etcd.endpoint(), nats.url(), api.to_string());
    let cluster: [&str; 4] = ["--etcd", &etcd_at, "--nats", &nats_at];
    let mut coordinator = spawn(
        "coordinator",
        &[
            &["coordinator", "--listen", api_at.as_str()][..],
            &cluster[..],
        ]
        .concat(),
    );
    wait_healthy(api, &mut coordinator).await;
    let mut workers = Vec::new();
    for n in 1..=3 {
        let (id, dir) = (format!("w{n}"), work.path().join(format!("w{n}-kv")));
        let out = work.path().join(format!("w{n}-out"));
        let own: [&str; 9] = [
            "worker",
            "--id",
            &id,
            "--concurrency",
            "1",
            "--sorted-kv-dir",
            dir.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ];
        let args = [&own[..], &cluster[..]].concat();
        let mut w = spawn(&id, &args);
        tokio::task::block_in_place(|| w.wait_for_line("worker ready", Duration::from_secs(30)))
            .unwrap();
        workers.push(w);
    }

    let import = |pd: String, out: &str, coordinator: Option<String>| {
        let out = work.path().join(out);
        let args = vec![
            "--config".to_string(),
            config.display().to_string(),
            "import".into(),
            "--source".into(),
            dump.display().to_string(),
            "--pd".into(),
            pd,
            "--output".into(),
            out.display().to_string(),
            "--progress".into(),
            "log".into(),
            "--log-interval".into(),
            "1".into(),
        ];
        let mut cmd = squall(&args.iter().map(String::as_str).collect::<Vec<_>>());
        // The coordinator from the environment (the compose client's way;
        // the chaos test passes `--coordinator`).
        match coordinator {
            Some(url) => cmd.env("SQUALL_COORDINATOR", url),
            None => cmd.env_remove("SQUALL_COORDINATOR"),
        };
        cmd
    };
    let clustered = run_ok(import(
        pd_addr(&cluster_sim),
        "out-cluster",
        Some(format!("http://{api}")),
    ))
    .await;
    let embedded = run_ok(import(pd_addr(&embedded_sim), "out-embedded", None)).await;

    // Same verified summary, table by table (timings aside).
    let (c_tables, e_tables) = (table_lines(&clustered), table_lines(&embedded));
    assert_eq!(c_tables, e_tables, "per-table results differ");
    assert_eq!(c_tables.len(), TABLES.len());
    assert!(
        stdout(&clustered).contains("imported and verified"),
        "{}",
        stdout(&clustered)
    );
    let conflicts: u64 = conflict_counts(&clustered).iter().sum();
    assert!(
        conflicts > 0,
        "the dump must hold cross-engine duplicates: {c_tables:?}"
    );
    let local: u64 = local_duplicate_counts(&clustered).iter().sum();
    assert!(
        local > 0,
        "the dump must hold duplicates inside engines: {c_tables:?}"
    );
    assert!(
        !work.path().join("out-cluster").join("duplicates").exists(),
        "workers have their own output dirs; nothing reaches the coordinator's"
    );

    // TiKV holds the same KVs.
    for table in TABLES {
        let export = |pd: String| {
            squall(&[
                "export",
                "--pd",
                &pd,
                "--table",
                table,
                "--source",
                dump.to_str().unwrap(),
                "--format",
                "kv",
            ])
        };
        let c = run_ok(export(pd_addr(&cluster_sim))).await.stdout;
        let e = run_ok(export(pd_addr(&embedded_sim))).await.stdout;
        assert!(!c.is_empty(), "{table}: nothing exported");
        assert!(
            c == e,
            "{table}: the cluster import and the embedded one left different KVs"
        );
    }

    // The engine records in etcd: all done, by at least two workers.
    let store = EtcdCheckpointStore::connect(EtcdOptions::new([etcd.endpoint()]))
        .await
        .unwrap();
    let jobs = squall_common::checkpoint::CheckpointStore::list(&store, &keys::jobs_prefix())
        .await
        .unwrap();
    let job_key = jobs
        .iter()
        .map(|(k, _)| k)
        .find(|k| k.ends_with("/job"))
        .expect("a job record");
    let job_id = job_key
        .trim_start_matches(&keys::jobs_prefix())
        .trim_end_matches("/job");
    let engines: Vec<typed::Stored<EngineCheckpoint>> =
        typed::read_all(&store, &keys::engines_prefix(job_id))
            .await
            .unwrap();
    assert!(
        engines.len() >= 6,
        "want several engines per table, got {}",
        engines.len()
    );
    let mut by = BTreeSet::new();
    for e in &engines {
        match &e.record.state {
            EngineState::Done(r) => by.insert(r.worker.clone()),
            other => panic!(
                "engine {} of table {} is {other:?}",
                e.record.engine_id, e.record.table_id
            ),
        };
    }
    assert!(
        by.len() >= 2 && by.iter().all(|w| w.starts_with('w')),
        "engines done by {by:?}"
    );
    check_artefacts(work.path(), &nats.url(), job_id, &engines).await;

    // The API reports the job verified, and refuses nothing it should not.
    let status = request(
        api,
        "GET",
        &format!("/jobs/{job_id}"),
        "",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(status.status, 200, "{}", status.body);
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(status["verified"], true, "{status}");
    assert_eq!(status["running"], false, "{status}");

    // Prometheus metrics, read from the store: every engine done, the
    // leader and the three workers counted.
    let metrics = request(api, "GET", "/metrics", "", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    let lines: BTreeSet<&str> = metrics.body.lines().collect();
    let done = format!(
        "squall_engines{{job=\"{job_id}\",state=\"done\"}} {}",
        engines.len()
    );
    for want in [done.as_str(), "squall_leader 1", "squall_workers 3"] {
        assert!(lines.contains(want), "no {want:?} in\n{}", metrics.body);
    }

    // `squall job list|status` read the same.
    let url = format!("http://{api}");
    let list = stdout(&run_ok(squall(&["job", "--coordinator", &url, "list"])).await);
    assert!(
        list.lines()
            .any(|l| l.starts_with(job_id) && l.ends_with("verified")),
        "{list}"
    );
    let shown = stdout(&run_ok(squall(&["job", "--coordinator", &url, "status", job_id])).await);
    let engines_done = shown
        .lines()
        .filter(|l| l.contains(": done (attempt"))
        .count();
    assert_eq!(engines_done, engines.len(), "{shown}");

    for w in workers {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(
            exit.success(),
            "a worker stopped by SIGTERM exits 0: {exit}"
        );
    }
    let exit =
        tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    assert!(
        exit.success(),
        "the coordinator stopped by SIGTERM exits 0: {exit}"
    );

    // A coordinator that did not run the job (one that took over after the
    // end) answers with its summary from the records: a client following
    // across a failover still gets every table's totals.
    let later_api = free_addr();
    let later_at = later_api.to_string();
    let mut later = spawn(
        "coordinator-later",
        &[
            &["coordinator", "--listen", later_at.as_str()][..],
            &cluster[..],
        ]
        .concat(),
    );
    wait_healthy(later_api, &mut later).await;
    let status = request(
        later_api,
        "GET",
        &format!("/jobs/{job_id}"),
        "",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let status: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    let tables = status["summary"]["tables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        tables.len(),
        TABLES.len(),
        "a summary with every table: {status}"
    );
    assert!(
        tables.iter().all(|t| t["rows"].as_u64().unwrap_or(0) > 0),
        "{status}"
    );
    let exit = tokio::task::block_in_place(|| later.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "{exit}");
    cluster_sim.shutdown().await;
    embedded_sim.shutdown().await;
}

/// The bucket holds one duplicates artefact per engine that recorded local
/// duplicates, and the workers' own directories hold their copies.
async fn check_artefacts(
    work: &Path,
    nats: &str,
    job_id: &str,
    engines: &[typed::Stored<EngineCheckpoint>],
) {
    let want: BTreeSet<String> = engines
        .iter()
        .filter_map(|e| match &e.record.state {
            EngineState::Done(r) if r.local_duplicates > 0 => Some(format!(
                "duplicates/t{}-e{}.jsonl",
                e.record.table_id, e.record.engine_id
            )),
            _ => None,
        })
        .collect();
    assert!(!want.is_empty(), "some engine recorded local duplicates");
    let bucket = NatsArtefactStore::connect(NatsArtefactOptions::new(nats, "squall-artefacts"))
        .await
        .unwrap();
    let prefix = format!("{job_id}/");
    let stored: BTreeSet<String> = bucket
        .list(&format!("{prefix}duplicates/"))
        .await
        .unwrap()
        .iter()
        .map(|k| k.trim_start_matches(&prefix).to_string())
        .collect();
    assert_eq!(stored, want, "artefacts in the bucket");
    let mut copies = BTreeSet::new();
    for n in 1..=3 {
        let dir = work
            .join(format!("w{n}-out"))
            .join(job_id)
            .join("duplicates");
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            copies.insert(format!("duplicates/{name}"));
        }
    }
    assert_eq!(copies, want, "the workers' own copies");
}

fn write_config(path: &Path, sorted_kv_dir: &Path) {
    // Small engines: several per table, so duplicates cross engines.
    let text = format!(
        "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = \"256KiB\"\n\n[conflict]\nstrategy = \"replace\"\n",
        sorted_kv_dir.display().to_string()
    );
    std::fs::write(path, text).unwrap();
}

fn squall(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(SQUALL);
    cmd.args(args).kill_on_drop(true);
    cmd
}

fn spawn(name: &str, args: &[&str]) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.args(args);
    ProcessGuard::spawn(name, cmd).unwrap()
}

async fn run_ok(mut cmd: tokio::process::Command) -> Output {
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("finishes within 5 minutes")
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The summary's table lines up to the timing: `name: rows, KVs, bytes,
/// local duplicates, conflicting rows`.
fn table_lines(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.starts_with("  `"))
        .map(|l| l.split(" (detect+resolve").next().unwrap_or(l).to_string())
        .collect()
}

/// The `n local duplicates` figure of each table line.
fn local_duplicate_counts(out: &Output) -> Vec<u64> {
    table_lines(out)
        .iter()
        .filter_map(|l| {
            let head = l.split(" local duplicates").next()?;
            head.rsplit(", ").next()?.parse().ok()
        })
        .collect()
}

fn conflict_counts(out: &Output) -> Vec<u64> {
    table_lines(out)
        .iter()
        .filter_map(|l| {
            let head = l.strip_suffix(" conflicting rows")?;
            head.rsplit(", ").next()?.parse().ok()
        })
        .collect()
}

async fn wait_healthy(api: std::net::SocketAddr, coordinator: &mut ProcessGuard) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = request(api, "GET", "/healthz", "", Duration::from_secs(2)).await {
            if r.status == 200 {
                return;
            }
        }
        if let Some(exit) = coordinator.try_wait() {
            panic!(
                "the coordinator exited ({exit}): {:?}",
                coordinator.output()
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "coordinator not healthy within 30 s: {:?}",
            coordinator.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
