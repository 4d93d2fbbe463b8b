//! One engine task, start to end: claim, encode (or reuse the encoded local
//! engine), ingest at the engine's commit ts, account local duplicates,
//! record the result with a compare-and-swap on the attempt.
//!
//! Idempotent: the local engine is rebuilt from scratch unless the claim
//! says it was completely encoded and it is still on disk; ingest rewrites the
//! same keys at the same timestamp; the result is written only by the
//! attempt that holds the claim.
//!
//! A paused or cancelled job (`checkpoint::control`) is obeyed at the claim
//! (the task is withdrawn) and while the task runs ([`watch`]): the claim is
//! handed back ([`claim::release`]) and the task withdrawn, unless the job
//! was let go again meanwhile, in which case the task simply carries on.

mod watch;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use futures::stream::{FuturesUnordered, StreamExt};
use squall_codec::Converter;
use squall_common::checkpoint::keys;
use squall_common::checkpoint::{
    control, typed, Control, EngineCheckpoint, EngineResult, JobCheckpoint, TableCheckpoint,
};
use squall_source::ReadOptions;
use tokio_util::sync::CancellationToken;

use super::claim::{self, Claim};
use super::context::WorkerContext;
use super::disk_full;
use super::duplicates;
use super::early_import;
use super::encode::{encode_chunk, ChunkOutcome, EncodeContext};
use super::engine_kvs::EngineKvs;
use super::error::TaskError;
use super::lease;
use super::message::EngineTask;
use super::partition::PartitionRouter;
use super::rejects::RejectLog;
use super::spec::chunk_source_bytes;
use crate::engine::LocalEngine;
use crate::ingest::{ingest_engine, IngestConfig, ProgressFn};
use watch::ControlWatch;

/// How a task ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    Done(EngineResult),
    /// Another attempt holds the engine now; this one's work is discarded.
    Superseded,
    AlreadyDone,
    AlreadyFailed {
        reason: String,
    },
    /// The job is paused or cancelled: the task is dropped from the queue
    /// (ack) and its engine left `Pending`; the runner publishes it again
    /// when the job goes on.
    Withdrawn {
        control: Control,
    },
}

/// Runs `task`; a returned error leaves the engine `Running` (the caller
/// decides between retrying and [`claim::record_failed`]). The attempt is
/// returned with the error so the caller can record the failure.
pub async fn run_engine_task(
    cx: &WorkerContext,
    task: &EngineTask,
) -> Result<TaskOutcome, (Option<u32>, TaskError)> {
    // Each turn is one claim; a turn ends in another only when the job was
    // held and let go again while this task let go of its engine.
    loop {
        let claimed = match lease::claim(&cx.store, task, &cx.worker_id).await {
            Ok(c) => c,
            Err(e) => return Err((None, e)),
        };
        let (attempt, engine_ckpt, encoded) = match claimed {
            Claim::Run {
                attempt,
                record,
                carried,
            } => (attempt, record, carried),
            Claim::AlreadyDone => return Ok(TaskOutcome::AlreadyDone),
            Claim::AlreadyFailed { reason } => return Ok(TaskOutcome::AlreadyFailed { reason }),
            Claim::Withdrawn { control, released } => {
                if released {
                    tracing::info!(%task, %control, "job {control}: engine let go of (its holder had lost the task)");
                    if going_on(cx, task).await {
                        continue;
                    }
                }
                tracing::info!(%task, %control, "job {control}: task withdrawn");
                return Ok(TaskOutcome::Withdrawn { control });
            }
        };
        tracing::info!(%task, attempt, chunks = engine_ckpt.chunks.len(), commit_ts = engine_ckpt.commit_ts, "engine task started");
        let watch = ControlWatch::start(&cx.store, &task.job_id, &cx.cancel);
        let result = run_claimed(cx, task, attempt, &engine_ckpt, encoded, &watch).await;
        let stopped_by = watch.stopped_by();
        drop(watch);
        let error = match result {
            Ok(outcome) => return Ok(outcome),
            // Shutdown: the caller hands the task back.
            Err(e) if cx.cancel.is_cancelled() => return Err((Some(attempt), e)),
            Err(e) if disk_full::is_disk_full(&e) => {
                let (root, id) = (cx.sorted_kv_dir.clone(), task.engine_dir_name());
                let source_bytes = engine_ckpt.source_bytes;
                let explained = tokio::task::spawn_blocking(move || {
                    disk_full::explain(&root, &id, source_bytes, e)
                })
                .await
                .unwrap_or_else(|e| TaskError::Blocking(e.to_string()));
                return Err((Some(attempt), explained));
            }
            Err(e) => e,
        };
        // A retryable failure while the job is held is let go of like a
        // stopped one: handed back, it would only be withdrawn.
        let held = match stopped_by {
            Some(c) => Some(c),
            None if error.is_retryable() => held_now(cx, task).await,
            None => None,
        };
        let Some(control) = held else {
            return Err((Some(attempt), error));
        };
        match claim::release(&cx.store, task, attempt).await {
            Ok(true) => {
                tracing::info!(%task, attempt, %control, "job {control}: engine handed back")
            }
            Ok(false) => {
                tracing::info!(%task, attempt, "engine not handed back: a newer attempt holds it")
            }
            Err(e) => return Err((Some(attempt), e)),
        }
        if going_on(cx, task).await {
            continue;
        }
        return Ok(TaskOutcome::Withdrawn { control });
    }
}

/// The job's control if it holds the job now (`None`: running, or unknown).
async fn held_now(cx: &WorkerContext, task: &EngineTask) -> Option<Control> {
    let c = control::read(cx.store.as_ref(), &task.job_id).await.ok()?;
    c.control.holds().then_some(c.control)
}

/// After this task let go of its engine: whether the job runs again (it
/// was resumed meanwhile). Then the runner may have looked at the engine
/// before it was let go of and published nothing for it, so this task
/// claims it again rather than dropping the only message for it. Unknown
/// (the store is away) counts as running: the claim then fails and the
/// task is handed back to the queue, never dropped.
async fn going_on(cx: &WorkerContext, task: &EngineTask) -> bool {
    match control::read(cx.store.as_ref(), &task.job_id).await {
        Ok(c) => !c.control.holds(),
        Err(_) => true,
    }
}

async fn run_claimed(
    cx: &WorkerContext,
    task: &EngineTask,
    attempt: u32,
    ckpt: &EngineCheckpoint,
    encoded: Option<EngineResult>,
    watch: &ControlWatch,
) -> Result<TaskOutcome, TaskError> {
    let started = claim::now_unix_ms();
    let engine = open_engine(cx, task).await?;
    // What early imports under `disk-quota` sent (`early_import.rs`).
    let mut parts = early_import::Parts::default();
    let (engine, mut result) = match encoded {
        Some(enc) if engine.is_finished() => {
            tracing::info!(%task, "local engine was fully encoded before a restart; ingesting it");
            cx.progress.encoded(ckpt.source_bytes);
            (engine, enc)
        }
        _ => {
            let engine = blocking(move || engine.reset().map_err(TaskError::from)).await?;
            let result =
                encode_engine(cx, task, ckpt, attempt, &engine, &mut parts, &watch.encode).await?;
            if !claim::record_encoded(&cx.store, task, attempt, &cx.worker_id, started, &result)
                .await?
            {
                return Ok(TaskOutcome::Superseded);
            }
            (engine, result)
        }
    };
    if cx.cfg.squall.engine_ranges {
        // Engine ranges: no ingest here; the runs go to the artefact store
        // and the range tasks ingest them (`runs.rs`, `range_run.rs`).
        result.runs = super::runs::write_runs(cx, task, attempt, &engine, &watch.all).await?;
        result.kvs = result.data.kvs + result.indexes.values().map(|c| c.kvs).sum::<u64>();
        result.bytes = result.data.bytes + result.indexes.values().map(|c| c.bytes).sum::<u64>();
        let run_kvs: u64 = result.runs.iter().map(|r| r.kvs).sum();
        if run_kvs != result.kvs {
            return Err(TaskError::Inconsistent(format!(
                "{task}: its runs hold {run_kvs} KVs but the encoder produced {}: a KV fell \
                 outside every planned range of the table",
                result.kvs
            )));
        }
    } else {
        ingest_and_account(cx, task, ckpt, &engine, &mut result, parts, &watch.all).await?;
    }
    if !claim::record_done(&cx.store, task, attempt, result.clone()).await? {
        return Ok(TaskOutcome::Superseded);
    }
    blocking(move || engine.destroy().map_err(TaskError::from)).await?;
    cx.progress.engine_done();
    tracing::info!(%task, rows = result.rows, kvs = result.kvs, bytes = result.bytes,
        local_duplicates = result.local_duplicates, skipped = result.skipped_rows, "engine task done");
    Ok(TaskOutcome::Done(result))
}

async fn open_engine(cx: &WorkerContext, task: &EngineTask) -> Result<LocalEngine, TaskError> {
    let (root, name, cfg) = (
        cx.sorted_kv_dir.clone(),
        task.engine_dir_name(),
        cx.cfg.tikv_importer.clone(),
    );
    blocking(move || {
        std::fs::create_dir_all(&root).map_err(|e| TaskError::io("create", &root, e))?;
        LocalEngine::open(&root, &name, &cfg).map_err(TaskError::from)
    })
    .await
}

/// Encodes every chunk, `region-concurrency` at a time, and finishes the
/// engine; `stop` ends it early (shutdown, or the job held).
async fn encode_engine(
    cx: &WorkerContext,
    task: &EngineTask,
    ckpt: &EngineCheckpoint,
    attempt: u32,
    engine: &LocalEngine,
    parts: &mut early_import::Parts,
    stop: &CancellationToken,
) -> Result<EngineResult, TaskError> {
    let began = Instant::now();
    // Set when the disk quota is reached: no new chunk until the ones in
    // flight are done and what they sorted is imported.
    let mut quota_used: Option<u64> = None;
    let ecx = Arc::new(encode_context(cx, task, stop).await?);
    super::pre_split::run(cx, &ecx.table, ecx.router.physical_ids()).await;
    let mut pending = ckpt.chunks.iter().cloned();
    let mut running = FuturesUnordered::new();
    let mut total = ChunkOutcome::default();
    let mut first_error: Option<TaskError> = None;
    let limit = cx.cfg.lightning.region_concurrency.max(1);
    loop {
        if let (Some(used), None, true) = (quota_used, &first_error, running.is_empty()) {
            quota_used = None;
            let imported =
                early_import::import_part(cx, task, ckpt, engine, used, parts, stop).await;
            if let Err(e) = imported {
                first_error = Some(e);
            }
        }
        while first_error.is_none() && quota_used.is_none() && running.len() < limit {
            let Some(spec) = pending.next() else { break };
            let (ecx, engine) = (Arc::clone(&ecx), engine.clone());
            running.push(tokio::task::spawn_blocking(move || {
                let writer = engine.writer()?;
                encode_chunk(&ecx, &spec, writer)
            }));
        }
        let Some(joined) = running.next().await else {
            break;
        };
        match joined
            .map_err(|e| TaskError::Blocking(e.to_string()))
            .and_then(|r| r)
        {
            Ok(out) => {
                total.merge(&out);
                // Engine ranges never ingest from an encode task, so the
                // disk quota's early import does not apply (warned once at start).
                if quota_used.is_none() && first_error.is_none() && !cx.cfg.squall.engine_ranges {
                    match early_import::quota_reached(engine).await {
                        Ok(used) => quota_used = used,
                        Err(e) => first_error = Some(e),
                    }
                }
            }
            Err(e) if first_error.is_none() => {
                // Stop the other chunks of this engine; the attempt is lost.
                ecx.cancel.cancel();
                first_error = Some(e);
            }
            Err(_) => {}
        }
    }
    let rejects_written = ecx.rejects.finish();
    if let Some(e) = first_error {
        cx.budget.give_back(ecx.taken.load(Ordering::Relaxed));
        cx.progress
            .retract_encoded(ckpt.chunks.iter().map(chunk_source_bytes).sum());
        return Err(e);
    }
    rejects_written.map_err(|e| TaskError::io("write", ecx.rejects.path(), e))?;
    let engine2 = engine.clone();
    blocking(move || engine2.finish_writes().map_err(TaskError::from)).await?;
    Ok(EngineResult {
        attempt,
        worker: cx.worker_id.clone(),
        rows: total.rows,
        data: total.data,
        indexes: total.indexes.clone(),
        kvs: 0,
        bytes: 0,
        local_duplicates: 0,
        skipped_rows: total.skipped,
        warnings: total.warnings,
        encode_ms: began.elapsed().as_millis() as u64,
        ingest_ms: 0,
        max_row_id: total.auto_ids.row_id,
        max_auto_id: total.auto_ids.auto_id,
        runs: Vec::new(),
    })
}

async fn encode_context(
    cx: &WorkerContext,
    task: &EngineTask,
    stop: &CancellationToken,
) -> Result<EncodeContext, TaskError> {
    let store = cx.store.as_ref();
    let job: JobCheckpoint = typed::read(store, &keys::job(&task.job_id))
        .await?
        .ok_or_else(|| TaskError::MissingCheckpoint {
            key: keys::job(&task.job_id),
        })?
        .record;
    let table: TableCheckpoint = typed::read(store, &task.table_key())
        .await?
        .ok_or_else(|| TaskError::MissingCheckpoint {
            key: task.table_key(),
        })?
        .record;
    let now =
        chrono::DateTime::from_timestamp_millis(job.created_unix_ms as i64).unwrap_or_default();
    let converter = Converter::new(&cx.cfg.tidb.sql_mode, &cx.cfg.tidb.time_zone)?.with_now(now);
    let rejects_path = cx.errors_path(task.table_id, task.engine_id);
    let rejects = RejectLog::new(rejects_path.clone())
        .map_err(|e| TaskError::io("remove", &rejects_path, e))?;
    Ok(EncodeContext {
        store: cx.source.clone(),
        mydumper: cx.cfg.mydumper.clone(),
        // Parquet instants (UTC) are shown in the zone the encoder reads them in.
        read: ReadOptions {
            time_zone: Some(cx.cfg.tidb.time_zone.clone()),
            ..ReadOptions::default()
        },
        router: PartitionRouter::new(&table.table, table.partition.as_ref()),
        table: table.table,
        converter,
        rejects,
        budget: Arc::clone(&cx.budget),
        taken: Default::default(),
        // A child: a failed chunk cancels its siblings, not the task.
        cancel: stop.child_token(),
        progress: Arc::clone(&cx.progress),
        rows_only: cx.cfg.squall.index_mode == squall_common::config::IndexMode::AfterData,
    })
}

/// Ingests the engine, then takes local duplicates out of the result;
/// `stop` ends it early (shutdown, or the job cancelled).
async fn ingest_and_account(
    cx: &WorkerContext,
    task: &EngineTask,
    ckpt: &EngineCheckpoint,
    engine: &LocalEngine,
    result: &mut EngineResult,
    parts: early_import::Parts,
    stop: &CancellationToken,
) -> Result<(), TaskError> {
    let began = Instant::now();
    let compacting = engine.clone();
    blocking(move || Ok(compacting.compact_if_many_runs()?)).await?;
    let progress = Arc::clone(&cx.progress);
    let on_ingest: ProgressFn = Arc::new(move |bytes| progress.ingested(bytes));
    let kvs = Arc::new(EngineKvs(engine.clone()));
    let cfg = IngestConfig::from_task(&cx.cfg);
    let mut summary = tokio::select! {
        r = ingest_engine(&cx.client, kvs, ckpt.commit_ts, &cfg, Some(on_ingest)) => r?,
        _ = stop.cancelled() => return Err(TaskError::Cancelled),
    };
    // Parts imported early under disk-quota count with the final ingest.
    summary.kvs += parts.kvs;
    summary.bytes += parts.bytes;
    result.ingest_ms = began.elapsed().as_millis() as u64;
    let encoded_kvs = result.data.kvs + result.indexes.values().map(|c| c.kvs).sum::<u64>();
    let mut duplicates_file = None;
    if encoded_kvs != summary.kvs {
        let (engine2, chunks) = (engine.clone(), ckpt.chunks.clone());
        let out = cx.duplicates_path(task.table_id, task.engine_id);
        let (table, out2) = (format!("table {}", task.table_id), out.clone());
        let kept = early_import::kept_values(cx, engine, ckpt.commit_ts).await?;
        let dups = blocking(move || {
            duplicates::collect_with_kept(&engine2, &chunks, &table, &out2, &kept)
        })
        .await?;
        subtract(result, &dups);
        duplicates_file = (dups.count > 0).then_some(out);
    }
    result.kvs = result.data.kvs + result.indexes.values().map(|c| c.kvs).sum::<u64>();
    result.bytes = result.data.bytes + result.indexes.values().map(|c| c.bytes).sum::<u64>();
    if result.kvs != summary.kvs || result.bytes != summary.bytes {
        return Err(TaskError::Inconsistent(format!(
            "{task}: ingested {} KVs ({} bytes) but the encoder produced {} ({} bytes) after removing duplicates",
            summary.kvs, summary.bytes, result.kvs, result.bytes
        )));
    }
    if let Some(file) = duplicates_file {
        store_duplicates(cx, task, &file, stop).await?;
    }
    Ok(())
}

/// Hands the engine's duplicates file to the artefact store, where the
/// coordinator reads it. This runs before `Done` is recorded, so a `Done`
/// engine that counts local duplicates always has its artefact; a redone
/// task replaces it under the same key.
async fn store_duplicates(
    cx: &WorkerContext,
    task: &EngineTask,
    file: &std::path::Path,
    stop: &CancellationToken,
) -> Result<(), TaskError> {
    let key = cx.duplicates_key(task.table_id, task.engine_id);
    tokio::select! {
        stored = cx.artefacts.put_file(&key, file) => stored?,
        _ = stop.cancelled() => return Err(TaskError::Cancelled),
    }
    tracing::info!(%task, key, store = %cx.artefacts.location(), "local duplicates stored");
    Ok(())
}

fn subtract(result: &mut EngineResult, dups: &duplicates::LocalDuplicates) {
    result.local_duplicates = dups.count;
    result.data.subtract(&dups.data);
    for (id, c) in &mut result.indexes {
        if let Some(d) = dups.indexes.get(id) {
            c.subtract(d);
        }
    }
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
