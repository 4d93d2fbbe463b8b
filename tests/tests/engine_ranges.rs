//! Engine ranges (`squall.engine-ranges`): one table with three secondary
//! indexes (one unique), imported in eight small engines into a fresh sim
//! with ranges on and with them off. Both end verified with the same KVs in
//! TiKV; the sim's `GET /ingests` shows that with ranges on every region of
//! every index received SSTs from exactly one ingest per store, and that
//! with ranges off some index region received several (every engine's
//! index entries spread over the whole index).
#![allow(clippy::unwrap_used)]

mod import_common;

use std::collections::BTreeMap;
use std::path::Path;

use import_common::{config, export, import};
use squall_common::config::ByteSize;
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;
use tikv_sim::admin::report::{fetch_ingests, IngestReport};

const TABLE_ID: i64 = 500;
const ROWS: u64 = 6000;

/// `db.t`: INT primary key (rows in key order, as a dump is), three
/// secondary indexes whose values are scattered over the table.
fn write_dump(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("db-schema-create.sql"), "CREATE DATABASE `db`;\n").unwrap();
    std::fs::write(
        dir.join("db.t-schema.sql"),
        "CREATE TABLE `t` (\n  `id` INT NOT NULL PRIMARY KEY,\n  `a` INT NOT NULL,\n  \
         `b` VARCHAR(32) NOT NULL,\n  `c` BIGINT NOT NULL,\n  `pad` VARCHAR(40) NOT NULL,\n  \
         KEY `idx_a` (`a`),\n  KEY `idx_b` (`b`),\n  UNIQUE KEY `uk_c` (`c`)\n);\n",
    )
    .unwrap();
    for file in 0..4u64 {
        let mut text = String::from("id,a,b,c,pad\n");
        let per = ROWS / 4;
        for id in file * per..(file + 1) * per {
            let a = (id * 7919) % 10_007;
            let b = format!("b-{:08}", (id * 104_729) % 1_000_003);
            let c = (id * 6007) % 1_000_000_007;
            text.push_str(&format!("{id},{a},{b},{c},pad-{id:032}\n"));
        }
        std::fs::write(dir.join(format!("db.t.{file:09}.csv")), text).unwrap();
    }
}

/// Raw `[start, end)` bounds of one region (clipped to an index).
type Bounds = (Vec<u8>, Vec<u8>);

struct Run {
    kvs: Vec<String>,
    conflicts: u64,
    report: IngestReport,
    /// Per index: the sim's regions over it (raw bounds).
    index_regions: Vec<(i64, Vec<Bounds>)>,
    engines: u64,
}

async fn run(ranges: bool) -> Run {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.squall.table_ids = BTreeMap::from([("db.t".to_string(), TABLE_ID)]);
    cfg.squall.engine_ranges = ranges;
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    cfg.tikv_importer.region_split_size = ByteSize::kib(32);
    cfg.lightning.index_concurrency = 3;
    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "ranges={ranges}: {summary}");
    let report = fetch_ingests(sim.admin_addr).await.expect("GET /ingests");
    let regions = sim.regions();
    let raw = |k: &[u8]| {
        if k.is_empty() {
            Vec::new()
        } else {
            tikv_sim::keys::decode_user_key(k).expect("region key decodes")
        }
    };
    let index_regions = (1..=3)
        .map(|index| {
            let (lo, hi) = squall_codec::key::table_index_range(TABLE_ID, index);
            let inside = regions
                .iter()
                .map(|r| (raw(&r.start_key), raw(&r.end_key)))
                .filter(|(s, e)| (e.is_empty() || e.as_slice() > lo.as_slice()) && s < &hi)
                .map(|(s, e)| {
                    let start = s.max(lo.clone());
                    let end = if e.is_empty() || e > hi {
                        hi.clone()
                    } else {
                        e
                    };
                    (start, end)
                })
                .collect();
            (index, inside)
        })
        .collect();
    let mut kvs: Vec<String> = export(&sim, &source, &cfg, "db.t", ExportFormat::Kv)
        .await
        .lines()
        .map(str::to_string)
        .collect();
    kvs.sort();
    let conflicts = summary.tables.iter().map(|t| t.conflicts).sum();
    sim.shutdown().await;
    Run {
        kvs,
        conflicts,
        report,
        index_regions,
        engines: summary.engines,
    }
}

/// Most SSTs one store ingested into one region of an index (`write` CF).
fn most_ssts_per_region(r: &Run) -> (u64, u64) {
    let stores: Vec<u64> = r.report.stores.iter().map(|s| s.store_id).collect();
    let mut most = 0;
    let mut regions_with_data = 0;
    for (_, regions) in &r.index_regions {
        for (start, end) in regions {
            let mut any = false;
            for &store in &stores {
                let n = r.report.intersecting(store, "write", start, end).count() as u64;
                any |= n > 0;
                most = most.max(n);
            }
            regions_with_data += u64::from(any);
        }
    }
    (most, regions_with_data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_ranges_ingest_each_index_region_once() {
    let on = run(true).await;
    let off = run(false).await;
    assert!(
        on.engines >= 8 && off.engines >= 8,
        "{} / {}",
        on.engines,
        off.engines
    );
    assert_eq!(on.kvs.len(), off.kvs.len(), "same number of KVs in TiKV");
    assert!(
        on.kvs == off.kvs,
        "the same KVs in TiKV with and without engine ranges"
    );
    assert_eq!(
        on.kvs.len() as u64,
        ROWS * 4,
        "a record and three index entries per row"
    );
    assert_eq!(on.conflicts, off.conflicts);
    let (most_on, regions_on) = most_ssts_per_region(&on);
    let (most_off, regions_off) = most_ssts_per_region(&off);
    eprintln!(
        "engine ranges on: at most {most_on} SSTs per index region and store over {regions_on} regions, \
         {} overlapping; off: at most {most_off} over {regions_off} regions, {} overlapping",
        on.report.overlapping_ssts(),
        off.report.overlapping_ssts()
    );
    assert!(
        regions_on >= 3,
        "every index holds data: {regions_on} regions"
    );
    assert_eq!(
        most_on, 1,
        "with engine ranges every index region gets one SST per store"
    );
    assert!(
        most_off > 1,
        "without engine ranges an index region gets several SSTs: {most_off}"
    );
}

/// A key repeated across engines meets in one range: with the default
/// `conflict.strategy = "error"` the import fails naming the range's
/// duplicates artefact (engine ranges do not hand them to conflict
/// resolution yet), as an import without ranges fails on the conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn engine_ranges_fail_on_duplicates_under_strategy_error() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("dump");
    write_dump(&source);
    // The last file repeats the first row of the first one.
    let last = source.join("db.t.000000003.csv");
    let mut text = std::fs::read_to_string(&last).unwrap();
    text.push_str("0,0,b-00000000,0,pad-again\n");
    std::fs::write(&last, text).unwrap();
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.squall.table_ids = BTreeMap::from([("db.t".to_string(), TABLE_ID)]);
    cfg.squall.engine_ranges = true;
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    let err = import(&sim, &source, cfg, work.path())
        .await
        .expect_err("a duplicate key under strategy error fails the import");
    let text = err.to_string();
    assert!(
        text.contains("duplicate keys found") && text.contains("duplicates/t500-r"),
        "{text}"
    );
    sim.shutdown().await;
}
