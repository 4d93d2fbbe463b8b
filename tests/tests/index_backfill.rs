//! Index check and backfill (issue 17) against tikv-sim: tables with an
//! integer PK, `_tidb_rowid`, a clustered non-integer PK, composite and
//! prefix indexes, NULLs and collated strings, imported with their
//! indexes; `index check` finds them consistent, then finds a deleted, a
//! corrupted and an extra entry planted through the kvproto Import API.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::path::Path;

use import_common::{config, export, import};
use squall_client::ClientOptions;
use squall_codec::key::decode_index_key;
use squall_codec::key::{decode_record_key, is_index_key, is_record_key, record_key};
use squall_codec::Handle;
use squall_common::TaskConfig;
use squall_coordinator::backfill::{
    backfill_index, check_index, BackfillOptions, CheckOptions, CheckReport, ProblemKind,
};
use squall_coordinator::{ExportFormat, SchemaSource};
use squall_tests::kvproto::{delete, import as kv_import, put, Pd};
use squall_tests::sim::{keep_splitting, pd_addr, start_sim};
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

fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ib-schema-create.sql"), "CREATE DATABASE ib;\n").unwrap();
    for (name, schema, rows) in TABLES {
        std::fs::write(dir.join(format!("ib.{name}-schema.sql")), schema).unwrap();
        std::fs::write(dir.join(format!("ib.{name}.000000001.csv")), rows).unwrap();
    }
}

fn test_config(work: &Path) -> TaskConfig {
    let mut cfg = config(None, work);
    cfg.mydumper.csv.header = true;
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg
}

async fn check(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
    index: Option<&str>,
) -> CheckReport {
    let opts = CheckOptions {
        pd_addrs: vec![sim.pd_addr.to_string()],
        table: table.into(),
        schema: SchemaSource::SourceDir(source.to_path_buf()),
        index: index.map(str::to_string),
        ts: None,
        // Small pages: the merge crosses page boundaries.
        batch_size: 2,
        cfg: cfg.clone(),
        client: ClientOptions::for_test(),
    };
    check_index(&opts).await.unwrap()
}

/// The stored KVs of `table` in index `index_id`, in key order.
async fn index_kvs(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
    index_id: i64,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    export(sim, source, cfg, table, ExportFormat::Kv)
        .await
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (hex::decode(k).unwrap(), hex::decode(v).unwrap())
        })
        .filter(|(k, _)| decode_index_key(k).is_ok_and(|ix| ix.index_id == index_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn index_check_finds_planted_deleted_corrupted_and_extra_entries() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");

    for (table, rows, entries) in [
        ("ib.t_int", 6, 18),
        ("ib.t_rowid", 5, 10),
        ("ib.t_common", 4, 8),
    ] {
        let report = check(&sim, &source, &cfg, table, None).await;
        assert!(report.is_clean(), "{table}: {:?}", report.problems);
        assert_eq!((report.rows, report.stored), (rows, entries), "{table}");
    }
    let one = check(&sim, &source, &cfg, "ib.t_int", Some("KAS")).await;
    assert_eq!(
        (one.indexes.clone(), one.stored),
        (vec!["kas".to_string()], 6)
    );
    let err = check_index(&CheckOptions {
        index: Some("PRIMARY".into()),
        ..check_options(&sim, &source, &cfg, "ib.t_common")
    })
    .await
    .expect_err("a clustered primary key has no entries");
    assert!(err.to_string().contains("clustered primary key"), "{err}");

    // Plant: delete one entry of `kas`, corrupt the value of one of `us`,
    // and add an entry of `ka` for a row that does not exist (handle 99).
    let schema = squall_coordinator::export::resolve_table(&squall_coordinator::ExportOptions {
        pd_addrs: vec![sim.pd_addr.to_string()],
        table: "ib.t_int".into(),
        schema: SchemaSource::SourceDir(source.clone()),
        format: ExportFormat::Kv,
        ts: None,
        cfg: cfg.clone(),
        client: ClientOptions::for_test(),
    })
    .await
    .unwrap()
    .info;
    let id_of = |name: &str| schema.indices.iter().find(|i| i.name == name).unwrap().id;
    let kas = index_kvs(&sim, &source, &cfg, "ib.t_int", id_of("kas")).await;
    let us = index_kvs(&sim, &source, &cfg, "ib.t_int", id_of("us")).await;
    let ka = index_kvs(&sim, &source, &cfg, "ib.t_int", id_of("ka")).await;
    assert_eq!((kas.len(), us.len(), ka.len()), (6, 6, 6));
    let mut pd = Pd::connect(&pd_addr(&sim)).await.unwrap();
    let deleted = kas[2].0.clone();
    let ts = pd.tso().await;
    kv_import(&mut pd, vec![delete(&deleted)], ts)
        .await
        .unwrap();
    // A unique entry with a value: its value holds the handle; point it at row 4.
    let (corrupted, good) = us.iter().find(|(_, v)| v.len() >= 8).cloned().unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let ts = pd.tso().await;
    kv_import(&mut pd, vec![put(&corrupted, &bad)], ts)
        .await
        .unwrap();
    // `ka` is non-unique: the handle is the key's last 9 bytes (flag + int).
    let mut extra = ka[0].0.clone();
    let n = extra.len();
    extra[n - 9..]
        .copy_from_slice(&[&[0x03u8][..], &(99i64 as u64 ^ (1 << 63)).to_be_bytes()].concat());
    let ts = pd.tso().await;
    kv_import(&mut pd, vec![put(&extra, &ka[0].1)], ts)
        .await
        .unwrap();

    let report = check(&sim, &source, &cfg, "ib.t_int", None).await;
    let kinds: Vec<(ProblemKind, &str, &[u8])> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.index.as_str(), p.key.as_slice()))
        .collect();
    assert_eq!(report.problem_count, 3, "{:?}", report.problems);
    assert!(
        kinds.contains(&(ProblemKind::Missing, "kas", &deleted[..])),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::Mismatched, "us", &corrupted[..])),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::Extra, "ka", &extra[..])),
        "{kinds:?}"
    );
    let extra_problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Extra)
        .unwrap();
    assert_eq!(extra_problem.handles, vec!["99".to_string()]);
    let missing = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Missing)
        .unwrap();
    // kas orders by (a, s prefix): a NULL first, then -5 (row 4), then 7, 7, 10, 10.
    assert_eq!(missing.handles.len(), 1);
    assert!(
        missing.to_string().contains("missing entry in index kas"),
        "{missing}"
    );
    // Only the index asked for.
    let only = check(&sim, &source, &cfg, "ib.t_int", Some("ka")).await;
    assert_eq!(only.problem_count, 1, "{:?}", only.problems);
    sim.shutdown().await;
}

fn check_options(sim: &SimHandle, source: &Path, cfg: &TaskConfig, table: &str) -> CheckOptions {
    CheckOptions {
        pd_addrs: vec![sim.pd_addr.to_string()],
        table: table.into(),
        schema: SchemaSource::SourceDir(source.to_path_buf()),
        index: None,
        ts: None,
        batch_size: 16,
        cfg: cfg.clone(),
        client: ClientOptions::for_test(),
    }
}

fn backfill_options(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
    index: Option<&str>,
) -> BackfillOptions {
    BackfillOptions {
        pd_addrs: vec![sim.pd_addr.to_string()],
        table: table.into(),
        schema: SchemaSource::SourceDir(source.to_path_buf()),
        index: index.map(str::to_string),
        batch_size: 2,
        cfg: cfg.clone(),
        client: ClientOptions::for_test(),
        progress: Default::default(),
    }
}

/// Every KV of `table` (rows and indexes), in key order.
async fn all_kvs(
    sim: &SimHandle,
    source: &Path,
    cfg: &TaskConfig,
    table: &str,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    export(sim, source, cfg, table, ExportFormat::Kv)
        .await
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (hex::decode(k).unwrap(), hex::decode(v).unwrap())
        })
        .collect()
}

/// Deletes `keys`, one kvproto import each (each lands in its own region).
async fn delete_keys(sim: &SimHandle, keys: &[Vec<u8>]) {
    let mut pd = Pd::connect(&pd_addr(sim)).await.unwrap();
    for k in keys {
        let ts = pd.tso().await;
        kv_import(&mut pd, vec![delete(k)], ts).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_rebuilds_deleted_indexes_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    for (table, _, _) in TABLES {
        let table = format!("ib.{table}");
        let before = all_kvs(&sim, &source, &cfg, &table).await;
        let index_keys: Vec<Vec<u8>> = before
            .iter()
            .filter(|(k, _)| is_index_key(k))
            .map(|(k, _)| k.clone())
            .collect();
        assert!(!index_keys.is_empty(), "{table}");
        delete_keys(&sim, &index_keys).await;
        let report = check(&sim, &source, &cfg, &table, None).await;
        assert_eq!(report.problem_count, index_keys.len() as u64, "{table}");
        assert!(report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::Missing));

        let done = backfill_index(&backfill_options(&sim, &source, &cfg, &table, None))
            .await
            .unwrap();
        assert_eq!(done.stats.entries, index_keys.len() as u64, "{table}");
        // The entries' checksum is the one the import counted for them.
        let mut want = squall_codec::KvChecksum::new();
        for (k, v) in before.iter().filter(|(k, _)| is_index_key(k)) {
            want.update(k, v);
        }
        assert_eq!(done.stats.checksum, want, "{table}");
        assert!(done.commit_ts > done.ts);
        let after = all_kvs(&sim, &source, &cfg, &table).await;
        assert_eq!(after, before, "{table}: the rebuilt indexes differ");
        assert!(check(&sim, &source, &cfg, &table, None).await.is_clean());
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_reports_a_unique_violation_with_both_handles() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path());
    import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    // A second row equal to the first (a = 1), under handle 100: `ua` is violated.
    let kvs = all_kvs(&sim, &source, &cfg, "ib.t_rowid").await;
    let (first_key, first_value) = kvs.iter().find(|(k, _)| is_record_key(k)).unwrap().clone();
    let (table_id, handle) = decode_record_key(&first_key).unwrap();
    let copy = record_key(table_id, &Handle::Int(100));
    let mut pd = Pd::connect(&pd_addr(&sim)).await.unwrap();
    let ts = pd.tso().await;
    kv_import(&mut pd, vec![put(&copy, &first_value)], ts)
        .await
        .unwrap();

    let err = backfill_index(&backfill_options(&sim, &source, &cfg, "ib.t_rowid", None))
        .await
        .expect_err("a unique violation fails the backfill");
    let msg = err.to_string();
    // The value as the rows hold it, and both rows.
    assert!(
        msg.contains(&format!(
            "unique index ua: value (a=1) is held by the rows with handles {handle} and 100: \
             (a=1, b='x') and (a=1, b='x')"
        )),
        "{msg}"
    );
    assert!(msg.contains("1 unique index conflicts"), "{msg}");
    // Nothing was written: `kb` still lacks the copy's entry, and only it.
    let report = check(&sim, &source, &cfg, "ib.t_rowid", Some("kb")).await;
    assert_eq!(report.problem_count, 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].kind, ProblemKind::Missing);
    assert_eq!(report.problems[0].handles, vec!["100".to_string()]);
    // The check sees the violation too, with both handles.
    let report = check(&sim, &source, &cfg, "ib.t_rowid", Some("ua")).await;
    let dup = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::Duplicate)
        .expect("a duplicate");
    assert_eq!(dup.handles, vec![handle.to_string(), "100".to_string()]);
    // A non-unique index alone builds.
    let done = backfill_index(&backfill_options(
        &sim,
        &source,
        &cfg,
        "ib.t_rowid",
        Some("kb"),
    ))
    .await
    .unwrap();
    assert_eq!(done.stats.entries, 6);
    assert!(check(&sim, &source, &cfg, "ib.t_rowid", Some("kb"))
        .await
        .is_clean());
    sim.shutdown().await;
}

/// The row stored as `from` under the handle `to`, with `old` replaced by
/// `new` in its value (a row v2 value holds a string's bytes as they are).
async fn put_copy(sim: &SimHandle, from: &(Vec<u8>, Vec<u8>), to: &Handle, old: &str, new: &str) {
    let (table_id, _) = decode_record_key(&from.0).unwrap();
    let at = from
        .1
        .windows(old.len())
        .position(|w| w == old.as_bytes())
        .unwrap();
    let mut value = from.1.clone();
    value[at..at + old.len()].copy_from_slice(new.as_bytes());
    let mut pd = Pd::connect(&pd_addr(sim)).await.unwrap();
    let ts = pd.tso().await;
    kv_import(&mut pd, vec![put(&record_key(table_id, to), &value)], ts)
        .await
        .unwrap();
}

/// Splits the region holding `key` at it.
async fn split_at(sim: &SimHandle, key: &[u8]) {
    let pd = squall_client::PdClient::connect(&[pd_addr(sim)], ClientOptions::for_test())
        .await
        .unwrap();
    let region = pd.get_region(key).await.unwrap();
    squall_client::ImportClient::new(pd)
        .split_region(&region, vec![key.to_vec()])
        .await
        .unwrap();
}

/// The region ID holding `key`.
async fn region_of(sim: &SimHandle, key: &[u8]) -> u64 {
    let pd = squall_client::PdClient::connect(&[pd_addr(sim)], ClientOptions::for_test())
        .await
        .unwrap();
    pd.get_region(key).await.unwrap().region.id
}

/// A utf8mb4_general_ci unique column: `Alpha` and `ALPHA` are one entry
/// (its key holds the collation's sort key); the error names the strings
/// as the rows hold them and both rows, for two rows in one range (the
/// range's engine finds them) and in two ranges (DuplicateDetect does).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_collated_unique_violation_names_the_strings_and_both_rows() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path());
    import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    let kvs = all_kvs(&sim, &source, &cfg, "ib.t_int").await;
    let first = kvs.iter().find(|(k, _)| is_record_key(k)).unwrap().clone();
    let (table_id, handle) = decode_record_key(&first.0).unwrap();
    assert_eq!(handle, Handle::Int(1));

    // 1. In one range: row 7 holds `ALPHA`, next to row 1's `Alpha`.
    put_copy(&sim, &first, &Handle::Int(7), "Alpha", "ALPHA").await;
    let seven = record_key(table_id, &Handle::Int(7));
    assert_eq!(
        region_of(&sim, &first.0).await,
        region_of(&sim, &seven).await
    );
    let msg = backfill_index(&backfill_options(&sim, &source, &cfg, "ib.t_int", None))
        .await
        .expect_err("a unique violation fails the backfill")
        .to_string();
    assert!(
        msg.contains(
            "unique index us: value (s='Alpha' / s='ALPHA') is held by the rows with handles 1 \
             and 7: (id=1, a=10, s='Alpha') and (id=7, a=10, s='ALPHA')"
        ),
        "{msg}"
    );
    assert!(msg.contains("1 unique index conflicts"), "{msg}");
    assert!(!msg.contains("0x"), "no sort key in the message: {msg}");

    // 2. Across ranges: row 1000 holds `alpha`, in a region of its own.
    delete_keys(&sim, &[seven]).await;
    let far = record_key(table_id, &Handle::Int(1000));
    put_copy(&sim, &first, &Handle::Int(1000), "Alpha", "alpha").await;
    split_at(&sim, &record_key(table_id, &Handle::Int(500))).await;
    assert_ne!(region_of(&sim, &first.0).await, region_of(&sim, &far).await);
    let msg = backfill_index(&backfill_options(&sim, &source, &cfg, "ib.t_int", None))
        .await
        .expect_err("a unique violation across ranges fails the backfill")
        .to_string();
    let (row1, row1000) = ("(id=1, a=10, s='Alpha')", "(id=1000, a=10, s='alpha')");
    // Either range may have taken its commit ts first: its row is named first.
    assert!(
        msg.contains(&format!(
            "value (s='Alpha' / s='alpha') is held by the rows with handles 1 and 1000: \
             {row1} and {row1000}"
        )) || msg.contains(&format!(
            "value (s='alpha' / s='Alpha') is held by the rows with handles 1000 and 1: \
             {row1000} and {row1}"
        )),
        "{msg}"
    );
    assert!(msg.contains("unique index us:"), "{msg}");
    assert!(!msg.contains("0x"), "no sort key in the message: {msg}");
    sim.shutdown().await;
}
/// A bigger table backfilled while regions split under it (at row keys
/// and at keys between rows that are no row key), with injected
/// EpochNotMatch and NotLeader on the scans: every entry is rewritten
/// above the backfill's start ts, none is added or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backfill_is_exact_while_regions_split_under_it() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::write(source.join("ib-schema-create.sql"), "CREATE DATABASE ib;\n").unwrap();
    std::fs::write(
        source.join("ib.big-schema.sql"),
        "CREATE TABLE `big` (`id` INT NOT NULL PRIMARY KEY, `a` INT, \
         `s` VARCHAR(16) COLLATE utf8mb4_general_ci, KEY `ka` (`a`), UNIQUE KEY `us` (`s`), \
         KEY `kas` (`a`, `s`(2))) DEFAULT CHARSET=utf8mb4;\n",
    )
    .unwrap();
    let mut csv = String::from("id,a,s\n");
    for i in 0..2000 {
        let a = if i % 7 == 0 {
            "\\N".into()
        } else {
            (i % 50).to_string()
        };
        let s = if i % 11 == 0 {
            "\\N".into()
        } else {
            format!("S{i:05}")
        };
        csv.push_str(&format!("{i},{a},{s}\n"));
    }
    std::fs::write(source.join("ib.big.000000001.csv"), csv).unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let cfg = test_config(work.path());
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let before = all_kvs(&sim, &source, &cfg, "ib.big").await;
    let index_keys: Vec<Vec<u8>> = before
        .iter()
        .filter(|(k, _)| is_index_key(k))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(index_keys.len(), 6000);
    // Split points: every 37th row key, and a key just after every 53rd
    // (inside the record range but no row key).
    let records: Vec<&Vec<u8>> = before
        .iter()
        .filter(|(k, _)| is_record_key(k))
        .map(|(k, _)| k)
        .collect();
    let mut splits: Vec<Vec<u8>> = records
        .iter()
        .step_by(37)
        .skip(1)
        .map(|k| (*k).clone())
        .collect();
    splits.extend(
        records
            .iter()
            .step_by(53)
            .skip(1)
            .map(|k| [k.as_slice(), &[0x00, 0x01]].concat()),
    );
    let regions_before = sim.regions().len();
    for spec in [
        "rpc=KvScan,error=EpochNotMatch,count=4",
        "rpc=KvScan,error=NotLeader,count=3",
        "rpc=MultiIngest,error=EpochNotMatch,count=2",
    ] {
        sim.faults().inject_spec(spec).unwrap();
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let splitter = tokio::spawn(keep_splitting(pd_addr(&sim), splits, stop.clone()));
    let mut opts = backfill_options(&sim, &source, &cfg, "ib.big", None);
    opts.batch_size = 7;
    let done = backfill_index(&opts).await.unwrap();
    stop.cancel();
    let made = splitter.await.unwrap();
    assert!(made > 0, "no region split during the backfill");
    assert!(sim.regions().len() > regions_before);
    assert!(
        sim.faults().list().iter().all(|f| f.fired > 0),
        "{:?}",
        sim.faults().list()
    );
    assert_eq!(done.stats.rows, 2000);
    assert_eq!(done.stats.entries, 6000);
    // Every entry rewritten above the start ts, with its old value.
    let (start, end) = (
        index_keys[0].clone(),
        squall_client::keys::next_key(index_keys.last().unwrap()),
    );
    let versions = sim.dump_versions(&start, &end).unwrap();
    let rewritten: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = versions
        .iter()
        .filter(|v| v.commit_ts > done.commit_ts)
        .map(|v| (&v.key, &v.value))
        .collect();
    let want: Vec<(&Vec<u8>, Option<Vec<u8>>)> = before
        .iter()
        .filter(|(k, _)| is_index_key(k))
        .map(|(k, v)| (k, Some(v.clone())))
        .collect();
    assert_eq!(rewritten.len(), want.len());
    assert!(rewritten
        .iter()
        .zip(&want)
        .all(|(g, w)| g.0 == w.0 && *g.1 == w.1));
    assert_eq!(all_kvs(&sim, &source, &cfg, "ib.big").await, before);
    assert!(check(&sim, &source, &cfg, "ib.big", None).await.is_clean());
    sim.shutdown().await;
}
