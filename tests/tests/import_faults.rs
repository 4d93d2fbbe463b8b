//! Import against a cluster that fails 5% of Write, MultiIngest and
//! SplitRegion calls with each region error (and the Write-specific
//! rejections): the import must still end verified with exactly the source
//! rows.
#![allow(clippy::unwrap_used)]

mod import_common;

use import_common::gen::generate;
use import_common::{config, export_rows, import, Row};
use squall_common::config::ByteSize;
use squall_tests::sim::start_sim_with;
use tikv_sim::{FaultRule, SimConfig};

fn faults() -> Vec<FaultRule> {
    let mut specs = Vec::new();
    for rpc in ["Write", "MultiIngest", "SplitRegion"] {
        for error in [
            "NotLeader",
            "EpochNotMatch",
            "RegionNotFound",
            "ServerIsBusy",
        ] {
            specs.push(format!("rpc={rpc},error={error},rate=0.05"));
        }
    }
    specs.push("rpc=Write,error=RequestTooNew,rate=0.05".into());
    specs.push("rpc=Write,error=RequestTooOld,rate=0.05".into());
    specs.push("rpc=MultiIngest,error=StaleCommand,rate=0.05".into());
    specs
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("fault {s}: {e}")))
        .collect()
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_is_exact_under_injected_region_errors() {
    let work = tempfile::tempdir().expect("temp dir");
    let source = work.path().join("dump");
    let generated = generate(&source, 2);
    let mut sim_cfg = SimConfig::new(work.path().join("sim"));
    sim_cfg.seed = 7;
    sim_cfg.initial_faults = faults();
    let sim = start_sim_with(sim_cfg).await;
    let mut cfg = config(None, work.path());
    cfg.mydumper.max_region_size = ByteSize::kib(16);
    cfg.mydumper.batch_size = ByteSize::kib(64);
    cfg.tikv_importer.region_split_size = ByteSize::kib(32);
    cfg.squall.max_retries = 30;

    let summary = import(&sim, &source, cfg.clone(), work.path())
        .await
        .expect("import under faults");
    assert!(summary.verified, "{summary}");
    for (table, expected) in &generated.tables {
        let got = export_rows(&sim, &source, &cfg, table).await;
        assert_eq!(got.len(), expected.len(), "{table}");
        assert!(
            sorted(got) == sorted(expected.clone()),
            "{table}: rows differ from the source"
        );
    }
    let fired: u64 = sim.faults().list().iter().map(|f| f.fired).sum();
    assert!(fired > 0, "the faults fired");
    sim.shutdown().await;
}
