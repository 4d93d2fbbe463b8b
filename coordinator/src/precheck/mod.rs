//! Prechecks (Lightning's `check-requirements`): what must hold before an
//! import writes anything, each with a result, the facts behind it and what
//! to do when it fails. `run_import` runs them before it creates a job
//! (`lightning.check-requirements`, on by default) and refuses to start if
//! one fails; `squall precheck` runs them alone and prints the table.
//!
//! | check | what |
//! |---|---|
//! | source readable | the source opens and holds tables (`source.rs`) |
//! | schemas parsed | every `CREATE TABLE` parses and can be encoded |
//! | CSV/SQL settings | the first rows of each table's first files fit the table |
//! | cluster reachable | PD answers (`cluster.rs`) |
//! | cluster versions | every TiKV store is ≥ 5.2.0 and < 9.0.0 |
//! | store health | every store is Up with a recent heartbeat |
//! | region health | every region has a leader and peers on live stores |
//! | local disk | free space under `sorted-kv-dir` ≥ the engines' estimate (`disk.rs`) |
//! | target tables empty | no row in any target table (`tables.rs`), unless resuming or `incremental-import`; with `tidb.host`, run after TiDB's table ids are read (`after_ids.rs`) |

mod after_ids;
mod cluster;
mod disk;
mod report;
mod source;
mod tables;

use squall_client::ClientOptions;
use squall_common::checkpoint::{keys, typed, JobCheckpoint, SharedCheckpointStore};
use squall_common::TaskConfig;

pub use after_ids::{check_empty_with_ids, targets_with_ids};
pub use cluster::{parse_version, MAX_TIKV_MAJOR, MIN_TIKV};
pub use disk::{available_bytes, estimated_need, KV_EXPANSION};
pub use report::{CheckResult, CheckStatus, PrecheckReport};
pub use source::{target_tables, SourceFacts, TargetTable};

use crate::error::CoordinatorError;

pub const CHECK_SOURCE: &str = "source readable";
pub const CHECK_SCHEMAS: &str = "schemas parsed";
pub const CHECK_FILES: &str = "CSV/SQL settings";
pub const CHECK_CLUSTER: &str = "cluster reachable";
pub const CHECK_VERSIONS: &str = "cluster versions";
pub const CHECK_STORES: &str = "store health";
pub const CHECK_REGIONS: &str = "region health";
pub const CHECK_DISK: &str = "local disk";
pub const CHECK_EMPTY: &str = "target tables empty";

/// What the prechecks look at.
pub struct PrecheckInput<'a> {
    /// The task config, `mydumper.data-source-dir` set to the source.
    pub cfg: &'a TaskConfig,
    pub pd_addrs: &'a [String],
    pub client: ClientOptions,
    /// The job already has a checkpoint: its own rows may be in the tables,
    /// so the emptiness check is skipped (as Lightning does with checkpoints).
    pub resuming: bool,
    /// Engines are sorted on this machine (embedded mode): check its disk.
    pub local_engines: bool,
}

/// Runs every check; never fails itself (a check that cannot run is failed
/// or skipped in the report).
pub async fn run_prechecks(input: &PrecheckInput<'_>) -> PrecheckReport {
    run_checks(input, false).await
}

/// [`run_prechecks`]; `defer_empty`: "target tables empty" is left to
/// [`check_empty_with_ids`] (the plan's table ids are not known yet).
async fn run_checks(input: &PrecheckInput<'_>, defer_empty: bool) -> PrecheckReport {
    let mut report = PrecheckReport::default();
    let cfg = input.cfg.clone();
    let (facts, source_report) = tokio::task::spawn_blocking(move || {
        let mut r = PrecheckReport::default();
        let facts = source::check_source(&cfg, &mut r);
        (facts, r)
    })
    .await
    .unwrap_or_else(|e| {
        let mut r = PrecheckReport::default();
        r.push(CheckResult::fail(
            CHECK_SOURCE,
            format!("the source check stopped: {e}"),
            "run again; report a bug if it repeats",
        ));
        (None, r)
    });
    report.results.extend(source_report.results);
    let pd = cluster::check_cluster(input.pd_addrs, &input.client, &mut report).await;
    match &facts {
        Some(f) => report.push(disk::check_disk(
            input.cfg,
            f.source_bytes,
            input.local_engines,
        )),
        None => report.push(CheckResult::skipped(
            CHECK_DISK,
            "the source size is not known",
        )),
    }
    let empty = match (&pd, &facts) {
        _ if defer_empty => CheckResult::skipped(
            CHECK_EMPTY,
            "checked once TiDB's table ids are read, before planning",
        ),
        _ if input.resuming => CheckResult::skipped(
            CHECK_EMPTY,
            "resuming a job from its checkpoint: the tables hold its own rows",
        ),
        (Some(pd), Some(f)) => {
            let cfg = input.cfg;
            let incremental = cfg.tikv_importer.incremental_import;
            tables::check_empty(pd, &f.tables, incremental, cfg.checksum_required()).await
        }
        (None, _) => CheckResult::skipped(CHECK_EMPTY, "PD did not answer"),
        (_, None) => CheckResult::skipped(CHECK_EMPTY, "the schemas are not known"),
    };
    report.push(empty);
    report
}

/// The prechecks at the start of `run_import`, before the job record is
/// created (so a failed precheck leaves no checkpoint that would make the
/// next run look like a resume). Skipped when `lightning.check-requirements`
/// is off or the job is already verified. `defer_empty`: the plan will use
/// TiDB's table ids (`tidb.host`), so "target tables empty" is left out here
/// and run by [`check_empty_with_ids`] once they are known.
pub async fn before_job(
    input_cfg: &TaskConfig,
    pd_addrs: &[String],
    client: &ClientOptions,
    store: &SharedCheckpointStore,
    job_id: &str,
    local_engines: bool,
    defer_empty: bool,
) -> Result<(), CoordinatorError> {
    if !input_cfg.lightning.check_requirements {
        tracing::warn!("lightning.check-requirements = false: prechecks skipped");
        return Ok(());
    }
    let existing = typed::read::<JobCheckpoint>(store.as_ref(), &keys::job(job_id)).await?;
    if existing.as_ref().is_some_and(|j| {
        use squall_common::checkpoint::JobState;
        matches!(j.record.state, JobState::Verified | JobState::Imported)
    }) {
        return Ok(());
    }
    let input = PrecheckInput {
        cfg: input_cfg,
        pd_addrs,
        client: client.clone(),
        resuming: existing.is_some(),
        local_engines,
    };
    let report = run_checks(&input, defer_empty).await;
    for r in &report.results {
        match r.status {
            CheckStatus::Fail => tracing::error!(check = r.name, "{}", r.detail),
            CheckStatus::Warn => tracing::warn!(check = r.name, "{}", r.detail),
            CheckStatus::Pass | CheckStatus::Skipped => {
                tracing::info!(check = r.name, result = r.status.label(), "{}", r.detail)
            }
        }
    }
    if report.passed() {
        return Ok(());
    }
    Err(CoordinatorError::Invalid {
        what: "precheck",
        reason: format!(
            "the import did not start, nothing was written:\n{report}\n(set \
             lightning.check-requirements = false to import anyway)"
        ),
    })
}
