//! The import's backfill step (`squall.index-mode = "after-data"`): the
//! engines wrote record KVs only; once the table's duplicates are resolved
//! (the step before), every written index is built from the imported rows
//! here, and the entries' checksums join the table's expected checksum
//! before the checksum step compares it with TiKV's. The work is the
//! checkpointed range tasks of [`super::tasks`] under the job's prefix, at
//! a snapshot kept in the plan record (above the job's `start_ts`, so the
//! job's GC safepoint holds it): a job rerun after a kill in this step
//! resumes it. A unique conflict fails the table naming the index, the
//! value and both handles (`conflict.strategy = "error"`, the only one
//! allowed with after-data).
//!
//! Who builds the ranges: in a cluster the job's workers, through the
//! job's queue ([`super::queue`]); in an embedded import this process
//! ([`super::tasks::run_plan`]), since its worker loops have ended by the
//! time the table steps run.

use std::path::PathBuf;

use squall_client::ImportClient;
use squall_codec::Converter;
use squall_common::checkpoint::{CheckpointStore, JobCheckpoint, TableCheckpoint, TableTotals};
use squall_common::config::IndexMode;
use squall_common::queue::SharedTaskQueue;
use squall_common::TaskConfig;

use super::build::BuildContext;
use super::progress::BackfillProgress;
use super::queue::{run_plan_on_queue, QueueRun};
use super::records::BackfillKeys;
use super::run::conflict_error;
use super::target::IndexTarget;
use super::tasks::{open_plan, run_plan};
use crate::error::CoordinatorError;
use crate::run::Gate;

/// A cluster job's queue, where its workers take the ranges.
pub struct OnQueue<'a> {
    pub queue: &'a SharedTaskQueue,
    /// The job's control: the wait for the workers waits while the job is
    /// paused and ends `Interrupted` on a cancel or shutdown.
    pub gate: &'a Gate,
}

/// Builds `table`'s indexes when the job writes them after the data; the
/// table's totals with the entries' checksums added (`None`: nothing to do).
/// `workers`: the cluster's queue (`None`: embedded, built here).
pub async fn build_indexes(
    store: &dyn CheckpointStore,
    client: &ImportClient,
    cfg: &TaskConfig,
    job: &JobCheckpoint,
    table: &TableCheckpoint,
    workers: Option<OnQueue<'_>>,
) -> Result<Option<TableTotals>, CoordinatorError> {
    if cfg.squall.index_mode != IndexMode::AfterData {
        return Ok(None);
    }
    let target = IndexTarget {
        table: table.table.clone(),
        physical_ids: table.physical_ids(),
        indexes: table.table.written_indices().cloned().collect(),
    };
    if target.indexes.is_empty() {
        return Ok(None);
    }
    let name = target.table.qualified_name();
    let converter = job_converter(cfg, job)?;
    let ids: Vec<i64> = target.indexes.iter().map(|ix| ix.id).collect();
    let keys = BackfillKeys::in_job(&job.job_id, table.table.id, &ids);
    let pd = client.pd();
    // A fresh snapshot for a new plan: after the duplicate step's writes.
    let plan = match super::tasks::read_plan(store, &keys).await? {
        Some(plan) => plan,
        None => open_plan(store, &keys, pd, &target, pd.tso().await?).await?,
    };
    let root = PathBuf::from(&cfg.tikv_importer.sorted_kv_dir);
    let progress = BackfillProgress::default();
    let cx = BuildContext {
        pd,
        client,
        cfg,
        converter: &converter,
        engine_root: &root,
        ts: plan.ts,
        batch_size: cfg.squall.index_backfill_batch_size,
        progress: &progress,
    };
    let started = std::time::Instant::now();
    let running = async {
        match &workers {
            Some(w) => {
                let q = QueueRun {
                    queue: w.queue,
                    job_id: &job.job_id,
                    table_id: table.table.id,
                    gate: w.gate,
                };
                run_plan_on_queue(&cx, &target, store, &keys, &plan, &q).await
            }
            None => run_plan(&cx, &target, store, &keys, &plan).await,
        }
    };
    let built = tokio::select! {
        built = running => built,
        never = log_progress(&name, &progress) => match never {},
    };
    let stats = match built? {
        Ok(stats) => stats,
        Err(conflicts) => return Err(conflict_error(&target, &conflicts)),
    };
    tracing::info!(table = %name, ranges = stats.ranges, rows = stats.rows,
        entries = stats.entries, resumed = progress.view().ranges_resumed,
        ms = started.elapsed().as_millis() as u64, "indexes built after the data");
    let mut totals = table.local.clone().unwrap_or_default();
    for (id, c) in &stats.indexes {
        totals.indexes.entry(*id).or_default().merge(c);
    }
    totals.checksum.merge(&stats.checksum);
    Ok(Some(totals))
}

/// The job's converter: its SQL mode and time zone, and "now" as the
/// workers pinned it (the job's creation), for generated columns that
/// read it.
pub(crate) fn job_converter(
    cfg: &TaskConfig,
    job: &JobCheckpoint,
) -> Result<Converter, CoordinatorError> {
    let now =
        chrono::DateTime::from_timestamp_millis(job.created_unix_ms as i64).unwrap_or_default();
    Ok(Converter::new(&cfg.tidb.sql_mode, &cfg.tidb.time_zone)
        .map_err(|e| CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!("tidb.sql-mode or tidb.time-zone: {e}"),
        })?
        .with_now(now))
}

/// A progress line every 10 s while the table's backfill runs (the status
/// API reads the finished ranges from their records).
async fn log_progress(table: &str, progress: &BackfillProgress) -> std::convert::Infallible {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    tick.tick().await;
    loop {
        tick.tick().await;
        let v = progress.view();
        tracing::info!(
            table,
            ranges_done = v.ranges_done,
            ranges = v.ranges_total,
            rows_scanned = v.rows_scanned,
            entries_written = v.entries_written,
            "index backfill progress"
        );
    }
}
