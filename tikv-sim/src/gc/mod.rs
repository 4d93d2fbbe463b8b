//! GC: PD's safepoint bookkeeping ([`safepoints`]), TiKV's collection of
//! old versions below the GC safepoint ([`collect`]), and a stand-in for
//! TiDB's GC worker that ties them together ([`run_round`]).
//!
//! A round does what TiDB's GC worker does every `tikv_gc_run_interval`:
//! propose `now - life_time` as the safepoint, register it as the
//! `gc_worker` service safepoint, take the minimum over every live service
//! safepoint (so a Squall, BR or TiCDC job holding an older one holds GC
//! back), move PD's GC safepoint there, then collect versions below it.
//! Rounds run on a timer (`SimConfig::gc_interval`, off by default) or on
//! demand (`SimHandle::run_gc`, `POST /gc` on the admin API).

pub mod collect;
pub mod safepoints;

use serde::Serialize;

pub use collect::Collected;
pub use safepoints::{SafePointError, SafePoints, ServiceSafePoint, ServiceUpdate, GC_WORKER};

use crate::cluster::Cluster;
use crate::error::SimError;
use crate::meta;
use crate::pd::tso::LOGICAL_BITS;
use crate::util::{lock, unix_millis};

/// What a GC round did, and PD's GC state after it.
#[derive(Debug, Clone, Serialize)]
pub struct GcReport {
    /// What the GC worker proposed (`now - life time`, or the caller's).
    pub proposed: u64,
    /// PD's GC safepoint after the round.
    pub gc_safe_point: u64,
    /// The service safepoint that held GC back, if one did.
    pub held_by: Option<String>,
    pub collected: Collected,
}

/// PD's GC state, for observation.
#[derive(Debug, Clone, Serialize)]
pub struct GcStatus {
    pub gc_safe_point: u64,
    pub service_safe_points: Vec<ServiceSafePoint>,
    /// Rounds run since the sim started.
    pub rounds: u64,
    /// Versions collected since the sim started.
    pub removed_versions: u64,
}

/// Unix seconds, as PD keeps service safepoint expiry.
pub fn unix_secs() -> i64 {
    unix_millis() / 1000
}

/// A TSO timestamp for wall time `ms` (logical part 0).
pub fn ts_at_millis(ms: i64) -> u64 {
    (ms.max(0) as u64) << LOGICAL_BITS
}

/// Applies `f` to PD's GC state and persists the result before returning,
/// as PD saves to etcd before it answers.
pub fn update<T>(cluster: &Cluster, f: impl FnOnce(&mut SafePoints) -> T) -> Result<T, SimError> {
    let mut state = lock(&cluster.gc);
    let mut next = state.safe_points.clone();
    let out = f(&mut next);
    if next != state.safe_points {
        meta::save_gc(&cluster.storage, &next)?;
        state.safe_points = next;
    }
    Ok(out)
}

/// One GC worker round with `proposed` as the wished-for safepoint (default
/// `now - gc_life_time`). Collection runs on the calling thread: call from
/// a blocking context.
pub fn run_round(cluster: &Cluster, proposed: Option<u64>) -> Result<GcReport, SimError> {
    let proposed = proposed.unwrap_or_else(|| {
        let life = i64::try_from(cluster.settings.gc_life_time.as_millis()).unwrap_or(i64::MAX);
        ts_at_millis(unix_millis().saturating_sub(life))
    });
    let now = unix_secs();
    let (gc_safe_point, held_by) = update(cluster, |sp| {
        // Like TiDB, the GC worker never proposes less than the last GC
        // safepoint (its own entry can only be moved forward).
        let proposal = proposed.max(sp.gc_safe_point);
        let answer = sp.update_service(GC_WORKER, i64::MAX, proposal, now);
        let (target, held_by) = match answer {
            Ok(up) if up.min.safe_point < proposal => {
                (up.min.safe_point, Some(up.min.service_id.clone()))
            }
            Ok(_) => (proposal, None),
            // gc_worker's own entry is always valid; unreachable in practice.
            Err(e) => {
                tracing::warn!(error = %e, "GC worker could not register its safepoint");
                (sp.gc_safe_point, None)
            }
        };
        (sp.update_gc(target), held_by)
    })?;
    let _serial = lock(&cluster.gc_running);
    let collected = collect::collect(&cluster.storage, gc_safe_point)?;
    {
        let mut state = lock(&cluster.gc);
        state.rounds += 1;
        state.removed_versions += collected.removed;
    }
    if collected.removed > 0 || held_by.is_some() {
        tracing::info!(
            proposed,
            gc_safe_point,
            held_by = held_by.as_deref().unwrap_or("-"),
            removed = collected.removed,
            "GC round"
        );
    }
    Ok(GcReport {
        proposed,
        gc_safe_point,
        held_by,
        collected,
    })
}

/// PD's GC state now (expired service safepoints dropped, as PD would on
/// its next read of them).
pub fn status(cluster: &Cluster) -> Result<GcStatus, SimError> {
    let now = unix_secs();
    update(cluster, |sp| {
        sp.min_service(now);
    })?;
    let state = lock(&cluster.gc);
    Ok(GcStatus {
        gc_safe_point: state.safe_points.gc_safe_point,
        service_safe_points: state.safe_points.services.values().cloned().collect(),
        rounds: state.rounds,
        removed_versions: state.removed_versions,
    })
}

/// PD's GC state behind the cluster's lock, plus counters.
#[derive(Debug, Default)]
pub struct GcState {
    pub safe_points: SafePoints,
    pub rounds: u64,
    pub removed_versions: u64,
}

/// Runs a GC round every `cluster.settings.gc_interval` (if set).
pub async fn run_periodically(cluster: std::sync::Arc<Cluster>) {
    let Some(period) = cluster.settings.gc_interval else {
        return;
    };
    loop {
        tokio::time::sleep(period).await;
        let c = cluster.clone();
        match tokio::task::spawn_blocking(move || run_round(&c, None)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "GC round failed; next round retries"),
            Err(e) => tracing::warn!(error = %e, "GC round panicked"),
        }
    }
}
