//! Bounded, jittered exponential retry of one queue call (on the `backoff`
//! crate), with a deadline on every attempt and one `tracing` line per retry
//! naming the operation, the task and the servers.

use std::future::Future;
use std::time::Duration;

use squall_common::queue::QueueError;

pub(super) use crate::nats_retry::require_connected;
use crate::nats_retry::{retry, Schedule};

/// How one attempt (or, from [`Call::run`], the whole call) failed.
pub(super) type Failure<E = QueueError> = crate::nats_retry::Failure<E>;

/// What is retried, for how long, and how long one attempt may take.
pub(super) struct Call<'a> {
    pub op: &'static str,
    /// The task id, or `-` when the call is not about one task.
    pub task: &'a str,
    pub servers: &'a str,
    /// Total time spent retrying before giving up with `Unavailable`.
    pub budget: Duration,
    pub attempt_timeout: Duration,
}

impl Call<'_> {
    /// Runs `attempt` until it succeeds, fails permanently, or the budget is
    /// spent (then `Transient` with the last reason and the attempts made).
    pub async fn run<T, E, F, Fut>(&self, attempt: F) -> Result<T, Failure<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        let schedule = Schedule {
            first_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            budget: self.budget,
            attempt_timeout: Some(self.attempt_timeout),
        };
        let log = |attempt, delay: Duration, reason: &str| {
            tracing::warn!(
                op = self.op,
                task = self.task,
                servers = self.servers,
                attempt,
                ?delay,
                %reason,
                "nats call failed, retrying"
            )
        };
        retry(&schedule, log, attempt).await
    }

    /// [`Call::run`] for queue operations: a spent budget is `Unavailable`
    /// naming the operation, the task and the servers.
    pub async fn run_queue_op<T, F, Fut>(&self, attempt: F) -> Result<T, QueueError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        self.run(attempt).await.map_err(|failure| match failure {
            Failure::Permanent(e) => e,
            Failure::Transient(reason) => self.unavailable(&reason),
        })
    }

    pub fn unavailable(&self, reason: &str) -> QueueError {
        QueueError::Unavailable {
            reason: format!(
                "{} of task {:?} at nats {}: {reason}",
                self.op, self.task, self.servers
            ),
        }
    }
}
