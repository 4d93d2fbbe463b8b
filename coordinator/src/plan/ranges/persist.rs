//! Range records in the checkpoint store, created like every plan record by
//! CAS on "absent" (each with its commit ts from PD's TSO taken before the
//! record is written); a stored range that disagrees with the re-plan is a
//! `PlanMismatch`. And the coordinator's pre-split at every range bound.

use squall_client::{ImportClient, PdClient};
use squall_common::checkpoint::{
    keys, typed, RangeCheckpoint, RangeState, SharedCheckpointStore, Stored, Swap, RECORD_VERSION,
};
use squall_common::TaskConfig;
use squall_worker::ingest::{pre_split, IngestConfig};

use super::split::PlannedRange;
use crate::error::CoordinatorError;

pub async fn persist_ranges(
    store: &SharedCheckpointStore,
    job_id: &str,
    planned: &[(i64, Vec<PlannedRange>)],
    pd: &PdClient,
) -> Result<(), CoordinatorError> {
    let store = store.as_ref();
    for (table_id, ranges) in planned {
        for (i, r) in ranges.iter().enumerate() {
            let range_id = i as u32;
            let key = keys::range(job_id, *table_id, range_id);
            let mut record = RangeCheckpoint {
                version: RECORD_VERSION,
                job_id: job_id.to_string(),
                table_id: *table_id,
                range_id,
                start: r.start.clone(),
                end: r.end.clone(),
                estimated_bytes: r.estimated_bytes,
                commit_ts: 0,
                attempt: 0,
                state: RangeState::Pending,
            };
            if let Some(existing) = typed::read::<RangeCheckpoint>(store, &key).await? {
                check_same(&key, &existing.record, &record)?;
                continue;
            }
            record.commit_ts = pd.tso().await?;
            if let Swap::Conflict(Some(existing)) = typed::swap(store, &key, None, &record).await? {
                check_same(&key, &existing.record, &record)?;
            }
        }
        // A re-plan with fewer ranges than stored disagrees too.
        let extra = keys::range(job_id, *table_id, ranges.len() as u32);
        if typed::read::<RangeCheckpoint>(store, &extra)
            .await?
            .is_some()
        {
            return Err(CoordinatorError::PlanMismatch {
                key: extra,
                reason: "the table's engine ranges changed".into(),
            });
        }
    }
    Ok(())
}

fn check_same(
    key: &str,
    stored: &RangeCheckpoint,
    planned: &RangeCheckpoint,
) -> Result<(), CoordinatorError> {
    if stored.same_plan(planned) {
        return Ok(());
    }
    Err(CoordinatorError::PlanMismatch {
        key: key.to_string(),
        reason: "the table's engine ranges changed".into(),
    })
}

/// Splits TiKV's regions at every range bound and scatters them, before any
/// ingest, so each range's regions are its own (best effort, like
/// `PRE_SPLIT_REGIONS`: without it ingest splits as it goes).
pub async fn pre_split_ranges(
    store: &SharedCheckpointStore,
    job_id: &str,
    client: &ImportClient,
    cfg: &TaskConfig,
) -> Result<(), CoordinatorError> {
    let ranges: Vec<Stored<RangeCheckpoint>> =
        typed::read_all(store.as_ref(), &keys::ranges_prefix(job_id)).await?;
    let mut bounds: Vec<Vec<u8>> = ranges
        .iter()
        .filter(|r| !matches!(r.record.state, RangeState::Done(_)))
        .flat_map(|r| [r.record.start.clone(), r.record.end.clone()])
        .collect();
    bounds.sort();
    bounds.dedup();
    if bounds.is_empty() {
        return Ok(());
    }
    let n = bounds.len();
    let began = std::time::Instant::now();
    match pre_split(client, &IngestConfig::from_task(cfg), bounds).await {
        Ok(()) => tracing::info!(
            job = job_id,
            keys = n,
            secs = began.elapsed().as_secs_f64(),
            "regions pre-split and scattered at the engine ranges' bounds"
        ),
        Err(e) => tracing::warn!(job = job_id, error = %e,
            "pre-split at the engine ranges' bounds failed; ingest splits as it goes"),
    }
    Ok(())
}
