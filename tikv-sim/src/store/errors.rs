//! `errorpb.Error` values shaped as TiKV's raftstore and importer build them
//! (message text included, so logs read the same).

use squall_proto::{errorpb, metapb};

pub fn not_leader(region_id: u64, leader: Option<metapb::Peer>) -> errorpb::Error {
    errorpb::Error {
        message: format!("peer is not leader for region {region_id}, leader may {leader:?}"),
        not_leader: Some(errorpb::NotLeader { region_id, leader }),
        ..Default::default()
    }
}

pub fn region_not_found(region_id: u64) -> errorpb::Error {
    errorpb::Error {
        message: format!("region {region_id} not found"),
        region_not_found: Some(errorpb::RegionNotFound { region_id }),
        ..Default::default()
    }
}

pub fn epoch_not_match(message: String, current_regions: Vec<metapb::Region>) -> errorpb::Error {
    errorpb::Error {
        message,
        epoch_not_match: Some(errorpb::EpochNotMatch { current_regions }),
        ..Default::default()
    }
}

/// `key` as the request carried it; boundaries as the region holds them.
pub fn key_not_in_region(key: &[u8], region: &metapb::Region) -> errorpb::Error {
    errorpb::Error {
        message: format!(
            "key {} is not in region key range [{}, {}) for region {}",
            hex::encode_upper(key),
            hex::encode_upper(&region.start_key),
            hex::encode_upper(&region.end_key),
            region.id
        ),
        key_not_in_region: Some(errorpb::KeyNotInRegion {
            key: key.to_vec(),
            region_id: region.id,
            start_key: region.start_key.clone(),
            end_key: region.end_key.clone(),
        }),
        ..Default::default()
    }
}

pub fn server_is_busy(reason: &str) -> errorpb::Error {
    errorpb::Error {
        message: reason.to_owned(),
        server_is_busy: Some(errorpb::ServerIsBusy {
            reason: reason.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn stale_command(message: &str) -> errorpb::Error {
    errorpb::Error {
        message: message.to_owned(),
        stale_command: Some(errorpb::StaleCommand {}),
        ..Default::default()
    }
}

pub fn store_not_match(request_store_id: u64, actual_store_id: u64) -> errorpb::Error {
    errorpb::Error {
        message: format!("store not match, request store id is {request_store_id}, but actual store id is {actual_store_id}"),
        store_not_match: Some(errorpb::StoreNotMatch { request_store_id, actual_store_id }),
        ..Default::default()
    }
}

/// An error TiKV reports with a message only (no typed field).
pub fn other(message: String) -> errorpb::Error {
    errorpb::Error {
        message,
        ..Default::default()
    }
}

/// What TiKV's ingest says when busy writing (L0 stall).
pub const INGEST_BUSY: &str = "too many sst files are ingesting";
/// What TiKV's ingest says when a staged file is gone (already ingested).
pub const SST_NOT_EXIST: &str = "The file which would be ingested doest not exist.";
