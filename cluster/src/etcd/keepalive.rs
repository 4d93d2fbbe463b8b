//! Holding an etcd lease: one etcd call with a deadline ([`timed`]), and one
//! keep-alive stream renewing a lease until it fails ([`renew_on_stream`]).
//! Shared by the coordinators' election ([`crate::leader`]) and the workers'
//! registration, which differ only in what they do when a stream fails: the
//! leader retries on the same lease until it may have expired (its lease is
//! its leadership), a worker takes a new lease (its key is informational).

use std::future::Future;
use std::time::Duration;

use etcd_client::Client;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Limit of one etcd call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// One etcd call with [`CALL_TIMEOUT`]; the error says what went wrong.
pub async fn timed<T>(
    call: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
    }
}

/// How one keep-alive stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The holder's token was cancelled: it lets the lease go.
    Cancelled,
    /// etcd answered that the lease is gone (TTL 0): it cannot be renewed.
    Expired,
    /// The stream could not be opened, broke, or did not answer in time;
    /// the lease may still be alive.
    Failed(String),
}

impl std::fmt::Display for StreamEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancelled => f.write_str("cancelled"),
            Self::Expired => f.write_str("etcd says the lease expired"),
            Self::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Opens a keep-alive stream for `lease` and renews it every `every` until
/// `cancel` fires (checked between renewals) or a renewal fails. Each
/// renewal etcd confirms moves `safe_until` to a `ttl` after it was sent
/// (the lease lives until then at least). Opening the stream and each
/// renewal's round trip wait at most [`CALL_TIMEOUT`], and never past
/// `safe_until`: a holder does not wait on a lease that may be gone.
pub async fn renew_on_stream(
    client: &mut Client,
    lease: i64,
    ttl: Duration,
    every: Duration,
    safe_until: &mut Instant,
    cancel: &CancellationToken,
) -> StreamEnd {
    let limit = |safe_until: Instant| {
        CALL_TIMEOUT.min(safe_until.saturating_duration_since(Instant::now()))
    };
    let opened = tokio::time::timeout(limit(*safe_until), client.lease_keep_alive(lease)).await;
    let (mut keeper, mut stream) = match opened {
        Err(_) => return StreamEnd::Failed("no keep-alive stream".into()),
        Ok(Err(e)) => return StreamEnd::Failed(e.to_string()),
        Ok(Ok(opened)) => opened,
    };
    loop {
        let sent = Instant::now();
        let answer = async {
            keeper.keep_alive().await?;
            stream.message().await
        };
        match tokio::time::timeout(limit(*safe_until), answer).await {
            Err(_) => return StreamEnd::Failed("no keep-alive answer".into()),
            Ok(Err(e)) => return StreamEnd::Failed(e.to_string()),
            Ok(Ok(None)) => return StreamEnd::Failed("keep-alive stream closed".into()),
            Ok(Ok(Some(resp))) if resp.ttl() <= 0 => {
                *safe_until = sent;
                return StreamEnd::Expired;
            }
            Ok(Ok(Some(_))) => *safe_until = sent + ttl,
        }
        tokio::select! {
            _ = cancel.cancelled() => return StreamEnd::Cancelled,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
