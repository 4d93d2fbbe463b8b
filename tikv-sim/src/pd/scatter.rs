//! Scattering regions the way PD's region scatterer aims to: each region's
//! peers go to the stores holding fewest peers, its leader to the peer
//! store leading fewest regions; ties are broken by the seeded RNG. With no
//! more stores than replicas only the leader moves. The change is applied
//! at once; GetOperator reports it RUNNING for `scatter_duration`, then
//! SUCCESS.

use std::collections::HashMap;
use std::time::Instant;

use rand::seq::SliceRandom;
use squall_proto::metapb;

use crate::cluster::{Cluster, ClusterState, Operator};
use crate::error::SimError;
use crate::region::RegionMeta;

/// Scatters regions `ids`; returns the ids that name no region.
pub fn scatter(
    cluster: &Cluster,
    state: &mut ClusterState,
    ids: &[u64],
) -> Result<Vec<u64>, SimError> {
    let mut missing = Vec::new();
    for &id in ids {
        let Some(region) = state.regions.get(id).cloned() else {
            missing.push(id);
            continue;
        };
        let moved = scatter_one(cluster, state, region);
        state.regions.insert(moved.clone());
        cluster.persist(state, std::slice::from_ref(&moved))?;
        let finish_at = Instant::now() + cluster.settings.scatter_duration;
        state.operators.insert(id, Operator { finish_at });
        tracing::debug!(region = id, leader = moved.leader_store, "scattered region");
    }
    Ok(missing)
}

/// Stores that are up, shuffled, then ordered by `load` (stable, so the
/// shuffle breaks ties).
fn least_loaded(
    cluster: &Cluster,
    state: &mut ClusterState,
    load: &HashMap<u64, usize>,
    among: &[u64],
) -> Vec<u64> {
    let mut stores: Vec<u64> = among
        .iter()
        .copied()
        .filter(|s| cluster.store(*s).is_some_and(|st| st.is_up()))
        .collect();
    stores.shuffle(&mut state.rng);
    stores.sort_by_key(|s| load.get(s).copied().unwrap_or(0));
    stores
}

fn counts(state: &ClusterState, skip: u64) -> (HashMap<u64, usize>, HashMap<u64, usize>) {
    let mut peers = HashMap::new();
    let mut leaders = HashMap::new();
    for r in state.regions.all().into_iter().filter(|r| r.id() != skip) {
        for p in &r.region.peers {
            *peers.entry(p.store_id).or_insert(0) += 1;
        }
        *leaders.entry(r.leader_store).or_insert(0) += 1;
    }
    (peers, leaders)
}

fn scatter_one(cluster: &Cluster, state: &mut ClusterState, mut region: RegionMeta) -> RegionMeta {
    let (peer_load, leader_load) = counts(state, region.id());
    let all_stores: Vec<u64> = cluster.stores.iter().map(|s| s.id).collect();
    let replicas = region.region.peers.len();
    if all_stores.len() > replicas {
        let targets: Vec<u64> = least_loaded(cluster, state, &peer_load, &all_stores)
            .into_iter()
            .take(replicas)
            .collect();
        if targets.len() == replicas {
            move_peers(state, &mut region, &targets);
        }
    }
    let peer_stores: Vec<u64> = region.region.peers.iter().map(|p| p.store_id).collect();
    if let Some(&leader) = least_loaded(cluster, state, &leader_load, &peer_stores).first() {
        region.leader_store = leader;
    } else if region.peer_on(region.leader_store).is_none() {
        // No peer store is up: keep a leader among the peers anyway.
        region.leader_store = peer_stores.first().copied().unwrap_or(region.leader_store);
    }
    region
}

/// Replaces peers so the region has one on each of `targets`; every added
/// or removed peer is one conf change (conf_ver + 1), as in TiKV.
fn move_peers(state: &mut ClusterState, region: &mut RegionMeta, targets: &[u64]) {
    let old = std::mem::take(&mut region.region.peers);
    let removed = old
        .iter()
        .filter(|p| !targets.contains(&p.store_id))
        .count();
    let mut peers: Vec<metapb::Peer> = old
        .iter()
        .filter(|p| targets.contains(&p.store_id))
        .cloned()
        .collect();
    for &store_id in targets {
        if !peers.iter().any(|p| p.store_id == store_id) {
            peers.push(metapb::Peer {
                id: state.alloc_id(),
                store_id,
                ..Default::default()
            });
        }
    }
    let added = peers.len() + removed - old.len();
    let mut epoch = region.epoch();
    epoch.conf_ver += (added + removed) as u64;
    region.region.region_epoch = Some(epoch);
    region.region.peers = peers;
}
