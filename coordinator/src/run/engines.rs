//! Handing engines to the workers and watching their checkpoints until every
//! engine is done, one fails for good, or the job is stopped.

use std::collections::HashSet;
use std::time::Duration;

use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, SharedCheckpointStore, Stored,
};
use squall_common::queue::{Published, SharedTaskQueue};
use squall_worker::task::{EngineTask, TaskError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::control::Gate;
use super::observe::EngineObserver;
use crate::error::CoordinatorError;

/// How often the engine checkpoints are read while waiting.
const POLL: Duration = Duration::from_millis(250);

/// How task message ids are made (the queue drops a message whose id it
/// has seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageIds {
    /// One id per engine: the in-process queue forgets an id at the ack.
    PerEngine,
    /// One id per engine and attempt count. JetStream remembers ids for its
    /// duplicate window, acked or not, so an engine reopened after a
    /// failure needs a new id to be delivered again. A restarted coordinator
    /// republishes a never-claimed engine under the same id (dropped as a
    /// duplicate); a claimed one gets a second message, which the attempt
    /// counter makes harmless.
    PerAttempt,
}

/// Hands engines to the queue, remembering what it published so that a
/// resumed job publishes again exactly what was withdrawn meanwhile.
pub struct Publisher<'a> {
    queue: &'a SharedTaskQueue,
    ids: MessageIds,
    /// The job control's generation the messages are published under.
    generation: u32,
    /// `(table, engine, attempt, generation)` already published.
    published: HashSet<(i64, u32, u32, u32)>,
}

impl<'a> Publisher<'a> {
    pub fn new(queue: &'a SharedTaskQueue, ids: MessageIds, generation: u32) -> Self {
        Self {
            queue,
            ids,
            generation,
            published: HashSet::new(),
        }
    }

    /// Publishes one task per engine that is not finished. Returns how many
    /// the queue took (it drops ids it has seen).
    pub async fn publish_unfinished(
        &mut self,
        engines: &[Stored<EngineCheckpoint>],
    ) -> Result<usize, CoordinatorError> {
        let unfinished = engines.iter().filter(|e| {
            !matches!(
                e.record.state,
                EngineState::Done(_) | EngineState::Failed { .. }
            )
        });
        self.publish(unfinished).await
    }

    /// After the job went on under `generation` (resumed, see
    /// `checkpoint::control`): publishes every `Pending` engine not yet
    /// published under that generation and attempt. While the job was
    /// held, the workers dropped its tasks and let go of its engines, so
    /// every engine without a holder is `Pending` and has no task; an
    /// engine still `Running` is finishing its ingest (its holder has its
    /// task) or its holder died (the queue redelivers that task).
    pub async fn publish_released(
        &mut self,
        generation: u32,
        engines: &[Stored<EngineCheckpoint>],
    ) -> Result<usize, CoordinatorError> {
        self.generation = generation;
        let pending = engines
            .iter()
            .filter(|e| matches!(e.record.state, EngineState::Pending))
            .filter(|e| !self.published.contains(&self.key(e)))
            .collect::<Vec<_>>();
        self.publish(pending.into_iter()).await
    }

    fn key(&self, e: &Stored<EngineCheckpoint>) -> (i64, u32, u32, u32) {
        let r = &e.record;
        (r.table_id, r.engine_id, r.attempt, self.generation)
    }

    async fn publish<'e>(
        &mut self,
        engines: impl Iterator<Item = &'e Stored<EngineCheckpoint>>,
    ) -> Result<usize, CoordinatorError> {
        let mut published = 0;
        for e in engines {
            let task = EngineTask {
                job_id: e.record.job_id.clone(),
                table_id: e.record.table_id,
                engine_id: e.record.engine_id,
            };
            let mut message = task.to_message();
            if self.ids == MessageIds::PerAttempt {
                message.id = format!("{}.a{}", message.id, e.record.attempt);
            }
            if self.generation > 0 {
                message.id = format!("{}.g{}", message.id, self.generation);
            }
            if self.queue.publish(message).await? == Published::Queued {
                published += 1;
            }
            self.published.insert(self.key(e));
        }
        Ok(published)
    }
}

/// Waits until every engine of the job is `Done`. Fails on the first
/// engine that failed for good (in a cluster: a task that used up its
/// deliveries, recorded by the worker that had the last one), on a worker
/// loop that died (embedded), or when the gate stops the job (cancel,
/// shutdown). Waits while the job is paused and, when it goes on,
/// publishes what was withdrawn meanwhile. `observer` counts engines as
/// their records turn done (cluster: no worker shares this process's
/// progress counters).
pub async fn wait_for_engines(
    store: &SharedCheckpointStore,
    job_id: &str,
    workers: &mut JoinSet<Result<(), TaskError>>,
    mut observer: Option<&mut EngineObserver>,
    gate: &Gate,
    publisher: &mut Publisher<'_>,
) -> Result<(), CoordinatorError> {
    let shutdown = &gate.stop;
    loop {
        // Waits here while the job is paused; the engines are read after
        // the control, so a resume sees every engine let go of before it.
        let control = gate.pass().await?;
        let engines: Vec<Stored<EngineCheckpoint>> = match typed::read_all(
            store.as_ref(),
            &keys::engines_prefix(job_id),
        )
        .await
        {
            Ok(engines) => engines,
            // The store retried already; keep waiting while it is away
            // (the workers wait for it too) instead of failing the job.
            Err(e) if e.is_retryable() => {
                tracing::warn!(job = job_id, error = %e, "cannot read the engine records; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
                    _ = tokio::time::sleep(POLL * 8) => continue,
                }
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(observer) = observer.as_deref_mut() {
            observer.observe(&engines);
        }
        if control.generation != publisher.generation {
            let n = publisher
                .publish_released(control.generation, &engines)
                .await?;
            tracing::info!(
                job = job_id,
                engines = n,
                generation = control.generation,
                "job going on: its unfinished engines published again"
            );
        }
        if let Some(failed) = engines.iter().find_map(|e| match &e.record.state {
            EngineState::Failed { reason, .. } => {
                Some((e.record.table_id, e.record.engine_id, reason.clone()))
            }
            _ => None,
        }) {
            return Err(CoordinatorError::EngineFailed {
                table: failed.0.to_string(),
                engine: failed.1,
                reason: failed.2,
            });
        }
        if engines
            .iter()
            .all(|e| matches!(e.record.state, EngineState::Done(_)))
        {
            return Ok(());
        }
        wait_a_poll(shutdown, workers, "the engines were done").await?;
    }
}

/// Sleeps one poll interval, failing early on shutdown (`Interrupted`) or
/// when an embedded worker loop stops before `until` (its error, or a
/// `Blocking` one naming `until`).
pub(crate) async fn wait_a_poll(
    shutdown: &CancellationToken,
    workers: &mut JoinSet<Result<(), TaskError>>,
    until: &str,
) -> Result<(), CoordinatorError> {
    tokio::select! {
        // Biased: worker loops also stop on `shutdown`, so after Ctrl-C
        // both branches are ready, and a stopped loop is then the
        // interruption, not a failure.
        biased;
        _ = shutdown.cancelled() => Err(CoordinatorError::Interrupted),
        Some(joined) = workers.join_next() => {
            let result = joined.map_err(|e| CoordinatorError::Blocking(format!("worker loop: {e}")))?;
            if shutdown.is_cancelled() {
                return Err(CoordinatorError::Interrupted);
            }
            result?;
            Err(CoordinatorError::Blocking(format!("a worker loop stopped before {until}")))
        }
        _ = tokio::time::sleep(POLL) => Ok(()),
    }
}
