//! The worker's presence in etcd: `squall/workers/<id>` under a lease that
//! the worker keeps alive. The key vanishes within [`LEASE_TTL_SECS`] of the
//! worker dying, so `etcdctl get --prefix squall/workers/` lists the live
//! ones. Registration is informational: tasks are handed out by the queue,
//! and nothing waits on this key.

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, PutOptions};
use squall_cluster::keepalive::{renew_on_stream, timed, StreamEnd, CALL_TIMEOUT};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::NodeError;

const LEASE_TTL_SECS: i64 = 10;
/// Cap of the wait between attempts to restore a lost lease.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Tries at deleting the key and revoking the lease on the way out.
const DEREGISTER_ATTEMPTS: u32 = 3;

pub fn key(worker_id: &str) -> String {
    format!("squall/workers/{worker_id}")
}

/// A registered worker. [`Registration::keep_alive`] runs until `cancel`,
/// then deletes the key and revokes the lease, so the worker is gone at once.
pub struct Registration {
    client: Client,
    id: String,
    endpoints: String,
    value: String,
    lease: i64,
}

impl Registration {
    /// Connects, takes a lease and writes the worker's key under it. An
    /// etcd that does not answer within the timeouts is an error naming it.
    /// `connect` carries the cluster's TLS settings (`squall_cluster::tls`);
    /// the timeouts are set here.
    pub async fn register(
        endpoints: &[String],
        connect: ConnectOptions,
        worker_id: &str,
        about: String,
    ) -> Result<Self, NodeError> {
        let err = |reason: String| NodeError::Register {
            id: worker_id.to_string(),
            endpoints: endpoints.join(","),
            reason,
        };
        let opts = connect
            .with_connect_timeout(CALL_TIMEOUT)
            .with_timeout(CALL_TIMEOUT);
        let client = timed(Client::connect(endpoints, Some(opts)))
            .await
            .map_err(err)?;
        let mut reg = Self {
            client,
            id: worker_id.to_string(),
            endpoints: endpoints.join(","),
            value: about,
            lease: 0,
        };
        reg.grant_and_put().await.map_err(err)?;
        tracing::info!(worker = worker_id, key = %key(worker_id), lease = reg.lease, "registered in etcd");
        Ok(reg)
    }

    async fn grant_and_put(&mut self) -> Result<(), String> {
        let lease = timed(self.client.lease_grant(LEASE_TTL_SECS, None)).await?;
        self.lease = lease.id();
        let put = PutOptions::new().with_lease(self.lease);
        timed(
            self.client
                .put(key(&self.id), self.value.clone(), Some(put)),
        )
        .await?;
        Ok(())
    }

    /// Renews the lease every third of its TTL; a lease that expired (etcd
    /// unreachable for longer than the TTL) is taken anew, with backoff.
    pub async fn keep_alive(mut self, cancel: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        while !cancel.is_cancelled() {
            match self.renew_until(&cancel).await {
                Ok(()) => break,
                Err(reason) => {
                    tracing::warn!(worker = %self.id, etcd = %self.endpoints, %reason, retry_in = ?backoff, "worker registration lost; registering again");
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            if let Err(reason) = self.grant_and_put().await {
                tracing::warn!(worker = %self.id, etcd = %self.endpoints, %reason, "registering again failed");
            }
        }
        self.deregister().await;
    }

    /// Deletes the key, then revokes the lease (which would delete it too:
    /// the explicit delete also covers a key left under an older lease).
    /// [`DEREGISTER_ATTEMPTS`] tries with backoff; what still fails expires
    /// with its lease within [`LEASE_TTL_SECS`].
    async fn deregister(&mut self) {
        let key = key(&self.id);
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=DEREGISTER_ATTEMPTS {
            let deleted = timed(self.client.delete(key.clone(), None)).await;
            // A lease revoked by an earlier try is gone: that is the goal.
            let revoked = match timed(self.client.lease_revoke(self.lease)).await {
                Err(e) if e.contains("lease not found") => Ok(()),
                other => other.map(|_| ()),
            };
            let reason = match (deleted, revoked) {
                (Ok(_), Ok(_)) => {
                    tracing::info!(worker = %self.id, %key, lease = self.lease, "deregistered from etcd");
                    return;
                }
                (deleted, revoked) => [deleted.err(), revoked.err()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            if attempt == DEREGISTER_ATTEMPTS {
                tracing::warn!(worker = %self.id, %key, %reason, "could not deregister from etcd; the key expires with its lease");
                return;
            }
            tracing::warn!(worker = %self.id, %key, %reason, attempt, retry_in = ?delay, "deregistering failed; retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }

    /// Keeps the current lease alive; `Ok` on cancel, `Err` when it is lost.
    async fn renew_until(&mut self, cancel: &CancellationToken) -> Result<(), String> {
        let ttl = Duration::from_secs(LEASE_TTL_SECS as u64);
        let every = Duration::from_secs((LEASE_TTL_SECS / 3).max(1) as u64);
        // Each wait is CALL_TIMEOUT: renewals every third of the TTL keep
        // the lease safe for longer than that.
        let mut safe_until = Instant::now() + ttl;
        match renew_on_stream(
            &mut self.client,
            self.lease,
            ttl,
            every,
            &mut safe_until,
            cancel,
        )
        .await
        {
            StreamEnd::Cancelled => Ok(()),
            lost => Err(lost.to_string()),
        }
    }
}
