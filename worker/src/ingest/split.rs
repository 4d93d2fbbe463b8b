//! Batch split at range boundaries, then scatter, then a capped wait for the
//! scatter, so each range lands in regions of its own spread over the stores.

use std::time::Instant;

use squall_client::keys::{next_key, HexKey};
use squall_client::{ClientError, OperatorState, RegionInfo};

use super::error::IngestError;
use super::plan::group_split_keys;
use super::Shared;

/// Polls of GetRegionByID while PD learns about a new region.
const SPLIT_VISIBLE_POLLS: u32 = 20;

/// Splits regions at every key of `keys` (raw, sorted) that is not a region
/// boundary yet, scatters the new regions and waits for the scatter.
/// Retries in rounds with backoff; each round re-scans the regions and
/// re-checks which keys still need a split.
pub(crate) async fn split_and_scatter(
    shared: &Shared,
    mut keys: Vec<Vec<u8>>,
) -> Result<(), IngestError> {
    keys.retain(|k| !k.is_empty());
    keys.sort();
    keys.dedup();
    let mut new_regions = Vec::new();
    let mut backoff = shared.cfg.retry.start();
    while let (Some(first), Some(last)) = (keys.first(), keys.last()) {
        let pd = shared.client.pd();
        let regions = pd
            .scan_regions(first, &next_key(last), shared.cfg.scan_page)
            .await?;
        let (groups, unplaced) = group_split_keys(&keys, &regions);
        let mut failed = unplaced;
        let mut last_err = None;
        for (region, group) in groups {
            let n = group.len() as u64;
            match split_region(shared, region, group).await {
                Ok(made) => {
                    shared.counters.split(n);
                    new_regions.extend(made);
                }
                Err((left, err)) => {
                    failed.extend(left);
                    last_err = Some(err);
                }
            }
        }
        if failed.is_empty() {
            break;
        }
        failed.sort();
        keys = failed;
        let err = last_err.unwrap_or(ClientError::NoRegion {
            start: HexKey(&keys[0]).to_string(),
            end: HexKey(&keys[keys.len() - 1]).to_string(),
        });
        shared.counters.retried();
        let Some(delay) = backoff.next_delay(err.retry_after()) else {
            return Err(IngestError::SplitFailed {
                pending: keys.len(),
                first: HexKey(&keys[0]).to_string(),
                source: err,
            });
        };
        tracing::warn!(pending = keys.len(), delay_ms = delay.as_millis() as u64, error = %err, "split round failed; retrying");
        tokio::time::sleep(delay).await;
    }
    scatter(shared, &new_regions).await;
    Ok(())
}

/// Splits one region at `keys` in chunks of `split-batch-keys`, following the
/// piece that holds the next chunk. On failure returns the keys not split.
async fn split_region(
    shared: &Shared,
    mut region: RegionInfo,
    keys: Vec<Vec<u8>>,
) -> Result<Vec<RegionInfo>, (Vec<Vec<u8>>, ClientError)> {
    let mut made = Vec::new();
    let chunk = shared.cfg.split_batch_keys.max(1);
    let mut rest = keys.as_slice();
    while !rest.is_empty() {
        let (now, later) = rest.split_at(chunk.min(rest.len()));
        let pieces = match shared.client.split_region(&region, now.to_vec()).await {
            Ok(pieces) => pieces,
            Err(err) => {
                tracing::debug!(region = region.id(), keys = rest.len(), error = %err, "split failed");
                return Err((rest.to_vec(), err));
            }
        };
        rest = later;
        if let Some(next) = rest.first() {
            match pieces.iter().find(|p| p.contains(next)) {
                Some(piece) => region = piece.clone(),
                None => {
                    let err = ClientError::NoRegion {
                        start: HexKey(next).to_string(),
                        end: String::new(),
                    };
                    return Err((rest.to_vec(), err));
                }
            }
        }
        made.extend(pieces);
    }
    Ok(made)
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
