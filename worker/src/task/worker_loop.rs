//! The worker loop: pull an engine task, run it while heartbeating the
//! delivery, then ack (done, or failed for good) or nak (try again later).

use std::sync::Arc;
use std::time::Duration;

use squall_client::RetryPolicy;
use squall_common::queue::{Delivery, SharedTaskQueue};

use super::claim;
use super::context::WorkerContext;
use super::error::TaskError;
use super::message::EngineTask;
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

/// Runs one delivery of an engine task in `cx` and settles it: ack when
/// the engine is done or failed for good (recording the failure on the last
/// delivery), nak to retry later or on shutdown. Shared by the embedded
/// loops and the cluster worker (`crate::node`).
pub async fn handle(
    cx: &WorkerContext,
    ack_wait: Duration,
    delivery: Delivery,
) -> Result<(), TaskError> {
    let task = match EngineTask::from_message(&delivery.id, &delivery.payload) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "dropping a task message that is not an engine task");
            return Ok(delivery.ack().await?);
        }
    };
    let heartbeat = spawn_heartbeat(&delivery, ack_wait);
    let result = run_engine_task(cx, &task).await;
    heartbeat.abort();
    match result {
        Ok(outcome) => {
            if let TaskOutcome::AlreadyFailed { reason } = &outcome {
                tracing::warn!(%task, %reason, "engine already failed; dropping its task");
            }
            delivery.ack().await?;
        }
        Err((_, TaskError::Cancelled)) => {
            // Shutting down: leave the task for the next run.
            delivery.nak(Duration::ZERO).await?;
        }
        Err((attempt, e)) => match redelivery_delay(delivery.delivered) {
            Some(delay) if e.is_retryable() => {
                tracing::warn!(%task, ?attempt, delivered = delivery.delivered, error = %e, ?delay,
                    "engine task failed; it will be retried");
                delivery.nak(delay).await?;
            }
            _ => {
                tracing::error!(%task, ?attempt, error = %e, "engine task failed for good");
                if let Some(attempt) = attempt {
                    claim::record_failed(&cx.store, &task, attempt, e.to_string()).await?;
                }
                delivery.ack().await?;
            }
        },
    }
    Ok(())
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
