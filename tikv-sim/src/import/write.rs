//! ImportSST.Write: a client stream of one SSTMeta then WriteBatches,
//! staged on this store as SST files until MultiIngest. The store checks the
//! meta's epoch against its own copy of the region first; like TiKV, it
//! tells "too new, retry later" apart from "too old, re-scan regions".

use squall_proto::import_sstpb::write_request::Chunk;
use squall_proto::import_sstpb::{self, SstMeta, WriteRequest, WriteResponse};
use squall_proto::metapb::RegionEpoch;
use tonic::{Status, Streaming};

use super::staging::StagedWrite;
use crate::faults::Rpc;
use crate::store::{Refusal, StoreService};
use crate::util::lock;

pub fn request_too_new(region_id: u64, local: &RegionEpoch, sent: &RegionEpoch) -> String {
    format!(
        "RequestTooNew(\"request region {region_id} is ahead of local region, local epoch {local:?}, request epoch {sent:?}, please retry write later\")"
    )
}

pub fn request_too_old(region_id: u64, local: &RegionEpoch, sent: &RegionEpoch) -> String {
    format!("RequestTooOld(\"request region {region_id} is staler than local region, local epoch {local:?}, request epoch {sent:?}\")")
}

/// TiKV's `is_epoch_stale(a, b)`: `a` is older than `b` in either part.
fn is_stale(a: &RegionEpoch, b: &RegionEpoch) -> bool {
    a.version < b.version || a.conf_ver < b.conf_ver
}

fn error_response(message: String) -> WriteResponse {
    WriteResponse {
        error: Some(import_sstpb::Error {
            message,
            store_error: None,
        }),
        metas: Vec::new(),
    }
}

pub async fn write(
    svc: &StoreService,
    mut stream: Streaming<WriteRequest>,
) -> Result<WriteResponse, Status> {
    let meta = match stream.message().await?.and_then(|r| r.chunk) {
        Some(Chunk::Meta(meta)) => meta,
        _ => return Ok(error_response("InvalidChunk".into())),
    };
    let decision = match svc.admit(Rpc::Write, meta.region_id, None).await {
        Ok(d) => d,
        Err(refusal) => return refusal_response(refusal),
    };
    if let Err(message) = check_local_region(svc, &meta) {
        return Ok(error_response(message));
    }
    let mut staged = match StagedWrite::start(&svc.store.staging, meta) {
        Ok(s) => s,
        Err(message) => return Ok(error_response(message)),
    };
    match receive(svc, &mut stream, &mut staged, decision.drop_after).await {
        Ok(()) => match staged.finish().await {
            Ok(staged) => {
                let metas = staged
                    .into_iter()
                    .map(|(meta, stats)| {
                        svc.store.remember_staged(&meta, stats);
                        meta
                    })
                    .collect();
                Ok(WriteResponse { error: None, metas })
            }
            Err(message) => Ok(error_response(message)),
        },
        Err(refusal) => {
            staged.abort().await;
            refusal_response(refusal)
        }
    }
}

fn refusal_response(refusal: Refusal) -> Result<WriteResponse, Status> {
    match refusal {
        Refusal::Status(s) => Err(s),
        Refusal::Import(message) => Ok(error_response(message)),
        Refusal::Region(e) => Ok(WriteResponse {
            error: Some(import_sstpb::Error {
                message: e.message.clone(),
                store_error: Some(e),
            }),
            metas: Vec::new(),
        }),
    }
}

/// The store's own view of the region must have a peer here and the same
/// epoch as the meta.
fn check_local_region(svc: &StoreService, meta: &SstMeta) -> Result<(), String> {
    let state = lock(&svc.cluster.state);
    let local = state
        .regions
        .get(meta.region_id)
        .filter(|r| r.peer_on(svc.store.id).is_some());
    let Some(local) = local else {
        return Err(format!(
            "RequestTooOld(\"region {} is not found\")",
            meta.region_id
        ));
    };
    let local = local.epoch();
    let sent = meta.region_epoch.unwrap_or_default();
    if is_stale(&local, &sent) {
        return Err(request_too_new(meta.region_id, &local, &sent));
    }
    if is_stale(&sent, &local) {
        return Err(request_too_old(meta.region_id, &local, &sent));
    }
    Ok(())
}

/// Feeds the batches to the staging worker; cuts the stream when a fault
/// says so (counting the meta as the first message) or the store stops.
async fn receive(
    svc: &StoreService,
    stream: &mut Streaming<WriteRequest>,
    staged: &mut StagedWrite,
    drop_after: Option<u64>,
) -> Result<(), Refusal> {
    let mut received = 1u64;
    while let Some(req) = stream.message().await? {
        received += 1;
        svc.ensure_up()?;
        if drop_after.is_some_and(|n| received > n) {
            tracing::info!(
                store = svc.store.id,
                received,
                "dropping Write stream (injected)"
            );
            return Err(Status::unavailable("transport is closing").into());
        }
        match req.chunk {
            Some(Chunk::Batch(batch)) => staged.send(batch).await.map_err(Refusal::Import)?,
            _ => return Err(Refusal::Import("InvalidChunk".into())),
        }
    }
    Ok(())
}
