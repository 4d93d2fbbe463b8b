//! The checks TiKV's raftstore makes before serving a request for a region:
//! the region exists and has a peer here, this peer leads it, the request's
//! epoch is current, its keys are inside the region.

use squall_proto::{errorpb, kvrpcpb, metapb};

use super::errors;
use crate::cluster::ClusterState;
use crate::keys;
use crate::region::RegionMeta;

/// Which parts of the epoch must match. TiKV checks `conf_ver` only for
/// admin commands (split); reads, writes and ingests check `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochCheck {
    Version,
    VersionAndConfVer,
}

/// Checks `ctx` against the region state as store `store_id` sees it.
/// `hint` is the encoded range the request is about, used to list the
/// regions that now cover it in EpochNotMatch.
pub fn check_context(
    state: &ClusterState,
    store_id: u64,
    ctx: &kvrpcpb::Context,
    check: EpochCheck,
    hint: Option<(&[u8], &[u8])>,
) -> Result<RegionMeta, errorpb::Error> {
    let region = state
        .regions
        .get(ctx.region_id)
        .ok_or_else(|| errors::region_not_found(ctx.region_id))?;
    if let Some(peer) = ctx
        .peer
        .as_ref()
        .filter(|p| p.store_id != 0 && p.store_id != store_id)
    {
        return Err(errors::store_not_match(peer.store_id, store_id));
    }
    if region.peer_on(store_id).is_none() {
        return Err(errors::region_not_found(ctx.region_id));
    }
    if region.leader_store != store_id {
        return Err(errors::not_leader(region.id(), region.leader_peer()));
    }
    let sent = ctx.region_epoch.unwrap_or_default();
    let current = region.epoch();
    let stale = sent.version != current.version
        || (check == EpochCheck::VersionAndConfVer && sent.conf_ver != current.conf_ver);
    if stale {
        let message = format!(
            "current epoch of region {} is {:?}, but you sent {:?}",
            region.id(),
            current,
            sent
        );
        return Err(errors::epoch_not_match(
            message,
            current_regions(state, region, hint),
        ));
    }
    Ok(region.clone())
}

/// The region itself first, then the regions covering `hint` (or, without
/// one, its neighbours), so a client can re-plan without asking PD.
pub fn current_regions(
    state: &ClusterState,
    region: &RegionMeta,
    hint: Option<(&[u8], &[u8])>,
) -> Vec<metapb::Region> {
    let mut out = vec![region.region.clone()];
    let others = match hint {
        Some((start, end)) => state.regions.scan(start, end, 0),
        None => state
            .regions
            .all()
            .into_iter()
            .filter(|r| {
                r.region.end_key == region.region.start_key
                    || r.region.start_key == region.region.end_key
            })
            .filter(|r| !r.region.end_key.is_empty() || !r.region.start_key.is_empty())
            .collect(),
    };
    out.extend(
        others
            .into_iter()
            .filter(|r| r.id() != region.id())
            .map(|r| r.region.clone()),
    );
    out
}

/// The encoded form of raw `key`, or KeyNotInRegion.
pub fn check_key(region: &RegionMeta, key: &[u8]) -> Result<Vec<u8>, errorpb::Error> {
    let enc = keys::encode_bytes(key);
    if region.contains(&enc) {
        Ok(enc)
    } else {
        Err(errors::key_not_in_region(key, &region.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::bootstrap;

    fn state() -> ClusterState {
        let addrs: Vec<std::net::SocketAddr> =
            (0..3).map(|i| ([127, 0, 0, 1], 1000 + i).into()).collect();
        bootstrap(1, &addrs).0
    }

    fn ctx(state: &ClusterState, version: u64) -> kvrpcpb::Context {
        let region = state.regions.all()[0].clone();
        kvrpcpb::Context {
            region_id: region.id(),
            region_epoch: Some(metapb::RegionEpoch {
                conf_ver: 1,
                version,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn leader_epoch_and_region_checks() {
        let state = state();
        assert!(check_context(&state, 1, &ctx(&state, 1), EpochCheck::Version, None).is_ok());
        let err = check_context(&state, 2, &ctx(&state, 1), EpochCheck::Version, None)
            .expect_err("follower");
        assert_eq!(
            err.not_leader.and_then(|n| n.leader).map(|p| p.store_id),
            Some(1)
        );
        let err = check_context(&state, 1, &ctx(&state, 0), EpochCheck::Version, None)
            .expect_err("stale");
        assert_eq!(
            err.epoch_not_match.map(|e| e.current_regions.len()),
            Some(1)
        );
        let mut missing = ctx(&state, 1);
        missing.region_id = 999;
        let err =
            check_context(&state, 1, &missing, EpochCheck::Version, None).expect_err("unknown");
        assert_eq!(err.region_not_found.map(|r| r.region_id), Some(999));
        let mut wrong_store = ctx(&state, 1);
        wrong_store.peer = Some(metapb::Peer {
            id: 1,
            store_id: 3,
            ..Default::default()
        });
        let err =
            check_context(&state, 1, &wrong_store, EpochCheck::Version, None).expect_err("store");
        assert!(err.store_not_match.is_some());
    }

    #[test]
    fn conf_ver_is_checked_only_when_asked() {
        let state = state();
        let mut c = ctx(&state, 1);
        c.region_epoch = Some(metapb::RegionEpoch {
            conf_ver: 9,
            version: 1,
        });
        assert!(check_context(&state, 1, &c, EpochCheck::Version, None).is_ok());
        assert!(check_context(&state, 1, &c, EpochCheck::VersionAndConfVer, None).is_err());
    }

    #[test]
    fn key_outside_region_is_reported_raw() {
        let mut state = state();
        let id = state.regions.all()[0].id();
        let ids = [crate::region::SplitIds {
            region_id: 50,
            peer_ids: vec![51, 52, 53],
        }];
        state.regions.split(id, &[keys::encode_bytes(b"m")], &ids);
        let right = state.regions.get(id).expect("derived").clone();
        assert!(check_key(&right, b"n").is_ok());
        let err = check_key(&right, b"a").expect_err("left of region");
        assert_eq!(err.key_not_in_region.map(|k| k.key), Some(b"a".to_vec()));
    }
}
