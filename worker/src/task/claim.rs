//! The engine checkpoint as a lease ([`super::lease`]): how an
//! [`EngineCheckpoint`]'s state reads as a lease's, and what it carries
//! from one attempt to the next (the encoded result, so a worker that still
//! has the local engine on disk after a restart goes straight to ingest).

use squall_common::checkpoint::{
    EngineCheckpoint, EngineResult, EngineState, SharedCheckpointStore,
};

use super::error::TaskError;
use super::lease::{self, LeaseRecord, LeaseState, LeaseTask, Phase};
use super::message::EngineTask;

pub use super::lease::{now_unix_ms, record_done, record_failed, release};

/// What claiming an engine found.
pub type Claim = lease::Claim<EngineCheckpoint>;

impl LeaseRecord for EngineCheckpoint {
    type Carried = EngineResult;
    type Result = EngineResult;
    const NOUN: &'static str = "engine";

    fn phase(&self) -> Phase<'_, EngineResult> {
        match &self.state {
            EngineState::Pending => Phase::Pending,
            EngineState::Running {
                attempt, encoded, ..
            } => Phase::Running {
                attempt: *attempt,
                carried: encoded.as_ref(),
            },
            EngineState::Done(_) => Phase::Done,
            EngineState::Failed { reason, .. } => Phase::Failed { reason },
        }
    }

    fn set_state(&mut self, state: LeaseState<EngineResult, EngineResult>) {
        self.state = match state {
            LeaseState::Pending => EngineState::Pending,
            LeaseState::Running {
                attempt,
                worker,
                started_unix_ms,
                carried,
            } => EngineState::Running {
                attempt,
                worker,
                started_unix_ms,
                encoded: carried,
            },
            LeaseState::Done(r) => EngineState::Done(r),
            LeaseState::Failed { attempt, reason } => EngineState::Failed { attempt, reason },
        };
    }

    fn attempt_mut(&mut self) -> &mut u32 {
        &mut self.attempt
    }
}

impl LeaseTask for EngineTask {
    type Record = EngineCheckpoint;
    fn job_id(&self) -> &str {
        &self.job_id
    }
    fn lease_key(&self) -> String {
        self.checkpoint_key()
    }
}

/// Notes that the local engine is complete, keeping the engine running.
pub async fn record_encoded(
    store: &SharedCheckpointStore,
    task: &EngineTask,
    attempt: u32,
    worker: &str,
    started_unix_ms: u64,
    encoded: &EngineResult,
) -> Result<bool, TaskError> {
    let encoded = encoded.clone();
    lease::record_carried(store, task, attempt, worker, started_unix_ms, encoded).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use squall_common::checkpoint::{
        control, typed, ControlAction, LocalCheckpointStore, RECORD_VERSION,
    };

    use super::lease::{claim, record_done, record_failed, release};
    use super::*;

    async fn stored(store: &SharedCheckpointStore, task: &EngineTask) -> EngineCheckpoint {
        typed::read(store.as_ref(), &task.checkpoint_key())
            .await
            .expect("read")
            .expect("exists")
            .record
    }

    /// The engine's extra over the range's lease: what an attempt encoded
    /// is kept by the next claim; a held job lets go of a running engine
    /// keeping its attempt; a release gives the attempt back.
    #[tokio::test]
    async fn an_engine_lease_carries_its_encoded_result_and_gives_attempts_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let store: SharedCheckpointStore =
            Arc::new(LocalCheckpointStore::open(dir.path()).expect("store"));
        let task = EngineTask {
            job_id: "j".into(),
            table_id: 7,
            engine_id: 3,
        };
        let record = EngineCheckpoint {
            version: RECORD_VERSION,
            job_id: "j".into(),
            table_id: 7,
            engine_id: 3,
            commit_ts: 42,
            chunks: Vec::new(),
            source_bytes: 0,
            attempt: 0,
            state: EngineState::Pending,
        };
        typed::write(store.as_ref(), &task.checkpoint_key(), &record)
            .await
            .expect("write");
        let Claim::Run {
            attempt: 1,
            carried: None,
            ..
        } = claim(&store, &task, "w1").await.expect("1")
        else {
            panic!("claimable, nothing carried");
        };
        let encoded = EngineResult {
            attempt: 1,
            rows: 9,
            ..EngineResult::default()
        };
        assert!(record_encoded(&store, &task, 1, "w1", 5, &encoded)
            .await
            .expect("cas"));
        let Claim::Run {
            attempt: 2,
            carried: Some(kept),
            record,
        } = claim(&store, &task, "w2").await.expect("2")
        else {
            panic!("claimable again, the encoded result carried");
        };
        assert_eq!((kept, record.commit_ts), (encoded, 42));
        assert!(!record_done(&store, &task, 1, EngineResult::default())
            .await
            .expect("cas"));

        // Paused: the running engine is let go of, its attempt kept.
        control::change(store.as_ref(), "j", ControlAction::Pause, 1)
            .await
            .expect("store")
            .expect("pausable");
        let Claim::Withdrawn { released: true, .. } = claim(&store, &task, "w3").await.expect("3")
        else {
            panic!("withdrawn, releasing the running engine");
        };
        let now = stored(&store, &task).await;
        assert_eq!((now.attempt, &now.state), (2, &EngineState::Pending));
        let Claim::Withdrawn {
            released: false, ..
        } = claim(&store, &task, "w3").await.expect("4")
        else {
            panic!("withdrawn, nothing running");
        };

        // Resumed: a claim, then its release gives the attempt back.
        control::change(store.as_ref(), "j", ControlAction::Resume, 2)
            .await
            .expect("store")
            .expect("resumable");
        let Claim::Run { attempt: 3, .. } = claim(&store, &task, "w4").await.expect("5") else {
            panic!("claimable after the resume");
        };
        assert!(!release(&store, &task, 2).await.expect("cas"));
        assert!(release(&store, &task, 3).await.expect("cas"));
        let now = stored(&store, &task).await;
        assert_eq!((now.attempt, &now.state), (2, &EngineState::Pending));
        assert!(!record_failed(&store, &task, 3, "late".into())
            .await
            .expect("cas"));
        let Claim::Run { attempt: 3, .. } = claim(&store, &task, "w5").await.expect("6") else {
            panic!("the given-back attempt is handed out again");
        };
        assert!(record_failed(&store, &task, 3, "bad input".into())
            .await
            .expect("cas"));
        let Claim::AlreadyFailed { reason } = claim(&store, &task, "w6").await.expect("7") else {
            panic!("failed for good");
        };
        assert_eq!(reason, "bad input");
    }
}
