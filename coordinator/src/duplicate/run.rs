//! The entry point the runner calls after every engine is ingested and
//! before the checksum: detect, report, then resolve.
//!
//! Order matters for TiKV's rules and for restarts:
//! 1. Detection over every table not yet detected; each finished piece of a
//!    range is checkpointed before the scan moves on.
//! 2. For each table, a read ts is fixed (once, checkpointed), the rows are
//!    read and decoded (in shards spilled to disk when the table's plan would
//!    exceed `conflict.resolve-memory`), and the report is (re)written whole.
//! 3. `conflict.threshold` and the `error` strategy stop the job here, with
//!    the reports kept and nothing written to TiKV.
//! 4. `remove` / `replace`: the resolution ts is fixed (once, checkpointed)
//!    and the mutations are written; then the table is marked resolved.
//!
//! No resolution Delete is ingested before detection of its table is
//! complete, so no range is ever scanned after its deletes landed (TiKV would
//! answer with a key error), and a restart re-runs steps 2–4 with the same
//! read ts and resolution ts, producing the same report and versions.

use squall_common::checkpoint::{typed, CheckpointStore};

use super::context::{DuplicateContext, TableJob};
use super::error::DuplicateError;
use super::remote::Detector;
use super::strategy::ConflictStrategy;
use super::summary::{
    state_key, states_prefix, ConflictSummary, TableConflictState, TableConflictSummary,
};
use super::target::targets_for;
use crate::resolve::stream::{resolve_table, TableResolution};

/// Finds every conflict of the job's tables, writes the report and applies
/// the strategy. `Err(ConflictsFound | ThresholdExceeded)` leaves the report
/// in place and TiKV unchanged.
pub async fn detect_and_resolve(ctx: &DuplicateContext) -> Result<ConflictSummary, DuplicateError> {
    ctx.cancel.check()?;
    let store = &*ctx.checkpoints;
    let mut states = Vec::with_capacity(ctx.tables.len());
    for job in &ctx.tables {
        let state =
            typed::read::<TableConflictState>(store, &state_key(&ctx.job_id, job.table.id)).await?;
        states.push(state.map_or_else(|| TableConflictState::new(job.table.id), |s| s.record));
    }
    detect(ctx, &mut states).await?;
    let mut plans = Vec::with_capacity(ctx.tables.len());
    let mut summaries = Vec::with_capacity(ctx.tables.len());
    for (job, state) in ctx.tables.iter().zip(states.iter_mut()) {
        let read_ts = fix_ts(ctx, state, |s| &mut s.read_ts).await?;
        // Planned within conflict.resolve-memory (spilled shards when over
        // it); the report is written here, the writes after the limits.
        let plan = resolve_table(ctx, job, read_ts).await?;
        summaries.push(summarize(job, &plan));
        tracing::info!(table = %job.table.qualified_name(), rows = plan.conflict_rows, keys = plan.conflict_keys, batches = plan.batches, shards = plan.shards, "conflicts found");
        plans.push(plan);
    }
    let mut summary = ConflictSummary {
        strategy: ctx.strategy,
        tables: summaries,
    };
    check_limits(ctx, &summary).await?;
    for ((job, plan), (state, table_summary)) in ctx
        .tables
        .iter()
        .zip(&plans)
        .zip(states.iter_mut().zip(summary.tables.iter_mut()))
    {
        apply(ctx, job, plan, state, table_summary).await?;
    }
    Ok(summary)
}

/// Runs detection over the tables whose ranges are not all covered yet.
async fn detect(
    ctx: &DuplicateContext,
    states: &mut [TableConflictState],
) -> Result<(), DuplicateError> {
    let pending: Vec<usize> = (0..states.len()).filter(|&i| !states[i].detected).collect();
    if pending.is_empty() {
        return Ok(());
    }
    let targets: Vec<_> = pending
        .iter()
        .flat_map(|&i| targets_for(&ctx.tables[i].table))
        .collect();
    let detector = Detector {
        client: &ctx.import,
        store: &*ctx.checkpoints,
        job_id: &ctx.job_id,
        min_commit_ts: ctx.min_commit_ts,
        concurrency: ctx.concurrency,
        retry: &ctx.retry,
        segment_bytes: ctx.segment_bytes,
        cancel: &ctx.cancel,
    };
    let stats = detector.run(&targets).await?;
    tracing::info!(
        tables = pending.len(),
        ranges = targets.len(),
        streams = stats.streams,
        versions = stats.pairs,
        retries = stats.retries,
        "duplicate detection finished"
    );
    for i in pending {
        states[i].detected = true;
        save_state(&*ctx.checkpoints, &ctx.job_id, &states[i]).await?;
    }
    Ok(())
}

/// The ts in `slot`, taking one from PD and checkpointing it the first time.
async fn fix_ts(
    ctx: &DuplicateContext,
    state: &mut TableConflictState,
    slot: impl Fn(&mut TableConflictState) -> &mut Option<u64>,
) -> Result<u64, DuplicateError> {
    if let Some(ts) = *slot(state) {
        return Ok(ts);
    }
    let ts = ctx
        .import
        .pd()
        .tso()
        .await
        .map_err(|e| DuplicateError::client("PD Tso", e))?;
    *slot(state) = Some(ts);
    save_state(&*ctx.checkpoints, &ctx.job_id, state).await?;
    Ok(ts)
}

/// `conflict.threshold` counts the whole job: rows of this call's tables
/// plus those of the job's other tables resolved before (the runner may call
/// once per table).
async fn check_limits(
    ctx: &DuplicateContext,
    summary: &ConflictSummary,
) -> Result<(), DuplicateError> {
    let mine: Vec<i64> = ctx.tables.iter().map(|t| t.table.id).collect();
    let others: u64 =
        typed::read_all::<TableConflictState>(&*ctx.checkpoints, &states_prefix(&ctx.job_id))
            .await?
            .iter()
            .filter(|s| !mine.contains(&s.record.table_id))
            .filter_map(|s| s.record.summary.as_ref().map(|t| t.conflict_rows))
            .sum();
    let rows = summary.conflict_rows() + others;
    let report_dir = ctx.output_dir.join("conflicts").display().to_string();
    if ctx.threshold > 0 && rows > ctx.threshold {
        return Err(DuplicateError::ThresholdExceeded {
            rows,
            threshold: ctx.threshold,
            report_dir,
        });
    }
    if ctx.strategy == ConflictStrategy::Error && rows > 0 {
        return Err(DuplicateError::ConflictsFound {
            rows,
            report_dir,
            summary: Box::new(summary.clone()),
        });
    }
    Ok(())
}

/// Writes a table's mutations (unless a previous run did) and records it.
async fn apply(
    ctx: &DuplicateContext,
    job: &TableJob,
    plan: &TableResolution,
    state: &mut TableConflictState,
    summary: &mut TableConflictSummary,
) -> Result<(), DuplicateError> {
    if !state.resolved && plan.put_kvs + plan.deleted_kvs > 0 {
        let ts = fix_ts(ctx, state, |s| &mut s.resolve_ts).await?;
        let name = job.table.qualified_name();
        tracing::info!(table = %name, commit_ts = ts, puts = plan.put_kvs, deletes = plan.deleted_kvs, batches = plan.batches, shards = plan.shards, "writing conflict resolution");
        // Batch by batch (or spilled chunk by chunk), all at the one
        // resolution ts: they write disjoint keys, and a restart writes
        // every one again (the same versions), so where a crash fell does
        // not matter.
        plan.write(ctx, job, ts).await?;
    }
    summary.resolve_ts = state.resolve_ts.unwrap_or(0);
    state.resolved = true;
    state.summary = Some(summary.clone());
    save_state(&*ctx.checkpoints, &ctx.job_id, state).await
}

fn summarize(job: &TableJob, plan: &TableResolution) -> TableConflictSummary {
    TableConflictSummary {
        table_id: job.table.id,
        table: format!("{}.{}", job.table.db, job.table.name),
        remote_versions: plan.remote_versions,
        local_copies: plan.local_copies,
        conflict_keys: plan.conflict_keys,
        conflict_rows: plan.conflict_rows,
        kept_rows: plan.kept_rows,
        removed_rows: plan.removed_rows,
        put_kvs: plan.put_kvs,
        deleted_kvs: plan.deleted_kvs,
        checksum: plan.adjustment,
        resolve_ts: 0,
        report_jsonl: plan.report_jsonl.display().to_string(),
        report_csv: plan.report_csv.display().to_string(),
    }
}

async fn save_state(
    store: &dyn CheckpointStore,
    job_id: &str,
    state: &TableConflictState,
) -> Result<(), DuplicateError> {
    typed::write(store, &state_key(job_id, state.table_id), state).await?;
    Ok(())
}
