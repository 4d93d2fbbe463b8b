//! One region job: write the pairs of `[start, end)` to every peer of one
//! region (Write streams with the region's epoch and a fresh uuid), then
//! MultiIngest the leader's SSTs on the leader.
//!
//! A failed job is never resumed: the next attempt writes again with a new
//! uuid (an ingest can fail and still have happened; writing the same keys at
//! the same commit ts again is harmless, ingesting the same SST twice is not).

use std::sync::Arc;
use std::time::Duration;

use futures::future::{join_all, try_join_all};
use squall_client::keys::sst_range;
use squall_client::{ClientError, RegionAction, RegionInfo, WriteRejection, WriteStream};
use squall_proto::import_sstpb::{SstMeta, WriteBatch};
use squall_proto::metapb;

use super::batches::{read_batches, BatchLimits, Chunk};
use super::error::IngestError;
use super::source::SortedKvs;
use super::Shared;

/// How a job ended.
#[derive(Debug)]
pub(crate) enum JobResult {
    /// Every pair of the span is ingested.
    Done,
    /// The stream cap was reached: pairs before `next` are ingested.
    Truncated { next: Vec<u8> },
    /// Nothing is known to be ingested; `retry` says how to go on.
    Failed { retry: Retry, error: ClientError },
}

/// The next step after a failed job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Retry {
    /// Write again to the same region, led by this peer (or ask PD if `None`).
    Leader(Option<metapb::Peer>),
    /// The region changed: continue with these current regions.
    Replan(Vec<metapb::Region>),
    /// The store is busy or not caught up: wait, then write the same region again.
    Backoff(Option<Duration>),
    /// Region metadata is suspect: ask PD again.
    Rescan,
}

/// Decides the next step for a job failure. Exhaustive: every client error
/// is classified on purpose.
pub(crate) fn classify(err: &ClientError) -> Retry {
    match err {
        ClientError::Region { error, .. } => match error.action() {
            RegionAction::SwitchLeader(peer) => Retry::Leader(peer),
            RegionAction::Replan(regions) => Retry::Replan(regions),
            RegionAction::Backoff(wait) => Retry::Backoff(wait),
            RegionAction::Rescan => Retry::Rescan,
        },
        ClientError::WriteRejected { kind, .. } => match kind {
            WriteRejection::AheadOfLocal => Retry::Backoff(None),
            WriteRejection::StalerThanLocal | WriteRejection::Other => Retry::Rescan,
        },
        ClientError::Rpc { .. }
        | ClientError::Timeout { .. }
        | ClientError::BadAddress { .. }
        | ClientError::NoPdLeader { .. }
        | ClientError::Pd { .. }
        | ClientError::KeyError { .. }
        | ClientError::BadRegionKey { .. }
        | ClientError::NoRegion { .. }
        | ClientError::RegionsNotContinuous { .. }
        | ClientError::StoreNotFound { .. }
        | ClientError::NoPeers { .. }
        | ClientError::Protocol { .. } => Retry::Rescan,
    }
}

/// A job failure: a client error (retried by the range) or a fatal one.
enum JobError {
    Client(ClientError),
    Fatal(IngestError),
}

impl From<ClientError> for JobError {
    fn from(err: ClientError) -> Self {
        Self::Client(err)
    }
}

/// What the Write streams produced.
struct Written {
    metas: Vec<SstMeta>,
    kvs: u64,
    bytes: u64,
    next: Option<Vec<u8>>,
}

/// Runs one job over `[start, end)` of `region`. `Err` only for failures no
/// retry can fix (the engine cannot be read).
pub(crate) async fn run_job<S: SortedKvs>(
    shared: &Shared,
    source: &Arc<S>,
    region: &RegionInfo,
    (start, end): (&[u8], &[u8]),
) -> Result<JobResult, IngestError> {
    match write_and_ingest(shared, source, region, start, end).await {
        Ok(result) => Ok(result),
        Err(JobError::Fatal(err)) => Err(err),
        Err(JobError::Client(error)) => Ok(JobResult::Failed {
            retry: classify(&error),
            error,
        }),
    }
}

async fn write_and_ingest<S: SortedKvs>(
    shared: &Shared,
    source: &Arc<S>,
    region: &RegionInfo,
    start: &[u8],
    end: &[u8],
) -> Result<JobResult, JobError> {
    let (s, e) = (start.to_vec(), end.to_vec());
    let bounds = super::blocking(source, "first and last key of a region job", move |src| {
        src.first_and_last(&s, &e)
    })
    .await
    .map_err(JobError::Fatal)?;
    let Some((first, last)) = bounds else {
        return Ok(JobResult::Done);
    };
    let target = region.target_peer()?;
    let meta = SstMeta {
        uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
        range: Some(sst_range(&first, &last)),
        region_id: region.id(),
        region_epoch: Some(region.epoch()),
        ..Default::default()
    };
    let written = write_all_peers(shared, source, region, &target, meta, (start, end)).await?;
    let client = &shared.client;
    if let Err(err) = client
        .multi_ingest(target.store_id, region.context(&target), written.metas)
        .await
    {
        client.report_failure(target.store_id, &err);
        return Err(err.into());
    }
    shared.counters.ingested(written.kvs, written.bytes);
    squall_common::failpoint::point("ingest.region-done").await;
    Ok(match written.next {
        None => JobResult::Done,
        Some(next) => JobResult::Truncated { next },
    })
}

/// Streams the span to every peer; returns the target peer's SST metas.
async fn write_all_peers<S: SortedKvs>(
    shared: &Shared,
    source: &Arc<S>,
    region: &RegionInfo,
    target: &metapb::Peer,
    meta: SstMeta,
    (start, end): (&[u8], &[u8]),
) -> Result<Written, JobError> {
    let peers = &region.region.peers;
    if !peers.iter().any(|p| p.id == target.id) {
        return Err(ClientError::NoPeers {
            region_id: region.id(),
        }
        .into());
    }
    let mut streams = Vec::with_capacity(peers.len());
    for peer in peers {
        let opened = shared
            .client
            .open_write(peer.store_id, region.context(peer), meta.clone())
            .await;
        streams.push(opened.inspect_err(|err| shared.client.report_failure(peer.store_id, err))?);
    }
    let limits = BatchLimits {
        pairs: shared.cfg.send_kv_pairs.max(1),
        bytes: shared.cfg.send_kv_bytes.max(1),
        stream_keys: shared.cfg.stream_max_keys().max(1),
        stream_bytes: shared.cfg.stream_max_bytes().max(1),
    };
    let mut rx = read_batches(
        source.clone(),
        (start.to_vec(), end.to_vec()),
        shared.commit_ts,
        limits,
    );
    let (mut kvs, mut bytes) = (0u64, 0u64);
    let next = loop {
        match rx.recv().await {
            Some(Ok(Chunk::Batch { batch, bytes: b })) => {
                kvs += batch.pairs.len() as u64;
                bytes += b;
                send_to_all(shared, &mut streams, batch).await?;
            }
            Some(Ok(Chunk::End { next })) => break next,
            Some(Err(err)) => {
                return Err(JobError::Fatal(IngestError::source(
                    "reading a region job's pairs",
                    err,
                )))
            }
            None => {
                return Err(JobError::Fatal(IngestError::Task(
                    "the engine reader stopped without finishing".into(),
                )))
            }
        }
    };
    let answers = join_all(
        streams
            .into_iter()
            .map(|s| async move { (s.store_id(), s.finish().await) }),
    )
    .await;
    let mut metas = None;
    for (peer, (store_id, answer)) in peers.iter().zip(answers) {
        let answer = answer.inspect_err(|err| shared.client.report_failure(store_id, err))?;
        if peer.id == target.id {
            metas = Some(answer);
        }
    }
    let metas = metas
        .filter(|m| !m.is_empty())
        .ok_or(ClientError::Protocol {
            what: "Write",
            reason: format!(
                "the leader's store {} returned no SST for region {}",
                target.store_id,
                region.id()
            ),
        })?;
    Ok(Written {
        metas,
        kvs,
        bytes,
        next,
    })
}

/// Sends one batch to every peer's stream at once.
async fn send_to_all(
    shared: &Shared,
    streams: &mut [WriteStream],
    batch: WriteBatch,
) -> Result<(), ClientError> {
    let sends = streams.iter_mut().map(|stream| {
        let batch = batch.clone();
        async move {
            let sent = stream.send(batch).await;
            if let Err(err) = &sent {
                shared.client.report_failure(stream.store_id(), err);
            }
            sent
        }
    });
    try_join_all(sends).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use squall_client::RegionError;
    use squall_proto::errorpb;

    use super::*;

    fn region_err(error: RegionError) -> ClientError {
        ClientError::Region {
            method: "MultiIngest",
            region_id: 1,
            error,
        }
    }

    #[test]
    fn classification_follows_the_region_error_table() {
        let leader = metapb::Peer {
            id: 5,
            store_id: 2,
            ..Default::default()
        };
        let not_leader = region_err(RegionError::NotLeader {
            region_id: 1,
            leader: Some(leader),
        });
        assert_eq!(classify(&not_leader), Retry::Leader(Some(leader)));
        let current = vec![metapb::Region {
            id: 1,
            ..Default::default()
        }];
        let epoch = region_err(RegionError::EpochNotMatch {
            current_regions: current.clone(),
        });
        assert_eq!(classify(&epoch), Retry::Replan(current));
        let busy = region_err(RegionError::ServerIsBusy {
            reason: "stall".into(),
            backoff_ms: 20,
        });
        assert_eq!(
            classify(&busy),
            Retry::Backoff(Some(Duration::from_millis(20)))
        );
        assert_eq!(
            classify(&region_err(RegionError::StaleCommand)),
            Retry::Backoff(None)
        );
        assert_eq!(
            classify(&region_err(RegionError::RegionNotFound { region_id: 1 })),
            Retry::Rescan
        );
        let not_in = region_err(RegionError::KeyNotInRegion {
            key: vec![1],
            region_id: 1,
        });
        assert_eq!(classify(&not_in), Retry::Rescan);
        let timeout = ClientError::Timeout {
            method: "Write",
            addr: "s1".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(classify(&timeout), Retry::Rescan);
    }

    #[test]
    fn write_rejections_wait_or_rescan() {
        let ahead = ClientError::WriteRejected {
            store_id: 1,
            kind: WriteRejection::AheadOfLocal,
            message: String::new(),
        };
        assert_eq!(classify(&ahead), Retry::Backoff(None));
        let stale = ClientError::WriteRejected {
            store_id: 1,
            kind: WriteRejection::StalerThanLocal,
            message: String::new(),
        };
        assert_eq!(classify(&stale), Retry::Rescan);
        let from_wire = RegionError::from_wire(errorpb::Error {
            message: "raft: proposal dropped".into(),
            ..Default::default()
        });
        assert_eq!(classify(&region_err(from_wire)), Retry::Rescan);
    }
}
