//! A region as the rest of Squall sees it: PD's metadata plus its raw bounds.

use squall_proto::{kvrpcpb, metapb};

use crate::error::ClientError;
use crate::keys::{self, HexKey};

/// One region with raw (decoded) bounds. `end` empty means +∞.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionInfo {
    /// Raw start key (inclusive); empty for the first region.
    pub start: Vec<u8>,
    /// Raw end key (exclusive); empty for the last region.
    pub end: Vec<u8>,
    /// PD's metadata, boundaries still encoded as PD and TiKV keep them.
    pub region: metapb::Region,
    /// The leader if PD (or a NotLeader hint) named one.
    pub leader: Option<metapb::Peer>,
}

impl RegionInfo {
    /// Builds from PD/TiKV metadata, decoding the boundaries. A leader with
    /// id 0 (ScanRegions sends one when it does not know) means "unknown".
    pub fn new(region: metapb::Region, leader: Option<metapb::Peer>) -> Result<Self, ClientError> {
        let decode = |key: &[u8]| {
            keys::decode_region_key(key).map_err(|source| ClientError::BadRegionKey {
                region_id: region.id,
                key: HexKey(key).to_string(),
                source,
            })
        };
        let start = decode(&region.start_key)?;
        let end = decode(&region.end_key)?;
        let leader = leader.filter(|p| p.id != 0);
        Ok(Self {
            start,
            end,
            region,
            leader,
        })
    }

    pub fn id(&self) -> u64 {
        self.region.id
    }

    pub fn epoch(&self) -> metapb::RegionEpoch {
        self.region.region_epoch.unwrap_or_default()
    }

    /// True when the raw `key` belongs to this region.
    pub fn contains(&self, key: &[u8]) -> bool {
        keys::in_range(key, &self.start, &self.end)
    }

    /// True when the raw `key` lies strictly inside (so splitting at it makes
    /// two non-empty regions).
    pub fn strictly_contains(&self, key: &[u8]) -> bool {
        key > self.start.as_slice() && keys::end_before(key, &self.end)
    }

    /// The peer requests go to: the leader, or the first peer when unknown
    /// (TiKV then answers NotLeader with a hint).
    pub fn target_peer(&self) -> Result<metapb::Peer, ClientError> {
        if let Some(leader) = &self.leader {
            return Ok(*leader);
        }
        self.region
            .peers
            .first()
            .cloned()
            .ok_or(ClientError::NoPeers {
                region_id: self.id(),
            })
    }

    /// The peer of this region on `store_id`, if it has one.
    pub fn peer_on_store(&self, store_id: u64) -> Option<metapb::Peer> {
        self.region
            .peers
            .iter()
            .find(|p| p.store_id == store_id)
            .cloned()
    }

    /// The request context addressing `peer` of this region at its epoch.
    pub fn context(&self, peer: &metapb::Peer) -> kvrpcpb::Context {
        kvrpcpb::Context {
            region_id: self.id(),
            region_epoch: Some(self.epoch()),
            peer: Some(*peer),
            ..Default::default()
        }
    }

    /// The same region with a new leader (after a NotLeader hint).
    pub fn with_leader(mut self, leader: Option<metapb::Peer>) -> Self {
        self.leader = leader.filter(|p| p.id != 0);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::encode_bytes;

    fn region(start: &[u8], end: &[u8]) -> metapb::Region {
        metapb::Region {
            id: 5,
            start_key: if start.is_empty() {
                vec![]
            } else {
                encode_bytes(start)
            },
            end_key: if end.is_empty() {
                vec![]
            } else {
                encode_bytes(end)
            },
            region_epoch: Some(metapb::RegionEpoch {
                conf_ver: 1,
                version: 3,
            }),
            peers: vec![metapb::Peer {
                id: 11,
                store_id: 1,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn decodes_bounds_and_checks_membership() {
        let info = RegionInfo::new(region(b"b", b"d"), None).expect("valid keys");
        assert_eq!(
            (info.start.as_slice(), info.end.as_slice()),
            (&b"b"[..], &b"d"[..])
        );
        assert!(info.contains(b"b") && info.contains(b"c\xff") && !info.contains(b"d"));
        assert!(!info.strictly_contains(b"b") && info.strictly_contains(b"c"));
        assert_eq!(info.target_peer().expect("has a peer").id, 11);
        let ctx = info.context(&info.target_peer().expect("peer"));
        assert_eq!(ctx.region_epoch.map(|e| e.version), Some(3));
        let last =
            RegionInfo::new(region(b"x", b""), Some(metapb::Peer::default())).expect("valid");
        assert!(last.leader.is_none() && last.contains(b"zzzz"));
    }

    #[test]
    fn rejects_raw_boundaries() {
        let mut bad = region(b"", b"");
        bad.end_key = b"t\x80".to_vec();
        assert!(matches!(
            RegionInfo::new(bad, None),
            Err(ClientError::BadRegionKey { region_id: 5, .. })
        ));
    }
}
