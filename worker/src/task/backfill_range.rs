//! The index backfill's range task (`"kind": "backfill-range"`), as a
//! worker runs it.
//!
//! The build itself (scan the rows at the plan's snapshot, derive the
//! entries with the encoder, sort them in a local engine, ingest at the
//! range's commit ts, record the result) lives with the rest of the
//! backfill in the coordinator crate, which depends on this one. Rather
//! than move the backfill here (its records, its row → entries
//! derivation, the region scan it shares with `index check` and export), a
//! worker is handed a [`BackfillRangeRunner`] in its context: the least
//! churn, and one build path for `squall index backfill`, the embedded
//! import and the cluster's workers. `squall worker` installs the
//! coordinator's runner; a worker without one fails such a task, saying so.
//!
//! Idempotent without a lease: a range's entries are fixed by the plan's
//! snapshot ts, the range's bounds and its commit ts, all stored before
//! the task is published, so two workers building one range (a redelivery
//! while the first still runs, a duplicated message) write identical
//! versions, and recording `Done` twice writes the same result.
//!
//! Job control: the runner reads the job's control before it builds; a
//! held job's range is withdrawn ([`BackfillRangeOutcome::Withdrawn`],
//! acked unbuilt, as `lease` withdraws an engine task) and the coordinator
//! publishes it again when the job goes on.

use std::sync::Arc;

use futures::future::BoxFuture;
use squall_common::checkpoint::{Control, EngineResult};

use super::context::WorkerContext;
use super::error::TaskError;
use super::message::BackfillRangeTask;
use super::run::TaskOutcome;

/// How a backfill range task ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackfillRangeOutcome {
    /// Built, ingested and recorded by this delivery.
    Done { rows: u64, entries: u64 },
    /// The range record was done already: nothing run.
    AlreadyDone,
    /// Rows of the range hold one unique entry: nothing ingested, the
    /// conflicts recorded in the range record for the coordinator.
    Conflicts(usize),
    /// The range was failed for good before: nothing run.
    AlreadyFailed { reason: String },
    /// The job is paused or cancelled: nothing built, the range left
    /// unsettled; the coordinator publishes it again when the job goes on.
    Withdrawn { control: Control },
}

/// Builds one range of an index backfill (the coordinator crate's).
pub trait BackfillRangeRunner: Send + Sync {
    /// Runs `task` with what the checkpoint store holds for it; a
    /// retryable error goes back to the queue.
    fn run<'a>(
        &'a self,
        cx: &'a WorkerContext,
        task: &'a BackfillRangeTask,
    ) -> BoxFuture<'a, Result<BackfillRangeOutcome, TaskError>>;

    /// Records `reason` in the range record: the task used up its
    /// deliveries (or cannot succeed), the coordinator fails the table.
    fn record_failed<'a>(
        &'a self,
        cx: &'a WorkerContext,
        task: &'a BackfillRangeTask,
        reason: String,
    ) -> BoxFuture<'a, Result<(), TaskError>>;
}

pub type SharedBackfillRunner = Arc<dyn BackfillRangeRunner>;

/// Runs `task` with the context's runner, as the worker loop's other kinds
/// run (an error comes with no attempt: a backfill range has no lease).
pub async fn run_backfill_task(
    cx: &WorkerContext,
    task: &BackfillRangeTask,
) -> Result<TaskOutcome, (Option<u32>, TaskError)> {
    let runner = cx.backfill.as_ref().ok_or((None, no_runner()))?;
    tracing::info!(%task, "index backfill range started");
    let ran = tokio::select! {
        r = runner.run(cx, task) => r,
        _ = cx.cancel.cancelled() => Err(TaskError::Cancelled),
    };
    match ran.map_err(|e| (None, e))? {
        BackfillRangeOutcome::Done { rows, entries } => {
            tracing::info!(%task, rows, entries, "index backfill range done");
            Ok(TaskOutcome::Done(EngineResult {
                worker: cx.worker_id.clone(),
                rows,
                kvs: entries,
                ..EngineResult::default()
            }))
        }
        BackfillRangeOutcome::AlreadyDone => Ok(TaskOutcome::AlreadyDone),
        // Settled: the coordinator reads the conflicts from the record.
        BackfillRangeOutcome::Conflicts(n) => {
            tracing::warn!(%task, conflicts = n,
                "unique index conflicts in the range: nothing ingested, recorded for the coordinator");
            Ok(TaskOutcome::AlreadyDone)
        }
        BackfillRangeOutcome::AlreadyFailed { reason } => Ok(TaskOutcome::AlreadyFailed { reason }),
        // Acked without building (the worker loop's `Withdrawn`), as an
        // engine task of a held job is.
        BackfillRangeOutcome::Withdrawn { control } => {
            tracing::info!(%task, %control, "index backfill range withdrawn: the job is held");
            Ok(TaskOutcome::Withdrawn { control })
        }
    }
}

/// Records the failure with the context's runner (without one there is no
/// record format to write: the error was logged).
pub async fn record_failed(
    cx: &WorkerContext,
    task: &BackfillRangeTask,
    reason: String,
) -> Result<(), TaskError> {
    match &cx.backfill {
        Some(runner) => runner.record_failed(cx, task, reason).await,
        None => Ok(()),
    }
}

fn no_runner() -> TaskError {
    TaskError::Backfill {
        reason: "this worker cannot build index backfill ranges (no backfill runner installed); \
                 run the cluster's workers with `squall worker`, which builds them"
            .to_string(),
        retryable: false,
    }
}
