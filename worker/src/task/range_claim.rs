//! The range checkpoint as a lease, like the engine's (`claim.rs`): claiming
//! bumps `attempt` and sets `Running` by compare-and-swap; later writes apply
//! only while the range is still `Running` at that attempt. A held job
//! (paused, cancelled) withdraws the task, letting go of a `Running` range
//! whose holder lost its task.

use squall_common::checkpoint::{
    control, typed, Control, Decision, RangeCheckpoint, RangeResult, RangeState,
    SharedCheckpointStore,
};

use super::claim::{missing, now_unix_ms};
use super::error::TaskError;
use super::message::IngestRangeTask;

// One per task, moved once: boxing the record would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum RangeClaim {
    Run {
        attempt: u32,
        range: RangeCheckpoint,
    },
    AlreadyDone,
    AlreadyFailed {
        reason: String,
    },
    Withdrawn {
        control: Control,
    },
}

pub async fn claim(
    store: &SharedCheckpointStore,
    task: &IngestRangeTask,
    worker: &str,
) -> Result<RangeClaim, TaskError> {
    let held = control::read(store.as_ref(), &task.job_id).await?.control;
    if held.holds() {
        typed::update(
            store.as_ref(),
            &task.checkpoint_key(),
            |r: &mut RangeCheckpoint| {
                if !matches!(r.state, RangeState::Running { .. }) {
                    return Decision::Keep;
                }
                r.state = RangeState::Pending;
                Decision::Write
            },
        )
        .await
        .map_err(missing)?;
        return Ok(RangeClaim::Withdrawn { control: held });
    }
    let stored = typed::update(
        store.as_ref(),
        &task.checkpoint_key(),
        |r: &mut RangeCheckpoint| {
            if matches!(r.state, RangeState::Done(_) | RangeState::Failed { .. }) {
                return Decision::Keep;
            }
            r.attempt += 1;
            r.state = RangeState::Running {
                attempt: r.attempt,
                worker: worker.to_string(),
                started_unix_ms: now_unix_ms(),
            };
            Decision::Write
        },
    )
    .await
    .map_err(missing)?;
    let range = stored.record;
    Ok(match &range.state {
        RangeState::Done(_) => RangeClaim::AlreadyDone,
        RangeState::Failed { reason, .. } => RangeClaim::AlreadyFailed {
            reason: reason.clone(),
        },
        RangeState::Running { attempt, .. } => RangeClaim::Run {
            attempt: *attempt,
            range: range.clone(),
        },
        RangeState::Pending => unreachable!("a claim never leaves the range pending"),
    })
}

/// Applies `next` if the range is still running as `attempt`.
async fn apply(
    store: &SharedCheckpointStore,
    task: &IngestRangeTask,
    attempt: u32,
    next: RangeState,
    restore_attempt: bool,
) -> Result<bool, TaskError> {
    let mut applied = false;
    typed::update(
        store.as_ref(),
        &task.checkpoint_key(),
        |r: &mut RangeCheckpoint| {
            applied = matches!(r.state, RangeState::Running { attempt: a, .. } if a == attempt);
            if !applied {
                return Decision::Keep;
            }
            r.state = next.clone();
            if restore_attempt {
                r.attempt = attempt.saturating_sub(1);
            }
            Decision::Write
        },
    )
    .await?;
    if !applied {
        tracing::warn!(%task, attempt, "range was taken over by a newer attempt; not recording this one");
    }
    Ok(applied)
}

pub async fn record_done(
    store: &SharedCheckpointStore,
    task: &IngestRangeTask,
    attempt: u32,
    result: RangeResult,
) -> Result<bool, TaskError> {
    apply(store, task, attempt, RangeState::Done(result), false).await
}

pub async fn record_failed(
    store: &SharedCheckpointStore,
    task: &IngestRangeTask,
    attempt: u32,
    reason: String,
) -> Result<bool, TaskError> {
    let next = RangeState::Failed { attempt, reason };
    apply(store, task, attempt, next, false).await
}

/// Gives the claim back: `Pending`, the attempt as before the claim.
pub async fn release(
    store: &SharedCheckpointStore,
    task: &IngestRangeTask,
    attempt: u32,
) -> Result<bool, TaskError> {
    apply(store, task, attempt, RangeState::Pending, true).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use squall_common::checkpoint::{keys, LocalCheckpointStore, RECORD_VERSION};

    use super::*;

    #[tokio::test]
    async fn a_range_is_a_lease_only_the_latest_attempt_records() {
        let dir = tempfile::tempdir().expect("tmp");
        let store: SharedCheckpointStore =
            Arc::new(LocalCheckpointStore::open(dir.path()).expect("store"));
        let task = IngestRangeTask {
            job_id: "j".into(),
            table_id: 7,
            range_id: 2,
        };
        let record = RangeCheckpoint {
            version: RECORD_VERSION,
            job_id: "j".into(),
            table_id: 7,
            range_id: 2,
            start: vec![1],
            end: vec![2],
            estimated_bytes: 0,
            commit_ts: 42,
            attempt: 0,
            state: RangeState::Pending,
        };
        typed::write(store.as_ref(), &keys::range("j", 7, 2), &record)
            .await
            .expect("write");
        let RangeClaim::Run { attempt: first, .. } = claim(&store, &task, "w1").await.expect("1")
        else {
            panic!("claimable");
        };
        // Another worker takes over (the first one presumed dead).
        let RangeClaim::Run {
            attempt: second,
            range,
        } = claim(&store, &task, "w2").await.expect("2")
        else {
            panic!("claimable again");
        };
        assert_eq!((first, second, range.commit_ts), (1, 2, 42));
        let late = RangeResult {
            attempt: first,
            ..RangeResult::default()
        };
        assert!(!record_done(&store, &task, first, late).await.expect("cas"));
        assert!(!release(&store, &task, first).await.expect("cas"));
        let done = RangeResult {
            attempt: second,
            kvs: 3,
            ..RangeResult::default()
        };
        assert!(record_done(&store, &task, second, done.clone())
            .await
            .expect("cas"));
        assert!(matches!(
            claim(&store, &task, "w3").await.expect("3"),
            RangeClaim::AlreadyDone
        ));
        let stored: RangeCheckpoint = typed::read(store.as_ref(), &task.checkpoint_key())
            .await
            .expect("read")
            .expect("exists")
            .record;
        assert_eq!(stored.state, RangeState::Done(done));
        assert_eq!(stored.commit_ts, 42, "the commit ts never changes");
    }
}
