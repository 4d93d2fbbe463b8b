//! What the operator wants of a job: keep running, pause, or cancel. A small
//! record next to the job record (`squall/jobs/<job>/control`), so the wish
//! outlives the coordinator that took it: a new leader finds a paused job
//! paused. The coordinator's API writes it; the runner (which stops starting
//! new work) and every worker (which stops claiming and lets go of what it
//! holds) read it. A job without the record is running.
//!
//! The `generation` counts the times the job was let go again (resumed,
//! or restarted after a cancel). While a job is paused or cancelled the
//! workers drop its tasks from the queue, so going on means publishing the
//! unfinished engines again, under message ids the queue has not seen (it
//! drops an id it saw within its duplicate window): the runner puts the
//! generation in the ids.

use serde::{Deserialize, Serialize};

use super::keys;
use super::records::RECORD_VERSION;
use super::store::{CheckpointError, CheckpointStore};
use super::typed::{self, Record, Swap};

/// The operator's wish for a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    #[default]
    Running,
    /// No new work: the runner waits before its next step, workers finish
    /// what they ingest and hand back what they encode.
    Paused,
    /// Stopped for good unless submitted again: tasks withdrawn, the runner
    /// ends the job as cancelled.
    Cancelled,
}

impl Control {
    /// As the API and the CLI say it: `running`, `paused`, `cancelled`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
        }
    }

    /// The job's tasks are not to be worked on now.
    pub fn holds(self) -> bool {
        self != Self::Running
    }
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the operator (or a new submission) asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlAction {
    Pause,
    Resume,
    Cancel,
    /// The job is submitted again: whatever held it is lifted.
    Restart,
}

impl ControlAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
            Self::Restart => "restart",
        }
    }
}

/// `squall/jobs/<job>/control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobControl {
    pub version: u32,
    pub control: Control,
    /// Bumped each time the job goes on after being held (see the module).
    pub generation: u32,
    /// When `control` last changed (ms since the Unix epoch; 0: never).
    pub changed_unix_ms: u64,
}

impl Default for JobControl {
    fn default() -> Self {
        Self {
            version: RECORD_VERSION,
            control: Control::Running,
            generation: 0,
            changed_unix_ms: 0,
        }
    }
}

impl Record for JobControl {
    fn format_version(&self) -> u32 {
        self.version
    }
}

/// A transition that makes no sense from where the job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a job that is {}", action.name(), from.name())]
pub struct Refused {
    pub from: Control,
    pub action: ControlAction,
}

impl JobControl {
    /// The record after `action`, or why it does not apply. The one place
    /// that decides which transitions exist:
    ///
    /// * pause: running → paused;
    /// * resume: paused → running, next generation;
    /// * cancel: running or paused → cancelled;
    /// * restart: paused or cancelled → running, next generation; a
    ///   running job stays as it is.
    pub fn apply(&self, action: ControlAction, now_unix_ms: u64) -> Result<JobControl, Refused> {
        use Control::*;
        let refused = Refused {
            from: self.control,
            action,
        };
        let (control, next_generation) = match (action, self.control) {
            (ControlAction::Pause, Running) => (Paused, false),
            (ControlAction::Resume, Paused) => (Running, true),
            (ControlAction::Cancel, Running | Paused) => (Cancelled, false),
            (ControlAction::Restart, Running) => return Ok(*self),
            (ControlAction::Restart, Paused | Cancelled) => (Running, true),
            (ControlAction::Pause, Paused | Cancelled)
            | (ControlAction::Resume, Running | Cancelled)
            | (ControlAction::Cancel, Cancelled) => return Err(refused),
        };
        Ok(JobControl {
            version: RECORD_VERSION,
            control,
            generation: self.generation + u32::from(next_generation),
            changed_unix_ms: now_unix_ms,
        })
    }
}

/// The job's control; running when none was ever stored.
pub async fn read(
    store: &dyn CheckpointStore,
    job_id: &str,
) -> Result<JobControl, CheckpointError> {
    Ok(typed::read::<JobControl>(store, &keys::control(job_id))
        .await?
        .map(|s| s.record)
        .unwrap_or_default())
}

/// Applies `action` with a compare-and-swap (creating the record if there
/// is none). `Ok(Err(_))`: the transition makes no sense; nothing written.
pub async fn change(
    store: &dyn CheckpointStore,
    job_id: &str,
    action: ControlAction,
    now_unix_ms: u64,
) -> Result<Result<JobControl, Refused>, CheckpointError> {
    let key = keys::control(job_id);
    let mut current = typed::read::<JobControl>(store, &key).await?;
    for _ in 0..UPDATE_ATTEMPTS {
        let (record, revision) = match &current {
            Some(s) => (s.record, Some(s.revision)),
            None => (JobControl::default(), None),
        };
        let next = match record.apply(action, now_unix_ms) {
            Ok(next) if next == record => return Ok(Ok(next)),
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        match typed::swap(store, &key, revision, &next).await? {
            Swap::Swapped(_) => return Ok(Ok(next)),
            Swap::Conflict(now) => current = now,
        }
    }
    Err(CheckpointError::Contended {
        key,
        attempts: UPDATE_ATTEMPTS,
    })
}

/// Attempts of [`change`] before it reports contention (the record changes
/// only by operator action, so one conflict is already rare).
const UPDATE_ATTEMPTS: u32 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::LocalCheckpointStore;

    #[test]
    fn transitions_are_the_ones_an_operator_expects() {
        let running = JobControl::default();
        let paused = running.apply(ControlAction::Pause, 1).expect("pause");
        assert_eq!((paused.control, paused.generation), (Control::Paused, 0));
        let resumed = paused.apply(ControlAction::Resume, 2).expect("resume");
        assert_eq!((resumed.control, resumed.generation), (Control::Running, 1));
        let cancelled = paused.apply(ControlAction::Cancel, 3).expect("cancel");
        assert_eq!(cancelled.control, Control::Cancelled);
        let restarted = cancelled.apply(ControlAction::Restart, 4).expect("restart");
        assert_eq!(
            (restarted.control, restarted.generation),
            (Control::Running, 1)
        );
        assert_eq!(running.apply(ControlAction::Restart, 5), Ok(running));
        for (from, action) in [
            (running, ControlAction::Resume),
            (paused, ControlAction::Pause),
            (cancelled, ControlAction::Pause),
            (cancelled, ControlAction::Resume),
            (cancelled, ControlAction::Cancel),
        ] {
            let refused = from.apply(action, 9).expect_err("refused");
            assert_eq!(refused.from, from.control);
            assert!(refused.to_string().contains(action.name()), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_change_is_stored_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalCheckpointStore::open(dir.path()).expect("open");
        assert_eq!(
            read(&store, "j").await.expect("read"),
            JobControl::default()
        );
        let paused = change(&store, "j", ControlAction::Pause, 7)
            .await
            .expect("store")
            .expect("applies");
        assert_eq!(read(&store, "j").await.expect("read"), paused);
        let again = change(&store, "j", ControlAction::Pause, 8)
            .await
            .expect("store");
        assert!(again.is_err(), "pausing twice is refused");
        let resumed = change(&store, "j", ControlAction::Resume, 9)
            .await
            .expect("store")
            .expect("applies");
        assert_eq!(resumed.generation, 1);
        assert_eq!(read(&store, "j").await.expect("read"), resumed);
        assert_eq!(
            read(&store, "other").await.expect("read").control,
            Control::Running
        );
    }
}
