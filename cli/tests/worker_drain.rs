//! Graceful drain and metrics of `squall worker` on real servers (issue 14).
//!
//! * Past its deadline: w1 is SIGTERMed mid-encode with a 1 s drain
//!   deadline; it stops, releases the engine record (`Pending`, its attempt
//!   given back), hands the task back, deregisters and exits 0; w2 finishes the job, and TiKV holds
//!   what an embedded import leaves. w2's `/metrics` (OpenMetrics text,
//!   checked line by line) shows every engine done, the rows the coordinator
//!   counts per table, bytes per table, the redelivered task and region
//!   ingest latencies; the coordinator's shows the queue depth. Then the
//!   leader coordinator, SIGTERMed, hands leadership to the standby well
//!   within its lease.
//! * Within its deadline: w1, SIGTERMed mid-encode with a long deadline,
//!   finishes its task (the record shows it done by w1), takes no other,
//!   deregisters and exits 0.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::{keys, typed, CheckpointStore, EngineCheckpoint, EngineState};
use squall_tests::http::request;
use squall_tests::sim::{pd_addr, start_sim};
use squall_tests::{free_addr, servers_installed, ProcessGuard};
use tikv_sim::SimHandle;

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLES: [&str; 3] = ["shop.customers", "shop.orders", "shop.events"];
const WAIT: Duration = Duration::from_secs(90);
/// The leader's lease: a handover much faster than this is a resignation.
const LEADER_TTL_SECS: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_drained_past_its_deadline_releases_its_task_and_another_finishes() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let mut c = Cluster::start(2).await;
    let embedded_sim = start_sim(&c.work.path().join("sim-embedded")).await;
    // w1 pauses 3 s after its first encoded chunk: mid-encode, past a 1 s deadline.
    let mut w1 = c.worker("w1", &["--drain-timeout-secs", "1"], Some("pause(3000)"));
    let mut follow = c.follow();
    wait(&mut w1, "failpoint encode.chunk-done reached");
    let w1_exit = sigterm_and_wait(&mut w1);
    assert!(w1_exit.success(), "a drained worker exits 0: {w1_exit}");
    for said in [
        "draining: taking no more tasks",
        "drain deadline passed",
        "engine released for another worker",
        "task stopped by shutdown and handed back",
        "deregistered from etcd",
    ] {
        assert_said(&w1, said);
    }
    assert!(c.registered("w1").await.is_none(), "w1's key is gone");
    // Released: back to `Pending`, the attempt as before w1's claim.
    let engines = c.engines().await;
    assert!(
        engines
            .iter()
            .all(|(_, e)| e.state == EngineState::Pending && e.attempt == 0),
        "w1's claim is given back and nothing else ran: {engines:?}"
    );

    let mut w2 = c.worker("w2", &["--metrics-addr", "127.0.0.1:0"], None);
    let metrics_at = metrics_addr(&mut w2);
    let clustered = wait_verified(&mut follow);
    let engines = c.engines().await;
    for (key, e) in &engines {
        match &e.state {
            EngineState::Done(r) => assert_eq!(r.worker, "w2", "{key}"),
            other => panic!("{key}: {other:?}"),
        }
    }
    assert!(
        engines.iter().all(|(_, e)| e.attempt == 1),
        "a released claim costs no attempt: {engines:?}"
    );

    // The worker's metrics, after the job.
    let page = get_metrics(metrics_at).await;
    let m = parse_openmetrics(&page).unwrap_or_else(|e| panic!("{e}\n{page}"));
    let n = engines.len() as f64;
    assert_eq!(m[r#"squall_worker_tasks_total{state="done"}"#], n, "{page}");
    assert_eq!(
        m[r#"squall_worker_tasks_total{state="started"}"#], n,
        "{page}"
    );
    assert_eq!(m["squall_worker_deliveries_total"], n, "{page}");
    assert_eq!(
        m["squall_worker_redeliveries_total"], 1.0,
        "the released task came back: {page}"
    );
    assert!(
        m["squall_worker_region_ingest_seconds_count"] >= n,
        "{page}"
    );
    assert!(m["squall_worker_region_ingest_seconds_sum"] > 0.0, "{page}");
    assert!(m.contains_key("squall_worker_local_engine_bytes"), "{page}");
    assert_eq!(m["squall_queue_pending"], 0.0, "{page}");
    assert_eq!(m["squall_queue_in_flight"], 0.0, "{page}");
    let job = &c.job_id(&clustered);
    let coordinator_page = get_metrics(c.apis[0]).await;
    let cm =
        parse_openmetrics(&coordinator_page).unwrap_or_else(|e| panic!("{e}\n{coordinator_page}"));
    assert_eq!(cm["squall_queue_pending"], 0.0, "{coordinator_page}");
    for table in TABLES {
        let (db, name) = table.split_once('.').unwrap();
        let t = format!("`{db}`.`{name}`");
        let series = |metric: &str, stage: Option<&str>| {
            let stage = stage.map_or(String::new(), |s| format!(r#",stage="{s}""#));
            format!(r#"{metric}{{job="{job}",table="{t}"{stage}}}"#)
        };
        let rows = m[&series("squall_worker_rows_total", None)];
        assert!(rows > 0.0, "{table}: {page}");
        let coordinator_rows = cm[&format!(r#"squall_table_rows{{job="{job}",table="{t}"}}"#)];
        assert_eq!(
            rows, coordinator_rows,
            "{table}: rows as the coordinator counts"
        );
        for stage in ["encoded", "ingested"] {
            let bytes = m[&series("squall_worker_bytes_total", Some(stage))];
            assert!(bytes > 0.0, "{table} {stage}: {page}");
        }
    }

    // Nothing extra in TiKV: the same KVs as an embedded import.
    c.assert_same_as_embedded(&embedded_sim);

    // SIGTERM to the leader hands leadership over at once, not after its lease.
    let mut coordinators = std::mem::take(&mut c.coordinators);
    let mut standby = coordinators.pop().unwrap();
    let mut leader = coordinators.pop().unwrap();
    let stopped = Instant::now();
    let exit = sigterm_and_wait(&mut leader);
    wait(&mut standby, "coordinator elected leader");
    let took = stopped.elapsed();
    eprintln!("the standby led {took:?} after SIGTERM to the leader");
    assert!(exit.success(), "the leader exits 0 on SIGTERM: {exit}");
    assert_said(&leader, "leadership handed over");
    assert!(
        took < Duration::from_secs(LEADER_TTL_SECS / 2),
        "handover took {took:?}, about a lease ({LEADER_TTL_SECS} s): the leader did not resign"
    );

    let exit = sigterm_and_wait(&mut w2);
    assert!(exit.success(), "w2 exits 0: {exit}");
    assert!(c.registered("w2").await.is_none(), "w2's key is gone");
    let exit = sigterm_and_wait(&mut standby);
    assert!(exit.success(), "{exit}");
    c.sim.shutdown().await;
    embedded_sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_drained_within_its_deadline_finishes_its_task_first() {
    if !servers_installed(&["etcd", "nats-server"]) {
        return;
    }
    let c = Cluster::start(1).await;
    let mut w1 = c.worker("w1", &["--drain-timeout-secs", "120"], Some("pause(2000)"));
    let mut follow = c.follow();
    wait(&mut w1, "failpoint encode.chunk-done reached");
    let signalled = Instant::now();
    let exit = sigterm_and_wait(&mut w1);
    let took = signalled.elapsed();
    assert!(exit.success(), "a drained worker exits 0: {exit}");
    assert!(
        took < Duration::from_secs(60),
        "w1 left once its task was done, not at the deadline: {took:?}"
    );
    assert_said(&w1, "draining: taking no more tasks");
    assert_said(&w1, "deregistered from etcd");
    let said = w1.output().join("\n");
    assert!(!said.contains("drain deadline passed"), "{said}");
    assert!(!said.contains("engine released"), "{said}");
    assert!(!said.contains("handed back for another worker"), "{said}");
    assert!(c.registered("w1").await.is_none(), "w1's key is gone");

    let engines = c.engines().await;
    assert!(engines.len() > 1, "the job has more than w1's engine");
    let mut done_by_w1 = 0;
    for (key, e) in &engines {
        match &e.state {
            EngineState::Done(r) => {
                assert_eq!((r.worker.as_str(), r.attempt), ("w1", 1), "{key}");
                done_by_w1 += 1;
            }
            EngineState::Pending => assert_eq!(e.attempt, 0, "{key}: w1 took no other task"),
            other => panic!("{key}: {other:?}"),
        }
    }
    assert_eq!(done_by_w1, 1, "w1 finished its one task: {engines:?}");

    let mut w2 = c.worker("w2", &[], None);
    wait_verified(&mut follow);
    let exit = sigterm_and_wait(&mut w2);
    assert!(exit.success(), "{exit}");
    for mut p in c.coordinators {
        let exit = sigterm_and_wait(&mut p);
        assert!(exit.success(), "{exit}");
    }
    c.sim.shutdown().await;
}

/// etcd, nats-server, a sim, `n` coordinators (the first one leads) and a
/// generated dump with several engines.
struct Cluster {
    work: tempfile::TempDir,
    _etcd: EtcdServer,
    _nats: NatsServer,
    etcd_at: String,
    sim: SimHandle,
    servers: Vec<String>,
    apis: Vec<SocketAddr>,
    coordinators: Vec<ProcessGuard>,
    dump: String,
    config: PathBuf,
}

impl Cluster {
    async fn start(n: usize) -> Self {
        let work = tempfile::tempdir().unwrap();
        let dump = work.path().join("dump").display().to_string();
        run_ok(&[
            "gen-dump",
            "--dataset",
            "shop",
            "--size",
            "1MiB",
            "--file-size",
            "256KiB",
            "--out",
            &dump,
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
        let etcd_at = etcd.endpoint();
        let servers = vec![
            "--etcd".to_string(),
            etcd_at.clone(),
            "--nats".to_string(),
            nats.url(),
        ];
        let mut c = Self {
            work,
            _etcd: etcd,
            _nats: nats,
            etcd_at,
            sim,
            servers,
            apis: Vec::new(),
            coordinators: Vec::new(),
            dump,
            config,
        };
        for i in 0..n {
            let api = free_addr();
            let mut cmd = Command::new(SQUALL);
            cmd.args(["--log-level", "info", "coordinator", "--listen"])
                .arg(api.to_string())
                .args(["--leader-ttl-secs", &LEADER_TTL_SECS.to_string()])
                .args(&c.servers)
                .env_remove(squall_common::failpoint::ENV);
            let mut p = ProcessGuard::spawn(&format!("coordinator-{i}"), cmd).unwrap();
            // The first leads; the others wait as standbys.
            let line = if i == 0 {
                "coordinator elected leader"
            } else {
                "coordinator listening"
            };
            wait(&mut p, line);
            c.apis.push(api);
            c.coordinators.push(p);
        }
        c
    }

    /// A worker with one task at a time; `pause`: how long it stops after
    /// its first encoded chunk.
    fn worker(&self, id: &str, extra: &[&str], pause: Option<&str>) -> ProcessGuard {
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
        .arg(self.work.path().join(format!("{id}-kv")))
        .args(&self.servers)
        .args(extra);
        match pause {
            Some(p) => cmd.env(
                squall_common::failpoint::ENV,
                format!("encode.chunk-done={p}@1"),
            ),
            None => cmd.env_remove(squall_common::failpoint::ENV),
        };
        let mut w = ProcessGuard::spawn(id, cmd).unwrap();
        wait(&mut w, "worker ready");
        w
    }

    /// Submits the import to the coordinators and follows it.
    fn follow(&self) -> ProcessGuard {
        let urls: Vec<String> = self.apis.iter().map(|a| format!("http://{a}")).collect();
        let mut cmd = Command::new(SQUALL);
        cmd.arg("--config")
            .arg(&self.config)
            .args([
                "import",
                "--source",
                &self.dump,
                "--pd",
                &pd_addr(&self.sim),
            ])
            .arg("--output")
            .arg(self.work.path().join("out-cluster"))
            .args(["--progress", "log", "--coordinator", &urls.join(",")]);
        ProcessGuard::spawn("import", cmd).unwrap()
    }

    async fn store(&self) -> EtcdCheckpointStore {
        EtcdCheckpointStore::connect(EtcdOptions::new([self.etcd_at.clone()]))
            .await
            .unwrap()
    }

    /// The one job's engine records.
    async fn engines(&self) -> Vec<(String, EngineCheckpoint)> {
        let store = self.store().await;
        let jobs = store.list(&keys::jobs_prefix()).await.unwrap();
        let job_keys: Vec<_> = jobs.iter().filter(|(k, _)| k.ends_with("/job")).collect();
        assert_eq!(job_keys.len(), 1, "one job: {jobs:?}");
        let job = job_keys[0]
            .0
            .trim_end_matches("/job")
            .rsplit('/')
            .next()
            .unwrap();
        let all: Vec<typed::Stored<EngineCheckpoint>> =
            typed::read_all(&store, &keys::engines_prefix(job))
                .await
                .unwrap();
        all.into_iter().map(|s| (s.key, s.record)).collect()
    }

    /// The worker's registration value, if any.
    async fn registered(&self, id: &str) -> Option<Vec<u8>> {
        let store = self.store().await;
        let key = squall_worker::node::registration::key(id);
        store.get(&key).await.unwrap().map(|v| v.value)
    }

    fn job_id(&self, summary: &str) -> String {
        summary
            .lines()
            .filter(|l| l.contains(": imported and verified"))
            .find_map(|l| l.split("job ").nth(1)?.split(':').next())
            .expect("the summary names the job")
            .to_string()
    }

    fn assert_same_as_embedded(&self, embedded_sim: &SimHandle) {
        run_ok(&[
            "--config",
            self.config.to_str().unwrap(),
            "import",
            "--source",
            &self.dump,
            "--pd",
            &pd_addr(embedded_sim),
            "--output",
            self.work.path().join("out-embedded").to_str().unwrap(),
        ]);
        for table in TABLES {
            let export = |pd: String| {
                run_ok(&[
                    "export", "--pd", &pd, "--table", table, "--source", &self.dump, "--format",
                    "kv",
                ])
            };
            let (c, e) = (export(pd_addr(&self.sim)), export(pd_addr(embedded_sim)));
            assert!(!c.is_empty(), "{table}: nothing exported");
            assert!(
                c == e,
                "{table}: the cluster left other KVs than the embedded import"
            );
        }
    }
}

/// Parses OpenMetrics text strictly enough to catch a malformed page: every
/// sample belongs to the family its `# TYPE` names, label sets are
/// `name="value"` pairs, values are numbers, histogram buckets grow up to
/// `+Inf` = `_count`, and the page ends with one `# EOF`. Returns each
/// series (`name{labels}` as written) with its value.
fn parse_openmetrics(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut series = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    if lines.last() != Some(&"# EOF") || lines.iter().filter(|l| **l == "# EOF").count() != 1 {
        return Err("the page does not end with exactly one `# EOF`".into());
    }
    let mut family: Option<(String, String)> = None;
    for (n, line) in lines[..lines.len() - 1].iter().enumerate() {
        let bad = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !is_metric_name(name) {
                return Err(bad("bad metric name"));
            }
            match kind {
                "HELP" | "UNIT" => {}
                "TYPE" => {
                    let ty = parts.next().unwrap_or("");
                    let known = [
                        "counter",
                        "gauge",
                        "histogram",
                        "summary",
                        "info",
                        "stateset",
                    ];
                    if !known.contains(&ty) {
                        return Err(bad("unknown type"));
                    }
                    family = Some((name.to_string(), ty.to_string()));
                }
                _ => return Err(bad("unknown comment")),
            }
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').ok_or_else(|| bad("no value"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| bad("value is not a number"))?,
        };
        let name = match name_labels.split_once('{') {
            Some((name, labels)) => {
                let labels = labels
                    .strip_suffix('}')
                    .ok_or_else(|| bad("unclosed labels"))?;
                check_labels(labels).map_err(|why| bad(&why))?;
                name
            }
            None => name_labels,
        };
        let (fam, ty) = family
            .as_ref()
            .ok_or_else(|| bad("sample before any # TYPE"))?;
        let suffixes: &[&str] = match ty.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_count", "_sum", "_created"],
            _ => &[""],
        };
        if !suffixes.iter().any(|s| name == format!("{fam}{s}")) {
            return Err(bad(&format!("not a sample of the {ty} {fam}")));
        }
        if series.insert(name_labels.to_string(), value).is_some() {
            return Err(bad("series repeated"));
        }
    }
    check_histograms(&series)?;
    Ok(series)
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `a="x",b="y \" z"`: names, `=`, quoted values with escapes, commas.
fn check_labels(mut s: &str) -> Result<(), String> {
    while !s.is_empty() {
        let (name, rest) = s.split_once("=\"").ok_or("label without =\"")?;
        if !is_metric_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut end = None;
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.ok_or("unterminated label value")?;
        s = &rest[end + 1..];
        s = match s.strip_prefix(',') {
            Some(more) if !more.is_empty() => more,
            Some(_) => return Err("trailing comma".into()),
            None if s.is_empty() => s,
            None => return Err("labels not separated by commas".into()),
        };
    }
    Ok(())
}

/// Every histogram's buckets are cumulative and `+Inf` equals `_count`.
fn check_histograms(series: &BTreeMap<String, f64>) -> Result<(), String> {
    let mut buckets: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (key, value) in series {
        let Some((name, labels)) = key.split_once("_bucket{") else {
            continue;
        };
        let le = labels
            .split("le=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .ok_or(format!("{key}: bucket without le"))?;
        let le = match le {
            "+Inf" => f64::INFINITY,
            v => v.parse().map_err(|_| format!("{key}: bad le"))?,
        };
        buckets.entry(name).or_default().push((le, *value));
    }
    for (name, mut b) in buckets {
        b.sort_by(|x, y| x.0.total_cmp(&y.0));
        if b.windows(2).any(|w| w[1].1 < w[0].1) {
            return Err(format!("{name}: buckets are not cumulative: {b:?}"));
        }
        let count = series.get(&format!("{name}_count")).copied();
        if b.last().map(|l| (l.0, Some(l.1))) != Some((f64::INFINITY, count)) {
            return Err(format!(
                "{name}: +Inf bucket is not _count ({count:?}): {b:?}"
            ));
        }
    }
    Ok(())
}

/// The bound address the worker logs for `--metrics-addr`.
fn metrics_addr(w: &mut ProcessGuard) -> SocketAddr {
    let line = tokio::task::block_in_place(|| w.wait_for_line("metrics on http://", WAIT)).unwrap();
    line.split("metrics on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

async fn get_metrics(addr: SocketAddr) -> String {
    let resp = request(addr, "GET", "/metrics", "", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.body
}

fn wait(p: &mut ProcessGuard, line: &str) {
    tokio::task::block_in_place(|| p.wait_for_line(line, WAIT))
        .unwrap_or_else(|e| panic!("{e}\n{}", p.output().join("\n")));
}

fn assert_said(p: &ProcessGuard, line: &str) {
    let said = p.output().join("\n");
    assert!(said.contains(line), "no {line:?} in:\n{said}");
}

/// Sends SIGTERM and waits (up to 120 s) for the exit.
fn sigterm_and_wait(p: &mut ProcessGuard) -> std::process::ExitStatus {
    let pid = p.pid().expect("running").to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
    wait_exit(p, Duration::from_secs(120))
}

fn wait_exit(p: &mut ProcessGuard, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {limit:?}:\n{}",
            p.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the followed import to end verified; returns its output.
fn wait_verified(follow: &mut ProcessGuard) -> String {
    let exit = wait_exit(follow, Duration::from_secs(180));
    let out = follow.output().join("\n");
    assert!(exit.success(), "the import ends verified: {exit}\n{out}");
    assert!(out.contains("imported and verified"), "{out}");
    out
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
