//! A worker node of a cluster (`squall worker`): stateless, it registers in
//! etcd, pulls engine tasks of any job from the shared queue, builds each
//! job's context from the job's config in the checkpoint store (artefacts
//! for the coordinator go to the cluster's artefact store), and runs
//! every delivery exactly as the embedded worker loops do
//! ([`crate::task::worker_loop::handle_with`]). Its engine directory is a
//! cache: a node that dies loses nothing but time (its tasks are redelivered).
//!
//! **Draining.** [`run_node`] stops pulling when `drain` fires; tasks in
//! flight go on until they end or until the contexts' cancel token fires
//! (the drain deadline), when they stop, their engine records are released
//! (`Pending`) and their deliveries are handed back at once. It returns
//! when every loop has ended; the caller then deregisters.
//!
//! * [`job_config`]: the job's settings in the store (written by the coordinator).
//! * [`contexts`]: one [`crate::task::WorkerContext`] per job, built on first use.
//! * [`registration`]: `squall/workers/<id>` under a kept-alive etcd lease.
//! * `accounting`: what a finished engine adds to the metrics.
//! * `room`: after a full disk, no task until the engine directory has room
//!   (the task itself went back to the queue for another worker).

mod accounting;
pub mod contexts;
mod error;
pub mod job_config;
pub mod registration;
mod room;

use std::sync::Arc;
use std::time::Duration;

use squall_common::queue::{Delivery, SharedTaskQueue};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::metrics::WorkerMetrics;
use crate::task::worker_loop::{handle_with, OnCancel, Settled, PULL_WAIT};
use crate::task::Task;
pub use contexts::{JobContexts, NodeIdentity};
pub use error::NodeError;
pub use job_config::JobConfigRecord;

/// Wait before a task whose job cannot be served here (yet) is offered again.
const UNSERVABLE_DELAY: Duration = Duration::from_secs(5);
/// Cap of the wait after the queue failed, before pulling again.
const MAX_QUEUE_BACKOFF: Duration = Duration::from_secs(10);

/// Runs `concurrency` pull loops until `drain` fires and the tasks in
/// flight have ended (done, or stopped by the contexts' cancel token and
/// handed back). `metrics`: where to count what happens, if served.
pub async fn run_node(
    contexts: Arc<JobContexts>,
    queue: SharedTaskQueue,
    concurrency: usize,
    drain: CancellationToken,
    metrics: Option<Arc<WorkerMetrics>>,
) {
    let node = Arc::new(Node {
        contexts,
        queue,
        accounting: metrics.map(accounting::Accounting::new),
        room: room::Room::default(),
    });
    let mut loops = JoinSet::new();
    for n in 0..concurrency.max(1) {
        loops.spawn(pull_loop(n, Arc::clone(&node), drain.clone()));
    }
    while loops.join_next().await.is_some() {}
}

/// What every pull loop of the node shares.
struct Node {
    contexts: Arc<JobContexts>,
    queue: SharedTaskQueue,
    accounting: Option<accounting::Accounting>,
    /// Set when a task met a full disk: no pulls until there is room.
    room: room::Room,
}

async fn pull_loop(n: usize, node: Arc<Node>, drain: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    while !drain.is_cancelled() {
        node.room.wait(&drain).await;
        let pulled = tokio::select! {
            _ = drain.cancelled() => return,
            d = node.queue.pull(PULL_WAIT) => d,
        };
        match pulled {
            Ok(Some(delivery)) if drain.is_cancelled() => hand_back(delivery).await,
            Ok(Some(delivery)) => {
                backoff = Duration::from_millis(200);
                node.serve(delivery).await;
            }
            Ok(None) => backoff = Duration::from_millis(200),
            Err(e) => {
                // The queue retries inside each call; this is an outage
                // longer than that. Keep trying: the node is useless without it.
                tracing::warn!(loop_no = n, error = %e, retry_in = ?backoff, "pulling a task failed");
                tokio::select! {
                    _ = drain.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_QUEUE_BACKOFF);
            }
        }
    }
}

/// A delivery that arrived as the node began to drain: not started, so
/// handed straight back for another worker.
async fn hand_back(delivery: Delivery) {
    let id = delivery.id.clone();
    match delivery.nak(Duration::ZERO).await {
        Ok(()) => tracing::info!(task = %id, "draining: handed a just-pulled task back"),
        Err(e) => {
            tracing::warn!(task = %id, error = %e, "could not hand the task back; it comes back after its ack wait")
        }
    }
}

impl Node {
    /// One delivery: find its job's context, then handle it like the
    /// embedded loop, except that a stopped task's engine is released.
    async fn serve(&self, delivery: Delivery) {
        if let Some(a) = &self.accounting {
            a.metrics.delivery(delivery.delivered);
        }
        let task = match Task::from_message(&delivery.id, &delivery.payload) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "dropping a task message that is not an engine task");
                if let Some(a) = &self.accounting {
                    a.metrics.task_settled(&Settled::Dropped);
                }
                if let Err(e) = delivery.ack().await {
                    tracing::warn!(error = %e, "could not ack the bad message; it comes back");
                }
                return;
            }
        };
        let cx = match self.contexts.get(task.job_id()).await {
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
        if let Some(a) = &self.accounting {
            a.metrics.task_started();
        }
        let ack_wait = self.queue.ack_wait();
        match handle_with(&cx, ack_wait, delivery, OnCancel::Release).await {
            Ok(settled) => {
                match &settled {
                    Settled::Released => {
                        tracing::info!(%task, "task stopped by shutdown and handed back for another worker")
                    }
                    Settled::DiskFull { dir, needed } => self.room.wait_for(dir.clone(), *needed),
                    _ => {}
                }
                if let Some(a) = &self.accounting {
                    a.metrics.task_settled(&settled);
                    if let (Settled::Done(result), Task::Engine(task)) = (&settled, &task) {
                        a.engine_done(&cx, task, result).await;
                    }
                }
            }
            // The delivery was not settled: the queue redelivers it after its
            // ack wait, and the engine's attempt counter keeps the results straight.
            Err(e) => tracing::warn!(%task, error = %e, "task not settled; it will be redelivered"),
        }
    }
}
