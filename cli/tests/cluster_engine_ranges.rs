//! Engine ranges (`squall.engine-ranges`) in cluster mode, on real servers:
//! etcd and nats-server (squall-cluster's `testserver`), an in-process
//! tikv-sim, one `squall coordinator` and two `squall worker` processes,
//! each with its own sorted-KV and output directories (no shared file
//! system: run files travel through the NATS artefact bucket only). The
//! import must end verified with the same KVs as an embedded import of the
//! same dump without engine ranges; every engine and every range record in
//! etcd is done, the work shared by both workers, and no run file is left
//! in the bucket.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions, NatsArtefactOptions, NatsArtefactStore};
use squall_common::artefacts::ArtefactStore;
use squall_common::checkpoint::{
    keys, typed, CheckpointStore, EngineCheckpoint, EngineState, RangeCheckpoint, RangeState,
};
use squall_tests::http::request;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_import_with_engine_ranges_equals_embedded_import() {
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
        "2MiB",
        "--file-size",
        "128KiB",
        "--out",
        dump.to_str().unwrap(),
    ]))
    .await;
    let ranges_config = work.path().join("ranges.toml");
    write_config(&ranges_config, &work.path().join("embedded-kv"), true);
    let plain_config = work.path().join("plain.toml");
    write_config(&plain_config, &work.path().join("embedded-kv"), false);

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
    for n in 1..=2 {
        let (id, dir) = (format!("w{n}"), work.path().join(format!("w{n}-kv")));
        let out = work.path().join(format!("w{n}-out"));
        let own: [&str; 9] = [
            "worker",
            "--id",
            &id,
            "--concurrency",
            "2",
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

    let import = |config: &Path, pd: String, out: &str, coordinator: Option<String>| {
        let out = work.path().join(out);
        let mut args = vec![
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
        ];
        if let Some(url) = coordinator {
            args.extend(["--coordinator".to_string(), url]);
        }
        squall(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let clustered = run_ok(import(
        &ranges_config,
        pd_addr(&cluster_sim),
        "out-cluster",
        Some(format!("http://{api}")),
    ))
    .await;
    assert!(
        stdout(&clustered).contains("imported and verified"),
        "{}",
        stdout(&clustered)
    );
    run_ok(import(
        &plain_config,
        pd_addr(&embedded_sim),
        "out-embedded",
        None,
    ))
    .await;

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
            "{table}: the cluster import with engine ranges and the embedded one without left different KVs"
        );
    }

    let store = EtcdCheckpointStore::connect(EtcdOptions::new([etcd.endpoint()]))
        .await
        .unwrap();
    let jobs = store.list(&keys::jobs_prefix()).await.unwrap();
    let job_id = jobs
        .iter()
        .map(|(k, _)| k)
        .find(|k| k.ends_with("/job"))
        .expect("a job record")
        .trim_start_matches(&keys::jobs_prefix())
        .trim_end_matches("/job")
        .to_string();
    let engines: Vec<typed::Stored<EngineCheckpoint>> =
        typed::read_all(&store, &keys::engines_prefix(&job_id))
            .await
            .unwrap();
    let ranges: Vec<typed::Stored<RangeCheckpoint>> =
        typed::read_all(&store, &keys::ranges_prefix(&job_id))
            .await
            .unwrap();
    assert!(engines.len() >= 6, "several engines: {}", engines.len());
    assert!(ranges.len() >= TABLES.len() * 2, "ranges: {}", ranges.len());
    let mut by = BTreeSet::new();
    for e in &engines {
        match &e.record.state {
            EngineState::Done(r) => {
                assert!(
                    !r.runs.is_empty(),
                    "{}: an engine with ranges writes runs",
                    e.key
                );
                by.insert(r.worker.clone());
            }
            other => panic!("{} is {other:?}", e.key),
        }
    }
    for r in &ranges {
        match &r.record.state {
            RangeState::Done(d) => {
                by.insert(d.worker.clone());
            }
            other => panic!("{} is {other:?}", r.key),
        }
    }
    assert!(
        by.len() == 2 && by.iter().all(|w| w.starts_with('w')),
        "tasks done by {by:?}"
    );
    // `GET /jobs/<id>` shows the ranges' progress: every range done, the
    // KVs and bytes the range records say were ingested.
    let answer = request(
        api,
        "GET",
        &format!("/jobs/{job_id}"),
        "",
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let status: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let shown = &status["ranges"];
    let (kvs, bytes) = ranges
        .iter()
        .fold((0u64, 0u64), |(k, b), r| match &r.record.state {
            RangeState::Done(d) => (k + d.kvs, b + d.bytes),
            _ => (k, b),
        });
    assert!(kvs > 0, "the ranges ingested KVs");
    assert_eq!(shown["ranges_total"], ranges.len() as u64, "{shown}");
    assert_eq!(shown["ranges_done"], ranges.len() as u64, "{shown}");
    assert_eq!(shown["ranges_running"], 0, "{shown}");
    assert_eq!(shown["ingested_kvs"], kvs, "{shown}");
    assert_eq!(shown["ingested_bytes"], bytes, "{shown}");
    assert_eq!(
        shown["tables"].as_array().map(Vec::len),
        Some(TABLES.len()),
        "{shown}"
    );
    let bucket =
        NatsArtefactStore::connect(NatsArtefactOptions::new(nats.url(), "squall-artefacts"))
            .await
            .unwrap();
    let left = bucket.list(&format!("{job_id}/runs/")).await.unwrap();
    assert!(
        left.is_empty(),
        "run files are deleted once ingested: {left:?}"
    );

    for w in workers {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(
            exit.success(),
            "a worker stopped by SIGTERM exits 0: {exit}"
        );
    }
    let exit =
        tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "{exit}");
    cluster_sim.shutdown().await;
    embedded_sim.shutdown().await;
}

fn write_config(path: &Path, sorted_kv_dir: &Path, ranges: bool) {
    // Small engines: several per table.
    let text = format!(
        "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = \"192KiB\"\n\n[squall]\nengine-ranges = {ranges}\n",
        sorted_kv_dir.display().to_string()
    );
    std::fs::write(path, text).unwrap();
}

fn squall(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(SQUALL);
    cmd.args(args)
        .kill_on_drop(true)
        .env_remove("SQUALL_COORDINATOR");
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
