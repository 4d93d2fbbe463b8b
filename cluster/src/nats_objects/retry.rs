//! Bounded, jittered exponential retry of one artefact call (on the
//! `backoff` crate), with one `tracing` line per retry naming the
//! operation, the key and the servers. Attempts bound their own awaits with
//! [`timed`], since how long one may take depends on the bytes it moves.

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backoff::ExponentialBackoffBuilder;
use squall_common::artefacts::ArtefactError;
use tokio::time::Instant;

/// How one attempt failed.
pub(super) enum Failure {
    /// Connection lost, server restarting, request timed out: worth another try.
    Transient(String),
    /// Retrying cannot help; returned as is.
    Permanent(ArtefactError),
}

/// What is retried, and for how long.
pub(super) struct Call<'a> {
    pub op: &'static str,
    pub key: &'a str,
    /// The store's location, for messages.
    pub store: &'a str,
    pub budget: Duration,
}

impl Call<'_> {
    /// Runs `attempt` until it succeeds, fails permanently, or the budget is
    /// spent (then `Unavailable` with the last reason and the attempts made).
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, ArtefactError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut backoff = ExponentialBackoffBuilder::new()
            .with_initial_interval(Duration::from_millis(100))
            .with_max_interval(Duration::from_secs(3))
            .with_multiplier(2.0)
            .with_randomization_factor(0.3)
            .with_max_elapsed_time(Some(self.budget))
            .build();
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let reason = match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failure::Permanent(e)) => return Err(e),
                Err(Failure::Transient(reason)) => reason,
            };
            let Some(delay) = backoff.next_backoff() else {
                return Err(ArtefactError::Unavailable {
                    store: self.store.to_string(),
                    key: self.key.to_string(),
                    op: self.op,
                    reason: format!(
                        "{reason} (gave up after {attempts} attempts in {:.1?})",
                        started.elapsed()
                    ),
                });
            };
            tracing::warn!(
                op = self.op,
                key = self.key,
                store = self.store,
                attempt = attempts,
                ?delay,
                %reason,
                "artefact call failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The store answered and refused: a permanent failure naming the call.
    pub fn rejected(&self, reason: impl std::fmt::Display) -> Failure {
        Failure::Permanent(ArtefactError::Rejected {
            store: self.store.to_string(),
            key: self.key.to_string(),
            op: self.op,
            reason: reason.to_string(),
        })
    }
}

/// `call`'s answer if it comes within `limit`; else a transient failure.
pub(super) async fn timed<F: Future>(limit: Duration, call: F) -> Result<F::Output, Failure> {
    tokio::time::timeout(limit, call)
        .await
        .map_err(|_| Failure::Transient(format!("no answer within {limit:?}")))
}

/// Fails fast while the client is between connections: a request then
/// would only wait out its timeout.
pub(super) fn require_connected(client: &async_nats::Client) -> Result<(), Failure> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        state => Err(Failure::Transient(format!(
            "not connected ({state:?}); the client is reconnecting"
        ))),
    }
}
