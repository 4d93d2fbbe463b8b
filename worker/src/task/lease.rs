//! A task's checkpoint record as a lease, one implementation for every
//! kind of task record (the engine's, `claim.rs`; the engine range's,
//! `range_claim.rs`): a worker claims the record by bumping its `attempt`
//! and setting `Running` (compare-and-swap), and every later write of that
//! worker applies only while the record is still `Running` at that attempt.
//! A worker that was presumed dead (its message redelivered to another)
//! therefore cannot overwrite the newer attempt's result.
//!
//! The job's control (`checkpoint::control`) is read before every claim: a
//! paused or cancelled job's task is withdrawn instead (the runner publishes
//! the job's unfinished tasks again when it goes on). A withdrawn task whose
//! record is still `Running` lets go of it: its holder lost the task (it
//! died, froze, or handed it back after an error), and a record left
//! `Running` with no task anywhere would never be published again.
//!
//! A record kind says how its state looks through [`LeaseRecord`]; a task
//! kind names its record through [`LeaseTask`].

use std::fmt::{Debug, Display};
use std::time::{SystemTime, UNIX_EPOCH};

use squall_common::checkpoint::typed::Record;
use squall_common::checkpoint::{
    control, typed, CheckpointError, Control, Decision, SharedCheckpointStore,
};

use super::error::TaskError;

/// A lease's state, the same four steps for every record kind: `Pending →
/// Running {attempt, worker} → Done(result)` or `Failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState<C, R> {
    Pending,
    Running {
        attempt: u32,
        worker: String,
        started_unix_ms: u64,
        /// What an earlier attempt left that a later one may use.
        carried: Option<C>,
    },
    Done(R),
    Failed {
        attempt: u32,
        reason: String,
    },
}

/// The part of a record's state a claim decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase<'a, C> {
    Pending,
    Running {
        attempt: u32,
        carried: Option<&'a C>,
    },
    Done,
    Failed {
        reason: &'a str,
    },
}

/// A checkpoint record that is a lease.
pub trait LeaseRecord: Record + Clone + Debug + 'static {
    /// What a `Running` state keeps from one attempt for the next (the
    /// engine: its encoded result; a range: nothing).
    type Carried: Clone + Debug + Send + Sync;
    /// What `Done` holds.
    type Result: Clone + Debug + Send + Sync;
    /// The record's name in log lines.
    const NOUN: &'static str;

    fn phase(&self) -> Phase<'_, Self::Carried>;
    fn set_state(&mut self, state: LeaseState<Self::Carried, Self::Result>);
    /// The claim counter (bumped by each claim, never by anything else
    /// except [`release`] giving its own claim back).
    fn attempt_mut(&mut self) -> &mut u32;
}

/// A task whose checkpoint record is a lease.
pub trait LeaseTask: Display + Sync {
    type Record: LeaseRecord;
    fn job_id(&self) -> &str;
    /// Where the record lives.
    fn lease_key(&self) -> String;
}

/// What claiming found.
// One per task, moved once: boxing the record would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Claim<R: LeaseRecord> {
    /// Run it as `attempt`; `carried` is what an earlier attempt left (the
    /// engine's: its encoded result, usable only if its local engine is
    /// still on disk).
    Run {
        attempt: u32,
        record: R,
        carried: Option<R::Carried>,
    },
    AlreadyDone,
    AlreadyFailed {
        reason: String,
    },
    /// The job is paused or cancelled: not claimed. `released`: the record
    /// was `Running` under a holder that lost its task, and is `Pending` now.
    Withdrawn {
        control: Control,
        released: bool,
    },
}

/// A lease record that is not there is the task's own error (the
/// coordinator writes every record before publishing its task).
fn missing(e: CheckpointError) -> TaskError {
    match e {
        CheckpointError::Missing { key } => TaskError::MissingCheckpoint { key },
        other => other.into(),
    }
}

pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub async fn claim<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    worker: &str,
) -> Result<Claim<T::Record>, TaskError> {
    let held = control::read(store.as_ref(), task.job_id()).await?.control;
    if held.holds() {
        return withdraw(store, task, held).await;
    }
    let key = task.lease_key();
    let stored = typed::update(store.as_ref(), &key, |r: &mut T::Record| {
        let carried = match r.phase() {
            Phase::Done | Phase::Failed { .. } => return Decision::Keep,
            Phase::Running { carried, .. } => carried.cloned(),
            Phase::Pending => None,
        };
        let attempt = r.attempt_mut();
        *attempt += 1;
        let attempt = *attempt;
        r.set_state(LeaseState::Running {
            attempt,
            worker: worker.to_string(),
            started_unix_ms: now_unix_ms(),
            carried,
        });
        Decision::Write
    })
    .await
    .map_err(missing)?;
    let record = stored.record;
    let claim = match record.phase() {
        Phase::Done => Claim::AlreadyDone,
        Phase::Failed { reason } => Claim::AlreadyFailed {
            reason: reason.to_string(),
        },
        Phase::Running { attempt, carried } => {
            let carried = carried.cloned();
            Claim::Run {
                attempt,
                carried,
                record,
            }
        }
        // The update above never leaves a pending record pending.
        Phase::Pending => {
            return Err(TaskError::Inconsistent(format!(
                "{task}: {key} is still pending after a claim"
            )))
        }
    };
    Ok(claim)
}

/// Claim's answer for a job that is held: nothing claimed, and a `Running`
/// record let go of (keeping its attempt: its holder may still be alive,
/// e.g. frozen, and must never see its attempt number handed out again).
async fn withdraw<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    control: Control,
) -> Result<Claim<T::Record>, TaskError> {
    let mut released = false;
    typed::update(store.as_ref(), &task.lease_key(), |r: &mut T::Record| {
        released = matches!(r.phase(), Phase::Running { .. });
        if !released {
            return Decision::Keep;
        }
        r.set_state(LeaseState::Pending);
        Decision::Write
    })
    .await
    .map_err(missing)?;
    Ok(Claim::Withdrawn { control, released })
}

/// Gives back a claim this worker holds and stops working on (the job was
/// paused or cancelled, the worker drains, its disk is full): the record
/// goes back to `Pending` and its attempt back to what it was before the
/// claim, so the hand-back costs no attempt. Safe because every other
/// claimant ever had a smaller attempt, and this worker writes nothing
/// more. Returns whether the claim was still held.
pub async fn release<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    attempt: u32,
) -> Result<bool, TaskError> {
    apply(store, task, attempt, LeaseState::Pending, true).await
}

/// [`release`], best effort and logged: a failure only leaves the record
/// `Running` under this worker's name, and the next claim takes over from
/// that just as well.
pub async fn release_logged<T: LeaseTask>(store: &SharedCheckpointStore, task: &T, attempt: u32) {
    let noun = <T::Record as LeaseRecord>::NOUN;
    match release(store, task, attempt).await {
        Ok(true) => tracing::info!(%task, attempt, "{noun} released for another worker"),
        Ok(false) => {
            tracing::info!(%task, attempt, "{noun} not released: a newer attempt holds it")
        }
        Err(e) => tracing::warn!(%task, attempt, error = %e,
            "could not release the {noun}; the next claim takes it over anyway"),
    }
}

/// Notes what this attempt leaves for a later one, keeping it running.
pub async fn record_carried<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    attempt: u32,
    worker: &str,
    started_unix_ms: u64,
    carried: <T::Record as LeaseRecord>::Carried,
) -> Result<bool, TaskError> {
    let next = LeaseState::Running {
        attempt,
        worker: worker.to_string(),
        started_unix_ms,
        carried: Some(carried),
    };
    recorded(
        task,
        attempt,
        apply(store, task, attempt, next, false).await?,
    )
}

pub async fn record_done<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    attempt: u32,
    result: <T::Record as LeaseRecord>::Result,
) -> Result<bool, TaskError> {
    let next = LeaseState::Done(result);
    recorded(
        task,
        attempt,
        apply(store, task, attempt, next, false).await?,
    )
}

pub async fn record_failed<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    attempt: u32,
    reason: String,
) -> Result<bool, TaskError> {
    let next = LeaseState::Failed { attempt, reason };
    recorded(
        task,
        attempt,
        apply(store, task, attempt, next, false).await?,
    )
}

fn recorded<T: LeaseTask>(task: &T, attempt: u32, applied: bool) -> Result<bool, TaskError> {
    if !applied {
        let noun = <T::Record as LeaseRecord>::NOUN;
        tracing::warn!(%task, attempt, "{noun} was taken over by a newer attempt; not recording this one");
    }
    Ok(applied)
}

/// Sets `next` if the record is still running as `attempt` (and, with
/// `give_back`, the attempt back to before this claim); returns whether it
/// did (false: another attempt took over, or the record ended).
async fn apply<T: LeaseTask>(
    store: &SharedCheckpointStore,
    task: &T,
    attempt: u32,
    next: LeaseState<<T::Record as LeaseRecord>::Carried, <T::Record as LeaseRecord>::Result>,
    give_back: bool,
) -> Result<bool, TaskError> {
    let mut applied = false;
    typed::update(store.as_ref(), &task.lease_key(), |r: &mut T::Record| {
        applied = matches!(r.phase(), Phase::Running { attempt: a, .. } if a == attempt);
        if !applied {
            return Decision::Keep;
        }
        r.set_state(next.clone());
        if give_back {
            *r.attempt_mut() = attempt.saturating_sub(1);
        }
        Decision::Write
    })
    .await?;
    Ok(applied)
}
