//! Every etcd call goes through [`Retrier::run`]: a deadline per attempt,
//! bounded jittered exponential backoff (the `backoff` crate) on transient
//! failures, one `tracing` warning per retry, and errors that name the
//! endpoints. Which failures are transient is decided by exhaustive matches.

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backoff::{ExponentialBackoff, ExponentialBackoffBuilder};
use squall_common::checkpoint::CheckpointError;
use tonic::Code;

use super::options::EtcdOptions;

/// What one attempt of a call ran into.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// The request may not have reached etcd, or its answer was lost
    /// (unreachable, timeout, leader change): another attempt may succeed.
    /// For a write, whether it was applied is unknown.
    Transient(String),
    /// etcd answered and refused; another attempt gets the same answer.
    Permanent(CheckpointError),
}

/// Names one call in logs and errors.
#[derive(Debug, Clone, Copy)]
pub(super) struct Op {
    pub name: &'static str,
    /// A write whose outcome is unknown after a transient failure.
    pub writes: bool,
}

pub(super) const GET: Op = Op {
    name: "get",
    writes: false,
};
pub(super) const LIST: Op = Op {
    name: "list",
    writes: false,
};
pub(super) const PROBE: Op = Op {
    name: "connect probe",
    writes: false,
};
pub(super) const PUT: Op = Op {
    name: "put",
    writes: true,
};
pub(super) const PUT_MANY: Op = Op {
    name: "put_many",
    writes: true,
};
pub(super) const CAS: Op = Op {
    name: "cas",
    writes: true,
};
pub(super) const DELETE: Op = Op {
    name: "delete",
    writes: true,
};

/// The retry policy and the endpoints it names in messages.
#[derive(Debug, Clone)]
pub(super) struct Retrier {
    endpoints: String,
    attempt_timeout: Duration,
    max_retries: u32,
    initial: Duration,
    max_interval: Duration,
}

impl Retrier {
    pub(super) fn new(options: &EtcdOptions, attempt_timeout: Duration) -> Self {
        Self {
            endpoints: options.endpoint_list(),
            attempt_timeout,
            max_retries: options.max_retries,
            initial: options.retry_initial,
            max_interval: options.retry_max_interval,
        }
    }

    pub(super) fn endpoints(&self) -> &str {
        &self.endpoints
    }

    /// Runs `attempt` until it succeeds, fails permanently, or the retries
    /// are used up. `attempt` gets the attempt number (0 first): a number
    /// above 0 means an earlier attempt failed transiently, so a write of it
    /// may already be applied. `key` names the key (or prefix) in messages.
    pub(super) async fn run<T, F, Fut>(
        &self,
        op: Op,
        key: &str,
        mut attempt: F,
    ) -> Result<T, CheckpointError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let mut backoff = self.backoff();
        let mut number = 0u32;
        loop {
            let result = tokio::time::timeout(self.attempt_timeout, attempt(number))
                .await
                .unwrap_or_else(|_| {
                    Err(AttemptError::Transient(format!(
                        "no answer within {:?}",
                        self.attempt_timeout
                    )))
                });
            let reason = match result {
                Ok(value) => return Ok(value),
                Err(AttemptError::Permanent(err)) => return Err(err),
                Err(AttemptError::Transient(reason)) => reason,
            };
            let delay = (number < self.max_retries)
                .then(|| backoff.next_backoff())
                .flatten();
            let Some(delay) = delay else {
                return Err(self.gave_up(op, key, number + 1, &reason));
            };
            tracing::warn!(
                op = op.name,
                key,
                attempt = number + 1,
                delay_ms = delay.as_millis() as u64,
                endpoints = %self.endpoints,
                error = %reason,
                "etcd call failed, retrying"
            );
            tokio::time::sleep(delay).await;
            number += 1;
        }
    }

    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoffBuilder::new()
            .with_initial_interval(self.initial)
            .with_max_interval(self.max_interval)
            .with_multiplier(2.0)
            .with_randomization_factor(0.3)
            .with_max_elapsed_time(None)
            .build()
    }

    fn gave_up(&self, op: Op, key: &str, attempts: u32, reason: &str) -> CheckpointError {
        let outcome = if op.writes {
            "; the write may or may not have been applied"
        } else {
            ""
        };
        // A TLS server that wants a client certificate just closes the
        // connection of a client without one: say so where it may apply.
        let tls_hint = if self.endpoints.contains("https://") {
            " (over TLS: that --tls-ca is the CA of etcd's certificate and, if etcd requires client certificates, that --tls-cert/--tls-key are given)"
        } else {
            ""
        };
        CheckpointError::Unavailable {
            reason: format!(
                "etcd at {}: {} of {key:?} failed {attempts} times, last: {reason}{outcome}; \
                 check that etcd is running and that this address is reachable{tls_hint}",
                self.endpoints, op.name
            ),
        }
    }
}

/// Sorts an etcd client error into retry or give up. `what` names the call
/// and key for a permanent error.
pub(super) fn classify(what: impl FnOnce() -> String, err: etcd_client::Error) -> AttemptError {
    use etcd_client::Error as E;
    let permanent = |reason: String| {
        AttemptError::Permanent(CheckpointError::Rejected {
            what: what(),
            reason,
        })
    };
    // An untrusted certificate stays untrusted: give up at once, saying so.
    // (etcd-client's error has no `source()`: look inside its variants.)
    let tls = match &err {
        E::GRpcStatus(status) => crate::tls::handshake_failure(status),
        E::TransportError(e) => crate::tls::handshake_failure(e),
        E::IoError(e) => crate::tls::handshake_failure(e),
        _ => None,
    };
    if let Some(reason) = tls {
        return permanent(format!(
            "TLS handshake failed: {reason} (check --tls-ca, the CA that signed etcd's certificate, and --tls-cert/--tls-key when etcd wants a client certificate)"
        ));
    }
    match err {
        E::GRpcStatus(status) if status_transient(&status) => AttemptError::Transient(format!(
            "{:?}: {}{}",
            status.code(),
            status.message(),
            crate::tls::causes(&status)
        )),
        E::GRpcStatus(status) => permanent(format!("{:?}: {}", status.code(), status.message())),
        E::TransportError(e) => AttemptError::Transient(format!("transport error: {e}")),
        E::IoError(e) => AttemptError::Transient(format!("io error: {e}")),
        // The rest are client-side misuse (bad URI, bad arguments, bad
        // metadata) or APIs we do not call. A wildcard, not a list: one
        // variant exists only under etcd-client's `tls-openssl` feature.
        other => permanent(other.to_string()),
    }
}

/// Whether etcd's answer is worth another attempt. No wildcard: a code
/// must be decided.
fn status_transient(status: &tonic::Status) -> bool {
    match status.code() {
        // Unreachable, leader lost or changing, "request timed out", a
        // connection reset mid-call (tonic reports those as Unknown or
        // Cancelled).
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Unknown
        | Code::Cancelled
        | Code::Aborted => true,
        // etcd uses this code for "too many requests" (passes), for a full
        // database ("mvcc: database space exceeded", needs an operator) and
        // gRPC for a message over its size cap (never passes).
        Code::ResourceExhausted => status.message().contains("too many requests"),
        // Request too large or too many txn ops (InvalidArgument), no
        // permission, compacted revision (OutOfRange), and the rest.
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss
        | Code::Unauthenticated => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(max_retries: u32) -> Retrier {
        let options = EtcdOptions {
            max_retries,
            retry_initial: Duration::from_millis(1),
            retry_max_interval: Duration::from_millis(2),
            ..EtcdOptions::new(["http://10.0.0.1:2379"])
        };
        Retrier::new(&options, Duration::from_millis(50))
    }

    #[tokio::test]
    async fn transient_failures_are_retried_then_reported_with_the_endpoint() {
        let mut calls = 0;
        let result: Result<(), _> = retrier(3)
            .run(PUT, "k", |_| {
                calls += 1;
                async { Err(AttemptError::Transient("connection refused".into())) }
            })
            .await;
        assert_eq!(calls, 4, "one attempt plus three retries");
        let msg = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("10.0.0.1:2379") && msg.contains("4 times"),
            "{msg}"
        );
        assert!(msg.contains("may or may not have been applied"), "{msg}");
    }

    #[tokio::test]
    async fn a_hung_attempt_times_out_and_the_next_one_succeeds() {
        let result = retrier(3)
            .run(GET, "k", |number| async move {
                if number == 0 {
                    std::future::pending::<()>().await;
                }
                Ok(number)
            })
            .await;
        assert_eq!(result.ok(), Some(1));
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried() {
        let mut calls = 0;
        let result: Result<(), _> = retrier(3)
            .run(GET, "k", |_| {
                calls += 1;
                let status = tonic::Status::permission_denied("no");
                async move { Err(classify(|| "get of \"k\"".into(), status.into())) }
            })
            .await;
        assert_eq!(calls, 1);
        assert!(
            matches!(result, Err(CheckpointError::Rejected { .. })),
            "{result:?}"
        );
    }
}
