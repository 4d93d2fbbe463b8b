//! One range of the engine: walk its regions in key order, run a job per
//! region, and react to each failure as `job::classify` decides. A range
//! fails after `retry.max-attempts` failures in a row without progress; it
//! never ends with pairs silently left out.

use std::collections::VecDeque;
use std::sync::Arc;

use squall_client::keys::HexKey;
use squall_client::{Backoff, ClientError, RegionInfo};

use super::error::IngestError;
use super::job::{run_job, JobResult, Retry};
use super::plan::{job_span, replan};
use super::source::{KeyRange, SortedKvs};
use super::split::split_and_scatter;
use super::Shared;

/// Ingests every pair of `range`.
pub(crate) async fn ingest_range<S: SortedKvs>(
    shared: &Shared,
    source: &Arc<S>,
    range: &KeyRange,
) -> Result<(), IngestError> {
    let (start, end) = (range.0.as_slice(), range.1.as_slice());
    let mut cursor = start.to_vec();
    let mut queue: VecDeque<RegionInfo> = VecDeque::new();
    let mut backoff = shared.cfg.retry.start();
    while end.is_empty() || cursor.as_slice() < end {
        let region = match queue.pop_front() {
            Some(region) if region.contains(&cursor) => region,
            _ => {
                let scanned = shared
                    .client
                    .pd()
                    .scan_regions(&cursor, end, shared.cfg.scan_page)
                    .await;
                let scanned = scanned.map_err(|err| {
                    IngestError::range_failed((start, end), &cursor, backoff.failures() + 1, err)
                })?;
                queue = scanned.into();
                if queue.front().is_some_and(|r| r.contains(&cursor)) {
                    continue;
                }
                // PD answered without the region holding the cursor: count it
                // like a failed job so a confused PD cannot spin this loop.
                let err = ClientError::NoRegion {
                    start: HexKey(&cursor).to_string(),
                    end: HexKey(end).to_string(),
                };
                wait_or_fail(shared, &mut backoff, (start, end), &cursor, err).await?;
                continue;
            }
        };
        let (job_start, job_end) = job_span(&region, &cursor, end);
        let (retry, error) = match run_job(shared, source, &region, (&job_start, &job_end)).await? {
            JobResult::Done => {
                backoff.reset();
                if job_end.is_empty() {
                    break;
                }
                cursor = job_end;
                continue;
            }
            JobResult::Truncated { next } => {
                backoff.reset();
                split_rest(shared, region.id(), &next).await;
                cursor = next;
                queue.clear();
                continue;
            }
            JobResult::Failed { retry, error } => (retry, error),
        };
        shared.counters.retried();
        let Some(delay) = backoff.next_delay(error.retry_after()) else {
            return Err(IngestError::range_failed(
                (start, end),
                &cursor,
                backoff.failures(),
                error,
            ));
        };
        tracing::warn!(
            region = region.id(),
            start = %HexKey(&job_start),
            attempt = backoff.failures(),
            next_step = ?retry_name(&retry),
            error = %error,
            "region job failed; retrying"
        );
        match retry {
            // A fresh hint from the store itself: write again right away.
            Retry::Leader(Some(peer)) => queue.push_front(region.with_leader(Some(peer))),
            Retry::Backoff(_) => {
                tokio::time::sleep(delay).await;
                queue.push_front(region);
            }
            Retry::Replan(current) => match replan(&current, &region, &job_start, &job_end) {
                Some(regions) => queue = regions.into(),
                None => {
                    tokio::time::sleep(delay).await;
                    queue.clear();
                }
            },
            Retry::Leader(None) | Retry::Rescan => {
                tokio::time::sleep(delay).await;
                queue.clear();
            }
        }
    }
    Ok(())
}

/// Counts a failure that is not a job's; waits, or fails the range when the
/// attempts are used up.
async fn wait_or_fail(
    shared: &Shared,
    backoff: &mut Backoff,
    range: (&[u8], &[u8]),
    cursor: &[u8],
    err: ClientError,
) -> Result<(), IngestError> {
    shared.counters.retried();
    let Some(delay) = backoff.next_delay(err.retry_after()) else {
        return Err(IngestError::range_failed(
            range,
            cursor,
            backoff.failures(),
            err,
        ));
    };
    tracing::warn!(cursor = %HexKey(cursor), attempt = backoff.failures(), error = %err, "no usable region; retrying");
    tokio::time::sleep(delay).await;
    Ok(())
}

/// After a job hit the stream cap, split its region where the rest begins so
/// the rest gets a region of its own. Best effort: without the split the rest
/// is still ingested, into a bigger region that TiKV will split itself.
async fn split_rest(shared: &Shared, region_id: u64, next: &[u8]) {
    tracing::info!(region = region_id, next = %HexKey(next), "region job hit the stream cap; splitting at the rest");
    if let Err(err) = split_and_scatter(shared, vec![next.to_vec()]).await {
        tracing::warn!(region = region_id, error = %err, "split after the stream cap failed; going on without it");
    }
}

fn retry_name(retry: &Retry) -> &'static str {
    match retry {
        Retry::Leader(Some(_)) => "write to the new leader",
        Retry::Leader(None) => "ask PD for the leader",
        Retry::Replan(_) => "re-plan with current regions",
        Retry::Backoff(_) => "back off",
        Retry::Rescan => "re-scan regions",
    }
}
