//! Leadership among coordinators: an etcd election on a lease.
//!
//! Every coordinator campaigns under one election name; etcd makes the
//! campaigner with the oldest key the leader, and the others wait in
//! `campaign` as standbys. The leader keeps its lease alive; when it dies,
//! is paused or cut off for longer than the lease TTL, etcd deletes its key
//! and the next standby's campaign returns. The leader's writes carry a
//! [`Fence`] on its key, so a deposed leader that wakes up writes nothing,
//! and [`Leadership::lost`] tells it to stop.

use std::time::Duration;

use tokio::time::Instant;

use etcd_client::{CampaignResponse, Client, ConnectOptions, ElectionClient};
use tokio_util::sync::CancellationToken;

use crate::etcd::keepalive::{renew_on_stream, timed, StreamEnd, CALL_TIMEOUT};
use crate::etcd::Fence;
use crate::tls::ClusterTls;

/// Election name every coordinator campaigns under.
pub const ELECTION: &str = "squall/coordinator/leader";
/// Lease TTL: how long a dead leader goes unnoticed. Short, because the job
/// stands still meanwhile; long enough that a busy leader's renewal (every
/// third of it) is not late.
pub const DEFAULT_TTL_SECS: i64 = 5;
/// First wait after a failed campaign or renewal; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// A standby gives up campaigning (and exits, for its supervisor to start it
/// again) after failing this long in a row: etcd is gone, not restarting.
const CAMPAIGN_GIVE_UP: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("etcd at {endpoints}: {what}: {reason} (is etcd running and reachable from here?)")]
    Etcd {
        endpoints: String,
        what: &'static str,
        reason: String,
    },
    #[error("the lease was lost while campaigning: {0}")]
    LeaseLost(String),
}

/// This process leads until [`Leadership::lost`] fires.
pub struct Leadership {
    fence: Fence,
    lost: CancellationToken,
    client: Client,
    lease: i64,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("key", &String::from_utf8_lossy(&self.fence.key))
            .field("lease", &self.lease)
            .finish()
    }
}

impl Leadership {
    /// The fence a leader's checkpoint store writes under.
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// The etcd lease the leadership hangs on.
    pub fn lease_id(&self) -> i64 {
        self.lease
    }

    /// Cancelled when the lease is lost: stop leading at once.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Hands leadership over (graceful shutdown): revokes the lease, so
    /// the key goes now rather than after the TTL.
    pub async fn resign(mut self) {
        self.lost.cancel();
        if let Err(reason) = timed(self.client.lease_revoke(self.lease)).await {
            tracing::warn!(%reason, "could not revoke the leader lease; a standby takes over when it expires");
        }
    }
}

/// Campaigns as `value` (the address others should know the leader by)
/// and returns once elected; `None` if `cancel` fires first. A campaign cut
/// short by etcd (restarted, unreachable, the lease lost meanwhile) starts
/// over with a new lease, with backoff and a warning each time, for up to
/// [`CAMPAIGN_GIVE_UP`] of failures in a row: a standby outlives an etcd
/// restart instead of exiting.
pub async fn campaign(
    endpoints: &[String],
    value: &str,
    ttl_secs: i64,
    cancel: &CancellationToken,
) -> Result<Option<Leadership>, LeaderError> {
    campaign_tls(endpoints, &ClusterTls::default(), value, ttl_secs, cancel).await
}

/// [`campaign`] with TLS files for `https://` endpoints; a TLS setting
/// that cannot work is an error at once, not a campaign retried.
pub async fn campaign_tls(
    endpoints: &[String],
    tls: &ClusterTls,
    value: &str,
    ttl_secs: i64,
    cancel: &CancellationToken,
) -> Result<Option<Leadership>, LeaderError> {
    let connect = connect_options(endpoints, tls)?;
    let mut backoff = RETRY_FIRST;
    let mut failing_since: Option<Instant> = None;
    loop {
        let err = match campaign_once(endpoints, &connect, value, ttl_secs, cancel).await {
            Ok(done) => return Ok(done),
            Err(e) => e,
        };
        let since = *failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= CAMPAIGN_GIVE_UP {
            return Err(err);
        }
        tracing::warn!(error = %err, retry_in = ?backoff, "campaign for leadership failed; campaigning again");
        tokio::select! {
            _ = cancel.cancelled() => return Ok(None),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(RETRY_MAX);
    }
}

/// One campaign on one lease.
async fn campaign_once(
    endpoints: &[String],
    connect: &ConnectOptions,
    value: &str,
    ttl_secs: i64,
    cancel: &CancellationToken,
) -> Result<Option<Leadership>, LeaderError> {
    let err = |what: &'static str| {
        let endpoints = endpoints.join(",");
        move |reason: String| LeaderError::Etcd {
            endpoints,
            what,
            reason,
        }
    };
    let opts = connect.clone().with_connect_timeout(CALL_TIMEOUT);
    let mut client = timed(Client::connect(endpoints, Some(opts)))
        .await
        .map_err(err("connect"))?;
    let granted = Instant::now();
    let lease = timed(client.lease_grant(ttl_secs, None))
        .await
        .map_err(err("lease grant"))?
        .id();
    let lost = CancellationToken::new();
    tokio::spawn(keep_alive(
        client.clone(),
        lease,
        ttl_secs,
        granted,
        lost.clone(),
    ));
    let mut election: ElectionClient = client.election_client();
    tracing::info!(lease, election = ELECTION, "campaigning for leadership");
    let resp: Result<CampaignResponse, LeaderError> = tokio::select! {
        _ = cancel.cancelled() => {
            lost.cancel();
            let _ = timed(client.lease_revoke(lease)).await;
            return Ok(None);
        }
        _ = lost.cancelled() => Err(LeaderError::LeaseLost("keep-alive failed".into())),
        resp = election.campaign(ELECTION, value, lease) => resp.map_err(|e| err("campaign")(e.to_string())),
    };
    let key = resp.and_then(|resp| {
        resp.leader()
            .map(|k| (k.key().to_vec(), k.rev()))
            .ok_or_else(|| err("campaign")("etcd answered without a leader key".into()))
    });
    let (key, revision) = match key {
        Ok(k) => k,
        Err(e) => {
            // Gives the lease (and with it any election key it holds) back, so
            // the next campaign does not queue behind this one's key.
            lost.cancel();
            if let Err(reason) = timed(client.lease_revoke(lease)).await {
                tracing::info!(lease, %reason, "could not revoke the failed campaign's lease; it expires by itself");
            }
            return Err(e);
        }
    };
    let fence = Fence {
        key,
        create_revision: revision,
    };
    tracing::info!(key = %String::from_utf8_lossy(&fence.key), revision, "elected leader");
    Ok(Some(Leadership {
        fence,
        lost,
        client,
        lease,
    }))
}

/// The current leader's value (its address), if any.
pub async fn current_leader(endpoints: &[String]) -> Option<String> {
    current_leader_tls(endpoints, &ClusterTls::default()).await
}

/// [`current_leader`] with TLS files for `https://` endpoints.
pub async fn current_leader_tls(endpoints: &[String], tls: &ClusterTls) -> Option<String> {
    let opts = connect_options(endpoints, tls)
        .ok()?
        .with_connect_timeout(CALL_TIMEOUT);
    let client = timed(Client::connect(endpoints, Some(opts))).await.ok()?;
    let resp = timed(client.election_client().leader(ELECTION))
        .await
        .ok()?;
    let kv = resp.kv()?;
    Some(String::from_utf8_lossy(kv.value()).into_owned())
}

fn connect_options(endpoints: &[String], tls: &ClusterTls) -> Result<ConnectOptions, LeaderError> {
    tls.etcd_options(endpoints).map_err(|e| LeaderError::Etcd {
        endpoints: endpoints.join(","),
        what: "TLS setup",
        reason: e.to_string(),
    })
}

/// Renews the lease every third of its TTL until `lost` is cancelled. A
/// failed renewal (etcd restarting, a broken stream) is retried on a new
/// stream with backoff, each failure logged. Leadership is lost when etcd
/// says the lease is gone, or when no renewal has succeeded for a whole TTL
/// (as etcd's own client does: the lease may have expired, and a standby
/// may lead by now), whichever comes first.
async fn keep_alive(
    mut client: Client,
    lease: i64,
    ttl_secs: i64,
    granted: Instant,
    lost: CancellationToken,
) {
    let ttl = Duration::from_secs(u64::try_from(ttl_secs.max(1)).unwrap_or(1));
    let every = ttl / 3;
    // The lease is safe until a TTL after the last renewal was sent.
    let mut safe_until = granted + ttl;
    let mut backoff = RETRY_FIRST;
    let reason = loop {
        let before = safe_until;
        let end = renew_on_stream(&mut client, lease, ttl, every, &mut safe_until, &lost).await;
        if safe_until > before {
            // Renewals went through on that stream: the trouble is new.
            backoff = RETRY_FIRST;
        }
        let failure = match end {
            StreamEnd::Cancelled => return,
            StreamEnd::Expired => break end.to_string(),
            StreamEnd::Failed(reason) => reason,
        };
        // No wait outlasts the lease: past `safe_until` leadership is lost.
        let left = safe_until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break failure;
        }
        tracing::warn!(lease, error = %failure, retry_in = ?backoff, lease_safe_for = ?left, "leader lease renewal failed; retrying");
        tokio::select! {
            _ = lost.cancelled() => return,
            _ = tokio::time::sleep(backoff.min(left)) => {}
        }
        backoff = (backoff * 2).min(RETRY_MAX);
    };
    if !lost.is_cancelled() {
        tracing::error!(%reason, "leader lease lost: this coordinator stops leading");
        lost.cancel();
    }
}
