//! Region ingest: put one sorted engine into TiKV.
//!
//! 1. The engine is cut into ranges of at most a region's size and keys
//!    ([`SortedKvs::ranges`]).
//! 2. With more than one range, regions are split at the range boundaries
//!    (batch SplitRegion on each leader), scattered, and the scatter awaited
//!    up to a cap.
//! 3. The ranges are walked with `squall_client::RegionWalk`,
//!    `range-concurrency` region jobs at a time: each region piece of a range
//!    streams `Write` to every peer (the region's epoch, a fresh uuid, the
//!    engine's commit ts) and `MultiIngest`s the SSTs on the leader
//!    (`squall_client::write_and_ingest`). A job that hits the stream cap
//!    splits off the rest, which is walked again.
//! 4. Failures follow the walk's region-error table: NotLeader → write
//!    again to the new leader; EpochNotMatch → continue with the current
//!    regions; ServerIsBusy / StaleCommand / "ahead of local region" → back
//!    off and write again; anything else → scan regions again. Every client
//!    error is retried, boundedly: a piece that runs out of attempts fails
//!    the whole ingest (no SST is ever dropped).
//!
//! Re-running an ingest writes the same keys at the same commit ts, so it is
//! idempotent.

mod batches;
mod config;
mod error;
mod job;
mod plan;
mod source;
mod split;
mod stats;

use std::sync::Arc;

use squall_client::{ImportClient, RegionWalk, WalkError};

pub use config::IngestConfig;
pub use error::IngestError;
pub use plan::range_boundaries;
pub use source::{KeyBounds, KeyRange, MemKvs, PairIter, SortedKvs, SourceError};
pub use stats::{IngestSummary, ProgressFn};

use stats::Counters;

/// What every job of one engine shares.
pub(crate) struct Shared {
    pub client: ImportClient,
    pub cfg: IngestConfig,
    pub commit_ts: u64,
    pub counters: Counters,
}

/// Ingests every pair of `source` at `commit_ts`. `progress` is called with
/// the bytes of each ingested region job. On error, part of the engine may be
/// in TiKV: run it again (same ts) to finish.
pub async fn ingest_engine<S: SortedKvs>(
    client: &ImportClient,
    source: Arc<S>,
    commit_ts: u64,
    cfg: &IngestConfig,
    progress: Option<ProgressFn>,
) -> Result<IngestSummary, IngestError> {
    if commit_ts == 0 {
        return Err(IngestError::ZeroCommitTs);
    }
    let shared = Shared {
        client: client.clone(),
        cfg: cfg.clone(),
        commit_ts,
        counters: Counters::new(progress),
    };
    let (size, keys) = (cfg.region_split_size, cfg.region_split_keys);
    let ranges = blocking(&source, "cutting the engine into ranges", move |s| {
        s.ranges(size, keys)
    })
    .await?;
    shared.counters.ranges(ranges.len() as u64);
    if ranges.is_empty() {
        return Ok(shared.counters.summary());
    }
    tracing::info!(ranges = ranges.len(), commit_ts, "ingesting engine");
    if ranges.len() > 1 {
        split::split_and_scatter(&shared, range_boundaries(&ranges)).await?;
    }
    let walked = RegionWalk::new(client, "region ingest")
        .concurrency(cfg.range_concurrency)
        .policy(cfg.retry.clone())
        .retry_if(|_| true)
        .scan_page(cfg.scan_page)
        .run(ranges.clone(), |piece| {
            job::run_job(&shared, &source, piece)
        })
        .await
        .map_err(|err| match err {
            WalkError::Piece(failed) => IngestError::range_failed(&ranges[failed.range], *failed),
            WalkError::Op(err) => err,
        })?;
    shared.counters.retried(walked.retries);
    let summary = shared.counters.summary();
    tracing::info!(
        kvs = summary.kvs,
        bytes = summary.bytes,
        regions = summary.regions,
        retries = summary.retries,
        "engine ingested"
    );
    Ok(summary)
}

/// Splits the regions at `keys` (raw keys) not yet region boundaries and
/// scatters the new regions: a table's `PRE_SPLIT_REGIONS`, before its
/// engines are encoded (`task/pre_split.rs`).
pub async fn pre_split(
    client: &ImportClient,
    cfg: &IngestConfig,
    keys: Vec<Vec<u8>>,
) -> Result<(), IngestError> {
    let shared = Shared {
        client: client.clone(),
        cfg: cfg.clone(),
        commit_ts: 0,
        counters: Counters::new(None),
    };
    split::split_and_scatter(&shared, keys).await
}

/// Runs a source call on the blocking pool.
pub(crate) async fn blocking<S, T, F>(
    source: &Arc<S>,
    what: &'static str,
    f: F,
) -> Result<T, IngestError>
where
    S: SortedKvs,
    T: Send + 'static,
    F: FnOnce(&S) -> Result<T, SourceError> + Send + 'static,
{
    let source = source.clone();
    tokio::task::spawn_blocking(move || f(&source))
        .await
        .map_err(|e| IngestError::Task(format!("{what}: {e}")))?
        .map_err(|e| IngestError::source(what, e))
}
