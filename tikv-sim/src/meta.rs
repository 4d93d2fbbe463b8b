//! Cluster metadata persisted in the `meta` CF: the cluster record (id,
//! stores, id allocator), one entry per region (a prost-encoded
//! `pdpb.Region`: region plus leader) and the TSO window.

use std::net::SocketAddr;

use prost::Message;
use rocksdb::{IteratorMode, WriteBatch};
use serde::{Deserialize, Serialize};
use squall_proto::pdpb;

use crate::error::SimError;
use crate::region::RegionMeta;
use crate::storage::{Storage, CF_META};

const KEY_CLUSTER: &[u8] = b"cluster";
const KEY_TSO: &[u8] = b"tso";
/// PD's GC safepoint and service safepoints (JSON), as PD keeps them in etcd.
const KEY_GC: &[u8] = b"gc";
const REGION_PREFIX: &[u8] = b"region/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRecord {
    pub id: u64,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub cluster_id: u64,
    /// Next id PD hands out for regions and peers.
    pub next_id: u64,
    pub stores: Vec<StoreRecord>,
}

fn corrupt(what: &str, reason: impl ToString) -> SimError {
    SimError::CorruptMeta {
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}

pub fn load_cluster(storage: &Storage) -> Result<Option<ClusterRecord>, SimError> {
    let raw = storage
        .db()
        .get_cf(storage.cf(CF_META), KEY_CLUSTER)
        .map_err(|source| SimError::Db {
            op: "reading the cluster record",
            source,
        })?;
    raw.map(|bytes| serde_json::from_slice(&bytes).map_err(|e| corrupt("cluster record", e)))
        .transpose()
}

pub fn load_regions(storage: &Storage) -> Result<Vec<RegionMeta>, SimError> {
    let mut out = Vec::new();
    let iter = storage.db().iterator_cf(
        storage.cf(CF_META),
        IteratorMode::From(REGION_PREFIX, rocksdb::Direction::Forward),
    );
    for item in iter {
        let (key, value) = item.map_err(|source| SimError::Db {
            op: "reading regions",
            source,
        })?;
        if !key.starts_with(REGION_PREFIX) {
            break;
        }
        let what = format!("region entry {}", hex::encode(&key));
        let pd = pdpb::Region::decode(value.as_ref()).map_err(|e| corrupt(&what, e))?;
        let region = pd.region.ok_or_else(|| corrupt(&what, "no region"))?;
        let leader_store = pd
            .leader
            .map(|p| p.store_id)
            .ok_or_else(|| corrupt(&what, "no leader"))?;
        out.push(RegionMeta {
            region,
            leader_store,
        });
    }
    Ok(out)
}

pub fn load_tso_limit(storage: &Storage) -> Result<i64, SimError> {
    let raw = storage
        .db()
        .get_cf(storage.cf(CF_META), KEY_TSO)
        .map_err(|source| SimError::Db {
            op: "reading the TSO window",
            source,
        })?;
    match raw {
        None => Ok(0),
        Some(bytes) => {
            let arr: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("TSO window", "not 8 bytes"))?;
            Ok(i64::from_be_bytes(arr))
        }
    }
}

pub fn save_tso_limit(storage: &Storage, limit_ms: i64) -> Result<(), SimError> {
    storage
        .db()
        .put_cf(storage.cf(CF_META), KEY_TSO, limit_ms.to_be_bytes())
        .map_err(|source| SimError::Db {
            op: "saving the TSO window",
            source,
        })
}

/// Writes the cluster record and the given regions in one batch.
pub fn save(
    storage: &Storage,
    record: &ClusterRecord,
    regions: &[RegionMeta],
) -> Result<(), SimError> {
    let cf = storage.cf(CF_META);
    let mut batch = WriteBatch::default();
    let json = serde_json::to_vec(record).map_err(|e| corrupt("cluster record", e))?;
    batch.put_cf(cf, KEY_CLUSTER, json);
    for meta in regions {
        let mut key = REGION_PREFIX.to_vec();
        key.extend_from_slice(&meta.id().to_be_bytes());
        let value = pdpb::Region {
            region: Some(meta.region.clone()),
            leader: meta.leader_peer(),
            ..Default::default()
        };
        batch.put_cf(cf, key, value.encode_to_vec());
    }
    storage.db().write(batch).map_err(|source| SimError::Db {
        op: "saving cluster metadata",
        source,
    })
}

/// PD's GC state; a data dir without one starts with none (as a new PD).
pub fn load_gc(storage: &Storage) -> Result<crate::gc::SafePoints, SimError> {
    let raw = storage
        .db()
        .get_cf(storage.cf(CF_META), KEY_GC)
        .map_err(|source| SimError::Db {
            op: "reading the GC safepoints",
            source,
        })?;
    match raw {
        None => Ok(crate::gc::SafePoints::default()),
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| corrupt("GC safepoints", e)),
    }
}

pub fn save_gc(storage: &Storage, gc: &crate::gc::SafePoints) -> Result<(), SimError> {
    let json = serde_json::to_vec(gc).map_err(|e| corrupt("GC safepoints", e))?;
    storage
        .db()
        .put_cf(storage.cf(CF_META), KEY_GC, json)
        .map_err(|source| SimError::Db {
            op: "saving the GC safepoints",
            source,
        })
}
