//! Puts one region's pairs into TiKV the way Lightning's local backend
//! does: an `ImportSST.Write` stream to every peer (the region's epoch, a
//! fresh uuid), each batch sent to all peers together, then one
//! `MultiIngest` of the leader's SSTs on the leader.
//!
//! An attempt is never resumed: an ingest can report an error and still
//! have happened, so a retry writes again with a new uuid (the same keys at
//! the same commit ts, which is harmless) and never ingests an SST twice.

use futures::future::{join_all, try_join_all};
use futures::{Stream, StreamExt as _};
use squall_proto::import_sstpb::SstMeta;

use crate::error::ClientError;
use crate::keys::sst_range;
use crate::region::RegionInfo;
use crate::store::{EncodedWrite, ImportClient, WriteStream};

/// Why [`write_and_ingest`] failed.
#[derive(Debug)]
pub enum WriteIngestError<E> {
    /// A Write or MultiIngest call failed; the region walk decides what next.
    Client(ClientError),
    /// The batches could not be produced (the caller's own failure).
    Batches(E),
}

impl<E> From<ClientError> for WriteIngestError<E> {
    fn from(err: ClientError) -> Self {
        Self::Client(err)
    }
}

/// Writes `batches` (pairs from `first` to `last`, raw, all inside
/// `region`) to every peer of `region` and ingests them on its leader.
/// A batch is a `WriteBatch` or one already encoded (a caller that reads
/// on a blocking thread encodes there).
pub async fn write_and_ingest<S, B, E>(
    client: &ImportClient,
    region: &RegionInfo,
    (first, last): (&[u8], &[u8]),
    batches: &mut S,
) -> Result<(), WriteIngestError<E>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Into<EncodedWrite>,
{
    let started = std::time::Instant::now();
    let target = region.target_peer()?;
    let peers = &region.region.peers;
    if !peers.iter().any(|p| p.id == target.id) {
        return Err(ClientError::NoPeers {
            region_id: region.id(),
        }
        .into());
    }
    let meta = SstMeta {
        uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
        range: Some(sst_range(first, last)),
        region_id: region.id(),
        region_epoch: Some(region.epoch()),
        ..Default::default()
    };
    let mut streams = Vec::with_capacity(peers.len());
    for peer in peers {
        let opened = client
            .open_write(peer.store_id, region.context(peer), meta.clone())
            .await;
        streams.push(opened.inspect_err(|err| client.report_failure(peer.store_id, err))?);
    }
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(WriteIngestError::Batches)?;
        send_to_all(client, &mut streams, batch.into()).await?;
    }
    let answers = join_all(
        streams
            .into_iter()
            .map(|s| async move { (s.store_id(), s.finish().await) }),
    )
    .await;
    let mut metas = None;
    for (peer, (store_id, answer)) in peers.iter().zip(answers) {
        let answer = answer.inspect_err(|err| client.report_failure(store_id, err))?;
        if peer.id == target.id {
            metas = Some(answer);
        }
    }
    let metas = metas
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ClientError::Protocol {
            what: "Write",
            reason: format!(
                "the leader's store {} returned no SST for region {}",
                target.store_id,
                region.id()
            ),
        })?;
    client
        .multi_ingest(target.store_id, region.context(&target), metas)
        .await
        .inspect_err(|err| client.report_failure(target.store_id, err))?;
    crate::observe::region_ingested(started.elapsed());
    Ok(())
}

/// Sends one encoded batch to every peer's stream at once.
async fn send_to_all(
    client: &ImportClient,
    streams: &mut [WriteStream],
    batch: EncodedWrite,
) -> Result<(), ClientError> {
    let sends = streams.iter_mut().map(|stream| {
        let batch = batch.clone();
        async move {
            let sent = stream.send(batch).await;
            if let Err(err) = &sent {
                client.report_failure(stream.store_id(), err);
            }
            sent
        }
    });
    try_join_all(sends).await.map(|_| ())
}
