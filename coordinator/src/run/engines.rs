//! Handing engines to the workers and watching their checkpoints until every
//! engine is done, one fails for good, or the job is stopped.

use std::time::Duration;

use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, SharedCheckpointStore, Stored,
};
use squall_common::queue::{Published, SharedTaskQueue};
use squall_worker::task::{EngineTask, TaskError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::CoordinatorError;

/// How often the engine checkpoints are read while waiting.
const POLL: Duration = Duration::from_millis(250);

/// Publishes one task per engine that is not finished. Returns how many.
pub async fn publish_unfinished(
    queue: &SharedTaskQueue,
    engines: &[Stored<EngineCheckpoint>],
) -> Result<usize, CoordinatorError> {
    let mut published = 0;
    for e in engines {
        if matches!(
            e.record.state,
            EngineState::Done(_) | EngineState::Failed { .. }
        ) {
            continue;
        }
        let task = EngineTask {
            job_id: e.record.job_id.clone(),
            table_id: e.record.table_id,
            engine_id: e.record.engine_id,
        };
        if queue.publish(task.to_message()).await? == Published::Queued {
            published += 1;
        }
    }
    Ok(published)
}

/// Waits until every engine of the job is `Done`. Fails on the first
/// engine that failed for good, on a worker loop that died, or when
/// `shutdown` fires.
pub async fn wait_for_engines(
    store: &SharedCheckpointStore,
    job_id: &str,
    workers: &mut JoinSet<Result<(), TaskError>>,
    shutdown: &CancellationToken,
) -> Result<(), CoordinatorError> {
    loop {
        let engines: Vec<Stored<EngineCheckpoint>> =
            typed::read_all(store.as_ref(), &keys::engines_prefix(job_id)).await?;
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
        tokio::select! {
            _ = shutdown.cancelled() => return Err(CoordinatorError::Interrupted),
            _ = tokio::time::sleep(POLL) => {}
            Some(joined) = workers.join_next() => {
                let result = joined.map_err(|e| CoordinatorError::Blocking(format!("worker loop: {e}")))?;
                result?;
                return Err(CoordinatorError::Blocking("a worker loop stopped before the engines were done".into()));
            }
        }
    }
}
