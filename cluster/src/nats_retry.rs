//! The retry loop of every NATS call (task queue and artefact store):
//! bounded, jittered exponential backoff on the `backoff` crate, an optional
//! deadline per attempt, and one log line per retry, which the caller words
//! (it knows the operation, the task or key, the servers).

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backoff::ExponentialBackoffBuilder;
use tokio::time::Instant;

/// How one attempt (or, from [`retry`], the whole call) failed.
pub(crate) enum Failure<E> {
    /// Connection lost, server restarting, request timed out: worth another try.
    Transient(String),
    /// Retrying cannot help; returned as is.
    Permanent(E),
}

/// The backoff schedule and the limits of one call.
pub(crate) struct Schedule {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Total time spent retrying before giving up.
    pub budget: Duration,
    /// Deadline of one attempt; `None` when attempts bound their own awaits
    /// (their time depends on the bytes they move).
    pub attempt_timeout: Option<Duration>,
}

/// Runs `attempt` until it succeeds, fails permanently, or the budget is
/// spent (then `Transient` with the last reason and the attempts made).
/// `log(attempt, delay, reason)` is called before each wait.
pub(crate) async fn retry<T, E, F, Fut>(
    schedule: &Schedule,
    log: impl Fn(u32, Duration, &str),
    mut attempt: F,
) -> Result<T, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut backoff = ExponentialBackoffBuilder::new()
        .with_initial_interval(schedule.first_delay)
        .with_max_interval(schedule.max_delay)
        .with_multiplier(2.0)
        .with_randomization_factor(0.3)
        .with_max_elapsed_time(Some(schedule.budget))
        .build();
    let started = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let outcome = match schedule.attempt_timeout {
            Some(limit) => tokio::time::timeout(limit, attempt())
                .await
                .unwrap_or_else(|_| Err(Failure::Transient(format!("no answer within {limit:?}")))),
            None => attempt().await,
        };
        let reason = match outcome {
            Ok(value) => return Ok(value),
            Err(Failure::Permanent(e)) => return Err(Failure::Permanent(e)),
            Err(Failure::Transient(reason)) => reason,
        };
        let Some(delay) = backoff.next_backoff() else {
            return Err(Failure::Transient(format!(
                "{reason} (gave up after {attempts} attempts in {:.1?})",
                started.elapsed()
            )));
        };
        log(attempts, delay, &reason);
        tokio::time::sleep(delay).await;
    }
}

/// Fails fast while the client is between connections: a request then
/// would only wait out its timeout (or sit in the client's buffer).
pub(crate) fn require_connected<E>(client: &async_nats::Client) -> Result<(), Failure<E>> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        state => Err(Failure::Transient(format!(
            "not connected ({state:?}); the client is reconnecting"
        ))),
    }
}
