//! Turns an injected error kind into the answer TiKV would give in that
//! situation. An injected NotLeader really moves the leader (as an election
//! would), so following the hint leads to a peer that serves the request.

use tonic::Status;

use super::{errors, Refusal};
use crate::cluster::Cluster;
use crate::faults::{FaultError, Rpc};
use crate::util::lock;

pub fn refusal(
    cluster: &Cluster,
    store_id: u64,
    rpc: Rpc,
    kind: FaultError,
    region_id: u64,
    key: Option<&[u8]>,
) -> Refusal {
    if kind == FaultError::Unavailable {
        return Refusal::Status(Status::unavailable("connection reset by peer"));
    }
    let mut state = lock(&cluster.state);
    let Some(region) = state.regions.get(region_id).cloned() else {
        return Refusal::Region(errors::region_not_found(region_id));
    };
    let error = match kind {
        FaultError::Unavailable => {
            return Refusal::Status(Status::unavailable("connection reset by peer"))
        }
        FaultError::NotLeader => {
            let next = region.region.peers.iter().map(|p| p.store_id).find(|s| {
                *s != store_id
                    && *s != region.leader_store
                    && cluster.store(*s).is_some_and(|st| st.is_up())
            });
            let leader = match next.map(|s| cluster.transfer_leader(&mut state, region_id, s)) {
                Some(Ok(Some(moved))) => moved.leader_peer(),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "persisting an injected leader change failed");
                    region.leader_peer()
                }
                _ => region.leader_peer(),
            };
            errors::not_leader(region_id, leader)
        }
        FaultError::EpochNotMatch => {
            let epoch = region.epoch();
            let message =
                format!("current epoch of region {region_id} is {epoch:?}, but you sent {epoch:?}");
            errors::epoch_not_match(message, vec![region.region.clone()])
        }
        FaultError::RegionNotFound => errors::region_not_found(region_id),
        FaultError::KeyNotInRegion => {
            errors::key_not_in_region(key.unwrap_or_default(), &region.region)
        }
        FaultError::ServerIsBusy if matches!(rpc, Rpc::Ingest | Rpc::MultiIngest) => {
            errors::server_is_busy(errors::INGEST_BUSY)
        }
        FaultError::ServerIsBusy => errors::server_is_busy("server is busy"),
        FaultError::StaleCommand => errors::stale_command("stale command"),
        // Write-only kinds (rule validation keeps them off other RPCs).
        FaultError::RequestTooNew => {
            return Refusal::Import(crate::import::write::request_too_new(
                region_id,
                &region.epoch(),
                &region.epoch(),
            ))
        }
        FaultError::RequestTooOld => {
            return Refusal::Import(crate::import::write::request_too_old(
                region_id,
                &region.epoch(),
                &region.epoch(),
            ))
        }
    };
    Refusal::Region(error)
}
