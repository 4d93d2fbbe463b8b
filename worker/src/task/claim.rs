//! The engine checkpoint as a lease: a worker claims an engine by bumping its
//! `attempt` (compare-and-swap), and every later write of that worker applies
//! only while the engine is still `Running` at that attempt. A worker that
//! was presumed dead (its message redelivered to another) therefore cannot
//! overwrite the newer attempt's result.
//!
//! The job's control (`checkpoint::control`) is read before every claim: a
//! paused or cancelled job's task is withdrawn instead (the runner publishes
//! the job's unfinished engines again when it goes on). A withdrawn task
//! whose engine is still `Running` lets go of it: its holder lost the task
//! (it died, froze, or handed it back after an error), and an engine left
//! `Running` with no task anywhere would never be published again.

use std::time::{SystemTime, UNIX_EPOCH};

use squall_common::checkpoint::{
    control, typed, Control, Decision, EngineCheckpoint, EngineResult, EngineState,
    SharedCheckpointStore,
};

use super::error::TaskError;
use super::message::EngineTask;

/// What claiming found.
// One per task, moved once: boxing the checkpoint would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Claim {
    /// Run it as `attempt`; `encoded` is what an earlier attempt already
    /// encoded (usable only if its local engine is still on disk).
    Run {
        attempt: u32,
        engine: EngineCheckpoint,
        encoded: Option<EngineResult>,
    },
    AlreadyDone,
    AlreadyFailed {
        reason: String,
    },
    /// The job is paused or cancelled: not claimed. `released`: the engine
    /// was `Running` under a holder that lost its task, and is `Pending` now.
    Withdrawn {
        control: Control,
        released: bool,
    },
}

/// A lease record that is not there is the task's own error (the
/// coordinator writes every record before publishing its task).
pub(super) fn missing(e: squall_common::checkpoint::CheckpointError) -> TaskError {
    match e {
        squall_common::checkpoint::CheckpointError::Missing { key } => {
            TaskError::MissingCheckpoint { key }
        }
        other => other.into(),
    }
}

pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub async fn claim(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    worker: &str,
) -> Result<Claim, TaskError> {
    let held = control::read(store.as_ref(), &task.job_id).await?.control;
    if held.holds() {
        return withdraw(store, task, held).await;
    }
    let key = task.checkpoint_key();
    let stored = typed::update(store.as_ref(), &key, |e: &mut EngineCheckpoint| {
        let encoded = match &e.state {
            EngineState::Done(_) | EngineState::Failed { .. } => return Decision::Keep,
            EngineState::Running { encoded, .. } => encoded.clone(),
            EngineState::Pending => None,
        };
        e.attempt += 1;
        e.state = EngineState::Running {
            attempt: e.attempt,
            worker: worker.to_string(),
            started_unix_ms: now_unix_ms(),
            encoded,
        };
        Decision::Write
    })
    .await
    .map_err(missing)?;
    let engine = stored.record;
    Ok(match &engine.state {
        EngineState::Done(_) => Claim::AlreadyDone,
        EngineState::Failed { reason, .. } => Claim::AlreadyFailed {
            reason: reason.clone(),
        },
        EngineState::Running {
            attempt, encoded, ..
        } => Claim::Run {
            attempt: *attempt,
            encoded: encoded.clone(),
            engine: engine.clone(),
        },
        EngineState::Pending => unreachable!("a claim never leaves the engine pending"),
    })
}

/// Claim's answer for a job that is held: nothing claimed, and a `Running`
/// engine let go of (keeping its attempt: its holder may still be alive,
/// e.g. frozen, and must never see its attempt number handed out again).
async fn withdraw(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    control: Control,
) -> Result<Claim, TaskError> {
    let mut released = false;
    typed::update(
        store.as_ref(),
        &task.checkpoint_key(),
        |e: &mut EngineCheckpoint| {
            released = matches!(e.state, EngineState::Running { .. });
            if !released {
                return Decision::Keep;
            }
            e.state = EngineState::Pending;
            Decision::Write
        },
    )
    .await
    .map_err(missing)?;
    Ok(Claim::Withdrawn { control, released })
}

/// Gives back a claim this worker holds and stops working on (the job was
/// paused or cancelled): the engine goes back to `Pending` and its attempt
/// back to what it was before the claim, so the pause costs no attempt.
/// Safe because every other claimant ever had a smaller attempt, and this
/// worker writes nothing more. Returns whether the claim was still held.
pub async fn release(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
) -> Result<bool, TaskError> {
    let mut released = false;
    typed::update(
        store.as_ref(),
        &task.checkpoint_key(),
        |e: &mut EngineCheckpoint| {
            released = matches!(e.state, EngineState::Running { attempt: a, .. } if a == attempt);
            if !released {
                return Decision::Keep;
            }
            e.state = EngineState::Pending;
            e.attempt = attempt.saturating_sub(1);
            Decision::Write
        },
    )
    .await?;
    Ok(released)
}

/// Applies `next` if the engine is still running as `attempt`; returns
/// whether it did (false: another attempt took over, or the engine ended).
async fn apply(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
    next: EngineState,
) -> Result<bool, TaskError> {
    let mut applied = false;
    typed::update(
        store.as_ref(),
        &task.checkpoint_key(),
        |e: &mut EngineCheckpoint| {
            applied = matches!(e.state, EngineState::Running { attempt: a, .. } if a == attempt);
            if !applied {
                return Decision::Keep;
            }
            e.state = next.clone();
            Decision::Write
        },
    )
    .await?;
    if !applied {
        tracing::warn!(%task, attempt, "engine was taken over by a newer attempt; not recording this one");
    }
    Ok(applied)
}

/// Notes that the local engine is complete, keeping the running state.
pub async fn record_encoded(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
    worker: &str,
    started_unix_ms: u64,
    encoded: &EngineResult,
) -> Result<bool, TaskError> {
    let next = EngineState::Running {
        attempt,
        worker: worker.to_string(),
        started_unix_ms,
        encoded: Some(encoded.clone()),
    };
    apply(store, task, attempt, next).await
}

pub async fn record_done(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
    result: EngineResult,
) -> Result<bool, TaskError> {
    apply(store, task, attempt, EngineState::Done(result)).await
}

pub async fn record_failed(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
    reason: String,
) -> Result<bool, TaskError> {
    apply(
        store,
        task,
        attempt,
        EngineState::Failed { attempt, reason },
    )
    .await
}
