//! The one backoff policy of Squall ([`RetryPolicy`]: bounded, jittered
//! exponential waits on the `backoff` crate, honouring a server's
//! `backoff_ms` hint), its named presets, the generic [`retry`] helper and
//! RPC deadlines. Every retry writes one `tracing` line saying what and why.
//! The region walker (`walk`) counts its pieces' failures with the same
//! [`Backoff`].

use std::future::Future;
use std::time::Duration;

use backoff::backoff::Backoff as _;
use backoff::{ExponentialBackoff, ExponentialBackoffBuilder};

use crate::error::ClientError;

/// Longest wait honoured from a server's `backoff_ms` hint.
const MAX_SERVER_HINT: Duration = Duration::from_secs(60);

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included. At least one attempt is
    /// always made. Default 10.
    pub max_attempts: u32,
    /// Wait after the first failure. Default 100 ms.
    pub initial: Duration,
    /// Cap of one wait. Default 3 s (gRPC's reconnect cap in Lightning).
    pub max_interval: Duration,
    /// Growth of the wait per attempt. Default 2.
    pub multiplier: f64,
    /// Each wait is drawn from `wait × [1 − jitter, 1 + jitter]`, so many
    /// ranges failing together do not retry in lockstep. Default 0.3.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial: Duration::from_millis(100),
            max_interval: Duration::from_secs(3),
            multiplier: 2.0,
            jitter: 0.3,
        }
    }
}

impl RetryPolicy {
    /// Redelivery of a failed engine task through the queue: 1 s, 2 s, 4 s
    /// … capped at 30 s, without jitter (the queue spreads deliveries), for
    /// `max_deliveries` deliveries in all.
    pub fn task_redelivery(max_deliveries: u32) -> Self {
        Self {
            max_attempts: max_deliveries,
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.0,
        }
    }

    /// The wait after the `failures`-th failure in a row (counted from 1),
    /// `None` once that many failures use the attempts up. For a count kept
    /// elsewhere, such as a queue's delivery count.
    pub fn nth_delay(&self, failures: u32) -> Option<Duration> {
        let mut backoff = self.start();
        let mut delay = None;
        for _ in 0..failures.max(1) {
            delay = backoff.next_delay(None);
        }
        delay
    }

    /// A fresh attempt counter with this policy.
    pub fn start(&self) -> Backoff {
        let inner = ExponentialBackoffBuilder::new()
            .with_initial_interval(self.initial)
            .with_max_interval(self.max_interval)
            .with_multiplier(self.multiplier)
            .with_randomization_factor(self.jitter)
            .with_max_elapsed_time(None)
            .build();
        Backoff {
            inner,
            failures: 0,
            max_attempts: self.max_attempts.max(1),
        }
    }
}

/// Counts failed attempts of one operation and hands out the waits between
/// them. A clone carries the count on, e.g. to the pieces a range is re-cut into.
#[derive(Debug, Clone)]
pub struct Backoff {
    inner: ExponentialBackoff,
    failures: u32,
    max_attempts: u32,
}

impl Backoff {
    /// Records a failure. Returns how long to wait before the next attempt, or
    /// `None` when the attempts are used up. A server hint longer than the
    /// computed wait wins.
    pub fn next_delay(&mut self, hint: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        if self.failures >= self.max_attempts {
            return None;
        }
        let computed = self.inner.next_backoff().unwrap_or(self.inner.max_interval);
        Some(hint.map_or(computed, |h| h.min(MAX_SERVER_HINT).max(computed)))
    }

    /// Failures recorded so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Forget past failures after progress was made.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.inner.reset();
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or the
/// policy's attempts are used up. `what` names the call in log lines.
pub async fn retry<T, F, Fut>(what: &str, policy: &RetryPolicy, op: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    retry_if(what, policy, ClientError::retryable, op).await
}

/// [`retry`] with the caller's choice of which errors are worth retrying.
pub async fn retry_if<T, F, Fut, P>(
    what: &str,
    policy: &RetryPolicy,
    should_retry: P,
    mut op: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
    P: Fn(&ClientError) -> bool,
{
    let mut backoff = policy.start();
    loop {
        let err = match op().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        if !should_retry(&err) {
            return Err(err);
        }
        let Some(delay) = backoff.next_delay(err.retry_after()) else {
            tracing::warn!(what, attempts = backoff.failures(), error = %err, "giving up after retries");
            return Err(err);
        };
        crate::observe::retried(&err);
        tracing::warn!(
            what,
            attempt = backoff.failures(),
            delay_ms = delay.as_millis() as u64,
            error = %err,
            "retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Awaits one RPC with a deadline, naming the method and peer on failure.
pub async fn with_timeout<T, Fut>(
    method: &'static str,
    addr: &str,
    after: Duration,
    call: Fut,
) -> Result<T, ClientError>
where
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    match tokio::time::timeout(after, call).await {
        Ok(Ok(resp)) => Ok(resp.into_inner()),
        Ok(Err(status)) => Err(ClientError::rpc(method, addr, status)),
        Err(_) => Err(ClientError::Timeout {
            method,
            addr: addr.to_owned(),
            after,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial: Duration::from_millis(1),
            max_interval: Duration::from_millis(4),
            ..Default::default()
        }
    }

    fn unavailable() -> ClientError {
        ClientError::rpc(
            "GetRegion",
            "127.0.0.1:1",
            tonic::Status::unavailable("connection refused"),
        )
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success() {
        let calls = AtomicU32::new(0);
        let out = retry("test", &fast(5), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(unavailable())
            } else {
                Ok(42)
            }
        })
        .await
        .expect("third attempt succeeds");
        assert_eq!(out, 42);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stops_at_max_attempts() {
        let calls = AtomicU32::new(0);
        let err = retry("test", &fast(4), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(unavailable())
        })
        .await
        .expect_err("never succeeds");
        assert!(matches!(err, ClientError::Rpc { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let _ = retry("test", &fast(5), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(ClientError::StoreNotFound { store_id: 3 })
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn delays_grow_are_capped_and_honour_hints() {
        let policy = RetryPolicy {
            jitter: 0.0,
            ..fast(10)
        };
        let mut b = policy.start();
        let d: Vec<_> = (0..4)
            .map(|_| b.next_delay(None).expect("attempts left"))
            .collect();
        assert_eq!(d, [1, 2, 4, 4].map(Duration::from_millis));
        assert_eq!(
            b.next_delay(Some(Duration::from_millis(500))),
            Some(Duration::from_millis(500))
        );
        b.reset();
        assert_eq!(b.failures(), 0);
        let mut once = RetryPolicy {
            max_attempts: 1,
            ..policy
        }
        .start();
        assert_eq!(once.next_delay(None), None);
    }

    #[test]
    fn task_redelivery_doubles_to_a_cap_and_ends() {
        let policy = RetryPolicy::task_redelivery(8);
        let waits: Vec<_> = (1..8).map(|n| policy.nth_delay(n)).collect();
        let secs = [1, 2, 4, 8, 16, 30, 30].map(|s| Some(Duration::from_secs(s)));
        assert_eq!(waits, secs);
        assert_eq!(policy.nth_delay(8), None);
        assert_eq!(RetryPolicy::task_redelivery(5).nth_delay(5), None);
    }

    #[tokio::test(start_paused = true)]
    async fn timeout_names_the_call() {
        let never = std::future::pending::<Result<tonic::Response<()>, tonic::Status>>();
        let err = with_timeout("Tso", "pd:2379", Duration::from_secs(3), never)
            .await
            .expect_err("times out");
        assert!(matches!(err, ClientError::Timeout { method: "Tso", .. }));
        assert!(err.retryable());
    }
}
