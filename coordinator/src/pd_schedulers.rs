//! Pauses PD's balance schedulers and region merging for a job's life, as
//! Lightning does (BR's `pdutil`: `RemoveSchedulersWithConfig`, and the
//! undo it returns).
//!
//! Why: a job splits and scatters the regions of its key ranges, then
//! ingests into them. PD's balance schedulers moving leaders and regions
//! meanwhile turn ingests into NotLeader/EpochNotMatch retries, and the
//! merge checker merges the empty regions the job just split. So the
//! balance schedulers PD runs are paused, and the merge size/keys are set
//! to 0 (with the limits raised as BR does, so the job's scatter operators
//! are not queued behind them).
//!
//! Both are leases, so a dead coordinator cannot leave the cluster unbalanced
//! (tidb#33546): a scheduler is paused with a delay after which PD resumes
//! it, the config values are set with a TTL after which PD goes back to its
//! stored ones, and the keeper renews both every lease/3. `finish` (end,
//! failure, cancel) resumes the schedulers and drops the temporary values
//! with the original ones; dropping the keeper without `finish` (an early
//! error) does that from a spawned task, best effort.
//!
//! Two jobs on one cluster: the first to end resumes the schedulers while
//! the other runs; the other's next renewal pauses them again.

use std::time::Duration;

use serde_json::{Map, Value};
use squall_client::{ClientError, PdClient, PdHttp, BALANCE_SCHEDULERS};
use tokio::task::JoinHandle;

use crate::error::CoordinatorError;

/// How long one pause holds without renewal (BR's `pauseTimeout`, 5 min):
/// a dead coordinator's pause ends after this.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);
/// Renew every lease / this.
const RENEW_FACTOR: u32 = 3;

/// The schedule config values a job sets while it runs, from PD's current
/// ones (`stores`: the cluster's store count): merging off, and the
/// scheduling limits raised (BR's `expectPDCfgGenerators`). Keys PD does
/// not have are left out.
pub fn paused_config(current: &Map<String, Value>, stores: u64) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in current {
        let paused = match key.as_str() {
            "max-merge-region-keys" | "max-merge-region-size" => Value::from(0),
            "leader-schedule-limit" | "region-schedule-limit" | "max-snapshot-count" => {
                match value.as_f64() {
                    Some(v) => Value::from((v * stores.max(1) as f64) as u64),
                    None => continue,
                }
            }
            "enable-location-replacement" => Value::from(false),
            "max-pending-peer-count" => Value::from(i32::MAX),
            _ => continue,
        };
        out.insert(key.clone(), paused);
    }
    out
}

/// Holds the pause until `finish` or drop.
pub struct SchedulerPause {
    http: PdHttp,
    job_id: String,
    /// The schedulers this keeper paused.
    paused: Vec<String>,
    /// The original values of the config keys it changed.
    original: Map<String, Value>,
    renewer: Option<JoinHandle<()>>,
    finished: bool,
}

impl SchedulerPause {
    /// Pauses the balance schedulers PD runs and region merging for
    /// `lease`, and starts renewing. Fails the job when PD's HTTP API does
    /// not answer (after the client's retries), as Lightning does: an
    /// import under running balancers and merges is slow and fragile.
    pub async fn start(
        pd: &PdClient,
        job_id: &str,
        lease: Duration,
    ) -> Result<Self, CoordinatorError> {
        let lease = lease.max(Duration::from_secs(3));
        let http = PdHttp::new(pd)?;
        let running = http.schedulers().await.map_err(|e| failed(job_id, e))?;
        let paused: Vec<String> = BALANCE_SCHEDULERS
            .iter()
            .filter(|s| running.iter().any(|r| r == *s))
            .map(|s| s.to_string())
            .collect();
        let current = http
            .schedule_config()
            .await
            .map_err(|e| failed(job_id, e))?;
        let stores = pd.get_all_stores().await?.len() as u64;
        let values = paused_config(&current, stores);
        let original: Map<String, Value> = values
            .keys()
            .filter_map(|k| current.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        let mut keeper = Self {
            http: http.clone(),
            job_id: job_id.to_string(),
            paused,
            original,
            renewer: None,
            finished: false,
        };
        // From here a failure leaves `keeper` to be dropped, which undoes
        // whatever part of the pause was applied.
        apply(&http, &keeper.paused, &values, lease)
            .await
            .map_err(|e| failed(job_id, e))?;
        let shown = Value::Object(values.clone()).to_string();
        tracing::info!(
            job = job_id,
            schedulers = ?keeper.paused,
            config = %shown,
            lease_secs = lease.as_secs(),
            "PD balance schedulers and region merging paused for the job"
        );
        keeper.renewer = Some(tokio::spawn(renew(
            http,
            keeper.paused.clone(),
            values,
            lease,
        )));
        Ok(keeper)
    }

    /// The schedulers paused.
    pub fn paused(&self) -> &[String] {
        &self.paused
    }

    /// Stops renewing; resumes the schedulers and restores the config.
    pub async fn finish(mut self) -> Result<(), ClientError> {
        self.finished = true;
        self.stop_renewer();
        restore(&self.http, &self.paused, &self.original).await?;
        tracing::info!(job = %self.job_id, schedulers = ?self.paused, "PD schedulers resumed and schedule config restored");
        Ok(())
    }

    fn stop_renewer(&mut self) {
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

impl Drop for SchedulerPause {
    fn drop(&mut self) {
        self.stop_renewer();
        if self.finished {
            return;
        }
        let http = self.http.clone();
        let paused = std::mem::take(&mut self.paused);
        let original = std::mem::take(&mut self.original);
        let job = self.job_id.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    match restore(&http, &paused, &original).await {
                        Ok(()) => tracing::info!(job = %job, "PD schedulers resumed after the job stopped"),
                        Err(e) => tracing::warn!(job = %job, error = %e, "could not resume the PD schedulers; PD resumes them when the pause's delay ends"),
                    }
                });
            }
            Err(_) => tracing::warn!(
                job = %job,
                "no runtime to resume the PD schedulers; PD resumes them when the pause's delay ends"
            ),
        }
    }
}

/// Pauses `schedulers` and sets `values`, both for `lease`.
async fn apply(
    http: &PdHttp,
    schedulers: &[String],
    values: &Map<String, Value>,
    lease: Duration,
) -> Result<(), ClientError> {
    for name in schedulers {
        http.pause_scheduler(name, lease).await?;
    }
    if !values.is_empty() {
        http.set_schedule_config(values, Some(lease)).await?;
    }
    Ok(())
}

/// Resumes `schedulers` (delay 0) and drops the temporary config values
/// with the original ones (TTL 0, as BR does). Tries every step, returns the
/// first error.
async fn restore(
    http: &PdHttp,
    schedulers: &[String],
    original: &Map<String, Value>,
) -> Result<(), ClientError> {
    let mut first = None;
    for name in schedulers {
        if let Err(e) = http.pause_scheduler(name, Duration::ZERO).await {
            tracing::warn!(scheduler = %name, error = %e, "could not resume a PD scheduler; PD resumes it when the pause's delay ends");
            first.get_or_insert(e);
        }
    }
    if !original.is_empty() {
        if let Err(e) = http
            .set_schedule_config(original, Some(Duration::ZERO))
            .await
        {
            tracing::warn!(error = %e, "could not restore PD's schedule config; PD drops the job's values when their TTL ends");
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// Renews the pause every lease/3; a failed renewal is retried at the next
/// tick (the pause holds for two more).
async fn renew(http: PdHttp, schedulers: Vec<String>, values: Map<String, Value>, lease: Duration) {
    let every = lease / RENEW_FACTOR;
    loop {
        tokio::time::sleep(every).await;
        match apply(&http, &schedulers, &values, lease).await {
            Ok(()) => tracing::debug!("PD scheduler pause renewed"),
            Err(e) => {
                tracing::warn!(error = %e, "renewing the PD scheduler pause failed; retrying at the next tick")
            }
        }
    }
}

fn failed(job_id: &str, e: ClientError) -> CoordinatorError {
    CoordinatorError::Invalid {
        what: "PD scheduler pause",
        reason: format!(
            "job {job_id} could not pause PD's balance schedulers over PD's HTTP API ({e}). \
             The PD address (tidb.pd-addr / --pd) must serve PD's HTTP API as well as gRPC, \
             as PD's client URL does; check that PD is up and reachable at it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_config_turns_merging_off_and_raises_limits() {
        let current: Map<String, Value> = serde_json::from_str(
            r#"{"max-merge-region-size": 20, "max-merge-region-keys": 200000,
                "leader-schedule-limit": 4, "region-schedule-limit": 2048,
                "enable-location-replacement": true, "split-merge-interval": "1h0m0s"}"#,
        )
        .expect("JSON");
        let paused = paused_config(&current, 3);
        assert_eq!(paused["max-merge-region-size"], 0);
        assert_eq!(paused["max-merge-region-keys"], 0);
        assert_eq!(paused["leader-schedule-limit"], 12);
        assert_eq!(paused["region-schedule-limit"], 6144);
        assert_eq!(paused["enable-location-replacement"], false);
        // Keys PD does not report are not set; others are left alone.
        assert!(!paused.contains_key("max-pending-peer-count"));
        assert!(!paused.contains_key("split-merge-interval"));
    }
}
