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

use etcd_client::{
    CampaignResponse, Client, ConnectOptions, ElectionClient, LeaseKeepAliveStream, LeaseKeeper,
};
use tokio_util::sync::CancellationToken;

use crate::etcd::Fence;

/// Election name every coordinator campaigns under.
pub const ELECTION: &str = "squall/coordinator/leader";
/// Lease TTL: how long a dead leader goes unnoticed. Short, because the job
/// stands still meanwhile; long enough that a busy leader's renewal (every
/// third of it) is not late.
pub const DEFAULT_TTL_SECS: i64 = 5;
/// Limit of one etcd call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

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
/// and returns once elected; `None` if `cancel` fires first.
pub async fn campaign(
    endpoints: &[String],
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
    let opts = ConnectOptions::new().with_connect_timeout(CALL_TIMEOUT);
    let mut client = timed(Client::connect(endpoints, Some(opts)))
        .await
        .map_err(err("connect"))?;
    let lease = timed(client.lease_grant(ttl_secs, None))
        .await
        .map_err(err("lease grant"))?
        .id();
    let lost = CancellationToken::new();
    let (keeper, stream) = timed(client.lease_keep_alive(lease))
        .await
        .map_err(err("lease keep-alive"))?;
    tokio::spawn(keep_alive(keeper, stream, ttl_secs, lost.clone()));
    let mut election: ElectionClient = client.election_client();
    tracing::info!(lease, election = ELECTION, "campaigning for leadership");
    let resp: CampaignResponse = tokio::select! {
        _ = cancel.cancelled() => {
            lost.cancel();
            let _ = timed(client.lease_revoke(lease)).await;
            return Ok(None);
        }
        _ = lost.cancelled() => return Err(LeaderError::LeaseLost("keep-alive failed".into())),
        resp = election.campaign(ELECTION, value, lease) => resp.map_err(|e| err("campaign")(e.to_string()))?,
    };
    let Some(key) = resp.leader() else {
        return Err(err("campaign")("etcd answered without a leader key".into()));
    };
    let fence = Fence {
        key: key.key().to_vec(),
        create_revision: key.rev(),
    };
    tracing::info!(key = %String::from_utf8_lossy(key.key()), revision = key.rev(), "elected leader");
    Ok(Some(Leadership {
        fence,
        lost,
        client,
        lease,
    }))
}

/// The current leader's value (its address), if any.
pub async fn current_leader(endpoints: &[String]) -> Option<String> {
    let opts = ConnectOptions::new().with_connect_timeout(CALL_TIMEOUT);
    let client = timed(Client::connect(endpoints, Some(opts))).await.ok()?;
    let resp = timed(client.election_client().leader(ELECTION))
        .await
        .ok()?;
    let kv = resp.kv()?;
    Some(String::from_utf8_lossy(kv.value()).into_owned())
}

/// Renews every third of the TTL; the first failure, a missing answer or an
/// expired lease cancels `lost` (no second lease: the key is gone with the
/// first one, and a new campaign is a new process's job).
async fn keep_alive(
    mut keeper: LeaseKeeper,
    mut stream: LeaseKeepAliveStream,
    ttl_secs: i64,
    lost: CancellationToken,
) {
    let every = Duration::from_millis((ttl_secs.max(1) as u64 * 1000) / 3);
    let reason = loop {
        if let Err(e) = timed(keeper.keep_alive()).await {
            break e;
        }
        match tokio::time::timeout(CALL_TIMEOUT, stream.message()).await {
            Err(_) => break "no keep-alive answer".to_string(),
            Ok(Err(e)) => break e.to_string(),
            Ok(Ok(None)) => break "keep-alive stream closed".to_string(),
            Ok(Ok(Some(resp))) if resp.ttl() <= 0 => break "lease expired".to_string(),
            Ok(Ok(Some(_))) => {}
        }
        tokio::select! {
            _ = lost.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    };
    if !lost.is_cancelled() {
        tracing::error!(%reason, "leader lease lost: this coordinator stops leading");
        lost.cancel();
    }
}

/// One etcd call with [`CALL_TIMEOUT`].
async fn timed<T>(
    call: impl std::future::Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
    }
}
