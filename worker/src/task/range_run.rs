//! One ingest task of engine ranges (`squall.engine-ranges`), start to end:
//! claim the range, fetch the runs the table's `Done` engines wrote for it,
//! load them into a fresh local engine (SST ingestion: RocksDB merges them
//! by key, copies of a key stay apart by row tag), ingest it through the
//! usual region path at the range's commit ts, account local duplicates
//! (every copy after the first, across all engines of the range), check the
//! counts, record `Done` by CAS on the attempt, and only then delete the
//! range's runs. A killed task restarts from the runs.

use std::sync::Arc;
use std::time::Instant;

use squall_common::artefacts::keys as artefact_keys;
use squall_common::checkpoint::{
    keys, typed, ChunkSpec, EngineCheckpoint, EngineState, RangeCheckpoint, RangeResult,
    RunSummary, Stored,
};

use super::context::WorkerContext;
use super::duplicates;
use super::engine_kvs::EngineKvs;
use super::error::TaskError;
use super::lease;
use super::message::IngestRangeTask;
use super::range_claim::RangeClaim;
use super::run::TaskOutcome;
use crate::engine::LocalEngine;
use crate::ingest::{ingest_engine, IngestConfig, ProgressFn};

/// Runs `task`; like [`super::run_engine_task`], an error comes with the
/// attempt it happened under.
pub async fn run_range_task(
    cx: &WorkerContext,
    task: &IngestRangeTask,
) -> Result<RangeOutcome, (Option<u32>, TaskError)> {
    let (attempt, range) = match lease::claim(&cx.store, task, &cx.worker_id).await {
        Ok(RangeClaim::Run {
            attempt, record, ..
        }) => (attempt, record),
        Ok(RangeClaim::AlreadyDone) => return Ok(RangeOutcome::Other(TaskOutcome::AlreadyDone)),
        Ok(RangeClaim::AlreadyFailed { reason }) => {
            return Ok(RangeOutcome::Other(TaskOutcome::AlreadyFailed { reason }))
        }
        Ok(RangeClaim::Withdrawn { control, released }) => {
            tracing::info!(%task, %control, released, "job {control}: range task withdrawn");
            return Ok(RangeOutcome::Other(TaskOutcome::Withdrawn { control }));
        }
        Err(e) => return Err((None, e)),
    };
    tracing::info!(%task, attempt, commit_ts = range.commit_ts, "range ingest started");
    let engine = match open_engine(cx, task).await {
        Ok(e) => e,
        Err(e) => return Err((Some(attempt), e)),
    };
    let result = tokio::select! {
        r = run_claimed(cx, task, attempt, &range, &engine) => r,
        _ = cx.cancel.cancelled() => Err(TaskError::Cancelled),
    };
    let destroyed = blocking(move || engine.destroy().map_err(TaskError::from)).await;
    if let Err(e) = destroyed {
        tracing::warn!(%task, error = %e, "could not remove the range's local engine");
    }
    result.map_err(|e| (Some(attempt), e))
}

/// How a range task ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    Done(RangeResult),
    Superseded,
    Other(TaskOutcome),
}

async fn open_engine(cx: &WorkerContext, task: &IngestRangeTask) -> Result<LocalEngine, TaskError> {
    let (root, name, cfg) = (
        cx.sorted_kv_dir.clone(),
        task.engine_dir_name(),
        cx.cfg.tikv_importer.clone(),
    );
    blocking(move || {
        std::fs::create_dir_all(&root).map_err(|e| TaskError::io("create", &root, e))?;
        // Whatever an earlier attempt left here is rebuilt from the runs.
        LocalEngine::remove_dir(&root, &name)?;
        LocalEngine::open(&root, &name, &cfg).map_err(TaskError::from)
    })
    .await
}

/// The table's engines, all `Done`: the runs they name for this range and
/// every chunk of the table (row tags of duplicates resolve against them).
async fn runs_of(
    cx: &WorkerContext,
    task: &IngestRangeTask,
) -> Result<(Vec<RunSummary>, Vec<ChunkSpec>), TaskError> {
    let prefix = keys::table_engines_prefix(&task.job_id, task.table_id);
    let engines: Vec<Stored<EngineCheckpoint>> =
        typed::read_all(cx.store.as_ref(), &prefix).await?;
    let mut runs = Vec::new();
    let mut chunks = Vec::new();
    for e in engines {
        chunks.extend(e.record.chunks.iter().cloned());
        match e.record.state {
            EngineState::Done(r) => runs.extend(
                r.runs
                    .into_iter()
                    .filter(|run| run.range_id == task.range_id),
            ),
            other => {
                return Err(TaskError::Inconsistent(format!(
                    "{task}: {} is {other:?}, not done; ranges are published only after every \
                     engine of their table is done",
                    e.key
                )))
            }
        }
    }
    Ok((runs, chunks))
}

async fn run_claimed(
    cx: &WorkerContext,
    task: &IngestRangeTask,
    attempt: u32,
    range: &RangeCheckpoint,
    engine: &LocalEngine,
) -> Result<RangeOutcome, TaskError> {
    let began = Instant::now();
    let (runs, chunks) = runs_of(cx, task).await?;
    for run in &runs {
        fetch_run(cx, task, engine, run).await?;
    }
    let e = engine.clone();
    blocking(move || e.finish_writes().map_err(TaskError::from)).await?;
    let run_kvs: u64 = runs.iter().map(|r| r.kvs).sum();
    let run_bytes: u64 = runs.iter().map(|r| r.bytes).sum();
    let mut result = RangeResult {
        attempt,
        worker: cx.worker_id.clone(),
        runs: runs.len() as u64,
        run_kvs,
        ..RangeResult::default()
    };
    if run_kvs > 0 {
        let progress = Arc::clone(&cx.progress);
        let on_ingest: ProgressFn = Arc::new(move |bytes| progress.ingested(bytes));
        let kvs = Arc::new(EngineKvs(engine.clone()));
        let cfg = IngestConfig::from_task(&cx.cfg);
        let summary =
            ingest_engine(&cx.client, kvs, range.commit_ts, &cfg, Some(on_ingest)).await?;
        squall_common::failpoint::point("range.ingested").await;
        result.kvs = summary.kvs;
        result.bytes = summary.bytes;
    }
    if result.kvs != run_kvs {
        let key = artefact_keys::range_duplicates(task.table_id, task.range_id);
        let out = cx.output_dir.join(&key);
        let (e, table, out2) = (
            engine.clone(),
            format!("table {}", task.table_id),
            out.clone(),
        );
        let dups = blocking(move || duplicates::collect(&e, &chunks, &table, &out2)).await?;
        result.local_duplicates = dups.count;
        result.duplicate_data = dups.data;
        result.duplicate_indexes = dups.indexes.clone();
        if dups.count > 0 {
            cx.artefacts.put_file(&key, &out).await?;
        }
    }
    let dup_bytes = result.duplicate_data.bytes
        + result
            .duplicate_indexes
            .values()
            .map(|c| c.bytes)
            .sum::<u64>();
    if result.kvs + result.local_duplicates != run_kvs || result.bytes + dup_bytes != run_bytes {
        return Err(TaskError::Inconsistent(format!(
            "{task}: ingested {} KVs ({} bytes) and found {} local duplicates ({dup_bytes} bytes), \
             but its {} runs hold {run_kvs} KVs ({run_bytes} bytes)",
            result.kvs,
            result.bytes,
            result.local_duplicates,
            runs.len()
        )));
    }
    result.ingest_ms = began.elapsed().as_millis() as u64;
    if !lease::record_done(&cx.store, task, attempt, result.clone()).await? {
        return Ok(RangeOutcome::Superseded);
    }
    // Only now: until `Done`, a restart needs the runs.
    let prefix = artefact_keys::range_runs_prefix(task.table_id, task.range_id);
    match cx.artefacts.delete_prefix(&prefix).await {
        Ok(n) => tracing::debug!(%task, deleted = n, "range's runs deleted"),
        Err(e) => {
            tracing::warn!(%task, error = %e, "could not delete the range's runs; they only cost space")
        }
    }
    tracing::info!(%task, runs = result.runs, kvs = result.kvs, bytes = result.bytes,
        local_duplicates = result.local_duplicates, "range ingested");
    Ok(RangeOutcome::Done(result))
}

/// Fetches one run into a slot of the engine and adds it. A run a `Done`
/// engine names but the store lacks was lost: not retryable (the fix is to
/// encode the engine again).
async fn fetch_run(
    cx: &WorkerContext,
    task: &IngestRangeTask,
    engine: &LocalEngine,
    run: &RunSummary,
) -> Result<(), TaskError> {
    let (id, path) = engine.run_file_slot();
    // Streamed to disk: a run can be as big as an engine's share of a range.
    if !cx.artefacts.get_to_file(&run.key, &path).await? {
        return Err(TaskError::Inconsistent(format!(
            "{task}: run {} in {} is missing, but a done engine names it; it was deleted \
             since (another job run with the same ID?). Remove the job's checkpoint to import again",
            run.key,
            cx.artefacts.location()
        )));
    }
    let (e, kvs, size) = (engine.clone(), run.kvs, run.bytes);
    blocking(move || {
        e.add_run_file(id, &path, kvs, size)
            .map_err(TaskError::from)
    })
    .await
}

async fn blocking<T, F>(f: F) -> Result<T, TaskError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TaskError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TaskError::Blocking(e.to_string()))?
}
