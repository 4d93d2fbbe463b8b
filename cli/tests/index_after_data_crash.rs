//! An `index-mode = "after-data"` import killed (SIGKILL) in its index
//! backfill, between two ranges (the `index-backfill-range-done`
//! failpoint), then run again while the test splits the table's regions
//! under it: the rerun resumes the backfill without building the finished
//! ranges again (their records, commit ts included, are unchanged), the
//! job verifies, and TiKV holds byte for byte what a `with-data` import of
//! the same dump holds. Then `squall index backfill` of that table, with
//! entries of every range deleted, killed the same way and run again:
//! it resumes at its stored snapshot and puts every entry back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use squall_common::checkpoint::{CheckpointStore, LocalCheckpointStore};
use squall_common::config::{ByteSize, IndexMode};
use squall_common::TaskConfig;
use squall_coordinator::backfill::records::RangeRecord;
use squall_coordinator::backfill::RANGE_DONE_FAILPOINT;
use squall_tests::kvproto::{delete, import as kv_import, Pd};
use squall_tests::sim::{keep_splitting, start_sim};
use squall_tests::ProcessGuard;
use tikv_sim::SimHandle;
use tokio_util::sync::CancellationToken;

const SQUALL: &str = env!("CARGO_BIN_EXE_squall");
const TABLE: &str = "bc.t";
const FILES: usize = 3;
const ROWS_PER_FILE: usize = 800;
const PAUSE_MS: u64 = 60_000;
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).expect("dump dir");
    std::fs::write(dir.join("bc-schema-create.sql"), "CREATE DATABASE bc;\n").expect("write");
    std::fs::write(
        dir.join("bc.t-schema.sql"),
        "CREATE TABLE `t` (`id` INT NOT NULL PRIMARY KEY, `a` INT, \
         `s` VARCHAR(16) COLLATE utf8mb4_general_ci, KEY `ka` (`a`), UNIQUE KEY `us` (`s`), \
         KEY `kas` (`a`, `s`(2))) DEFAULT CHARSET=utf8mb4;\n",
    )
    .expect("write");
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
            } else {
                format!("Key{i:05}")
            };
            csv.push_str(&format!("{i},{a},{s}\n"));
        }
        std::fs::write(dir.join(format!("bc.t.00000000{}.csv", f + 1)), csv).expect("write");
    }
}

fn config(work: &Path, name: &str, mode: IndexMode) -> PathBuf {
    let mut cfg = TaskConfig::default();
    cfg.tikv_importer.sorted_kv_dir = work.join(name).join("sorted").display().to_string();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(24);
    cfg.tikv_importer.region_split_size = ByteSize::kib(12);
    // One range at a time: the kill finds ranges done and ranges left.
    cfg.lightning.region_concurrency = 1;
    cfg.squall.max_retries = 20;
    cfg.squall.index_mode = mode;
    let path = work.join(format!("{name}.toml"));
    std::fs::write(&path, toml::to_string(&cfg).expect("config serializes")).expect("config");
    path
}

fn import(
    sim: &SimHandle,
    dump: &Path,
    config: &Path,
    out: &Path,
    fp: Option<&str>,
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
    cmd.arg(dump)
        .arg("--pd")
        .arg(sim.pd_addr.to_string())
        .arg("--output")
        .arg(out);
    match fp {
        Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
        None => cmd.env_remove(squall_common::failpoint::ENV),
    };
    ProcessGuard::spawn("import", cmd).expect("spawn squall import")
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

/// Runs an import to its end; panics unless it exits 0 verified.
fn import_to_end(sim: &SimHandle, dump: &Path, config: &Path, out: &Path) -> Vec<String> {
    let mut p = import(sim, dump, config, out, None);
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
    output
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
    String::from_utf8(output.stdout).expect("export is UTF-8")
}

/// The job's backfill range records: key → (commit ts, done).
async fn ranges(checkpoint: &Path) -> BTreeMap<String, RangeRecord> {
    let store = LocalCheckpointStore::open(checkpoint).expect("checkpoint store");
    let listed = store.list("squall/jobs/").await.expect("list");
    listed
        .into_iter()
        .filter(|(k, _)| k.contains("/backfill/") && !k.ends_with("/plan"))
        .map(|(k, v)| {
            let r: RangeRecord = serde_json::from_slice(&v.value).expect("range record");
            (k, r)
        })
        .collect()
}
fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_data_backfill_killed_between_ranges_resumes_exact() {
    let work = tempfile::tempdir().expect("temp dir");
    let dump = work.path().join("dump");
    write_dump(&dump);

    // The reference: with-data, uninterrupted.
    let sim = start_sim(&work.path().join("ref-sim")).await;
    let cfg = config(work.path(), "ref", IndexMode::WithData);
    import_to_end(&sim, &dump, &cfg, &work.path().join("ref"));
    let want = export_kvs(&sim, &dump);
    sim.shutdown().await;
    assert!(want.lines().count() >= 4 * FILES * ROWS_PER_FILE - FILES * ROWS_PER_FILE / 13 - 10);

    let sim = start_sim(&work.path().join("ad-sim")).await;
    let cfg = config(work.path(), "ad", IndexMode::AfterData);
    let out = work.path().join("ad");
    let spec = format!("{RANGE_DONE_FAILPOINT}=pause({PAUSE_MS})@2");
    let mut p = import(&sim, &dump, &cfg, &out, Some(&spec));
    let reached = format!("failpoint {RANGE_DONE_FAILPOINT} reached");
    if let Err(e) = p.wait_for_line(&reached, RUN_TIMEOUT) {
        panic!("{e}\n{}", p.output().join("\n"));
    }
    let pid = p.pid().expect("running").to_string();
    let sent = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    wait_exit(&mut p, Duration::from_secs(60));
    let before = ranges(&out.join("checkpoint")).await;
    let done_before: Vec<&String> = before
        .iter()
        .filter(|(_, r)| r.done.is_some())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        done_before.len(),
        2,
        "two ranges done at the kill: {before:?}"
    );

    // Rerun while regions split at row keys of the table.
    let split_at: Vec<Vec<u8>> = want
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, _)| hex_bytes(k))
        .filter(|k| k.len() > 10 && &k[9..11] == b"_r")
        .step_by(97)
        .skip(1)
        .collect();
    let stop = CancellationToken::new();
    let splitter = tokio::spawn(keep_splitting(
        sim.pd_addr.to_string(),
        split_at,
        stop.clone(),
    ));
    let rerun = import_to_end(&sim, &dump, &cfg, &out);
    stop.cancel();
    let made = splitter.await.expect("splitter");
    assert!(made > 0, "no region split during the rerun");
    assert!(
        rerun
            .iter()
            .any(|l| l.contains("finished ranges are not built again")),
        "the rerun resumed the backfill:\n{}",
        rerun.join("\n")
    );
    let after = ranges(&out.join("checkpoint")).await;
    assert_eq!(after.len(), before.len().max(after.len()));
    assert!(after.values().all(|r| r.done.is_some()), "{after:?}");
    for key in done_before {
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
    let got = export_kvs(&sim, &dump);
    assert!(got == want, "TiKV holds what a with-data import holds");

    // `squall index backfill` of the same table, entries of every range
    // deleted first, killed after its second range and run again.
    let entries: Vec<Vec<u8>> = want
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, _)| hex_bytes(k))
        .filter(|k| k.len() > 10 && &k[9..11] == b"_i")
        .step_by(151)
        .collect();
    assert!(entries.len() > 10, "{}", entries.len());
    let mut kv = Pd::connect(&sim.pd_addr.to_string()).await.expect("PD");
    for k in &entries {
        let ts = kv.tso().await;
        kv_import(&mut kv, vec![delete(k)], ts)
            .await
            .expect("delete an entry");
    }
    assert!(export_kvs(&sim, &dump) != want, "entries were deleted");
    let records = work.path().join("ad/sorted/index-backfill-checkpoint");
    let mut p = backfill(&sim, &dump, &cfg, Some(&spec));
    if let Err(e) = p.wait_for_line(&reached, RUN_TIMEOUT) {
        panic!("{e}\n{}", p.output().join("\n"));
    }
    let pid = p.pid().expect("running").to_string();
    let sent = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    wait_exit(&mut p, Duration::from_secs(60));
    let store = LocalCheckpointStore::open(&records).expect("records");
    let left: Vec<String> = store
        .list("squall/index-backfill/")
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    // The plan and the two finished ranges' records stay for the rerun.
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left[0].ends_with("/plan"), "{left:?}");
    let mut p = backfill(&sim, &dump, &cfg, None);
    let status = wait_exit(&mut p, RUN_TIMEOUT);
    let output = p.final_output().join("\n");
    assert!(status.success(), "{output}");
    assert!(
        output.contains("(2 finished by an earlier run)"),
        "{output}"
    );
    let store = LocalCheckpointStore::open(&records).expect("records");
    assert!(store
        .list("squall/index-backfill/")
        .await
        .expect("list")
        .is_empty());
    assert!(
        export_kvs(&sim, &dump) == want,
        "the backfill put every entry back"
    );
    sim.shutdown().await;
}

fn backfill(sim: &SimHandle, dump: &Path, config: &Path, fp: Option<&str>) -> ProcessGuard {
    let mut cmd = Command::new(SQUALL);
    cmd.arg("--config").arg(config);
    cmd.args([
        "index",
        "backfill",
        "--table",
        TABLE,
        "--batch-size",
        "64",
        "--pd",
    ]);
    cmd.arg(sim.pd_addr.to_string()).arg("--source").arg(dump);
    match fp {
        Some(spec) => cmd.env(squall_common::failpoint::ENV, spec),
        None => cmd.env_remove(squall_common::failpoint::ENV),
    };
    ProcessGuard::spawn("index backfill", cmd).expect("spawn squall index backfill")
}
