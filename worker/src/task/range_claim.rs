//! The range checkpoint as a lease ([`super::lease`]), like the engine's
//! (`claim.rs`): how a [`RangeCheckpoint`]'s state reads as a lease's. A
//! range's ingest starts over from its runs, so nothing carries over from
//! one attempt to the next.

use std::convert::Infallible;

use squall_common::checkpoint::{RangeCheckpoint, RangeResult, RangeState};

use super::lease::{self, LeaseRecord, LeaseState, LeaseTask, Phase};
use super::message::IngestRangeTask;

pub use super::lease::record_failed;

/// What claiming a range found.
pub type RangeClaim = lease::Claim<RangeCheckpoint>;

impl LeaseRecord for RangeCheckpoint {
    type Carried = Infallible;
    type Result = RangeResult;
    const NOUN: &'static str = "range";

    fn phase(&self) -> Phase<'_, Infallible> {
        match &self.state {
            RangeState::Pending => Phase::Pending,
            RangeState::Running { attempt, .. } => Phase::Running {
                attempt: *attempt,
                carried: None,
            },
            RangeState::Done(_) => Phase::Done,
            RangeState::Failed { reason, .. } => Phase::Failed { reason },
        }
    }

    fn set_state(&mut self, state: LeaseState<Infallible, RangeResult>) {
        self.state = match state {
            LeaseState::Pending => RangeState::Pending,
            LeaseState::Running {
                attempt,
                worker,
                started_unix_ms,
                carried: _,
            } => RangeState::Running {
                attempt,
                worker,
                started_unix_ms,
            },
            LeaseState::Done(r) => RangeState::Done(r),
            LeaseState::Failed { attempt, reason } => RangeState::Failed { attempt, reason },
        };
    }

    fn attempt_mut(&mut self) -> &mut u32 {
        &mut self.attempt
    }
}

impl LeaseTask for IngestRangeTask {
    type Record = RangeCheckpoint;
    fn job_id(&self) -> &str {
        &self.job_id
    }
    fn lease_key(&self) -> String {
        self.checkpoint_key()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use squall_common::checkpoint::{
        keys, typed, LocalCheckpointStore, SharedCheckpointStore, RECORD_VERSION,
    };

    use super::lease::{claim, record_done, release};
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
            record: range,
            ..
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
