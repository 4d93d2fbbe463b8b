//! Keeps the versions a job reads safe from TiKV's GC: a PD **service GC
//! safepoint** at the job's `start_ts`, renewed while the job runs and
//! removed when it ends (as Lightning's `gcTTLManager`, BR and TiCDC do).
//!
//! Why: every timestamp of a job is at or above its `start_ts` (engine
//! commit ts, detection's `min_commit_ts`, the resolution read ts, the
//! checksum ts). TiDB's GC worker moves the GC safepoint to
//! `now - tidb_gc_life_time` (10 min by default), and TiKV then keeps only
//! the newest version at or below it. Two engines that wrote one key at two
//! commit ts are two versions; once GC passes both, the older is gone, so
//! duplicate detection no longer sees the conflict and the checksum (which
//! counts both) fails. A job longer than the GC life time needs this.
//!
//! PD keeps a service safepoint for its TTL; the keeper re-registers it every
//! TTL/3 (Lightning's factor). A registration below the current minimum is
//! refused by PD (not an error: the answer carries the minimum): at start
//! that means GC already passed the job's `start_ts`: a new job (no ts
//! used but its start ts) lost a race with a GC round and registers again
//! at a fresh ts that becomes its start ts; a job resumed after a long stop
//! fails with what to do; during the job (the entry
//! was deleted by an operator, or PD lost it) it is logged as an error.
//! `finish` removes the entry (TTL 0); dropping the keeper without `finish`
//! (an early error) removes it from a spawned task, best effort; a killed
//! process leaves it to expire after the TTL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use squall_client::{ClientError, PdClient};
use tokio::task::JoinHandle;

use crate::error::CoordinatorError;

/// Lightning's service safepoint TTL (10 min): a dead importer holds GC
/// back no longer than this.
pub const DEFAULT_TTL_SECS: u64 = 600;
/// Re-register every TTL / this (Lightning's `preUpdateServiceSafePointFactor`).
const RENEW_FACTOR: u32 = 3;
/// Registrations of a new job's safepoint, each at a fresh ts, before
/// giving up (each can lose the race only to a GC round in between).
const REGISTER_TRIES: u32 = 5;

/// The service id of a job's safepoint: stable across reruns, so a resumed
/// job replaces its own entry instead of leaving one behind.
pub fn service_id(job_id: &str) -> String {
    format!("squall-{job_id}")
}

/// Holds a job's service safepoint until `finish` or drop.
pub struct GcSafepointKeeper {
    pd: PdClient,
    service_id: String,
    safe_point: u64,
    renewer: Option<JoinHandle<()>>,
    /// Set by the renewer when PD refused a renewal (the entry was lost).
    lost: Arc<Mutex<Option<String>>>,
    finished: bool,
}

impl GcSafepointKeeper {
    /// Registers `service_id(job_id)` at `safe_point` for `ttl` and starts
    /// renewing it. `ttl` zero: nothing is registered (`None`; the job's
    /// versions are then only as safe as the cluster's GC life time).
    ///
    /// `new_job`: the job has used no ts but `safe_point` (its start ts; no
    /// engine has a commit ts yet). PD refuses a safepoint below its GC
    /// safepoint; for a new job that only means a GC round ran between the
    /// TSO and this call (a GC life time near zero), so the registration is
    /// retried at a fresh ts, which the caller then stores as the job's
    /// start ts ([`Self::safe_point`]): every later ts of the job is above
    /// it. For any other job the refusal fails the job (its versions may be
    /// gone).
    pub async fn start(
        pd: &PdClient,
        job_id: &str,
        safe_point: u64,
        ttl: Duration,
        new_job: bool,
    ) -> Result<Option<Self>, CoordinatorError> {
        if ttl.is_zero() {
            tracing::warn!(
                job = job_id,
                "squall.gc-safepoint-ttl-secs = 0: no service GC safepoint; a GC that passes the \
                 job's start ts while it runs makes duplicates undetectable and the checksum fail"
            );
            return Ok(None);
        }
        let ttl_secs = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let service_id = service_id(job_id);
        let mut safe_point = safe_point;
        let mut tries = 1;
        loop {
            let answer = pd
                .update_service_gc_safe_point(&service_id, ttl_secs, safe_point)
                .await?;
            if answer.min_safe_point <= safe_point {
                break;
            }
            if !new_job || tries >= REGISTER_TRIES {
                return Err(passed_error(job_id, safe_point, &answer));
            }
            tries += 1;
            let fresh = pd.tso().await?;
            tracing::info!(
                job = job_id,
                start_ts = safe_point,
                min = answer.min_safe_point,
                fresh,
                "GC passed the new job's start ts before its safepoint was registered; \
                 registering at a fresh ts"
            );
            safe_point = fresh;
        }
        tracing::info!(
            job = job_id,
            service = %service_id,
            safe_point,
            ttl_secs,
            "service GC safepoint registered"
        );
        let lost = Arc::new(Mutex::new(None));
        let renewer = tokio::spawn(renew(
            pd.clone(),
            service_id.clone(),
            safe_point,
            ttl_secs,
            ttl / RENEW_FACTOR,
            Arc::clone(&lost),
        ));
        Ok(Some(Self {
            pd: pd.clone(),
            service_id,
            safe_point,
            renewer: Some(renewer),
            lost,
            finished: false,
        }))
    }

    /// Where the safepoint is held: the `safe_point` given to `start`, or
    /// the fresh ts a new job was registered at instead.
    pub fn safe_point(&self) -> u64 {
        self.safe_point
    }

    /// Why the safepoint was lost during the job, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops renewing and removes the service safepoint.
    pub async fn finish(mut self) -> Result<(), ClientError> {
        self.finished = true;
        self.stop_renewer();
        if let Some(lost) = self.lost() {
            tracing::error!(service = %self.service_id, "{lost}");
        }
        self.pd
            .update_service_gc_safe_point(&self.service_id, 0, 0)
            .await?;
        tracing::info!(service = %self.service_id, safe_point = self.safe_point, "service GC safepoint removed");
        Ok(())
    }

    fn stop_renewer(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

impl Drop for GcSafepointKeeper {
    fn drop(&mut self) {
        self.stop_renewer();
        if self.finished {
            return;
        }
        let pd = self.pd.clone();
        let id = self.service_id.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    match pd.update_service_gc_safe_point(&id, 0, 0).await {
                        Ok(_) => tracing::info!(service = %id, "service GC safepoint removed after the job stopped"),
                        Err(e) => tracing::warn!(service = %id, error = %e, "could not remove the service GC safepoint; PD drops it when its TTL ends"),
                    }
                });
            }
            Err(_) => tracing::warn!(
                service = %id,
                "no runtime to remove the service GC safepoint; PD drops it when its TTL ends"
            ),
        }
    }
}

/// Re-registers the safepoint every `every`; a failed call is retried at
/// the next tick (PD keeps the entry until its TTL ends, three ticks away).
async fn renew(
    pd: PdClient,
    service_id: String,
    safe_point: u64,
    ttl_secs: i64,
    every: Duration,
    lost: Arc<Mutex<Option<String>>>,
) {
    let every = every.max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        match pd
            .update_service_gc_safe_point(&service_id, ttl_secs, safe_point)
            .await
        {
            Ok(answer) if answer.min_safe_point > safe_point => {
                let why = format!(
                    "the service GC safepoint {service_id} at {safe_point} was lost during the job: \
                     PD's minimum is now {} (held by {}); versions the job reads may have been \
                     collected — a failed checksum or missed conflicts follow from that",
                    answer.min_safe_point, answer.min_service_id
                );
                tracing::error!("{why}");
                *lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            }
            Ok(_) => tracing::debug!(service = %service_id, "service GC safepoint renewed"),
            Err(e) => tracing::warn!(
                service = %service_id,
                error = %e,
                "renewing the service GC safepoint failed; retrying at the next tick"
            ),
        }
    }
}

fn passed_error(
    job_id: &str,
    safe_point: u64,
    answer: &squall_client::ServiceSafePoint,
) -> CoordinatorError {
    CoordinatorError::Invalid {
        what: "GC safepoint",
        reason: format!(
            "the cluster's GC has passed job {job_id}'s start ts {safe_point} (PD's smallest service \
             safepoint is {} held by {:?}), so versions the job wrote or reads may already be \
             collected. If the job ingested nothing yet, remove its checkpoint and run it again; \
             otherwise truncate the target tables, remove the checkpoint and import again. To let \
             a stopped job resume later, raise tidb_gc_life_time on the cluster before stopping it",
            answer.min_safe_point, answer.min_service_id
        ),
    }
}
