//! A worker node of a cluster (`squall worker`): stateless, it registers in
//! etcd, pulls engine tasks of any job from the shared queue, builds each
//! job's context from the job's config in the checkpoint store (artefacts
//! for the coordinator go to the cluster's artefact store), and runs
//! every delivery exactly as the embedded worker loops do
//! ([`crate::task::worker_loop::handle`]). Its engine directory is a cache:
//! a node that dies loses nothing but time (its tasks are redelivered).
//!
//! * [`job_config`]: the job's settings in the store (written by the coordinator).
//! * [`contexts`]: one [`crate::task::WorkerContext`] per job, built on first use.
//! * [`registration`]: `squall/workers/<id>` under a kept-alive etcd lease.

pub mod contexts;
mod error;
pub mod job_config;
pub mod registration;

use std::sync::Arc;
use std::time::Duration;

use squall_common::queue::{Delivery, SharedTaskQueue};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::task::worker_loop::{handle, PULL_WAIT};
use crate::task::EngineTask;
pub use contexts::{JobContexts, NodeIdentity};
pub use error::NodeError;
pub use job_config::JobConfigRecord;

/// Wait before a task whose job cannot be served here (yet) is offered again.
const UNSERVABLE_DELAY: Duration = Duration::from_secs(5);
/// Cap of the wait after the queue failed, before pulling again.
const MAX_QUEUE_BACKOFF: Duration = Duration::from_secs(10);

/// Runs `concurrency` pull loops until `cancel` fires. Tasks in flight at
/// that moment are abandoned and nak'ed, for another node to redo.
pub async fn run_node(
    contexts: Arc<JobContexts>,
    queue: SharedTaskQueue,
    concurrency: usize,
    cancel: CancellationToken,
) {
    let mut loops = JoinSet::new();
    for n in 0..concurrency.max(1) {
        loops.spawn(pull_loop(
            n,
            Arc::clone(&contexts),
            Arc::clone(&queue),
            cancel.clone(),
        ));
    }
    while loops.join_next().await.is_some() {}
}

async fn pull_loop(
    n: usize,
    contexts: Arc<JobContexts>,
    queue: SharedTaskQueue,
    cancel: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let pulled = tokio::select! {
            _ = cancel.cancelled() => return,
            d = queue.pull(PULL_WAIT) => d,
        };
        match pulled {
            Ok(Some(delivery)) => {
                backoff = Duration::from_millis(200);
                serve(&contexts, &queue, delivery).await;
            }
            Ok(None) => backoff = Duration::from_millis(200),
            Err(e) => {
                // The queue retries inside each call; this is an outage
                // longer than that. Keep trying: the node is useless without it.
                tracing::warn!(loop_no = n, error = %e, retry_in = ?backoff, "pulling a task failed");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_QUEUE_BACKOFF);
            }
        }
    }
}

/// One delivery: find its job's context, then handle it like the embedded loop.
async fn serve(contexts: &JobContexts, queue: &SharedTaskQueue, delivery: Delivery) {
    let task = match EngineTask::from_message(&delivery.id, &delivery.payload) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "dropping a task message that is not an engine task");
            if let Err(e) = delivery.ack().await {
                tracing::warn!(error = %e, "could not ack the bad message; it comes back");
            }
            return;
        }
    };
    let cx = match contexts.get(&task.job_id).await {
        Ok(cx) => cx,
        Err(e) => {
            tracing::warn!(%task, error = %e, retry_in = ?UNSERVABLE_DELAY, "cannot serve the task's job here; handing the task back");
            if let Err(e) = delivery.nak(UNSERVABLE_DELAY).await {
                tracing::warn!(%task, error = %e, "could not hand the task back; it comes back after its ack wait");
            }
            return;
        }
    };
    tracing::info!(%task, delivered = delivery.delivered, "running task");
    if let Err(e) = handle(&cx, queue.ack_wait(), delivery).await {
        // The delivery was not settled: the queue redelivers it after its ack
        // wait, and the engine's attempt counter keeps the results straight.
        tracing::warn!(%task, error = %e, "task not settled; it will be redelivered");
    }
}
