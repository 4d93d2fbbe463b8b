//! The encode side of engine ranges (`squall.engine-ranges`): a finished
//! local engine is cut at its table's range bounds; each non-empty piece is
//! written as a run file (an SST in the engine's key format, every copy of
//! a key kept) and put in the job's artefact store under
//! `runs/t<table>/r<range>/e<engine>-a<attempt>.sst`. The engine is then
//! recorded `Done` with one [`RunSummary`] per run: an ingest task reads
//! exactly the runs a `Done` engine names, so runs of superseded attempts
//! (another attempt number in the key) are never read.

use squall_common::artefacts::keys as artefact_keys;
use squall_common::checkpoint::{keys, typed, RangeCheckpoint, RunSummary, Stored};
use tokio_util::sync::CancellationToken;

use super::context::WorkerContext;
use super::error::TaskError;
use super::message::EngineTask;
use crate::engine::LocalEngine;

/// The table's ranges in key order; an error if the plan stored none (the
/// job was planned with `squall.engine-ranges` on, so it must have them).
pub async fn table_ranges(
    cx: &WorkerContext,
    job_id: &str,
    table_id: i64,
) -> Result<Vec<RangeCheckpoint>, TaskError> {
    let prefix = keys::table_ranges_prefix(job_id, table_id);
    let stored: Vec<Stored<RangeCheckpoint>> = typed::read_all(cx.store.as_ref(), &prefix).await?;
    if stored.is_empty() {
        return Err(TaskError::MissingCheckpoint { key: prefix });
    }
    Ok(stored.into_iter().map(|s| s.record).collect())
}

/// Writes the engine's runs, one per range its KVs fall in, and returns
/// their summaries. Each run goes to the artefact store before the next is
/// cut, so the local disk holds one run file at a time.
pub async fn write_runs(
    cx: &WorkerContext,
    task: &EngineTask,
    attempt: u32,
    engine: &LocalEngine,
    stop: &CancellationToken,
) -> Result<Vec<RunSummary>, TaskError> {
    let ranges = table_ranges(cx, &task.job_id, task.table_id).await?;
    let dir = cx
        .sorted_kv_dir
        .join(format!("{}-runs", task.engine_dir_name()));
    std::fs::create_dir_all(&dir).map_err(|e| TaskError::io("create", &dir, e))?;
    let mut runs = Vec::new();
    for range in &ranges {
        let path = dir.join(format!("r{:06}.sst", range.range_id));
        let (e, p, start, end) = (
            engine.clone(),
            path.clone(),
            range.start.clone(),
            range.end.clone(),
        );
        let exported = tokio::task::spawn_blocking(move || e.export_run(&start, &end, &p))
            .await
            .map_err(|e| TaskError::Blocking(e.to_string()))??;
        let Some(run) = exported else { continue };
        let key = artefact_keys::run(task.table_id, range.range_id, task.engine_id, attempt);
        let put = tokio::select! {
            put = cx.artefacts.put_file(&key, &path) => put,
            _ = stop.cancelled() => {
                let _ = std::fs::remove_file(&path);
                return Err(TaskError::Cancelled);
            }
        };
        let _ = std::fs::remove_file(&path);
        put?;
        tracing::debug!(%task, range = range.range_id, kvs = run.kvs, bytes = run.bytes, key, "run written");
        squall_common::failpoint::point("encode.run-written").await;
        runs.push(RunSummary {
            range_id: range.range_id,
            key,
            min_key: run.min_key,
            max_key: run.max_key,
            kvs: run.kvs,
            bytes: run.bytes,
            checksum: run.checksum,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(runs)
}
