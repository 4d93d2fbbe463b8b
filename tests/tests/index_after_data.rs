//! `squall.index-mode = "after-data"` (issue 17) against tikv-sim: the
//! engines write rows only and post-processing builds every index from the
//! imported rows (checkpointed range tasks). The same dump imported both
//! ways reads back byte for byte equal (every KV: rows and entries), both
//! verified with equal checksums, over tables with an integer PK,
//! `_tidb_rowid`, a clustered non-integer PK, composite and prefix indexes,
//! NULLs and collated strings, and a table big enough for several engines
//! and regions (so entries of different ranges meet in the cross-range
//! unique check). A unique violation (inside a range, and across ranges)
//! fails the job naming both handles; a shared primary key fails both modes
//! with the same conflict report; conflict strategies other than "error"
//! are refused with the mode.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, export, import, import_showing};
use squall_common::checkpoint::{keys, typed, EngineCheckpoint, EngineState, Stored};
use squall_common::config::{ConflictStrategy, IndexMode};
use squall_common::TaskConfig;
use squall_coordinator::backfill::records::BackfillPlan;
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;
use tikv_sim::SimHandle;

const TABLES: &[(&str, &str, &str)] = &[
    (
        "t_int",
        "CREATE TABLE `t_int` (\n\
          `id` INT NOT NULL PRIMARY KEY,\n\
          `a` INT,\n\
          `s` VARCHAR(20) COLLATE utf8mb4_general_ci,\n\
          KEY `ka` (`a`),\n\
          UNIQUE KEY `us` (`s`),\n\
          KEY `kas` (`a`, `s`(3))\n\
        ) DEFAULT CHARSET=utf8mb4;\n",
        "id,a,s\n1,10,Alpha\n2,\\N,beta\n3,10,\\N\n4,-5,\\N\n5,7,Gamma ray\n6,7,délta\n",
    ),
    (
        "t_rowid",
        "CREATE TABLE `t_rowid` (\n\
          `a` INT,\n\
          `b` VARCHAR(10) COLLATE utf8mb4_bin,\n\
          KEY `kb` (`b`),\n\
          UNIQUE KEY `ua` (`a`)\n\
        ) DEFAULT CHARSET=utf8mb4;\n",
        "a,b\n1,x\n2,y\n\\N,x\n\\N,\\N\n5,zz\n",
    ),
    (
        "t_common",
        "CREATE TABLE `t_common` (\n\
          `code` VARCHAR(10) COLLATE utf8mb4_unicode_ci NOT NULL,\n\
          `n` INT,\n\
          `m` DECIMAL(6,2),\n\
          PRIMARY KEY (`code`) CLUSTERED,\n\
          KEY `kn` (`n`, `m`),\n\
          UNIQUE KEY `um` (`m`)\n\
        ) DEFAULT CHARSET=utf8mb4;\n",
        "code,n,m\nabc,1,1.50\nAbd,1,\\N\nxyz,\\N,2.25\nq,3,\\N\n",
    ),
];

/// Rows of the big table (several engines, so several regions).
const BIG_ROWS: usize = 3000;

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ad-schema-create.sql"), "CREATE DATABASE ad;\n").unwrap();
    for (name, schema, rows) in TABLES {
        std::fs::write(dir.join(format!("ad.{name}-schema.sql")), schema).unwrap();
        std::fs::write(dir.join(format!("ad.{name}.000000001.csv")), rows).unwrap();
    }
    std::fs::write(
        dir.join("ad.big-schema.sql"),
        "CREATE TABLE `big` (`id` INT NOT NULL PRIMARY KEY, `a` INT, \
         `s` VARCHAR(16) COLLATE utf8mb4_general_ci, KEY `ka` (`a`), UNIQUE KEY `us` (`s`), \
         KEY `kas` (`a`, `s`(2))) DEFAULT CHARSET=utf8mb4;\n",
    )
    .unwrap();
    // Three files: three chunks, engines of at most one file each.
    for f in 0..3 {
        let mut csv = String::from("id,a,s\n");
        for i in (f * BIG_ROWS / 3)..((f + 1) * BIG_ROWS / 3) {
            let a = if i % 7 == 0 {
                "\\N".into()
            } else {
                (i % 50).to_string()
            };
            let s = if i % 11 == 0 {
                "\\N".into()
            } else {
                format!("s{i:05}")
            };
            csv.push_str(&format!("{i},{a},{s}\n"));
        }
        std::fs::write(dir.join(format!("ad.big.00000000{}.csv", f + 1)), csv).unwrap();
    }
}

fn test_config(work: &Path, mode: IndexMode) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    // Small engines and regions: the big table spans several of each.
    cfg.mydumper.batch_size = squall_common::config::ByteSize(20_000);
    cfg.tikv_importer.region_split_size = squall_common::config::ByteSize(16_384);
    cfg.squall.index_mode = mode;
    cfg
}

fn all_tables() -> Vec<String> {
    TABLES
        .iter()
        .map(|(t, _, _)| format!("ad.{t}"))
        .chain(["ad.big".to_string()])
        .collect()
}

/// Every KV of `table`, in key order, as `key\tvalue` hex lines.
async fn raw(sim: &SimHandle, source: &Path, cfg: &TaskConfig, table: &str) -> String {
    export(sim, source, cfg, table, ExportFormat::Kv).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_data_reads_back_identical_to_with_data() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let mut kvs = Vec::new();
    let mut summaries = Vec::new();
    for mode in [IndexMode::WithData, IndexMode::AfterData] {
        let dir = work.path().join(mode.as_str());
        let sim = start_sim(&dir.join("sim")).await;
        let cfg = test_config(&dir, mode);
        let progress = squall_coordinator::ImportProgress::new();
        let summary = import_showing(&sim, &source, cfg.clone(), &dir, progress.clone())
            .await
            .unwrap_or_else(|e| panic!("{mode} import: {e}"));
        assert!(summary.verified, "{mode}: {summary}");
        let mut tables = Vec::new();
        for t in all_tables() {
            tables.push((t.clone(), raw(&sim, &source, &cfg, &t).await));
        }
        if mode == IndexMode::WithData {
            assert_eq!(progress.backfill().await, None, "no backfill to show");
        }
        if mode == IndexMode::AfterData {
            // Several ranges were built, each recorded done.
            let store =
                squall_common::checkpoint::LocalCheckpointStore::open(dir.join("out/checkpoint"))
                    .unwrap();
            let status = squall_coordinator::backfill::job_backfill_status(&store, &summary.job_id)
                .await
                .unwrap()
                .expect("the job has backfill records");
            assert!(status.ranges_total > 4, "{status:?}");
            // What the progress display shows is that status.
            assert_eq!(progress.backfill().await, Some(status));
            assert_eq!(status.ranges_done, status.ranges_total, "{status:?}");
            let rows: u64 = summary.rows();
            assert_eq!(status.rows_scanned, rows, "{status:?}");
            assert!(status.entries_written > rows, "{status:?}");
            // The engines wrote rows only: no index checksum in any of them.
            let engines: Vec<Stored<EngineCheckpoint>> =
                typed::read_all(&store, &keys::engines_prefix(&summary.job_id))
                    .await
                    .unwrap();
            assert!(engines.len() > 3, "{}", engines.len());
            for e in &engines {
                let EngineState::Done(r) = &e.record.state else {
                    panic!("{}: {:?}", e.key, e.record.state)
                };
                assert!(r.indexes.is_empty(), "{}: {:?}", e.key, r.indexes);
                assert_eq!(r.kvs, r.rows, "{}: one KV per row", e.key);
            }
        }
        kvs.push(tables);
        summaries.push(summary);
        sim.shutdown().await;
    }
    for ((table, with), (_, after)) in kvs[0].iter().zip(&kvs[1]) {
        assert!(with.lines().count() > 3, "{table}: {with}");
        assert!(
            with.lines()
                .any(|l| l.starts_with("74") && l.contains("5f6980")),
            "{table} has index entries"
        );
        assert_eq!(with, after, "{table}: after-data differs from with-data");
    }
    // The expected checksums (rows and every index) are equal too.
    for (w, a) in summaries[0].tables.iter().zip(&summaries[1].tables) {
        assert_eq!(w.name, a.name);
        assert_eq!(w.local, a.local, "{}", w.name);
        assert_eq!(w.rows, a.rows, "{}", w.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_data_unique_violation_fails_naming_both_handles() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("ad-schema-create.sql"), "CREATE DATABASE ad;\n").unwrap();
    std::fs::write(
        source.join("ad.u-schema.sql"),
        "CREATE TABLE `u` (`id` INT NOT NULL PRIMARY KEY, `s` VARCHAR(10), \
         UNIQUE KEY `us` (`s`));\n",
    )
    .unwrap();
    std::fs::write(source.join("ad.u.000000001.csv"), "id,s\n1,x\n2,y\n").unwrap();
    std::fs::write(source.join("ad.u.000000002.csv"), "id,s\n9,x\n").unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path(), IndexMode::AfterData);
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("a unique violation fails the job");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "unique index us: value (s='x') is held by the rows with handles 1 and 9: \
             (id=1, s='x') and (id=9, s='x')"
        ),
        "{msg}"
    );
    sim.shutdown().await;
}

/// A primary key shared by rows of two files under `conflict.strategy =
/// "error"`: both modes fail the job with the same conflict report (the
/// duplicate step runs on the rows before any index is built).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_data_pk_conflict_ends_as_with_data() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("ad-schema-create.sql"), "CREATE DATABASE ad;\n").unwrap();
    std::fs::write(
        source.join("ad.p-schema.sql"),
        "CREATE TABLE `p` (`id` INT NOT NULL PRIMARY KEY, `s` VARCHAR(10), `a` INT, \
         UNIQUE KEY `us` (`s`), KEY `ka` (`a`));\n",
    )
    .unwrap();
    std::fs::write(source.join("ad.p.000000001.csv"), "id,s,a\n1,a,5\n2,b,6\n").unwrap();
    std::fs::write(source.join("ad.p.000000002.csv"), "id,s,a\n1,c,7\n").unwrap();
    let mut reports = Vec::new();
    for mode in [IndexMode::WithData, IndexMode::AfterData] {
        let dir = work.path().join(mode.as_str());
        let sim = start_sim(&dir.join("sim")).await;
        let cfg = test_config(&dir, mode);
        let err = import(&sim, &source, cfg, &dir)
            .await
            .expect_err("a conflict fails the job under \"error\"");
        assert!(err.to_string().contains("conflict"), "{mode}: {err}");
        let text = std::fs::read_to_string(dir.join("out/conflicts/ad.p.jsonl"))
            .unwrap_or_else(|e| panic!("{mode}: the report: {e}"));
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if let Some(o) = v.as_object_mut() {
                    o.retain(|k, _| !k.contains("commit"));
                }
                v.to_string()
            })
            .collect();
        lines.sort();
        assert!(!lines.is_empty(), "{mode}");
        reports.push(lines);
        sim.shutdown().await;
    }
    assert_eq!(reports[0], reports[1], "the conflict reports differ");
}

/// Two rows far apart (different engines, regions and backfill ranges)
/// holding one unique value: no range's engine sees both, the cross-range
/// DuplicateDetect does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_data_unique_violation_across_ranges_names_both_handles() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("ad-schema-create.sql"), "CREATE DATABASE ad;\n").unwrap();
    std::fs::write(
        source.join("ad.w-schema.sql"),
        "CREATE TABLE `w` (`id` INT NOT NULL PRIMARY KEY, `s` VARCHAR(16), `a` INT, \
         UNIQUE KEY `us` (`s`), KEY `ka` (`a`));\n",
    )
    .unwrap();
    for f in 0..3 {
        let mut csv = String::from("id,s,a\n");
        for i in (f * 1000)..((f + 1) * 1000) {
            let s = if i == 5 || i == 2900 {
                "dup".to_string()
            } else {
                format!("v{i:05}")
            };
            csv.push_str(&format!("{i},{s},{}\n", i % 9));
        }
        std::fs::write(source.join(format!("ad.w.00000000{}.csv", f + 1)), csv).unwrap();
    }
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path(), IndexMode::AfterData);
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("a unique violation fails the job");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "unique index us: value (s='dup') is held by the rows with handles 5 and 2900: \
             (id=5, s='dup', a=5) and (id=2900, s='dup', a=2)"
        ),
        "{msg}"
    );
    assert!(sim.regions().len() > 3, "the rows span several regions");
    // The two rows are in different ranges of the backfill's plan.
    let store =
        squall_common::checkpoint::LocalCheckpointStore::open(work.path().join("out/checkpoint"))
            .unwrap();
    let listed = squall_common::checkpoint::CheckpointStore::list(&store, "squall/jobs/")
        .await
        .unwrap();
    let (key, value) = listed
        .iter()
        .find(|(k, _)| k.ends_with("/plan"))
        .expect("a backfill plan");
    let plan: BackfillPlan = typed::decode(key, &value.value).unwrap();
    let range_of = |h: i64| {
        let k = squall_codec::key::record_key(plan.ranges[0].pid, &squall_codec::Handle::Int(h));
        plan.ranges
            .iter()
            .position(|r| {
                let (start, end) = r.keys();
                start <= k && k < end
            })
            .unwrap()
    };
    assert_ne!(range_of(5), range_of(2900), "{:?}", plan.ranges);
    sim.shutdown().await;
}

#[test]
fn after_data_refuses_the_strategies_it_cannot_reproduce() {
    let work = tempfile::tempdir().unwrap();
    for strategy in [
        ConflictStrategy::Replace,
        ConflictStrategy::Remove,
        ConflictStrategy::Record,
    ] {
        let mut cfg = test_config(work.path(), IndexMode::AfterData);
        cfg.conflict.strategy = strategy;
        let problems = cfg.problems();
        let p = problems
            .iter()
            .find(|(k, _)| k == "squall.index-mode")
            .unwrap_or_else(|| panic!("{strategy}: not refused: {problems:?}"));
        assert!(p.1.contains("conflict.strategy = \"error\""), "{}", p.1);
        cfg.squall.index_mode = IndexMode::WithData;
        assert!(cfg.problems().is_empty(), "{strategy} with-data");
    }
    let cfg = test_config(work.path(), IndexMode::AfterData);
    assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
}
