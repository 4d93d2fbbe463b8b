//! Exactly once under every interruption (issue 20): the real `squall`
//! binary is stopped at a failpoint in every phase — planning, encode, local
//! sort, ingest, duplicate detection (mid-stream), conflict resolution
//! (between its writes), checksum, report writing — with SIGKILL or SIGINT,
//! then run again with the same command. The rerun must end with what one
//! uninterrupted run gives: the same KVs in TiKV (every key and value of the
//! table, indexes included), the same conflict report lines and the same
//! per-table totals (rows, checksum, conflicts, local duplicates).
//!
//! The dump has duplicates inside one engine (a file repeats its own ids),
//! across engines (a file repeats the previous file's ids) and on a unique
//! index, so detection, resolution and the report all have work to do.
//!
//! `scripts/test.sh` runs the quick cases (every point once, signals and
//! strategies rotated); `SQUALL_CRASH_MATRIX=full` runs every point × signal
//! × strategy.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, LocalCheckpointStore, RangeCheckpoint, RangeState,
    Stored, TableCheckpoint,
};
use squall_common::config::ByteSize;
use squall_common::TaskConfig;
use squall_tests::sim::start_sim;
use squall_tests::ProcessGuard;
use tikv_sim::SimHandle;

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLE: &str = "crash.t";
const FILES: usize = 4;
const ROWS_PER_FILE: i64 = 900;
/// How long a failpoint holds the process: the signal arrives inside it.
const PAUSE_MS: u64 = 5_000;
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
enum Signal {
    Kill,
    Int,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Record,
    Remove,
    Replace,
}

impl Strategy {
    /// `record` keeps every copy: conflict resolution writes nothing, so
    /// its failpoint is never reached.
    fn reaches(self, point: &str) -> bool {
        !(self == Strategy::Record && point.starts_with("resolve."))
    }

    fn name(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::Remove => "remove",
            Self::Replace => "replace",
        }
    }
}

/// Every failpoint, with the hit to stop at (past the first where the phase
/// repeats, so the stop is mid-phase).
const POINTS: &[(&str, u32)] = &[
    ("plan.engine-persisted", 2),
    ("encode.chunk-done", 2),
    ("sort.run-written", 2),
    ("ingest.region-done", 3),
    ("detect.segment-saved", 2),
    ("resolve.region-written", 1),
    ("checksum.piece-done", 2),
    ("report.jsonl-written", 1),
];

/// What a finished import leaves that must not depend on interruptions.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// `key\tvalue` hex lines of the whole table (rows and indexes).
    kvs: String,
    /// Report lines without `commit_ts` (timestamps differ between clusters).
    report: Vec<String>,
    /// Per table: rows, checksum, conflicts, local duplicates, skipped rows.
    totals: Vec<String>,
}

struct Fixture {
    work: tempfile::TempDir,
    dump: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let work = tempfile::tempdir().expect("temp dir");
        let dump = work.path().join("dump");
        write_dump(&dump);
        Self { work, dump }
    }

    fn config(&self, strategy: Strategy, name: &str) -> PathBuf {
        self.config_with(strategy, name, false)
    }

    /// [`Self::config`], with `squall.engine-ranges` as `ranges` says.
    fn config_with(&self, strategy: Strategy, name: &str, ranges: bool) -> PathBuf {
        let mut cfg = TaskConfig::default();
        cfg.squall.engine_ranges = ranges;
        cfg.tikv_importer.sorted_kv_dir = self
            .work
            .path()
            .join(name)
            .join("sorted")
            .display()
            .to_string();
        cfg.mydumper.max_region_size = ByteSize::kib(16);
        cfg.mydumper.batch_size = ByteSize::kib(40);
        cfg.tikv_importer.region_split_size = ByteSize::kib(24);
        cfg.tikv_importer.local_writer_mem_cache_size = ByteSize::kib(64);
        cfg.lightning.region_concurrency = 2;
        cfg.conflict.strategy = strategy.name().parse().expect("strategy");
        cfg.squall.max_retries = 20;
        let path = self.work.path().join(format!("{name}.toml"));
        std::fs::write(&path, toml::to_string(&cfg).expect("config serializes"))
            .expect("write config");
        path
    }

    fn import(
        &self,
        sim: &SimHandle,
        config: &Path,
        out: &Path,
        failpoint: Option<&str>,
    ) -> ProcessGuard {
        let mut cmd = Command::new(SQUALL);
        cmd.arg("--config").arg(config);
        cmd.args([
            "--log-level",
            "info",
            "import",
            "--progress",
            "log",
            "--source",
        ]);
        cmd.arg(&self.dump)
            .arg("--pd")
            .arg(sim.pd_addr.to_string())
            .arg("--output")
            .arg(out);
        match failpoint {
            Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
            None => cmd.env_remove(squall_common::failpoint::ENV),
        };
        ProcessGuard::spawn("import", cmd).expect("spawn squall import")
    }

    /// One run to its end; panics unless it exits 0 saying "verified".
    fn import_to_end(&self, sim: &SimHandle, config: &Path, out: &Path) {
        let mut p = self.import(sim, config, out, None);
        let status = wait_exit(&mut p, RUN_TIMEOUT);
        let output = p.final_output();
        assert!(
            status.success(),
            "import exits 0: {status}\n{}",
            output.join("\n")
        );
        assert!(
            output.iter().any(|l| l.contains("verified")),
            "summary says verified:\n{}",
            output.join("\n")
        );
    }

    async fn outcome(&self, sim: &SimHandle, out: &Path) -> Outcome {
        Outcome {
            kvs: export_kvs(sim, &self.dump),
            report: report_lines(&out.join("conflicts")),
            totals: table_totals(&out.join("checkpoint")).await,
        }
    }
}

/// The reference for `strategy`: one uninterrupted run into its own cluster.
async fn reference(fx: &Fixture, strategy: Strategy) -> Outcome {
    let name = format!("ref-{}", strategy.name());
    let sim = start_sim(&fx.work.path().join(format!("{name}-sim"))).await;
    let out = fx.work.path().join(&name);
    let config = fx.config(strategy, &name);
    fx.import_to_end(&sim, &config, &out);
    let outcome = fx.outcome(&sim, &out).await;
    assert!(
        !outcome.report.is_empty(),
        "the dump has conflicts to report"
    );
    sim.shutdown().await;
    outcome
}

/// Stops a run at `point` with `signal`, reruns it, compares with `want`.
async fn crash_case(
    fx: &Fixture,
    want: &Outcome,
    strategy: Strategy,
    (point, hit): (&str, u32),
    signal: Signal,
) {
    let name = format!("{}-{point}-{hit}-{signal:?}", strategy.name());
    eprintln!("case {name}");
    let sim = start_sim(&fx.work.path().join(format!("{name}-sim"))).await;
    let out = fx.work.path().join(&name);
    let config = fx.config(strategy, &name);
    let spec = format!("{point}=pause({PAUSE_MS})@{hit}");
    let mut p = fx.import(&sim, &config, &out, Some(&spec));
    let reached = format!("failpoint {point} reached");
    if let Err(e) = p.wait_for_line(&reached, RUN_TIMEOUT) {
        panic!("{name}: {e}\n{}", p.output().join("\n"));
    }
    stop(&mut p, signal, &name);
    let before = engines(&out.join("checkpoint")).await;
    fx.import_to_end(&sim, &config, &out);
    let after = engines(&out.join("checkpoint")).await;
    for (key, (ts, done)) in &before {
        let (ts_after, done_after) = after
            .get(key)
            .unwrap_or_else(|| panic!("{name}: {key} kept"));
        assert_eq!(
            ts, ts_after,
            "{name}: {key}: a stored commit ts never changes"
        );
        if done.is_some() {
            assert_eq!(
                done, done_after,
                "{name}: {key}: a done engine is not redone"
            );
        }
    }
    let got = fx.outcome(&sim, &out).await;
    assert_eq!(
        got.totals, want.totals,
        "{name}: per-table totals equal a clean run's"
    );
    assert_eq!(
        got.report, want.report,
        "{name}: the conflict report equals a clean run's"
    );
    assert!(
        got.kvs == want.kvs,
        "{name}: TiKV holds the same KVs as after a clean run"
    );
    sim.shutdown().await;
}

/// SIGKILL, or SIGINT followed by a clean exit 130 (checkpointed).
fn stop(p: &mut ProcessGuard, signal: Signal, name: &str) {
    let pid = p.pid().expect("running").to_string();
    let flag = match signal {
        Signal::Kill => "-KILL",
        Signal::Int => "-INT",
    };
    let sent = Command::new("kill")
        .args([flag, &pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "{name}: kill {flag} {pid}");
    let status = wait_exit(p, Duration::from_secs(PAUSE_MS / 1000 + 120));
    if let Signal::Int = signal {
        // 130: stopped and checkpointed; 0: it had nothing left to cancel.
        assert!(
            matches!(status.code(), Some(130 | 0)),
            "{name}: Ctrl-C exits 130 (or 0 when it finished first): {status}\n{}",
            p.output().join("\n")
        );
    }
}

fn wait_exit(p: &mut ProcessGuard, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = p.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "import did not end in {timeout:?}: {}",
            p.output().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn export_kvs(sim: &SimHandle, dump: &Path) -> String {
    let output = Command::new(SQUALL)
        .args(["export", "--format", "kv", "--table", TABLE, "--pd"])
        .arg(sim.pd_addr.to_string())
        .arg("--source")
        .arg(dump)
        .output()
        .expect("run squall export");
    assert!(
        output.status.success(),
        "export: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let kvs = String::from_utf8(output.stdout).expect("export is UTF-8");
    assert!(
        kvs.lines().count() as i64 >= ROWS_PER_FILE,
        "the table was imported"
    );
    kvs
}

/// Every JSONL line of the report, `commit_ts` removed, sorted.
fn report_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return lines;
    };
    for entry in entries {
        let path = entry.expect("report entry").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).expect("read report").lines() {
                let mut v: serde_json::Value =
                    serde_json::from_str(line).expect("report line is JSON");
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("commit_ts");
                }
                lines.push(v.to_string());
            }
        }
    }
    lines.sort();
    lines
}

/// Engine key → (commit ts, attempt that finished it).
async fn engines(checkpoint: &Path) -> BTreeMap<String, (u64, Option<u32>)> {
    let Ok(store) = LocalCheckpointStore::open(checkpoint) else {
        return BTreeMap::new();
    };
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
            (s.key, (s.record.commit_ts, done))
        })
        .collect()
}

async fn table_totals(checkpoint: &Path) -> Vec<String> {
    let store = LocalCheckpointStore::open(checkpoint).expect("open checkpoint");
    let tables: Vec<Stored<TableCheckpoint>> = typed::read_all(&store, &keys::jobs_prefix())
        .await
        .unwrap_or_default();
    tables
        .into_iter()
        .filter(|t| t.key.contains("/tables/"))
        .map(|t| {
            let l = t.record.local.unwrap_or_default();
            format!(
                "{} {:?} rows={} checksum={} conflicts={} local_dups={} skipped={} remote={:?}",
                t.record.table.qualified_name(),
                t.record.state,
                l.rows,
                l.checksum,
                l.conflicts,
                l.local_duplicates,
                l.skipped_rows,
                t.record.remote.map(|r| r.to_string()),
            )
        })
        .collect()
}

/// Four CSV files of `crash.t`, one engine each: every 37th row repeats an
/// id of its own file (in-engine duplicate), every 41st an id of the file
/// before (cross-engine), every 43rd the unique `u` of an earlier row.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dump dir");
    std::fs::write(
        dir.join("crash-schema-create.sql"),
        "CREATE DATABASE `crash`;\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("crash.t-schema.sql"),
        "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `u` varchar(24) NOT NULL,\n  `v` int DEFAULT NULL,\n  \
         `name` varchar(64) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `uk` (`u`),\n  KEY `kv` (`v`)\n);\n",
    )
    .expect("write schema");
    for f in 0..FILES as i64 {
        let mut csv = String::from("id,u,v,name\n");
        let base = f * ROWS_PER_FILE;
        for i in 1..=ROWS_PER_FILE {
            let mut id = base + i;
            if i % 37 == 0 {
                id = base + i / 2;
            } else if f > 0 && i % 41 == 0 {
                id = base - i;
            }
            let u = if i % 43 == 0 {
                format!("u{}", base + i - 7)
            } else {
                format!("u{}", base + i)
            };
            csv.push_str(&format!(
                "{id},{u},{},\"row {f}-{i}, id {id}\"\n",
                (base + i) % 97
            ));
        }
        std::fs::write(dir.join(format!("crash.t.{:09}.csv", f + 1)), csv).expect("write data");
    }
}

/// Quick cases: each point once, strategies and signals rotated so that
/// every strategy and both signals are covered. The scenario (Ctrl-C
/// during detection, `replace`) is always among them.
fn quick_cases(strategy: Strategy) -> Vec<((&'static str, u32), Signal)> {
    let offset = match strategy {
        Strategy::Record => 0,
        Strategy::Remove => 1,
        Strategy::Replace => 2,
    };
    POINTS
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == offset)
        .map(|(i, p)| {
            (
                *p,
                if (i / 3) % 2 == 0 {
                    Signal::Int
                } else {
                    Signal::Kill
                },
            )
        })
        .chain(
            (strategy == Strategy::Replace).then_some((("detect.segment-saved", 2), Signal::Int)),
        )
        .collect()
}

fn full_matrix() -> bool {
    std::env::var("SQUALL_CRASH_MATRIX").is_ok_and(|v| v == "full")
}

async fn run_strategy(strategy: Strategy) {
    let fx = Fixture::new();
    let want = reference(&fx, strategy).await;
    let cases: Vec<_> = if full_matrix() {
        POINTS
            .iter()
            .filter(|p| strategy.reaches(p.0))
            .flat_map(|p| [(*p, Signal::Kill), (*p, Signal::Int)])
            .collect()
    } else {
        quick_cases(strategy)
    };
    let mut seen = BTreeMap::new();
    for (point, signal) in cases {
        if seen.insert((point, format!("{signal:?}")), ()).is_some() {
            continue;
        }
        crash_case(&fx, &want, strategy, point, signal).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_anywhere_record() {
    run_strategy(Strategy::Record).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_anywhere_remove() {
    run_strategy(Strategy::Remove).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_anywhere_replace() {
    run_strategy(Strategy::Replace).await;
}

/// Engine ranges (`squall.engine-ranges`): both task kinds stopped mid-way,
/// an encode task after it put a run file, an ingest task after its range
/// was ingested but before it was recorded. The rerun must equal a clean
/// run with engine ranges (same KVs, totals and report), keep every stored
/// commit ts (engines and ranges) and redo no done engine or range.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_anywhere_engine_ranges() {
    let fx = Fixture::new();
    let strategy = Strategy::Record;
    let sim = start_sim(&fx.work.path().join("ref-ranges-sim")).await;
    let out = fx.work.path().join("ref-ranges");
    let config = fx.config_with(strategy, "ref-ranges", true);
    fx.import_to_end(&sim, &config, &out);
    let want = fx.outcome(&sim, &out).await;
    sim.shutdown().await;
    let points: &[((&str, u32), Signal)] = if full_matrix() {
        &[
            (("encode.run-written", 2), Signal::Kill),
            (("encode.run-written", 2), Signal::Int),
            (("range.ingested", 2), Signal::Kill),
            (("range.ingested", 2), Signal::Int),
        ]
    } else {
        &[
            (("encode.run-written", 2), Signal::Kill),
            (("range.ingested", 2), Signal::Int),
        ]
    };
    for &((point, hit), signal) in points {
        let name = format!("ranges-{point}-{hit}-{signal:?}");
        eprintln!("case {name}");
        let sim = start_sim(&fx.work.path().join(format!("{name}-sim"))).await;
        let out = fx.work.path().join(&name);
        let config = fx.config_with(strategy, &name, true);
        let spec = format!("{point}=pause({PAUSE_MS})@{hit}");
        let mut p = fx.import(&sim, &config, &out, Some(&spec));
        let reached = format!("failpoint {point} reached");
        if let Err(e) = p.wait_for_line(&reached, RUN_TIMEOUT) {
            panic!("{name}: {e}\n{}", p.output().join("\n"));
        }
        stop(&mut p, signal, &name);
        let before = leases(&out.join("checkpoint")).await;
        fx.import_to_end(&sim, &config, &out);
        let after = leases(&out.join("checkpoint")).await;
        assert!(
            before.keys().any(|k| k.contains("/ranges/")),
            "{name}: the ranges were planned before the stop"
        );
        for (key, (ts, done)) in &before {
            let (ts_after, done_after) = after
                .get(key)
                .unwrap_or_else(|| panic!("{name}: {key} kept"));
            assert_eq!(
                ts, ts_after,
                "{name}: {key}: a stored commit ts never changes"
            );
            if done.is_some() {
                assert_eq!(done, done_after, "{name}: {key}: a done task is not redone");
            }
        }
        let got = fx.outcome(&sim, &out).await;
        assert_eq!(
            got.totals, want.totals,
            "{name}: per-table totals equal a clean run's"
        );
        assert_eq!(
            got.report, want.report,
            "{name}: the report equals a clean run's"
        );
        assert!(
            got.kvs == want.kvs,
            "{name}: TiKV holds the same KVs as after a clean run"
        );
        sim.shutdown().await;
    }
}

/// Engine and range key → (commit ts, attempt that finished it). Each key
/// is read as its own record type (a listing of the job holds every kind).
async fn leases(checkpoint: &Path) -> BTreeMap<String, (u64, Option<u32>)> {
    use squall_common::checkpoint::CheckpointStore;
    let mut all = BTreeMap::new();
    let Ok(store) = LocalCheckpointStore::open(checkpoint) else {
        return all;
    };
    let listed = store.list(&keys::jobs_prefix()).await.unwrap_or_default();
    for (key, _) in listed {
        if key.contains("/engines/") {
            if let Ok(Some(e)) = typed::read::<EngineCheckpoint>(&store, &key).await {
                let done = match &e.record.state {
                    EngineState::Done(r) => Some(r.attempt),
                    _ => None,
                };
                all.insert(key, (e.record.commit_ts, done));
            }
        } else if key.contains("/ranges/") {
            if let Ok(Some(r)) = typed::read::<RangeCheckpoint>(&store, &key).await {
                let done = match &r.record.state {
                    RangeState::Done(d) => Some(d.attempt),
                    _ => None,
                };
                all.insert(key, (r.record.commit_ts, done));
            }
        }
    }
    all
}
