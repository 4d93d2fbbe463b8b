//! Bounded, jittered exponential retry of one queue call (on the `backoff`
//! crate), with a deadline on every attempt and one `tracing` line per retry
//! naming the operation, the task and the servers.

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backoff::ExponentialBackoffBuilder;
use squall_common::queue::QueueError;
use tokio::time::Instant;

/// How one attempt (or, from [`Call::run`], the whole call) failed.
pub(super) enum Failure<E = QueueError> {
    /// Connection lost, server restarting, request timed out: worth another try.
    Transient(String),
    /// Retrying cannot help; returned as is.
    Permanent(E),
}

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
    pub async fn run<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, Failure<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        let mut backoff = ExponentialBackoffBuilder::new()
            .with_initial_interval(Duration::from_millis(50))
            .with_max_interval(Duration::from_secs(2))
            .with_multiplier(2.0)
            .with_randomization_factor(0.3)
            .with_max_elapsed_time(Some(self.budget))
            .build();
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let reason = match tokio::time::timeout(self.attempt_timeout, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(Failure::Permanent(e))) => return Err(Failure::Permanent(e)),
                Ok(Err(Failure::Transient(reason))) => reason,
                Err(_) => format!("no answer within {:?}", self.attempt_timeout),
            };
            let Some(delay) = backoff.next_backoff() else {
                return Err(Failure::Transient(format!(
                    "{reason} (gave up after {attempts} attempts in {:.1?})",
                    started.elapsed()
                )));
            };
            tracing::warn!(
                op = self.op,
                task = self.task,
                servers = self.servers,
                attempt = attempts,
                ?delay,
                %reason,
                "nats call failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
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

/// Fails fast while the client is between connections: a message published
/// then would only sit in the client's buffer, and the caller should know.
pub(super) fn require_connected<E>(client: &async_nats::Client) -> Result<(), Failure<E>> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        state => Err(Failure::Transient(format!(
            "not connected ({state:?}); the client is reconnecting"
        ))),
    }
}
