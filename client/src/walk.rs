//! The region walker: runs one region-scoped call per region piece of some
//! raw key ranges, `concurrency` at a time, and follows region errors the
//! way every region RPC must:
//!
//! * a range without a region is cut at the region boundaries PD reports
//!   (each piece clamped to the range);
//! * a NotLeader with a hint re-sends the piece to the new leader;
//! * ServerIsBusy / StaleCommand waits and re-sends it as is;
//! * any other region error, or a retryable failure the call could not get
//!   past, re-cuts the piece from PD after a backoff (the region split,
//!   merged or moved).
//!
//! Failures of a piece are bounded by the client's retry policy; the pieces
//! a range is re-cut into inherit its failure count, so a range cannot retry
//! forever by splitting. Non-retryable errors end the walk.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures::stream::FuturesUnordered;
use futures::StreamExt as _;

use crate::error::{ClientError, RegionAction};
use crate::keys::{min_end, HexKey};
use crate::pd::SCAN_PAGE;
use crate::region::RegionInfo;
use crate::retry::Backoff;
use crate::store::ImportClient;

/// Raw `[start, end)` inside `region` (`end` empty only for the last region
/// when the range is unbounded).
#[derive(Debug, Clone)]
pub struct RegionPiece {
    pub region: RegionInfo,
    pub start: Vec<u8>,
    pub end: Vec<u8>,
}

/// A range still to do, pinned to a region once PD was asked.
struct Work {
    start: Vec<u8>,
    end: Vec<u8>,
    region: Option<RegionInfo>,
    backoff: Backoff,
    delay: Option<Duration>,
}

enum Step<T> {
    Done(T),
    Again(Vec<Work>),
}

/// Calls `op` once per region piece of `ranges` (raw, `end` empty = +∞) and
/// returns every result, in no particular order. `what` names the call in
/// log lines.
pub async fn walk_regions<T, F, Fut>(
    client: &ImportClient,
    what: &'static str,
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
    concurrency: usize,
    op: F,
) -> Result<Vec<T>, ClientError>
where
    F: Fn(RegionPiece) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let policy = &client.options().retry;
    let mut queue: VecDeque<Work> = ranges
        .into_iter()
        .map(|(start, end)| Work {
            start,
            end,
            region: None,
            backoff: policy.start(),
            delay: None,
        })
        .collect();
    let mut results = Vec::new();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < concurrency.max(1) {
            let Some(work) = queue.pop_front() else { break };
            running.push(step(client, what, work, &op));
        }
        match running.next().await {
            None => return Ok(results),
            Some(Ok(Step::Done(value))) => results.push(value),
            Some(Ok(Step::Again(items))) => queue.extend(items),
            Some(Err(err)) => return Err(err),
        }
    }
}

/// One move on one work item: cut it at region boundaries, or call `op` on
/// its piece and decide what a failure means.
async fn step<T, F, Fut>(
    client: &ImportClient,
    what: &'static str,
    mut work: Work,
    op: &F,
) -> Result<Step<T>, ClientError>
where
    F: Fn(RegionPiece) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    if let Some(delay) = work.delay.take() {
        tokio::time::sleep(delay).await;
    }
    let Some(region) = work.region.take() else {
        return match client
            .pd()
            .scan_regions(&work.start, &work.end, SCAN_PAGE)
            .await
        {
            Ok(regions) => Ok(Step::Again(cut(work, regions))),
            Err(err) => retry_later(what, work, None, true, err).map(Step::Again),
        };
    };
    let piece = RegionPiece {
        region: region.clone(),
        start: work.start.clone(),
        end: work.end.clone(),
    };
    let err = match op(piece).await {
        Ok(value) => return Ok(Step::Done(value)),
        Err(err) => err,
    };
    // A leader hint is followed at once, as TiKV clients do (the failure
    // still counts); a busy store is waited out and asked again; anything
    // else is re-cut from PD after the backoff.
    let (keep, wait) = match err.region_error().map(|e| e.action()) {
        Some(RegionAction::SwitchLeader(Some(leader))) => {
            (Some(region.with_leader(Some(leader))), false)
        }
        Some(RegionAction::Backoff(_)) => (Some(region), true),
        _ => (None, true),
    };
    retry_later(what, work, keep, wait, err).map(Step::Again)
}

/// The item again after a failure, re-sent to `region` or (with `None`)
/// re-cut from PD, after the backoff when `wait`; the error when it is final
/// or the attempts are used up.
fn retry_later(
    what: &'static str,
    mut work: Work,
    region: Option<RegionInfo>,
    wait: bool,
    err: ClientError,
) -> Result<Vec<Work>, ClientError> {
    if !err.retryable() {
        return Err(err);
    }
    let Some(delay) = work.backoff.next_delay(err.retry_after()) else {
        tracing::warn!(what, attempts = work.backoff.failures(), start = %HexKey(&work.start), error = %err, "giving up on region piece");
        return Err(err);
    };
    tracing::warn!(
        what,
        attempt = work.backoff.failures(),
        delay_ms = delay.as_millis() as u64,
        start = %HexKey(&work.start),
        end = %HexKey(&work.end),
        error = %err,
        "retrying region piece"
    );
    work.region = region;
    work.delay = wait.then_some(delay);
    Ok(vec![work])
}

/// One item per region, bounds clamped to the item's range.
fn cut(work: Work, regions: Vec<RegionInfo>) -> Vec<Work> {
    regions
        .into_iter()
        .map(|region| Work {
            start: work.start.as_slice().max(region.start.as_slice()).to_vec(),
            end: min_end(&work.end, &region.end).to_vec(),
            region: Some(region),
            backoff: work.backoff.clone(),
            delay: None,
        })
        .filter(|w| w.end.is_empty() || w.start < w.end)
        .collect()
}
