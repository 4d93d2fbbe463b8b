//! Batch split at range boundaries, then scatter, then a capped wait for the
//! scatter, so each range lands in regions of its own spread over the stores.
//! The split keys are walked like any key range (`RegionWalk`): each region
//! is split at the keys strictly inside it, and region errors re-route or
//! re-cut only the keys not split yet.

use std::convert::Infallible;
use std::time::Instant;

use squall_client::keys::{in_range, next_key, HexKey};
use squall_client::{
    ClientError, OperatorState, RegionInfo, RegionPiece, RegionWalk, Visit, WalkError,
};

use super::error::IngestError;
use super::Shared;

/// Polls of GetRegionByID while PD learns about a new region.
const SPLIT_VISIBLE_POLLS: u32 = 20;

/// Splits regions at every key of `keys` (raw) that is not a region
/// boundary yet, scatters the new regions and waits for the scatter.
pub(crate) async fn split_and_scatter(
    shared: &Shared,
    mut keys: Vec<Vec<u8>>,
) -> Result<(), IngestError> {
    keys.retain(|k| !k.is_empty());
    keys.sort();
    keys.dedup();
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(());
    };
    let span = vec![(first.clone(), next_key(last))];
    let keys = &keys;
    let walked = RegionWalk::new(&shared.client, "SplitRegion")
        .policy(shared.cfg.retry.clone())
        .retry_if(|_| true)
        .scan_page(shared.cfg.scan_page)
        .run(span, |piece| split_piece(shared, keys, piece))
        .await
        .map_err(|err| match err {
            WalkError::Piece(failed) => IngestError::SplitFailed {
                pending: keys.iter().filter(|k| **k >= failed.start).count(),
                first: HexKey(&failed.start).to_string(),
                source: failed.source,
            },
            WalkError::Op(never) => match never {},
        })?;
    shared.counters.retried(walked.retries);
    let made: Vec<RegionInfo> = walked.values.into_iter().flatten().collect();
    scatter(shared, &made).await;
    Ok(())
}

/// After a job hit the stream cap, split its region where the rest begins so
/// the rest gets a region of its own. Best effort: without the split the rest
/// is still ingested, into a bigger region that TiKV will split itself.
pub(crate) async fn split_rest(shared: &Shared, region_id: u64, next: &[u8]) {
    tracing::info!(region = region_id, next = %HexKey(next), "region job hit the stream cap; splitting at the rest");
    if let Err(err) = split_and_scatter(shared, vec![next.to_vec()]).await {
        tracing::warn!(region = region_id, error = %err, "split after the stream cap failed; going on without it");
    }
}

/// Splits the piece's region at the keys strictly inside it (keys on a
/// boundary need no split), `split-batch-keys` a request, following the new
/// region that holds the next chunk. Returns the regions made.
async fn split_piece(
    shared: &Shared,
    keys: &[Vec<u8>],
    piece: RegionPiece,
) -> Result<Visit<Vec<RegionInfo>>, Infallible> {
    let mut region = piece.region;
    let inside: Vec<Vec<u8>> = keys
        .iter()
        .filter(|k| in_range(k, &piece.start, &piece.end) && region.strictly_contains(k))
        .cloned()
        .collect();
    let mut made = Vec::new();
    let mut chunks = inside.chunks(shared.cfg.split_batch_keys.max(1)).peekable();
    while let Some(now) = chunks.next() {
        // On failure: the first key not split yet, and why.
        let (resume, err) = match shared.client.split_region(&region, now.to_vec()).await {
            Ok(pieces) => {
                shared.counters.split(now.len() as u64);
                let Some(next) = chunks.peek().map(|c| &c[0]) else {
                    made.extend(pieces);
                    break;
                };
                let holder = pieces.iter().find(|p| p.contains(next)).cloned();
                made.extend(pieces);
                match holder {
                    Some(holder) => {
                        region = holder;
                        continue;
                    }
                    None => {
                        let err = ClientError::NoRegion {
                            start: HexKey(next).to_string(),
                            end: String::new(),
                        };
                        (next.clone(), err)
                    }
                }
            }
            Err(err) => (now[0].clone(), err),
        };
        tracing::debug!(region = region.id(), resume = %HexKey(&resume), error = %err, "split failed");
        return Ok(match made.is_empty() {
            true => Visit::Failed(err),
            false => Visit::Partial {
                value: made,
                resume,
                failure: Some(err),
            },
        });
    }
    Ok(Visit::Done(made))
}

/// Scatters `regions` and waits, up to the configured cap, until PD has
/// finished. Scatter only balances load: failures are logged, not fatal.
async fn scatter(shared: &Shared, regions: &[RegionInfo]) {
    if regions.is_empty() {
        return;
    }
    let pd = shared.client.pd();
    let mut scattered = Vec::with_capacity(regions.len());
    for region in regions {
        if !wait_visible(shared, region.id()).await {
            tracing::warn!(
                region = region.id(),
                "PD does not know the new region yet; not scattering it"
            );
            continue;
        }
        match pd.scatter_region(region).await {
            Ok(()) => scattered.push(region.id()),
            Err(err) => {
                tracing::warn!(region = region.id(), error = %err, "scatter failed; region stays where it is")
            }
        }
    }
    wait_scattered(shared, &scattered).await;
}

/// Polls PD until it knows region `id` (it learns splits from heartbeats).
async fn wait_visible(shared: &Shared, id: u64) -> bool {
    for _ in 0..SPLIT_VISIBLE_POLLS {
        match shared.client.pd().get_region_by_id(id).await {
            Ok(Some(_)) => return true,
            Ok(None) => tokio::time::sleep(shared.cfg.scatter_poll).await,
            Err(err) => {
                tracing::warn!(region = id, error = %err, "GetRegionByID failed");
                return false;
            }
        }
    }
    false
}

/// Waits for the scatter operators of `ids` to finish, at most `scatter-wait`.
async fn wait_scattered(shared: &Shared, ids: &[u64]) {
    let deadline = Instant::now() + shared.cfg.scatter_wait;
    let mut waiting = ids.to_vec();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for &id in &waiting {
            match shared.client.pd().get_operator(id).await {
                Ok(op) if op.is_scattering() => still.push(id),
                Ok(
                    OperatorState::None
                    | OperatorState::Running { .. }
                    | OperatorState::Finished { .. },
                ) => {}
                Err(err) => {
                    tracing::warn!(region = id, error = %err, "GetOperator failed; not waiting for this scatter")
                }
            }
        }
        waiting = still;
        if waiting.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                regions = waiting.len(),
                "scatter still running after the wait cap; going on"
            );
            return;
        }
        tokio::time::sleep(
            shared
                .cfg
                .scatter_poll
                .min(deadline.saturating_duration_since(Instant::now())),
        )
        .await;
    }
}
