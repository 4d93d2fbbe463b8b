//! A generated multi-table dump (CSV and SQL, several files per table, int,
//! row-ID and varchar primary keys, secondary and unique indexes, NULLs and
//! quoting) imported with tiny engines, chunks and regions so every path is
//! taken many times, then exported: the rows must equal the source rows
//! exactly and the local checksum must equal TiKV's.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::gen::generate;
use import_common::{config, export, export_rows, import, Row};
use squall_common::config::ByteSize;
use squall_coordinator::ExportFormat;
use squall_tests::sim::start_sim;

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_dump_round_trips_exactly() {
    let work = tempfile::tempdir().expect("temp dir");
    let source = work.path().join("dump");
    let generated = generate(&source, 2);
    let sim = start_sim(&work.path().join("sim")).await;
    let mut cfg = config(None, work.path());
    cfg.tidb.sql_mode = squall_common::config::SQUALL_DEFAULT_SQL_MODE.into();
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(48);
    cfg.tikv_importer.region_split_size = ByteSize::kib(24);
    cfg.tikv_importer.local_writer_mem_cache_size = ByteSize::kib(64);
    cfg.lightning.index_concurrency = 3;

    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import");
    assert!(summary.verified, "{summary}");
    assert!(
        summary.engines >= 6,
        "small batch-size gives several engines per table: {summary}"
    );
    for t in &summary.tables {
        assert_eq!(
            t.remote,
            Some(t.local),
            "{}: the checksum from TiKV equals the local one",
            t.name
        );
        assert_eq!((t.local_duplicates, t.skipped_rows), (0, 0), "{}", t.name);
    }
    for (table, expected) in &generated.tables {
        let got = export_rows(&sim, &source, &cfg, table).await;
        assert_eq!(got.len(), expected.len(), "{table}: row count");
        assert!(
            sorted(got) == sorted(expected.clone()),
            "{table}: exported rows differ from the source rows"
        );
        let kvs = export(&sim, &source, &cfg, table, ExportFormat::Kv)
            .await
            .lines()
            .count() as u64;
        let t = summary
            .tables
            .iter()
            .find(|t| t.name.replace('`', "") == *table)
            .expect("table in summary");
        assert_eq!(
            kvs, t.kvs,
            "{table}: KVs in TiKV equal the KVs the engines produced"
        );
    }
    assert!(
        sim.regions().len() > 10,
        "tiny region-split-size splits regions: {}",
        sim.regions().len()
    );

    // A second run finds the job verified and does nothing.
    let again = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("rerun");
    assert!(again.already_done && again.verified, "{again}");
    sim.shutdown().await;
}
