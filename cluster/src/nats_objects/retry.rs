//! Bounded, jittered exponential retry of one artefact call (on the
//! `backoff` crate), with one `tracing` line per retry naming the
//! operation, the key and the servers. Attempts bound their own awaits with
//! [`timed`], since how long one may take depends on the bytes it moves.

use std::future::Future;
use std::time::Duration;

use squall_common::artefacts::ArtefactError;

pub(super) use crate::nats_retry::require_connected;
use crate::nats_retry::{retry, Schedule};

/// How one attempt failed.
pub(super) type Failure = crate::nats_retry::Failure<ArtefactError>;

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
    pub async fn run<T, F, Fut>(&self, attempt: F) -> Result<T, ArtefactError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let schedule = Schedule {
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(3),
            budget: self.budget,
            attempt_timeout: None,
        };
        let log = |attempt, delay: Duration, reason: &str| {
            tracing::warn!(
                op = self.op,
                key = self.key,
                store = self.store,
                attempt,
                ?delay,
                %reason,
                "artefact call failed, retrying"
            )
        };
        retry(&schedule, log, attempt)
            .await
            .map_err(|failure| match failure {
                Failure::Permanent(e) => e,
                Failure::Transient(reason) => ArtefactError::Unavailable {
                    store: self.store.to_string(),
                    key: self.key.to_string(),
                    op: self.op,
                    reason,
                },
            })
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
