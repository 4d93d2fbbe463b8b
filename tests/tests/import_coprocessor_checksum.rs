//! The post-import checksum computed inside TiKV (coprocessor checksum
//! requests) against the checksum Squall computes locally, on an import with
//! secondary and unique indexes, a `_tidb_rowid` table, a clustered varchar
//! key, a partitioned table and conflicting rows resolved by `replace`
//! (whose deletes and re-puts land after the import). Region errors are
//! injected into 5% of the Coprocessor calls throughout.
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeSet;
use std::path::Path;

use import_common::gen::generate;
use import_common::{config, export, import};
use squall_client::{walk_regions, ClientOptions, ImportClient, PdClient};
use squall_codec::key::table_range;
use squall_codec::KvChecksum;
use squall_common::config::ByteSize;
use squall_coordinator::ExportFormat;
use squall_proto::tipb::ChecksumScanOn;
use squall_tests::kvproto::{self, Pd};
use squall_tests::sim::start_sim;
use tikv_sim::{FaultAction, FaultError, FaultRule, Rpc, SimHandle};

const REGION_ERRORS: [FaultError; 4] = [
    FaultError::NotLeader,
    FaultError::EpochNotMatch,
    FaultError::ServerIsBusy,
    FaultError::RegionNotFound,
];

/// Adds a partitioned table and a table with conflicting rows to the dump.
fn add_tables(dir: &Path) {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    w(
        "rt.parts-schema.sql",
        "CREATE TABLE `parts` (\n  `id` INT NOT NULL,\n  `v` VARCHAR(16) NOT NULL,\n  KEY `idx_v` (`v`)\n) PARTITION BY HASH(`id`) PARTITIONS 4;\n",
    );
    let mut parts = String::from("id,v\n");
    for i in 0..400 {
        parts.push_str(&format!("{i},v{}\n", i % 37));
    }
    w("rt.parts.000000001.csv", &parts);
    w(
        "rt.dups-schema.sql",
        "CREATE TABLE `dups` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `email` VARCHAR(32) NOT NULL,\n  UNIQUE KEY `uk_email` (`email`)\n);\n",
    );
    let mut first = String::from("id,email\n");
    for i in 1..=150 {
        first.push_str(&format!("{i},e{i}@x\n"));
    }
    let mut second = String::from("id,email\n");
    second.push_str("5,late5@x\n20,late20@x\n900,e30@x\n");
    w("rt.dups.000000001.csv", &first);
    w("rt.dups.000000002.csv", &second);
}

fn inject_region_errors(sim: &SimHandle) {
    for kind in REGION_ERRORS {
        let rule = FaultRule {
            rpc: Some(Rpc::Coprocessor),
            store: None,
            action: FaultAction::Error(kind),
            rate: 0.05,
            count: None,
        };
        sim.faults().inject(rule).unwrap();
    }
}

fn fired(sim: &SimHandle) -> u64 {
    sim.faults().list().iter().map(|f| f.fired).sum()
}

/// `(key, value)` pairs of an `ExportFormat::Kv` export (read with KvScan).
fn kv_pairs(text: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('\t').unwrap();
            (hex::decode(k).unwrap(), hex::decode(v).unwrap())
        })
        .collect()
}

/// The physical table ID of a raw TiDB key (`t` + memcomparable i64).
fn physical_id(key: &[u8]) -> i64 {
    let raw = u64::from_be_bytes(key[1..9].try_into().unwrap());
    (raw ^ (1 << 63)) as i64
}

/// TiKV's checksum of whole physical tables at `ts`, one coprocessor call
/// per region piece, through the client's region walker.
async fn coprocessor_sum(client: &ImportClient, ids: &BTreeSet<i64>, ts: u64) -> KvChecksum {
    let ranges = ids.iter().map(|&id| table_range(id)).collect();
    let pieces = walk_regions(client, "test checksum", ranges, 4, |piece| async move {
        let range = [(piece.start, piece.end)];
        client
            .checksum(&piece.region, &range, ChecksumScanOn::Table, ts)
            .await
    })
    .await
    .expect("coprocessor checksum");
    let mut sum = KvChecksum::default();
    pieces.iter().for_each(|p| sum.merge(p));
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coprocessor_checksum_equals_local_and_sees_one_changed_kv() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    generate(&source, 1);
    add_tables(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    inject_region_errors(&sim);
    let mut cfg = config(None, work.path());
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.csv.header = true;
    cfg.mydumper.batch_size = ByteSize::kib(8);
    cfg.tikv_importer.region_split_size = ByteSize::kib(16);
    cfg.conflict.strategy = "replace".parse().expect("strategy");

    // The import's own checksum step runs on the coprocessor, under faults.
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    let dups = summary
        .tables
        .iter()
        .find(|t| t.name.contains("dups"))
        .unwrap();
    assert!(dups.conflicts > 0, "conflict resolution ran: {summary}");
    assert!(
        fired(&sim) > 0,
        "region errors were injected during the import"
    );

    let pd = PdClient::connect(&[sim.pd_addr.to_string()], ClientOptions::for_test())
        .await
        .unwrap();
    let client = ImportClient::new(pd);
    let ts = client.pd().tso().await.unwrap();
    let mut all_ids = BTreeSet::new();
    for t in &summary.tables {
        assert_eq!(
            t.remote,
            Some(t.local),
            "{}: TiKV's checksum = local",
            t.name
        );
        // The same sum over the pairs KvScan reads back, hashed in Squall.
        let table = t.name.replace('`', "");
        let pairs = kv_pairs(&export(&sim, &source, &cfg, &table, ExportFormat::Kv).await);
        let mut scanned = KvChecksum::default();
        pairs.iter().for_each(|(k, v)| scanned.update(k, v));
        assert_eq!(scanned, t.local, "{table}: KvScan read-back = local");
        let ids: BTreeSet<i64> = pairs.iter().map(|(k, _)| physical_id(k)).collect();
        if table == "rt.parts" {
            assert_eq!(ids.len(), 4, "rows spread over the four partitions");
        }
        let remote = coprocessor_sum(&client, &ids, ts).await;
        assert_eq!(remote, t.local, "{table}: whole-table coprocessor sum");
        all_ids.extend(ids);
    }
    let before_faults_cleared = coprocessor_sum(&client, &all_ids, ts).await;
    sim.faults().clear();
    let clean = coprocessor_sum(&client, &all_ids, ts).await;
    assert_eq!(before_faults_cleared, clean, "region errors change nothing");

    // One KV changed by a direct write into TiKV at a newer ts.
    let users = kv_pairs(&export(&sim, &source, &cfg, "rt.users", ExportFormat::Kv).await);
    let (key, old) = users[users.len() / 2].clone();
    let mut new = old.clone();
    *new.last_mut().unwrap() ^= 0x5a;
    let mut raw_pd = Pd::connect(&sim.pd_addr.to_string()).await.unwrap();
    let write_ts = client.pd().tso().await.unwrap();
    kvproto::import(&mut raw_pd, vec![kvproto::put(&key, &new)], write_ts)
        .await
        .unwrap();
    let after = coprocessor_sum(&client, &all_ids, client.pd().tso().await.unwrap()).await;
    assert_ne!(after.crc, clean.crc, "a changed value changes the checksum");
    let expected_crc = clean.crc
        ^ squall_codec::checksum::kv_crc64(&key, &old)
        ^ squall_codec::checksum::kv_crc64(&key, &new);
    assert_eq!((after.crc, after.kvs), (expected_crc, clean.kvs));
    // The snapshot at the earlier ts still reads the imported value.
    assert_eq!(coprocessor_sum(&client, &all_ids, ts).await, clean);
    sim.shutdown().await;
}
