//! What tests and operators can see of the sim's state: regions with their
//! leaders, stores with their ingest counts, stored versions. Keys are shown
//! as hex in JSON.

use serde::Serialize;
use squall_proto::metapb;

use crate::region::RegionMeta;

/// One region as PD sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionInfo {
    pub id: u64,
    /// Memcomparable-encoded start key, as in `metapb.Region`.
    #[serde(with = "hex_bytes")]
    pub start_key: Vec<u8>,
    /// Memcomparable-encoded end key; empty = +inf.
    #[serde(with = "hex_bytes")]
    pub end_key: Vec<u8>,
    pub conf_ver: u64,
    pub version: u64,
    pub peers: Vec<PeerInfo>,
    pub leader_store_id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    pub id: u64,
    pub store_id: u64,
}

impl RegionInfo {
    pub(crate) fn of(meta: &RegionMeta) -> Self {
        let r: &metapb::Region = &meta.region;
        let epoch = r.region_epoch.unwrap_or_default();
        RegionInfo {
            id: r.id,
            start_key: r.start_key.clone(),
            end_key: r.end_key.clone(),
            conf_ver: epoch.conf_ver,
            version: epoch.version,
            peers: r
                .peers
                .iter()
                .map(|p| PeerInfo {
                    id: p.id,
                    store_id: p.store_id,
                })
                .collect(),
            leader_store_id: meta.leader_store,
        }
    }
}

/// One store and what it has done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreInfo {
    pub id: u64,
    pub address: String,
    pub up: bool,
    pub import_mode: bool,
    pub ingested_ssts: u64,
    pub leaders: usize,
    /// Ingested SSTs its L0 model sent to L0 (overlapping data already
    /// there), since start or `POST /ingests/reset`.
    pub overlapping_ssts: u64,
    /// Files in its `write` CF L0 model now.
    pub l0_files: u64,
    /// Ingests it answered ServerIsBusy for a write stall.
    pub busy_answers: u64,
}

/// Hex (de)serialization of byte strings for the JSON views.
pub mod hex_bytes {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub mod option {
        use serde::Serializer;

        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => s.serialize_some(&hex::encode(b)),
                None => s.serialize_none(),
            }
        }
    }
}
