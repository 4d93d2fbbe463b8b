//! `squall.index-mode = "after-data"` in cluster mode, on real servers
//! (etcd and nats-server from squall-cluster's `testserver`, in-process
//! tikv-sim, `squall coordinator` and `squall worker` processes): the
//! index backfill's ranges go to the workers as `backfill-range` tasks.
//!
//! 1. Two workers build the ranges (each pauses a moment after its first
//!    one, so both get work); TiKV then holds byte for byte what an
//!    embedded `with-data` import of the same dump holds.
//! 2. A worker is SIGKILLed after its first backfill range, the
//!    coordinator SIGKILLed in the step (no worker left to build the rest)
//!    and restarted, while the test splits the table's regions through the
//!    sim: the job ends verified, TiKV holds what the with-data import
//!    holds, the finished range's record is unchanged and no stored commit
//!    ts moved.
//! 3. Two rows of one range share a unique value: the worker records the
//!    conflict in the range record and the job fails naming the index,
//!    the value and both handles.
//! 4. The job is paused while its one worker is held after its first
//!    range: the worker withdraws every other range (acked unbuilt), no
//!    record moves while paused; resumed, the coordinator publishes the
//!    unsettled ranges again and the job ends verified, each range built
//!    once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::{keys, CheckpointStore};
use squall_common::config::{ByteSize, IndexMode};
use squall_common::TaskConfig;
use squall_coordinator::backfill::records::{BackfillPlan, RangeRecord};
use squall_coordinator::backfill::RANGE_DONE_FAILPOINT;
use squall_tests::sim::{keep_splitting, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};
use tikv_sim::SimHandle;
use tokio_util::sync::CancellationToken;

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLE: &str = "bq.t";
const FILES: usize = 3;
const ROWS_PER_FILE: usize = 800;
const WAIT: Duration = Duration::from_secs(120);
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
const ACK_WAIT: &str = "5";

/// `duplicate`: row 5 takes row 4's unique `s`.
fn write_dump(dir: &Path, duplicate: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("bq-schema-create.sql"), "CREATE DATABASE bq;\n").unwrap();
    std::fs::write(
        dir.join("bq.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `a` INT, \
         `s` VARCHAR(16) COLLATE utf8mb4_general_ci, KEY `ka` (`a`), UNIQUE KEY `us` (`s`), \
         KEY `kas` (`a`, `s`(2))) DEFAULT CHARSET=utf8mb4;\n",
    )
    .unwrap();
    for f in 0..FILES {
        let mut csv = String::from("id,a,s\n");
        for i in f * ROWS_PER_FILE..(f + 1) * ROWS_PER_FILE {
            let a = if i % 7 == 0 {
                "\\N".to_string()
            } else {
                (i % 40).to_string()
            };
            let s = if i % 13 == 0 {
                "\\N".to_string()
            } else if duplicate && i == 5 {
                "Key00004".to_string()
            } else {
                format!("Key{i:05}")
            };
            csv.push_str(&format!("{i},{a},{s}\n"));
        }
        std::fs::write(dir.join(format!("bq.t.00000000{}.csv", f + 1)), csv).unwrap();
    }
}

fn config(work: &Path, name: &str, mode: IndexMode) -> PathBuf {
    let mut cfg = TaskConfig::default();
    cfg.tikv_importer.sorted_kv_dir = work.join(name).join("sorted").display().to_string();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(24);
    // Small regions: the table's record range is cut into several ranges.
    cfg.tikv_importer.region_split_size = ByteSize::kib(12);
    cfg.squall.max_retries = 20;
    cfg.squall.index_mode = mode;
    let path = work.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    path
}

struct Cluster {
    servers: Vec<String>,
    api: std::net::SocketAddr,
    work: PathBuf,
}

impl Cluster {
    fn args(&self) -> Vec<&str> {
        let mut a: Vec<&str> = self.servers.iter().map(String::as_str).collect();
        a.extend(["--ack-wait-secs", ACK_WAIT]);
        a
    }

    fn coordinator(&self) -> ProcessGuard {
        let mut cmd = Command::new(SQUALL);
        cmd.args([
            "--log-level",
            "info",
            "coordinator",
            "--leader-ttl-secs",
            "2",
            "--listen",
        ])
        .arg(self.api.to_string())
        .args(self.args())
        .env_remove(squall_common::failpoint::ENV);
        let mut p = ProcessGuard::spawn("coordinator", cmd).unwrap();
        wait(&mut p, "coordinator elected leader");
        p
    }

    fn worker(&self, id: &str, failpoints: Option<&str>) -> ProcessGuard {
        let mut cmd = Command::new(SQUALL);
        cmd.args(["--log-level", "info", "worker", "--id", id])
            .args(["--concurrency", "1", "--sorted-kv-dir"])
            .arg(self.work.join(format!("{id}-kv")))
            .arg("--output")
            .arg(self.work.join(format!("{id}-out")))
            .args(self.args());
        match failpoints {
            Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
            None => cmd.env_remove(squall_common::failpoint::ENV),
        };
        let mut w = ProcessGuard::spawn(id, cmd).unwrap();
        wait(&mut w, "worker ready");
        w
    }

    /// `squall import --coordinator`, followed to its end by the caller.
    fn import(&self, config: &Path, dump: &Path, sim: &SimHandle, out: &str) -> ProcessGuard {
        let mut cmd = Command::new(SQUALL);
        cmd.arg("--config")
            .arg(config)
            .args(["import", "--progress", "log", "--source"])
            .arg(dump)
            .arg("--pd")
            .arg(sim.pd_addr.to_string())
            .arg("--output")
            .arg(self.work.join(out))
            .arg("--coordinator")
            .arg(format!("http://{}", self.api))
            .env_remove("SQUALL_COORDINATOR");
        ProcessGuard::spawn("import", cmd).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_after_data_backfill_runs_on_workers_and_survives_kills() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("dump");
    write_dump(&dump, false);

    // The reference: an embedded with-data import.
    let ref_sim = start_sim(&work.path().join("ref-sim")).await;
    let ref_cfg = config(work.path(), "ref", IndexMode::WithData);
    let mut p = embedded_import(&ref_cfg, &dump, &ref_sim, &work.path().join("ref"));
    let status = wait_exit(&mut p);
    assert!(status.success(), "{}", p.final_output().join("\n"));
    let want = export_kvs(&ref_sim, &dump);
    ref_sim.shutdown().await;
    assert!(want.lines().count() > 3 * FILES * ROWS_PER_FILE);

    let etcd = EtcdServer::start().expect("etcd starts");
    let nats = NatsServer::start().expect("nats-server starts");
    let cluster = Cluster {
        servers: vec![
            "--etcd".into(),
            etcd.endpoint(),
            "--nats".into(),
            nats.url(),
        ],
        api: free_addr(),
        work: work.path().to_path_buf(),
    };
    let store = EtcdCheckpointStore::connect(EtcdOptions::new([etcd.endpoint()]))
        .await
        .unwrap();
    let ad_cfg = config(work.path(), "ad", IndexMode::AfterData);
    let mut coordinator = cluster.coordinator();

    // 1. Both workers build ranges.
    let pause_once = format!("{RANGE_DONE_FAILPOINT}=pause(2000)@1");
    let mut workers = vec![
        cluster.worker("w1", Some(&pause_once)),
        cluster.worker("w2", Some(&pause_once)),
    ];
    let sim1 = start_sim(&work.path().join("sim1")).await;
    let mut p = cluster.import(&ad_cfg, &dump, &sim1, "out1");
    let status = wait_exit(&mut p);
    let said = p.final_output().join("\n");
    assert!(status.success(), "{said}");
    assert!(said.contains("imported and verified"), "{said}");
    assert!(
        export_kvs(&sim1, &dump) == want,
        "the workers' backfill left other KVs than a with-data import"
    );
    let job1 = only_job(&store, &BTreeSet::new()).await;
    let (plan, records) = backfill_records(&store, &job1).await;
    assert!(plan.ranges.len() >= 3, "ranges: {}", plan.ranges.len());
    assert_eq!(records.len(), plan.ranges.len());
    assert!(records.values().all(|r| r.done.is_some()), "{records:?}");
    assert_eq!(plan.finished_prefix, plan.ranges.len() as u64);
    for w in &workers {
        let built = w
            .output()
            .iter()
            .filter(|l| l.contains("index backfill range done"))
            .count();
        assert!(
            built > 0,
            "every worker built ranges:\n{}",
            w.output().join("\n")
        );
    }
    sim1.shutdown().await;
    for w in workers.drain(..) {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    }

    // 2. Worker and coordinator killed in the step, regions split under it.
    let pause_long = format!("{RANGE_DONE_FAILPOINT}=pause(600000)@1");
    let mut doomed = cluster.worker("w3", Some(&pause_long));
    let sim2 = start_sim(&work.path().join("sim2")).await;
    let mut follow = cluster.import(&ad_cfg, &dump, &sim2, "out2");
    wait(
        &mut doomed,
        &format!("failpoint {RANGE_DONE_FAILPOINT} reached"),
    );
    kill(&doomed);
    wait_gone(&mut doomed);
    // No worker is left: the coordinator waits in the backfill step.
    let job2 = only_job(&store, &BTreeSet::from([job1.clone()])).await;
    let (plan2, before) = backfill_records(&store, &job2).await;
    assert!(plan2.ranges.len() >= 3, "ranges: {}", plan2.ranges.len());
    let done_before: Vec<String> = before
        .iter()
        .filter(|(_, r)| r.done.is_some())
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        done_before.len(),
        1,
        "one range done at the kill: {before:?}"
    );
    assert!(
        before.len() > 1,
        "ranges published with their commit ts: {before:?}"
    );
    kill(&coordinator);
    wait_gone(&mut coordinator);

    let split_at: Vec<Vec<u8>> = want
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, _)| hex::decode(k).unwrap())
        .filter(|k| k.len() > 10 && &k[9..11] == b"_r")
        .step_by(97)
        .skip(1)
        .collect();
    let stop = CancellationToken::new();
    let splitter = tokio::spawn(keep_splitting(
        sim2.pd_addr.to_string(),
        split_at,
        stop.clone(),
    ));
    let coordinator = cluster.coordinator();
    let workers = [cluster.worker("w4", None), cluster.worker("w5", None)];
    let status = wait_exit(&mut follow);
    stop.cancel();
    let made = splitter.await.unwrap();
    let said = follow.final_output().join("\n");
    assert!(
        status.success(),
        "{said}\n{}",
        coordinator.output().join("\n")
    );
    assert!(said.contains("imported and verified"), "{said}");
    assert!(made > 0, "no region split during the resumed step");
    assert!(
        export_kvs(&sim2, &dump) == want,
        "the resumed backfill left other KVs than a with-data import"
    );
    let (_, after) = backfill_records(&store, &job2).await;
    assert!(after.values().all(|r| r.done.is_some()), "{after:?}");
    for key in &done_before {
        assert_eq!(
            before[key], after[key],
            "{key}: a finished range is not redone"
        );
    }
    for (key, r) in &before {
        assert_eq!(
            r.commit_ts, after[key].commit_ts,
            "{key}: a stored commit ts never changes"
        );
    }
    let resumed: usize = workers
        .iter()
        .map(|w| {
            w.output()
                .iter()
                .filter(|l| l.contains("index backfill range done"))
                .count()
        })
        .sum();
    assert_eq!(
        resumed,
        plan2.ranges.len() - 1,
        "only the unfinished ranges are built after the restart"
    );

    // 3. A unique conflict inside a range, found by a worker.
    let dup_dump = work.path().join("dump-dup");
    write_dump(&dup_dump, true);
    let sim3 = start_sim(&work.path().join("sim3")).await;
    let mut p = cluster.import(&ad_cfg, &dup_dump, &sim3, "out3");
    let status = wait_exit(&mut p);
    let said = p.final_output().join("\n");
    assert!(
        !status.success(),
        "a unique conflict fails the job:\n{said}"
    );
    assert!(
        said.contains(
            "unique index us: value (s='Key00004') is held by the rows with handles 4 and 5: \
             (id=4, a=4, s='Key00004') and (id=5, a=5, s='Key00004')"
        ),
        "the failure names the index, the value as the rows hold it and both rows:\n{said}"
    );
    let known = BTreeSet::from([job1.clone(), job2.clone()]);
    let job3 = only_job(&store, &known).await;
    let (_, records) = backfill_records(&store, &job3).await;
    let recorded: Vec<_> = records.values().flat_map(|r| r.conflicts.iter()).collect();
    assert!(
        recorded.len() == 1
            && recorded[0].handles == ["4".to_string(), "5".to_string()]
            && recorded[0].rows.len() == 2,
        "the worker recorded the conflict in its range record: {records:?}"
    );
    sim3.shutdown().await;

    for w in workers {
        let exit = tokio::task::block_in_place(|| w.terminate(Duration::from_secs(20))).unwrap();
        assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    }

    // 4. The job paused in the step: the worker withdraws the ranges it is
    //    handed, nothing more is built; resumed, the ranges go out again.
    let hold = format!("{RANGE_DONE_FAILPOINT}=pause(6000)@1");
    let mut w6 = cluster.worker("w6", Some(&hold));
    let sim4 = start_sim(&work.path().join("sim4")).await;
    let mut follow = cluster.import(&ad_cfg, &dump, &sim4, "out4");
    wait(
        &mut w6,
        &format!("failpoint {RANGE_DONE_FAILPOINT} reached"),
    );
    let known = BTreeSet::from([job1.clone(), job2.clone(), job3.clone()]);
    let job4 = only_job(&store, &known).await;
    let url = format!("http://{}", cluster.api);
    let paused = squall_ok(&["job", "--coordinator", &url, "pause", &job4]);
    assert!(paused.contains("paused"), "{paused}");
    // Released from the failpoint, w6 takes the next range: withdrawn.
    wait(&mut w6, "index backfill range withdrawn");
    let (plan4, held) = backfill_records(&store, &job4).await;
    assert!(plan4.ranges.len() >= 3, "ranges: {}", plan4.ranges.len());
    // An observation window: nothing is built while the job is paused.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, still) = backfill_records(&store, &job4).await;
    assert_eq!(held, still, "no range changed while paused");
    let done = still.values().filter(|r| r.done.is_some()).count();
    assert_eq!(done, 1, "only the range built before the pause: {still:?}");
    assert!(still
        .values()
        .filter(|r| r.done.is_none())
        .all(RangeRecord::unsettled));
    assert!(
        follow.try_wait().is_none(),
        "the paused job goes on waiting"
    );
    let resumed = squall_ok(&["job", "--coordinator", &url, "resume", &job4]);
    assert!(resumed.contains("resumed"), "{resumed}");
    let status = wait_exit(&mut follow);
    let said = follow.final_output().join("\n");
    assert!(
        status.success(),
        "{said}\n{}",
        coordinator.output().join("\n")
    );
    assert!(said.contains("imported and verified"), "{said}");
    assert!(
        export_kvs(&sim4, &dump) == want,
        "the paused and resumed backfill left other KVs than a with-data import"
    );
    assert!(
        coordinator
            .output()
            .iter()
            .any(|l| l.contains("its unfinished index backfill ranges published again")),
        "{}",
        coordinator.output().join("\n")
    );
    let built = w6
        .output()
        .iter()
        .filter(|l| l.contains("index backfill range done"))
        .count();
    assert_eq!(
        built,
        plan4.ranges.len(),
        "each range built once: withdrawn ranges are built after the resume"
    );
    sim4.shutdown().await;
    let exit = tokio::task::block_in_place(|| w6.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "worker exits 0 on SIGTERM: {exit}");
    let exit =
        tokio::task::block_in_place(|| coordinator.terminate(Duration::from_secs(20))).unwrap();
    assert!(exit.success(), "{exit}");
    sim2.shutdown().await;
}

fn embedded_import(config: &Path, dump: &Path, sim: &SimHandle, out: &Path) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.arg("--config")
        .arg(config)
        .args(["import", "--progress", "log", "--source"])
        .arg(dump)
        .arg("--pd")
        .arg(sim.pd_addr.to_string())
        .arg("--output")
        .arg(out)
        .env_remove("SQUALL_COORDINATOR")
        .env_remove(squall_common::failpoint::ENV);
    ProcessGuard::spawn("embedded import", cmd).unwrap()
}

fn export_kvs(sim: &SimHandle, dump: &Path) -> String {
    let output = Command::new(SQUALL)
        .args(["export", "--format", "kv", "--table", TABLE, "--pd"])
        .arg(sim.pd_addr.to_string())
        .arg("--source")
        .arg(dump)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "export: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The one job in the store not in `known`, once its backfill plan exists.
async fn only_job(store: &EtcdCheckpointStore, known: &BTreeSet<String>) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let listed = store.list(&keys::jobs_prefix()).await.unwrap();
        let jobs: BTreeSet<String> = listed
            .iter()
            .filter(|(k, _)| k.contains("/backfill/"))
            .filter_map(|(k, _)| {
                k.strip_prefix(&keys::jobs_prefix())
                    .and_then(|rest| rest.split('/').next())
                    .map(str::to_string)
            })
            .filter(|j| !known.contains(j))
            .collect();
        if jobs.len() == 1 {
            return jobs.into_iter().next().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no new job with a backfill: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The job's backfill plan and range records (one table, one index set).
async fn backfill_records(
    store: &EtcdCheckpointStore,
    job: &str,
) -> (BackfillPlan, BTreeMap<String, RangeRecord>) {
    let listed = store
        .list(&format!("{}{job}/backfill/", keys::jobs_prefix()))
        .await
        .unwrap();
    let mut plan = None;
    let mut records = BTreeMap::new();
    for (k, v) in listed {
        if k.ends_with("/plan") {
            plan = Some(serde_json::from_slice::<BackfillPlan>(&v.value).unwrap());
        } else {
            records.insert(k, serde_json::from_slice::<RangeRecord>(&v.value).unwrap());
        }
    }
    (plan.expect("a backfill plan"), records)
}
/// `squall ARGS`, which must succeed; its stdout.
fn squall_ok(args: &[&str]) -> String {
    let out = Command::new(SQUALL).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "squall {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait(p: &mut ProcessGuard, line: &str) {
    tokio::task::block_in_place(|| p.wait_for_line(line, WAIT))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output().join("\n")));
}

fn kill(p: &ProcessGuard) {
    let pid = p.pid().expect("running").to_string();
    let sent = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(sent.success(), "kill -KILL {pid}");
}

fn wait_gone(p: &mut ProcessGuard) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.try_wait().is_none() {
        assert!(Instant::now() < deadline, "the killed process lingers");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_exit(p: &mut ProcessGuard) -> std::process::ExitStatus {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {RUN_TIMEOUT:?}:\n{}",
            p.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
