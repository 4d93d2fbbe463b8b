//! Starting, observing and stopping a whole sim.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::admin::AdminServer;
use crate::cluster::{self, Cluster, Settings};
use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::{FaultController, Outage};
use crate::gc::{GcReport, GcStatus};
use crate::import::staging;
use crate::keys;
use crate::mvcc::{KeyRange, MvccReader, VersionInfo};
use crate::observe::{RegionInfo, StoreInfo};
use crate::pd::PdService;
use crate::server::{bind, GrpcTask};
use crate::storage::Storage;
use crate::store::{StoreServer, StoreState};

/// The stores' servers, by id.
pub struct StoreServers(Vec<StoreServer>);

impl StoreServers {
    fn get(&self, id: u64) -> Result<&StoreServer, SimError> {
        self.0
            .iter()
            .find(|s| s.state.id == id)
            .ok_or(SimError::UnknownStore(id))
    }

    pub async fn stop(&self, id: u64) -> Result<(), SimError> {
        self.get(id)?.stop().await
    }

    pub async fn start(&self, id: u64) -> Result<(), SimError> {
        self.get(id)?.start(None).await
    }
}

/// A running sim. Dropping it without `shutdown` leaves its servers running
/// until the runtime ends.
pub struct SimHandle {
    pub pd_addr: SocketAddr,
    /// Store `i + 1` listens on `store_addrs[i]`.
    pub store_addrs: Vec<SocketAddr>,
    pub admin_addr: SocketAddr,
    cluster: Arc<Cluster>,
    stores: Arc<StoreServers>,
    pd: GrpcTask,
    admin: AdminServer,
    background: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Add, list and clear faults.
    pub fn faults(&self) -> FaultController {
        self.cluster.faults.clone()
    }

    pub fn cluster_id(&self) -> u64 {
        self.cluster.cluster_id
    }

    pub fn store_ids(&self) -> Vec<u64> {
        self.cluster.stores.iter().map(|s| s.id).collect()
    }

    /// Regions in key order, with leaders.
    pub fn regions(&self) -> Vec<RegionInfo> {
        self.cluster.region_infos()
    }

    pub fn stores(&self) -> Vec<StoreInfo> {
        self.cluster.store_infos()
    }

    /// SST files the store has ingested (as leader or follower) so far.
    pub fn ingested_sst_count(&self, store_id: u64) -> u64 {
        self.cluster.store(store_id).map_or(0, |s| s.ingested())
    }

    /// What `GET /ingests` answers: per store, SSTs ingested, overlapping
    /// (sent to L0 by its model), L0 files and write-stall ServerIsBusy
    /// answers; and every ingested SST.
    pub fn ingest_report(&self) -> crate::admin::report::IngestReport {
        crate::import::accounting::report(&self.cluster)
    }

    /// `POST /ingests/reset`: clears the SST list and the counters, not the
    /// L0 models.
    pub fn reset_ingests(&self) {
        crate::import::accounting::reset(&self.cluster)
    }

    /// Every stored version of raw keys in `[start, end)` (`end` empty = no
    /// bound), newest first within a key.
    pub fn dump_versions(&self, start: &[u8], end: &[u8]) -> Result<Vec<VersionInfo>, SimError> {
        dump_versions(&self.cluster, start, end)
    }

    /// Runs one GC round now (TiDB's GC worker, then TiKV's collection):
    /// proposes `proposed` (default `now - gc_life_time`), held back by
    /// every live service safepoint, as PD and TiDB would.
    pub async fn run_gc(&self, proposed: Option<u64>) -> Result<GcReport, SimError> {
        let cluster = self.cluster.clone();
        tokio::task::spawn_blocking(move || crate::gc::run_round(&cluster, proposed))
            .await
            .map_err(|e| SimError::Task(e.to_string()))?
    }

    /// PD's GC safepoint and service safepoints, and GC counters.
    pub fn gc_status(&self) -> Result<GcStatus, SimError> {
        crate::gc::status(&self.cluster)
    }

    /// Stops store `id`: its port stops answering, its leaders move to
    /// peers on stores that are up.
    pub async fn stop_store(&self, id: u64) -> Result<(), SimError> {
        self.stores.stop(id).await
    }

    /// Starts store `id` again on the same address.
    pub async fn start_store(&self, id: u64) -> Result<(), SimError> {
        self.stores.start(id).await
    }

    /// One line naming every address, for logs.
    pub fn describe(&self) -> String {
        let stores: Vec<String> = self
            .cluster
            .stores
            .iter()
            .map(|s| format!("{}={}", s.id, s.advertise))
            .collect();
        format!(
            "tikv-sim serving: pd={} stores=[{}] admin={} data_dir={}",
            self.pd_addr,
            stores.join(", "),
            self.admin_addr,
            self.cluster.storage.root().display()
        )
    }

    /// Stops every server and closes the storage, so the data dir can be
    /// opened again.
    pub async fn shutdown(self) {
        for task in &self.background {
            task.abort();
        }
        for task in self.background {
            let _ = task.await;
        }
        self.admin.stop().await;
        self.pd.stop(Duration::from_secs(5)).await;
        for store in &self.stores.0 {
            store.halt().await;
        }
        drop(self.stores);
        let cluster = self.cluster;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&cluster) > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if Arc::strong_count(&cluster) > 1 {
            tracing::warn!("calls still running at shutdown; storage closes when they end");
        }
        tracing::info!("tikv-sim stopped");
    }
}

pub fn dump_versions(
    cluster: &Cluster,
    start: &[u8],
    end: &[u8],
) -> Result<Vec<VersionInfo>, SimError> {
    let range = KeyRange {
        lower: keys::encode_bytes(start),
        upper: (!end.is_empty()).then(|| keys::encode_bytes(end)),
    };
    Ok(MvccReader::new(&cluster.storage).versions(&range)?)
}

/// Starts PD, the stores and the admin API; returns once all are serving.
pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
    if cfg.stores == 0 {
        return Err(SimError::Config(
            "a cluster needs at least one store".into(),
        ));
    }
    if !cfg.store_addrs.is_empty() && cfg.store_addrs.len() != cfg.stores {
        let (n, m) = (cfg.store_addrs.len(), cfg.stores);
        return Err(SimError::Config(format!(
            "{n} store addresses given for {m} stores"
        )));
    }
    let storage = Storage::open(&cfg.data_dir)?;
    let existing = cluster::load(&storage, cfg.seed)?;
    let wanted = store_listen_addrs(&cfg, existing.as_ref())?;
    let pd_listener = bind(cfg.pd_addr, "PD").await?;
    let mut store_listeners = Vec::with_capacity(wanted.len());
    for (addr, id) in wanted.iter().zip(1u64..) {
        store_listeners.push(bind(*addr, &format!("store {id}")).await?);
    }
    let admin_want = cfg
        .admin_addr
        .unwrap_or(SocketAddr::new(cfg.pd_addr.ip(), 0));
    let admin_listener = bind(admin_want, "admin API").await?;
    let pd_addr = local_addr(&pd_listener, cfg.pd_addr)?;
    let store_addrs = store_listeners
        .iter()
        .zip(&wanted)
        .map(|(l, want)| local_addr(l, *want))
        .collect::<Result<Vec<_>, _>>()?;
    let admin_addr = local_addr(&admin_listener, admin_want)?;

    let state = match existing {
        Some(mut state) => {
            for (record, addr) in state.record.stores.iter_mut().zip(&store_addrs) {
                record.addr = *addr;
            }
            crate::meta::save(&storage, &state.record, &[])?;
            state
        }
        None => {
            let (state, regions) = cluster::bootstrap(cfg.seed, &store_addrs);
            crate::meta::save(&storage, &state.record, &regions)?;
            state
        }
    };
    let stores: Vec<Arc<StoreState>> = store_addrs
        .iter()
        .zip(1u64..)
        .map(|(addr, id)| {
            Arc::new(StoreState::new(
                id,
                *addr,
                advertise(&cfg, *addr),
                storage.staging_dir(id),
            ))
        })
        .collect();
    let faults = FaultController::new(cfg.seed);
    let settings = Settings {
        scatter_duration: cfg.scatter_duration,
        import_mode_timeout: cfg.import_mode_timeout,
        lsm: cfg.lsm,
        staged_ttl: cfg.staged_ttl,
        gc_interval: cfg.gc_interval,
        gc_life_time: cfg.gc_life_time,
        tls: cfg.tls.as_ref().map(|t| t.server_config()).transpose()?,
    };
    let cluster = Arc::new(Cluster::new(
        storage,
        state,
        stores,
        faults.clone(),
        settings,
    )?);

    let servers = StoreServers(
        cluster
            .stores
            .iter()
            .map(|s| StoreServer::new(s.clone(), cluster.clone()))
            .collect(),
    );
    for (server, listener) in servers.0.iter().zip(store_listeners) {
        server.start(Some(listener)).await?;
    }
    let servers = Arc::new(servers);
    let pd = spawn_pd(&cluster, advertise(&cfg, pd_addr), pd_listener)?;
    let (outage_tx, outage_rx) = mpsc::unbounded_channel();
    faults.set_outage_sender(outage_tx);
    let background = vec![
        tokio::spawn(run_outages(outage_rx, servers.clone())),
        tokio::spawn(collect_staged_garbage(cluster.clone())),
        tokio::spawn(crate::gc::run_periodically(cluster.clone())),
    ];
    for rule in &cfg.initial_faults {
        faults.inject(rule.clone())?;
    }
    let admin = AdminServer::spawn(admin_listener, cluster.clone(), servers.clone());
    Ok(SimHandle {
        pd_addr,
        store_addrs,
        admin_addr,
        cluster,
        stores: servers,
        pd,
        admin,
        background,
    })
}

/// Store listen addresses: given ones, else those a restarted data dir was
/// serving on, else free ports on PD's host.
fn store_listen_addrs(
    cfg: &SimConfig,
    existing: Option<&cluster::ClusterState>,
) -> Result<Vec<SocketAddr>, SimError> {
    if let Some(state) = existing {
        let n = state.record.stores.len();
        if n != cfg.stores {
            return Err(SimError::Config(format!(
                "data dir {} holds a cluster of {n} stores, not {}",
                cfg.data_dir.display(),
                cfg.stores
            )));
        }
        if cfg.store_addrs.is_empty() {
            return Ok(state.record.stores.iter().map(|s| s.addr).collect());
        }
    }
    if !cfg.store_addrs.is_empty() {
        return Ok(cfg.store_addrs.clone());
    }
    Ok(vec![SocketAddr::new(cfg.pd_addr.ip(), 0); cfg.stores])
}

fn local_addr(listener: &TcpListener, wanted: SocketAddr) -> Result<SocketAddr, SimError> {
    listener.local_addr().map_err(|source| SimError::Bind {
        what: "reading the bound address".into(),
        addr: wanted,
        source,
    })
}

/// What clients are told to dial for a server listening on `addr`.
fn advertise(cfg: &SimConfig, addr: SocketAddr) -> String {
    match &cfg.advertise_host {
        Some(host) => format!("{host}:{}", addr.port()),
        None if addr.ip().is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        None => addr.to_string(),
    }
}

fn spawn_pd(
    cluster: &Arc<Cluster>,
    advertise: String,
    listener: TcpListener,
) -> Result<GrpcTask, SimError> {
    let svc = PdService {
        cluster: cluster.clone(),
        advertise,
    };
    // gRPC and PD's HTTP API on one port (HTTP/1 for the API), as PD does.
    let router = crate::tls::builder(cluster.settings.tls.as_ref())?
        .accept_http1(true)
        .add_routes(crate::pd::routes(svc));
    Ok(GrpcTask::spawn("PD".into(), router, listener))
}

/// Runs scheduled store outages (each in its own task, aborted with this one).
async fn run_outages(mut rx: mpsc::UnboundedReceiver<Outage>, stores: Arc<StoreServers>) {
    let mut running = JoinSet::new();
    while let Some(outage) = rx.recv().await {
        let stores = stores.clone();
        running.spawn(async move {
            tokio::time::sleep(outage.after).await;
            tracing::info!(store = outage.store, duration = ?outage.duration, "store outage begins");
            if let Err(e) = stores.stop(outage.store).await {
                tracing::error!(error = %e, "store outage failed to stop the store");
                return;
            }
            tokio::time::sleep(outage.duration).await;
            if let Err(e) = stores.start(outage.store).await {
                tracing::error!(error = %e, "store outage failed to restart the store");
            }
        });
        while running.try_join_next().is_some() {}
    }
}

/// Deletes staged SSTs nobody ingested, like TiKV's importer cleanup.
async fn collect_staged_garbage(cluster: Arc<Cluster>) {
    let ttl = cluster.settings.staged_ttl;
    let period = ttl.min(Duration::from_secs(60)).max(Duration::from_secs(1));
    loop {
        for store in &cluster.stores {
            let dir = store.staging.clone();
            let removed = tokio::task::spawn_blocking(move || staging::collect_garbage(&dir, ttl))
                .await
                .unwrap_or(0);
            if removed > 0 {
                tracing::info!(store = store.id, removed, "deleted stale staged SSTs");
                store.prune_staged();
            }
        }
        tokio::time::sleep(period).await;
    }
}
