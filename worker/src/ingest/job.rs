//! One region job: the pairs of one region piece of the engine, written to
//! every peer and ingested on the leader with `squall_client::write_and_ingest`
//! (the region's epoch, a fresh uuid, the engine's commit ts). The region
//! walk that calls it re-routes and retries failed jobs.
//!
//! A failed job is never resumed: the next attempt writes again with a new
//! uuid (an ingest can fail and still have happened; writing the same keys at
//! the same commit ts again is harmless, ingesting the same SST twice is not).

use std::sync::Arc;

use squall_client::{write_and_ingest, RegionPiece, Visit, WriteIngestError};

use super::batches::{read_batches, BatchLimits, JobBatches};
use super::error::IngestError;
use super::source::SortedKvs;
use super::split::split_rest;
use super::Shared;

/// Runs one job over `piece`. A job that hit the stream cap is `Partial`:
/// the rest gets a region of its own (best effort) and is walked again.
/// `Err` only for failures no retry can fix (the engine cannot be read).
pub(crate) async fn run_job<S: SortedKvs>(
    shared: &Shared,
    source: &Arc<S>,
    piece: RegionPiece,
) -> Result<Visit<()>, IngestError> {
    let (s, e) = (piece.start.clone(), piece.end.clone());
    let bounds = super::blocking(source, "first and last key of a region job", move |src| {
        src.first_and_last(&s, &e)
    })
    .await?;
    let Some((first, last)) = bounds else {
        return Ok(Visit::Done(()));
    };
    let cfg = &shared.cfg;
    let limits = BatchLimits {
        pairs: cfg.send_kv_pairs.max(1),
        bytes: cfg.send_kv_bytes.max(1),
        stream_keys: cfg.stream_max_keys().max(1),
        stream_bytes: cfg.stream_max_bytes().max(1),
    };
    let span = (piece.start.clone(), piece.end.clone());
    let mut batches = JobBatches::new(read_batches(source.clone(), span, shared.commit_ts, limits));
    let written =
        write_and_ingest(&shared.client, &piece.region, (&first, &last), &mut batches).await;
    match written {
        Ok(()) => {}
        Err(WriteIngestError::Client(err)) => return Ok(Visit::Failed(err)),
        Err(WriteIngestError::Batches(err)) => return Err(err),
    }
    shared.counters.ingested(batches.kvs, batches.bytes);
    squall_common::failpoint::point("ingest.region-done").await;
    let Some(next) = batches.next else {
        return Ok(Visit::Done(()));
    };
    split_rest(shared, piece.region.id(), &next).await;
    Ok(Visit::Partial {
        value: (),
        resume: next,
        failure: None,
    })
}
