//! The worker loop: pull an engine task, run it while heartbeating the
//! delivery, then ack (done, or failed for good) or nak (try again later,
//! or at once on shutdown, optionally releasing the engine record).

use std::sync::Arc;
use std::time::Duration;

use squall_client::RetryPolicy;
use squall_common::checkpoint::EngineResult;
use squall_common::queue::{Delivery, SharedTaskQueue};

use super::backfill_range::{self, run_backfill_task};
use super::claim;
use super::context::WorkerContext;
use super::error::TaskError;
use super::lease;
use super::message::Task;
use super::range_claim;
use super::range_run::{run_range_task, RangeOutcome};
use super::run::{run_engine_task, TaskOutcome};

/// Deliveries of one task before a retryable failure is recorded as final.
pub const MAX_DELIVERIES: u32 = 5;
/// How long one pull waits before checking for shutdown again.
pub const PULL_WAIT: Duration = Duration::from_millis(500);

/// Pulls and runs tasks until `cx.cancel` fires. Returns only on shutdown
/// or when the queue itself fails.
pub async fn run_worker(cx: Arc<WorkerContext>, queue: SharedTaskQueue) -> Result<(), TaskError> {
    loop {
        let delivery = tokio::select! {
            _ = cx.cancel.cancelled() => return Ok(()),
            d = queue.pull(PULL_WAIT) => d?,
        };
        if let Some(delivery) = delivery {
            handle(&cx, queue.ack_wait(), delivery).await?;
        }
    }
}

/// How [`handle_with`] settled a delivery, for the caller's accounting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// This delivery finished the engine (acked).
    Done(EngineResult),
    /// The engine had ended before (done or failed): acked, nothing run.
    Skipped,
    /// A newer attempt holds the engine; this one's work was discarded (acked).
    Superseded,
    /// Failed; handed back to be tried again after a delay.
    Retried,
    /// Failed for good: recorded `Failed` (when claimed) and acked.
    Failed,
    /// Stopped by shutdown and handed back at once for another worker.
    Released,
    /// The job is paused or cancelled: dropped (acked), the engine left
    /// `Pending` for the coordinator to publish again.
    Withdrawn,
    /// Not an engine task: dropped (acked).
    Dropped,
    /// The disk under `dir` is full: handed back at once (its engine
    /// released) for a worker with room; this one should take no more tasks
    /// until `dir` has `needed` bytes free.
    DiskFull {
        dir: std::path::PathBuf,
        needed: u64,
    },
}

/// What a shutdown does to the engine record of the task it interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCancel {
    /// Leave it `Running` with whatever it has encoded, for this process's
    /// next run to pick up from its local engine (embedded mode).
    Keep,
    /// Give the claim back ([`claim::release`]): a draining cluster
    /// worker leaves and takes its local engine with it, so nothing of the
    /// attempt is reusable and the record should not name a worker that is
    /// gone (`squall worker` on SIGTERM). The cluster worker's choice, which
    /// also hands a task that met a full disk back to the queue at once
    /// ([`Settled::DiskFull`]): another worker may have room.
    Release,
}

/// Runs one delivery of an engine task in `cx` and settles it: ack when
/// the engine is done or failed for good (recording the failure on the last
/// delivery), nak to retry later or on shutdown. Shared by the embedded
/// loops and the cluster worker (`crate::node`).
pub async fn handle(
    cx: &WorkerContext,
    ack_wait: Duration,
    delivery: Delivery,
) -> Result<(), TaskError> {
    handle_with(cx, ack_wait, delivery, OnCancel::Keep)
        .await
        .map(|_| ())
}

/// [`handle`], choosing what a shutdown does to the engine record and
/// saying how the delivery was settled.
pub async fn handle_with(
    cx: &WorkerContext,
    ack_wait: Duration,
    delivery: Delivery,
    on_cancel: OnCancel,
) -> Result<Settled, TaskError> {
    let task = match Task::from_message(&delivery.id, &delivery.payload) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "dropping a task message Squall does not know");
            delivery.ack().await?;
            return Ok(Settled::Dropped);
        }
    };
    let heartbeat = spawn_heartbeat(&delivery, ack_wait);
    // Both kinds settle alike below; only the run, the release and the
    // failure record differ by kind.
    let result = match &task {
        Task::Engine(t) => run_engine_task(cx, t).await,
        Task::IngestRange(t) => run_range_task(cx, t).await.map(|o| match o {
            RangeOutcome::Done(r) => TaskOutcome::Done(EngineResult {
                attempt: r.attempt,
                worker: r.worker,
                kvs: r.kvs,
                bytes: r.bytes,
                local_duplicates: r.local_duplicates,
                ingest_ms: r.ingest_ms,
                ..EngineResult::default()
            }),
            RangeOutcome::Superseded => TaskOutcome::Superseded,
            RangeOutcome::Other(o) => o,
        }),
        // No lease: its errors come without an attempt (`backfill_range`).
        Task::BackfillRange(t) => run_backfill_task(cx, t).await,
    };
    heartbeat.abort();
    let settled = match result {
        Ok(outcome) => {
            delivery.ack().await?;
            match outcome {
                TaskOutcome::Done(r) => Settled::Done(r),
                TaskOutcome::Superseded => Settled::Superseded,
                TaskOutcome::AlreadyDone => Settled::Skipped,
                // Job paused or cancelled (job control): dropped, the engine
                // handed back to the coordinator, which publishes it again.
                TaskOutcome::Withdrawn { .. } => Settled::Withdrawn,
                TaskOutcome::AlreadyFailed { reason } => {
                    tracing::warn!(%task, %reason, "engine already failed; dropping its task");
                    Settled::Skipped
                }
            }
        }
        Err((attempt, TaskError::Cancelled)) => {
            if let (OnCancel::Release, Some(attempt)) = (on_cancel, attempt) {
                release(cx, &task, attempt).await;
            }
            // Shutting down: hand the task back for the next run or worker.
            delivery.nak(Duration::ZERO).await?;
            Settled::Released
        }
        // A cluster worker's full disk: another worker may have room, so
        // the task goes back at once, its attempt given back; this worker
        // waits for room (the caller). On the last delivery it fails below.
        Err((
            attempt,
            TaskError::DiskFull {
                dir,
                needed,
                free,
                error,
            },
        )) if on_cancel == OnCancel::Release && redelivery_delay(delivery.delivered).is_some() => {
            let e = TaskError::DiskFull {
                dir: dir.clone(),
                free,
                needed,
                error,
            };
            tracing::error!(%task, ?attempt, delivered = delivery.delivered, error = %e,
                "engine task stopped by a full disk: handed back to the queue for another worker; \
                 this worker takes no task until {} has {needed} bytes free", dir.display());
            if let Some(attempt) = attempt {
                release(cx, &task, attempt).await;
            }
            delivery.nak(Duration::ZERO).await?;
            Settled::DiskFull { dir, needed }
        }
        Err((attempt, e)) => match redelivery_delay(delivery.delivered) {
            Some(delay) if e.is_retryable() => {
                tracing::warn!(%task, ?attempt, delivered = delivery.delivered, error = %e, ?delay,
                    "engine task failed; it will be retried");
                delivery.nak(delay).await?;
                Settled::Retried
            }
            _ => {
                tracing::error!(%task, ?attempt, error = %e, "engine task failed for good");
                let reason = e.to_string();
                match (&task, attempt) {
                    (Task::Engine(t), Some(attempt)) => {
                        claim::record_failed(&cx.store, t, attempt, reason).await?;
                    }
                    (Task::IngestRange(t), Some(attempt)) => {
                        range_claim::record_failed(&cx.store, t, attempt, reason).await?;
                    }
                    (Task::BackfillRange(t), _) => {
                        backfill_range::record_failed(cx, t, reason).await?;
                    }
                    _ => {}
                }
                delivery.ack().await?;
                Settled::Failed
            }
        },
    };
    Ok(settled)
}

/// Gives the claim back ([`lease::release`]: `Pending`, the attempt as
/// before the claim). Best effort: a failure only leaves the record
/// `Running` under this worker's name, and the next claim takes over from
/// that just as well.
async fn release(cx: &WorkerContext, task: &Task, attempt: u32) {
    // One lease for every kind of record (`lease.rs`).
    match task {
        Task::Engine(t) => lease::release_logged(&cx.store, t, attempt).await,
        Task::IngestRange(t) => lease::release_logged(&cx.store, t, attempt).await,
        // Never called for it: a backfill range has no claim to give back.
        Task::BackfillRange(_) => {}
    }
}

/// The nak delay after the `delivered`-th delivery failed, `None` on the
/// last of [`MAX_DELIVERIES`] (1 s, 2 s, 4 s … capped at 30 s).
fn redelivery_delay(delivered: u32) -> Option<Duration> {
    RetryPolicy::task_redelivery(MAX_DELIVERIES).nth_delay(delivered)
}

/// Sends `in_progress` every third of `ack_wait` until aborted.
fn spawn_heartbeat(delivery: &Delivery, ack_wait: Duration) -> tokio::task::JoinHandle<()> {
    let handle = delivery.heartbeat();
    let every = (ack_wait / 3).max(Duration::from_millis(10));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = handle.in_progress().await {
                tracing::warn!(error = %e, "could not extend the task's ack deadline");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_delay_grows_until_the_last_delivery() {
        assert_eq!(redelivery_delay(1), Some(Duration::from_secs(1)));
        assert_eq!(redelivery_delay(3), Some(Duration::from_secs(4)));
        assert_eq!(
            redelivery_delay(MAX_DELIVERIES - 1),
            Some(Duration::from_secs(8))
        );
        assert_eq!(redelivery_delay(MAX_DELIVERIES), None);
    }
}
