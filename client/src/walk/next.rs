//! What the walker does with a piece after a failed call: the region-error
//! table of every region RPC, plus the Write rejections. Exhaustive on
//! purpose: a new client error is classified before the crate compiles.

use squall_proto::metapb;

use crate::error::{ClientError, RegionAction, WriteRejection};
use crate::region::RegionInfo;

/// The next attempt at a piece.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
    /// The store named the leader: send there at once.
    Leader(RegionInfo),
    /// Busy, raced, or not caught up: the same region after the wait.
    Same(RegionInfo),
    /// The region split or merged and the error carries the regions that
    /// cover the piece now: re-cut over them at once.
    Replan(Vec<RegionInfo>),
    /// Region metadata is suspect: re-cut from PD after the wait.
    Rescan,
}

impl Next {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Self::Leader(_) => "send to the new leader",
            Self::Same(_) => "back off",
            Self::Replan(_) => "re-cut over the current regions",
            Self::Rescan => "re-scan regions",
        }
    }
}

/// The next step for `err`, a failed call on `[start, end)` of `region`.
pub(super) fn after_failure(
    err: &ClientError,
    region: RegionInfo,
    start: &[u8],
    end: &[u8],
) -> Next {
    match err {
        ClientError::Region { error, .. } => match error.action() {
            RegionAction::SwitchLeader(Some(peer)) => Next::Leader(region.with_leader(Some(peer))),
            RegionAction::Replan(current) => {
                replan(&current, &region, start, end).map_or(Next::Rescan, Next::Replan)
            }
            RegionAction::Backoff(_) => Next::Same(region),
            RegionAction::SwitchLeader(None) | RegionAction::Rescan => Next::Rescan,
        },
        ClientError::WriteRejected { kind, .. } => match kind {
            WriteRejection::AheadOfLocal => Next::Same(region),
            WriteRejection::StalerThanLocal | WriteRejection::Other => Next::Rescan,
        },
        // A dropped stream, a timeout or a refused connection: the leader
        // may have moved off a stopped store, so ask PD.
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
        | ClientError::Protocol { .. }
        | ClientError::TlsConfig { .. }
        | ClientError::TlsHandshake { .. }
        | ClientError::Http { .. } => Next::Rescan,
    }
}

/// After EpochNotMatch, the current regions (from the error) that cover
/// `[start, end)`, in order, each led by its peer on the old leader's store
/// (where the leader most likely still is). `None` when they do not cover
/// the span without gaps: then PD must be asked again.
fn replan(
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
    use std::time::Duration;

    use squall_proto::errorpb;

    use super::*;
    use crate::error::RegionError;
    use crate::keys::encode_bound;

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

    fn led_by_store_2() -> RegionInfo {
        region(2, b"c", b"m").with_leader(Some(metapb::Peer {
            id: 22,
            store_id: 2,
            ..Default::default()
        }))
    }

    fn region_err(error: RegionError) -> ClientError {
        ClientError::Region {
            method: "MultiIngest",
            region_id: 2,
            error,
        }
    }

    fn next(err: ClientError) -> Next {
        after_failure(&err, led_by_store_2(), b"d", b"m")
    }

    #[test]
    fn follows_the_region_error_table() {
        let hint = metapb::Peer {
            id: 23,
            store_id: 3,
            ..Default::default()
        };
        let not_leader = region_err(RegionError::NotLeader {
            region_id: 2,
            leader: Some(hint),
        });
        assert_eq!(
            next(not_leader),
            Next::Leader(led_by_store_2().with_leader(Some(hint)))
        );
        let no_hint = region_err(RegionError::NotLeader {
            region_id: 2,
            leader: None,
        });
        assert_eq!(next(no_hint), Next::Rescan);
        let split = vec![meta(2, b"c", b"g", &[1, 2]), meta(7, b"g", b"m", &[2, 3])];
        let epoch = region_err(RegionError::EpochNotMatch {
            current_regions: split,
        });
        let Next::Replan(regions) = next(epoch) else {
            panic!("covering current regions are used at once");
        };
        assert_eq!(regions.iter().map(|r| r.id()).collect::<Vec<_>>(), [2, 7]);
        let stale_epoch = region_err(RegionError::EpochNotMatch {
            current_regions: vec![],
        });
        assert_eq!(next(stale_epoch), Next::Rescan);
        let busy = region_err(RegionError::ServerIsBusy {
            reason: "stall".into(),
            backoff_ms: 20,
        });
        assert_eq!(next(busy), Next::Same(led_by_store_2()));
        assert_eq!(
            next(region_err(RegionError::StaleCommand)),
            Next::Same(led_by_store_2())
        );
        assert_eq!(
            next(region_err(RegionError::RegionNotFound { region_id: 2 })),
            Next::Rescan
        );
        let dropped = RegionError::from_wire(errorpb::Error {
            message: "raft: proposal dropped".into(),
            ..Default::default()
        });
        assert_eq!(next(region_err(dropped)), Next::Rescan);
        let timeout = ClientError::Timeout {
            method: "Write",
            addr: "s1".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(next(timeout), Next::Rescan);
    }

    #[test]
    fn write_rejections_wait_or_rescan() {
        let rejected = |kind| ClientError::WriteRejected {
            store_id: 1,
            kind,
            message: String::new(),
        };
        assert_eq!(
            next(rejected(WriteRejection::AheadOfLocal)),
            Next::Same(led_by_store_2())
        );
        assert_eq!(
            next(rejected(WriteRejection::StalerThanLocal)),
            Next::Rescan
        );
        assert_eq!(next(rejected(WriteRejection::Other)), Next::Rescan);
    }

    #[test]
    fn replan_uses_current_regions_when_they_cover() {
        let old = led_by_store_2();
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
        // An unbounded piece is covered only up to +∞.
        let bounded = vec![meta(2, b"c", b"z", &[1])];
        assert!(replan(&bounded, &old, b"d", b"").is_none());
    }
}
