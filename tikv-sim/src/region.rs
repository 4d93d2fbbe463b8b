//! Regions: contiguous ranges of the encoded key space, each with peers on
//! up to three stores and one leader. Boundaries are memcomparable-encoded
//! keys as PD stores them; an empty end key is +inf.

use std::collections::{BTreeMap, HashMap};

use squall_proto::metapb;

/// A region and the store of its leader.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMeta {
    pub region: metapb::Region,
    pub leader_store: u64,
}

impl RegionMeta {
    pub fn id(&self) -> u64 {
        self.region.id
    }

    pub fn epoch(&self) -> metapb::RegionEpoch {
        self.region.region_epoch.unwrap_or_default()
    }

    pub fn peer_on(&self, store_id: u64) -> Option<&metapb::Peer> {
        self.region.peers.iter().find(|p| p.store_id == store_id)
    }

    pub fn leader_peer(&self) -> Option<metapb::Peer> {
        self.peer_on(self.leader_store).cloned()
    }

    /// Whether encoded key `key` falls in `[start, end)`.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.region.start_key.as_slice()
            && (self.region.end_key.is_empty() || key < self.region.end_key.as_slice())
    }

    /// Whether `key` is strictly inside the region, so splitting there makes
    /// two non-empty regions.
    pub fn splits_at(&self, key: &[u8]) -> bool {
        key > self.region.start_key.as_slice()
            && (self.region.end_key.is_empty() || key < self.region.end_key.as_slice())
    }

    /// Whether `[start, end)` (end empty = +inf) overlaps the region.
    pub fn overlaps(&self, start: &[u8], end: &[u8]) -> bool {
        let starts_before_end = end.is_empty() || self.region.start_key.as_slice() < end;
        let ends_after_start =
            self.region.end_key.is_empty() || self.region.end_key.as_slice() > start;
        starts_before_end && ends_after_start
    }
}

/// New ids for one region cut off by a split: the region and one peer per
/// peer of the parent, in the parent's peer order.
#[derive(Debug, Clone)]
pub struct SplitIds {
    pub region_id: u64,
    pub peer_ids: Vec<u64>,
}

/// All regions, by id and by start key.
#[derive(Debug, Default, Clone)]
pub struct RegionMap {
    by_start: BTreeMap<Vec<u8>, u64>,
    by_id: HashMap<u64, RegionMeta>,
}

impl RegionMap {
    pub fn insert(&mut self, meta: RegionMeta) {
        if let Some(old) = self.by_id.get(&meta.id()) {
            // Another region may already own the old start key (a split
            // inserts the left parts first).
            if self.by_start.get(&old.region.start_key) == Some(&meta.id()) {
                self.by_start.remove(&old.region.start_key.clone());
            }
        }
        self.by_start
            .insert(meta.region.start_key.clone(), meta.id());
        self.by_id.insert(meta.id(), meta);
    }

    pub fn get(&self, id: u64) -> Option<&RegionMeta> {
        self.by_id.get(&id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut RegionMeta> {
        self.by_id.get_mut(&id)
    }

    /// The region holding encoded key `key`.
    pub fn find(&self, key: &[u8]) -> Option<&RegionMeta> {
        let (_, id) = self.by_start.range(..=key.to_vec()).next_back()?;
        self.by_id.get(id).filter(|r| r.contains(key))
    }

    /// Regions overlapping `[start, end)` in key order, at most `limit` (0 =
    /// all), starting with the one holding `start`.
    pub fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<&RegionMeta> {
        let first = self
            .find(start)
            .map(|r| r.region.start_key.clone())
            .unwrap_or_else(|| start.to_vec());
        let take = if limit == 0 { usize::MAX } else { limit };
        self.by_start
            .range(first..)
            .filter_map(|(_, id)| self.by_id.get(id))
            .take_while(|r| r.overlaps(start, end))
            .take(take)
            .collect()
    }

    /// Every region in key order.
    pub fn all(&self) -> Vec<&RegionMeta> {
        self.by_start
            .values()
            .filter_map(|id| self.by_id.get(id))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Splits region `id` at sorted, distinct encoded `keys` that are all
    /// strictly inside it, the way TiKV does with `right-derive-when-split`:
    /// the original id keeps the rightmost part, new regions take the left
    /// parts, and every resulting region gets version + number of new regions.
    /// Returns all resulting regions, left to right.
    pub fn split(&mut self, id: u64, keys: &[Vec<u8>], ids: &[SplitIds]) -> Vec<RegionMeta> {
        let Some(parent) = self.by_id.get(&id).cloned() else {
            return Vec::new();
        };
        let mut epoch = parent.epoch();
        epoch.version += keys.len() as u64;
        let mut out = Vec::with_capacity(keys.len() + 1);
        let mut start = parent.region.start_key.clone();
        for (key, new) in keys.iter().zip(ids) {
            let peers = parent
                .region
                .peers
                .iter()
                .zip(&new.peer_ids)
                .map(|(p, &peer_id)| metapb::Peer { id: peer_id, ..*p })
                .collect();
            let region = metapb::Region {
                id: new.region_id,
                start_key: std::mem::replace(&mut start, key.clone()),
                end_key: key.clone(),
                region_epoch: Some(epoch),
                peers,
                ..Default::default()
            };
            out.push(RegionMeta {
                region,
                leader_store: parent.leader_store,
            });
        }
        let mut derived = parent;
        derived.region.start_key = start;
        derived.region.region_epoch = Some(epoch);
        out.push(derived);
        for meta in &out {
            self.insert(meta.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: u64, store_id: u64) -> metapb::Peer {
        metapb::Peer {
            id,
            store_id,
            ..Default::default()
        }
    }

    fn whole() -> RegionMap {
        let mut map = RegionMap::default();
        map.insert(RegionMeta {
            region: metapb::Region {
                id: 2,
                region_epoch: Some(metapb::RegionEpoch {
                    conf_ver: 1,
                    version: 1,
                }),
                peers: vec![peer(3, 1), peer(4, 2)],
                ..Default::default()
            },
            leader_store: 2,
        });
        map
    }

    #[test]
    fn split_derives_right_and_bumps_versions() {
        let mut map = whole();
        let ids = [
            SplitIds {
                region_id: 10,
                peer_ids: vec![11, 12],
            },
            SplitIds {
                region_id: 13,
                peer_ids: vec![14, 15],
            },
        ];
        let out = map.split(2, &[b"b".to_vec(), b"d".to_vec()], &ids);
        let bounds: Vec<_> = out
            .iter()
            .map(|r| (r.id(), r.region.start_key.clone(), r.region.end_key.clone()))
            .collect();
        assert_eq!(
            bounds,
            vec![
                (10, vec![], b"b".to_vec()),
                (13, b"b".to_vec(), b"d".to_vec()),
                (2, b"d".to_vec(), vec![])
            ]
        );
        assert!(out.iter().all(|r| r.epoch()
            == metapb::RegionEpoch {
                conf_ver: 1,
                version: 3
            }));
        assert!(out.iter().all(|r| r.leader_store == 2));
        assert_eq!(out[0].region.peers, vec![peer(11, 1), peer(12, 2)]);
        assert_eq!(map.find(b"c").map(RegionMeta::id), Some(13));
        assert_eq!(map.find(b"").map(RegionMeta::id), Some(10));
        assert_eq!(map.find(b"zzz").map(RegionMeta::id), Some(2));
    }

    #[test]
    fn scan_returns_overlapping_regions_with_limit() {
        let mut map = whole();
        let ids: Vec<_> = (0..3)
            .map(|i| SplitIds {
                region_id: 20 + i,
                peer_ids: vec![30 + i, 40 + i],
            })
            .collect();
        map.split(2, &[b"b".to_vec(), b"d".to_vec(), b"f".to_vec()], &ids);
        let ids_of = |v: Vec<&RegionMeta>| v.into_iter().map(RegionMeta::id).collect::<Vec<_>>();
        assert_eq!(ids_of(map.scan(b"c", b"e", 0)), vec![21, 22]);
        assert_eq!(ids_of(map.scan(b"c", b"d", 0)), vec![21]);
        assert_eq!(ids_of(map.scan(b"", b"", 2)), vec![20, 21]);
        assert_eq!(ids_of(map.scan(b"e", b"", 0)), vec![22, 2]);
        assert_eq!(map.len(), 4);
    }
}
