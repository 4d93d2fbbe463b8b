//! Pure planning: where to split, which region takes which keys, and how to
//! continue with the regions an EpochNotMatch reported. No I/O here.

use squall_client::keys::min_end;
use squall_client::RegionInfo;
use squall_proto::metapb;

use super::source::KeyRange;

/// The keys to split at so each range gets regions of its own: every range
/// start and every bounded range end, sorted and unique.
pub fn range_boundaries(ranges: &[KeyRange]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = ranges
        .iter()
        .flat_map(|(start, end)| [start.clone(), end.clone()])
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Split keys of one region, in order.
pub type RegionSplitKeys = (RegionInfo, Vec<Vec<u8>>);

/// Split keys grouped by the region they fall strictly inside. Keys already on
/// a region boundary need no split and are dropped; keys in none of `regions`
/// (the scan did not reach them) come back in the second list.
pub fn group_split_keys(
    keys: &[Vec<u8>],
    regions: &[RegionInfo],
) -> (Vec<RegionSplitKeys>, Vec<Vec<u8>>) {
    let mut groups: Vec<RegionSplitKeys> = Vec::new();
    let mut unplaced = Vec::new();
    for key in keys {
        match regions.iter().find(|r| r.contains(key)) {
            Some(region) if region.strictly_contains(key) => match groups.last_mut() {
                Some((r, ks)) if r.id() == region.id() => ks.push(key.clone()),
                _ => groups.push((region.clone(), vec![key.clone()])),
            },
            Some(_) => {}
            None => unplaced.push(key.clone()),
        }
    }
    (groups, unplaced)
}

/// The part of `[cursor, range_end)` that lies in `region`.
pub fn job_span(region: &RegionInfo, cursor: &[u8], range_end: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let start = cursor.max(region.start.as_slice()).to_vec();
    (start, min_end(range_end, &region.end).to_vec())
}

/// After EpochNotMatch, the current regions (from the error) that cover
/// `[start, end)`, in order, each led by its peer on the old leader's store
/// (where the leader most likely still is). `None` when they do not cover the
/// span without gaps: then PD must be asked again.
pub fn replan(
    current: &[metapb::Region],
    old: &RegionInfo,
    start: &[u8],
    end: &[u8],
) -> Option<Vec<RegionInfo>> {
    let leader_store = old.leader.as_ref().map(|p| p.store_id);
    let mut regions: Vec<RegionInfo> = current
        .iter()
        .filter_map(|r| RegionInfo::new(r.clone(), None).ok())
        .filter(|r| overlaps(r, start, end))
        .map(|r| {
            let leader = leader_store.and_then(|s| r.peer_on_store(s));
            r.with_leader(leader)
        })
        .collect();
    regions.sort_by(|a, b| a.start.cmp(&b.start));
    let first = regions.first()?;
    if first.start.as_slice() > start {
        return None;
    }
    let mut covered = first.end.clone();
    for r in &regions[1..] {
        if r.start != covered {
            return None;
        }
        covered = r.end.clone();
    }
    let covers_end = covered.is_empty() || (!end.is_empty() && covered.as_slice() >= end);
    covers_end.then_some(regions)
}

/// True when `region` and `[start, end)` share a key.
fn overlaps(region: &RegionInfo, start: &[u8], end: &[u8]) -> bool {
    (region.end.is_empty() || region.end.as_slice() > start)
        && (end.is_empty() || region.start.as_slice() < end)
}

#[cfg(test)]
mod tests {
    use squall_client::keys::encode_bound;

    use super::*;

    fn meta(id: u64, start: &[u8], end: &[u8], stores: &[u64]) -> metapb::Region {
        metapb::Region {
            id,
            start_key: encode_bound(start),
            end_key: encode_bound(end),
            region_epoch: Some(metapb::RegionEpoch {
                conf_ver: 1,
                version: 2,
            }),
            peers: stores
                .iter()
                .map(|&s| metapb::Peer {
                    id: id * 10 + s,
                    store_id: s,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn region(id: u64, start: &[u8], end: &[u8]) -> RegionInfo {
        RegionInfo::new(meta(id, start, end, &[1, 2, 3]), None).expect("valid")
    }

    #[test]
    fn boundaries_are_sorted_unique_and_bounded() {
        let ranges = vec![
            (b"a".to_vec(), b"c".to_vec()),
            (b"c".to_vec(), b"f".to_vec()),
            (b"f".to_vec(), vec![]),
        ];
        assert_eq!(
            range_boundaries(&ranges),
            vec![b"a".to_vec(), b"c".to_vec(), b"f".to_vec()]
        );
    }

    #[test]
    fn split_keys_go_to_the_region_they_cut() {
        let regions = vec![
            region(1, b"", b"c"),
            region(2, b"c", b"m"),
            region(3, b"m", b"q"),
        ];
        let keys: Vec<Vec<u8>> = [&b"a"[..], b"b", b"c", b"d", b"z"]
            .iter()
            .map(|k| k.to_vec())
            .collect();
        let (groups, unplaced) = group_split_keys(&keys, &regions);
        let ids: Vec<(u64, usize)> = groups.iter().map(|(r, ks)| (r.id(), ks.len())).collect();
        // "c" is already a boundary; "z" lies past the scanned regions.
        assert_eq!(ids, vec![(1, 2), (2, 1)]);
        assert_eq!(unplaced, vec![b"z".to_vec()]);
        let (groups, _) = group_split_keys(&[b"".to_vec()], &regions);
        assert!(groups.is_empty(), "the minimum key cannot split anything");
    }

    #[test]
    fn job_span_clips_to_region_and_range() {
        let r = region(2, b"c", b"m");
        assert_eq!(job_span(&r, b"a", b"z"), (b"c".to_vec(), b"m".to_vec()));
        assert_eq!(job_span(&r, b"d", b"f"), (b"d".to_vec(), b"f".to_vec()));
        assert_eq!(
            job_span(&region(3, b"m", b""), b"n", b""),
            (b"n".to_vec(), vec![])
        );
    }

    #[test]
    fn replan_uses_current_regions_when_they_cover() {
        let old = region(2, b"c", b"m").with_leader(Some(metapb::Peer {
            id: 22,
            store_id: 2,
            ..Default::default()
        }));
        let current = vec![
            meta(2, b"c", b"g", &[1, 2, 3]),
            meta(7, b"g", b"m", &[1, 2, 3]),
            meta(9, b"x", b"", &[1]),
        ];
        let plan = replan(&current, &old, b"d", b"m").expect("covers");
        assert_eq!(plan.iter().map(|r| r.id()).collect::<Vec<_>>(), vec![2, 7]);
        assert!(plan
            .iter()
            .all(|r| r.leader.as_ref().map(|p| p.store_id) == Some(2)));
        // A gap (PD's and TiKV's views differ) means: ask PD again.
        let gap = vec![meta(2, b"c", b"g", &[1]), meta(7, b"h", b"m", &[1])];
        assert!(replan(&gap, &old, b"d", b"m").is_none());
        // Merged into a bigger region: still covers.
        let merged = vec![meta(2, b"a", b"", &[1, 2])];
        assert_eq!(replan(&merged, &old, b"d", b"m").map(|p| p.len()), Some(1));
        assert!(replan(&[], &old, b"d", b"m").is_none());
    }
}
