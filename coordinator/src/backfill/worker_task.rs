//! A backfill range as a cluster worker runs it (`"kind":
//! "backfill-range"` on the job's queue): the worker crate's
//! [`BackfillRangeRunner`], installed by `squall worker`.
//!
//! Everything comes from the checkpoint store, so a redelivered or
//! duplicated message is harmless: the plan (snapshot ts, the range's
//! bounds), the range record (its commit ts, stored by the coordinator
//! before it published the task), the table record (schema, physical
//! tables), the job record (the "now" generated columns read) and the
//! job's config (the worker's context). The range is then built exactly
//! as in-process ([`build_range`]) and its result recorded.
//!
//! No lease is needed: the entries are fixed by (snapshot ts, range,
//! commit ts), so two workers building one range write identical versions
//! and recording `Done` twice writes the same result. A unique conflict
//! inside the range is recorded in the range record (nothing ingested);
//! the coordinator fails the table naming index, value and both handles.
//!
//! A range of a paused or cancelled job is withdrawn before it is built
//! (acked, its record left unsettled): the coordinator publishes it again
//! when the job goes on ([`super::queue`]).

use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt;
use squall_common::checkpoint::{control, keys, typed, Decision, JobCheckpoint, TableCheckpoint};
use squall_worker::task::{
    BackfillRangeOutcome, BackfillRangeRunner, BackfillRangeTask, TaskError, WorkerContext,
};

use super::build::{build_range, BuildContext, RangeTask};
use super::import_step::job_converter;
use super::progress::BackfillProgress;
use super::records::{BackfillKeys, BackfillPlan, RangeConflict, RangeRecord};
use super::target::IndexTarget;
use super::tasks::RANGE_DONE_FAILPOINT;
use crate::error::CoordinatorError;

/// The coordinator crate's backfill, for workers.
#[derive(Debug, Default, Clone, Copy)]
pub struct QueueRangeRunner;

impl BackfillRangeRunner for QueueRangeRunner {
    fn run<'a>(
        &'a self,
        cx: &'a WorkerContext,
        task: &'a BackfillRangeTask,
    ) -> BoxFuture<'a, Result<BackfillRangeOutcome, TaskError>> {
        async move { run(cx, task).await.map_err(task_error) }.boxed()
    }

    fn record_failed<'a>(
        &'a self,
        cx: &'a WorkerContext,
        task: &'a BackfillRangeTask,
        reason: String,
    ) -> BoxFuture<'a, Result<(), TaskError>> {
        async move {
            let key = keys_of(task).range(task.range as usize);
            typed::update(cx.store.as_ref(), &key, |r: &mut RangeRecord| {
                if r.done.is_some() || r.failed.is_some() {
                    return Decision::Keep;
                }
                r.failed = Some(reason.clone());
                Decision::Write
            })
            .await?;
            Ok(())
        }
        .boxed()
    }
}

fn keys_of(task: &BackfillRangeTask) -> BackfillKeys {
    BackfillKeys::in_job(&task.job_id, task.table_id, &task.indexes)
}

async fn run(
    cx: &WorkerContext,
    task: &BackfillRangeTask,
) -> Result<BackfillRangeOutcome, CoordinatorError> {
    let store = cx.store.as_ref();
    let keys = keys_of(task);
    let n = task.range as usize;
    let record: RangeRecord = required(store, &keys.range(n)).await?;
    if record.done.is_some() {
        return Ok(BackfillRangeOutcome::AlreadyDone);
    }
    if let Some(reason) = record.failed {
        return Ok(BackfillRangeOutcome::AlreadyFailed { reason });
    }
    if !record.conflicts.is_empty() {
        return Ok(BackfillRangeOutcome::Conflicts(record.conflicts.len()));
    }
    // A held job builds nothing: the range stays unsettled and goes out
    // again when the job goes on (a build under way when the job is held
    // finishes, as an engine's ingest does).
    let control = control::read(store, &task.job_id).await?.control;
    if control.holds() {
        return Ok(BackfillRangeOutcome::Withdrawn { control });
    }
    let plan: BackfillPlan = required(store, &keys.plan()).await?;
    let spec = plan
        .ranges
        .get(n)
        .filter(|s| s.pid == record.pid && s.start == record.start && s.end == record.end)
        .ok_or_else(|| CoordinatorError::Invalid {
            what: "index backfill",
            reason: format!(
                "{} does not match range {n} of {} (the plan was replaced?); run the job again",
                keys.range(n),
                keys.plan()
            ),
        })?;
    let table: TableCheckpoint = required(store, &keys::table(&task.job_id, task.table_id)).await?;
    let job: JobCheckpoint = required(store, &keys::job(&task.job_id)).await?;
    let indexes = table
        .table
        .written_indices()
        .filter(|ix| plan.indexes.contains(&ix.id))
        .cloned()
        .collect::<Vec<_>>();
    if indexes.len() != plan.indexes.len() {
        return Err(CoordinatorError::Schema {
            table: table.table.qualified_name(),
            reason: format!(
                "the backfill builds indexes {:?}, the table record has {:?}",
                plan.indexes,
                indexes.iter().map(|ix| ix.id).collect::<Vec<_>>()
            ),
        });
    }
    let target = IndexTarget {
        physical_ids: table.physical_ids(),
        table: table.table.clone(),
        indexes,
    };
    let converter = job_converter(&cx.cfg, &job)?;
    let root = PathBuf::from(&cx.sorted_kv_dir);
    let progress = BackfillProgress::default();
    let bcx = BuildContext {
        pd: cx.client.pd(),
        client: &cx.client,
        cfg: &cx.cfg,
        converter: &converter,
        engine_root: &root,
        ts: plan.ts,
        batch_size: cx.cfg.squall.index_backfill_batch_size,
        progress: &progress,
    };
    let (start, end) = spec.keys();
    let range = RangeTask {
        pid: spec.pid,
        n,
        start,
        end,
        commit_ts: record.commit_ts,
    };
    let outcome = match build_range(&bcx, &target, &range).await? {
        Ok(done) => {
            let (rows, entries) = (done.rows, done.entries);
            typed::update(store, &keys.range(n), |r: &mut RangeRecord| {
                r.done = Some(done.clone());
                Decision::Write
            })
            .await?;
            BackfillRangeOutcome::Done { rows, entries }
        }
        Err(conflicts) => {
            let stored: Vec<RangeConflict> = conflicts.iter().map(RangeConflict::from).collect();
            typed::update(store, &keys.range(n), |r: &mut RangeRecord| {
                if r.done.is_some() {
                    return Decision::Keep;
                }
                r.conflicts = stored.clone();
                Decision::Write
            })
            .await?;
            BackfillRangeOutcome::Conflicts(stored.len())
        }
    };
    squall_common::failpoint::point(RANGE_DONE_FAILPOINT).await;
    Ok(outcome)
}

/// A record the task cannot run without.
async fn required<T: squall_common::checkpoint::Record>(
    store: &dyn squall_common::checkpoint::CheckpointStore,
    key: &str,
) -> Result<T, CoordinatorError> {
    typed::read::<T>(store, key)
        .await?
        .map(|s| s.record)
        .ok_or_else(|| CoordinatorError::MissingCheckpoint {
            key: key.to_string(),
        })
}

/// The build's error as a task error: bad data or a missing record is for
/// good; the cluster, the store, the disk may do better on a redelivery.
fn task_error(e: CoordinatorError) -> TaskError {
    let retryable = match &e {
        CoordinatorError::Checkpoint(c) => c.is_retryable(),
        CoordinatorError::Worker(w) => w.is_retryable(),
        CoordinatorError::Schema { .. }
        | CoordinatorError::Codec(_)
        | CoordinatorError::MissingCheckpoint { .. }
        | CoordinatorError::PlanMismatch { .. } => false,
        // PD/TiKV (after the client's own retries), the local engine and
        // ingest (`Invalid`, `Io`, `Blocking`): worth another delivery.
        _ => true,
    };
    TaskError::Backfill {
        reason: e.to_string(),
        retryable,
    }
}
