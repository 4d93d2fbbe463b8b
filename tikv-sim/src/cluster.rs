//! The state every server of the sim shares: storage, regions, stores, the
//! id allocator, scatter operators, faults and the TSO. Region changes go
//! through here so they are persisted before anyone is answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use squall_proto::metapb;

use crate::admin::report::IngestedSst;
use crate::error::SimError;
use crate::faults::FaultController;
use crate::gc::GcState;
use crate::meta::{self, ClusterRecord, StoreRecord};
use crate::observe::{RegionInfo, StoreInfo};
use crate::pd::tso::Tso;
use crate::region::{RegionMap, RegionMeta, SplitIds};
use crate::storage::Storage;
use crate::store::lsm::LsmSettings;
use crate::store::StoreState;
use crate::util::lock;

/// Timings and limits of the simulated cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long GetOperator reports a scatter as RUNNING before SUCCESS.
    pub scatter_duration: Duration,
    /// Import mode reverts to normal if not renewed within this time.
    pub import_mode_timeout: Duration,
    /// The stores' L0 models (see `store::lsm`).
    pub lsm: LsmSettings,
    /// Staged SSTs older than this are deleted.
    pub staged_ttl: Duration,
    /// A GC round runs this often (`None`: only when asked).
    pub gc_interval: Option<Duration>,
    /// A GC round proposes `now - gc_life_time` as the safepoint (TiDB's
    /// `tidb_gc_life_time`).
    pub gc_life_time: Duration,
    /// TLS PD and the stores serve with (`None`: plain).
    pub tls: Option<tonic::transport::ServerTlsConfig>,
}

/// A running scatter, as GetOperator reports it.
#[derive(Debug, Clone, Copy)]
pub struct Operator {
    pub finish_at: Instant,
}

/// Mutable cluster metadata, behind one lock (the sim's stand-in for Raft's
/// serialization of admin commands).
pub struct ClusterState {
    pub regions: RegionMap,
    pub record: ClusterRecord,
    pub operators: HashMap<u64, Operator>,
    pub rng: StdRng,
}

impl ClusterState {
    pub fn alloc_id(&mut self) -> u64 {
        let id = self.record.next_id;
        self.record.next_id += 1;
        id
    }
}

pub struct Cluster {
    pub storage: Storage,
    pub state: Mutex<ClusterState>,
    pub stores: Vec<Arc<StoreState>>,
    pub faults: FaultController,
    pub settings: Settings,
    pub tso: Mutex<Tso>,
    pub cluster_id: u64,
    /// PD's GC safepoints (see `gc`).
    pub gc: Mutex<GcState>,
    /// Held while versions are collected, so rounds do not overlap.
    pub gc_running: Mutex<()>,
    /// Every SST file a store ingested, in order (`GET /ingests`).
    pub ingest_log: Mutex<Vec<IngestedSst>>,
}

impl Cluster {
    pub fn new(
        storage: Storage,
        state: ClusterState,
        stores: Vec<Arc<StoreState>>,
        faults: FaultController,
        settings: Settings,
    ) -> Result<Self, SimError> {
        let tso = Tso::new(meta::load_tso_limit(&storage)?);
        let gc = GcState {
            safe_points: meta::load_gc(&storage)?,
            ..GcState::default()
        };
        let cluster_id = state.record.cluster_id;
        Ok(Cluster {
            storage,
            state: Mutex::new(state),
            stores,
            faults,
            settings,
            tso: Mutex::new(tso),
            cluster_id,
            gc: Mutex::new(gc),
            gc_running: Mutex::new(()),
            ingest_log: Mutex::new(Vec::new()),
        })
    }

    pub fn store(&self, id: u64) -> Option<&Arc<StoreState>> {
        self.stores.iter().find(|s| s.id == id)
    }

    /// Persists the cluster record and `changed` regions.
    pub fn persist(&self, state: &ClusterState, changed: &[RegionMeta]) -> Result<(), SimError> {
        meta::save(&self.storage, &state.record, changed)
    }

    /// Splits region `id` at sorted, distinct encoded keys strictly inside
    /// it; returns the resulting regions left to right.
    pub fn split(
        &self,
        state: &mut ClusterState,
        id: u64,
        keys: &[Vec<u8>],
    ) -> Result<Vec<RegionMeta>, SimError> {
        let peers = state.regions.get(id).map_or(0, |r| r.region.peers.len());
        let ids: Vec<SplitIds> = keys
            .iter()
            .map(|_| SplitIds {
                region_id: state.alloc_id(),
                peer_ids: (0..peers).map(|_| state.alloc_id()).collect(),
            })
            .collect();
        let out = state.regions.split(id, keys, &ids);
        self.persist(state, &out)?;
        tracing::info!(region = id, splits = keys.len(), "split region");
        Ok(out)
    }

    /// Makes the peer on `store` the leader of region `id`.
    pub fn transfer_leader(
        &self,
        state: &mut ClusterState,
        id: u64,
        store: u64,
    ) -> Result<Option<RegionMeta>, SimError> {
        let Some(region) = state.regions.get_mut(id) else {
            return Ok(None);
        };
        if region.peer_on(store).is_none() {
            return Ok(None);
        }
        region.leader_store = store;
        let changed = region.clone();
        self.persist(state, std::slice::from_ref(&changed))?;
        Ok(Some(changed))
    }

    pub fn region_infos(&self) -> Vec<RegionInfo> {
        lock(&self.state)
            .regions
            .all()
            .into_iter()
            .map(RegionInfo::of)
            .collect()
    }

    pub fn store_infos(&self) -> Vec<StoreInfo> {
        let ingests = crate::import::accounting::store_counts(self);
        let state = lock(&self.state);
        let regions = state.regions.all();
        self.stores
            .iter()
            .zip(ingests)
            .map(|(s, ingests)| StoreInfo {
                id: s.id,
                address: s.advertise.clone(),
                up: s.is_up(),
                import_mode: s.in_import_mode(self.settings.import_mode_timeout),
                ingested_ssts: s.ingested(),
                leaders: regions.iter().filter(|r| r.leader_store == s.id).count(),
                overlapping_ssts: ingests.overlapping_ssts,
                l0_files: ingests.l0_files,
                busy_answers: ingests.busy_answers,
            })
            .collect()
    }
}

/// A fresh cluster: stores `1..=n`, one region over the whole key space with
/// peers on the first three stores and its leader on store 1.
pub fn bootstrap(seed: u64, addrs: &[std::net::SocketAddr]) -> (ClusterState, Vec<RegionMeta>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let secs = u64::try_from(crate::util::unix_millis() / 1000).unwrap_or(0);
    let cluster_id = (secs << 32) | u64::from(rng.gen::<u32>());
    let stores: Vec<StoreRecord> = addrs
        .iter()
        .zip(1u64..)
        .map(|(addr, id)| StoreRecord { id, addr: *addr })
        .collect();
    let record = ClusterRecord {
        cluster_id,
        next_id: stores.len() as u64 + 1,
        stores,
    };
    let mut state = ClusterState {
        regions: RegionMap::default(),
        record,
        operators: HashMap::new(),
        rng,
    };
    let region_id = state.alloc_id();
    let peers = (1..=addrs.len().min(3) as u64)
        .map(|store_id| metapb::Peer {
            id: state.alloc_id(),
            store_id,
            ..Default::default()
        })
        .collect();
    let region = metapb::Region {
        id: region_id,
        region_epoch: Some(metapb::RegionEpoch {
            conf_ver: 1,
            version: 1,
        }),
        peers,
        ..Default::default()
    };
    let meta = RegionMeta {
        region,
        leader_store: 1,
    };
    state.regions.insert(meta.clone());
    (state, vec![meta])
}

/// The state persisted in `storage`, if the data dir holds a cluster.
pub fn load(storage: &Storage, seed: u64) -> Result<Option<ClusterState>, SimError> {
    let Some(record) = meta::load_cluster(storage)? else {
        return Ok(None);
    };
    let mut regions = RegionMap::default();
    for meta in meta::load_regions(storage)? {
        regions.insert(meta);
    }
    if regions.len() == 0 {
        return Err(SimError::CorruptMeta {
            what: "regions".into(),
            reason: "cluster record without regions".into(),
        });
    }
    Ok(Some(ClusterState {
        regions,
        record,
        operators: HashMap::new(),
        rng: StdRng::seed_from_u64(seed),
    }))
}
