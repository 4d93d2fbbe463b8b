//! A TiKV store: its own gRPC server (Tikv + ImportSST services) on its own
//! address, which can be stopped and started again.

pub mod check;
pub mod errors;
mod inject;
pub mod lsm;
mod state;

use std::sync::Arc;
use std::time::Duration;

use squall_proto::errorpb;
use squall_proto::import_sstpb::import_sst_server::ImportSstServer;
use squall_proto::tikvpb::tikv_server::TikvServer;
use tokio::net::TcpListener;
use tonic::Status;

pub use state::StoreState;

use crate::cluster::Cluster;
use crate::error::SimError;
use crate::faults::{Decision, Rpc};
use crate::server::{bind, GrpcTask, MAX_MESSAGE_BYTES};
use crate::util::lock;

/// Why a call is not served: a region error for the response's error
/// field, an importer error (Write), or a gRPC status (the store is down or
/// the stream broke).
#[derive(Debug)]
pub enum Refusal {
    Region(errorpb::Error),
    Status(Status),
    /// Write's own errors (`import_sstpb.Error` message).
    Import(String),
}

impl From<errorpb::Error> for Refusal {
    fn from(e: errorpb::Error) -> Self {
        Refusal::Region(e)
    }
}

/// The services of one store; cheap to clone.
#[derive(Clone)]
pub struct StoreService {
    pub cluster: Arc<Cluster>,
    pub store: Arc<StoreState>,
}

impl StoreService {
    /// Admits one call of `rpc` about `region_id` (and `key`, for
    /// KeyNotInRegion): fails when the store is down, waits out injected
    /// latency, and turns an injected error into what TiKV would answer.
    pub async fn admit(
        &self,
        rpc: Rpc,
        region_id: u64,
        key: Option<&[u8]>,
    ) -> Result<Decision, Refusal> {
        self.ensure_up()?;
        let decision = self.cluster.faults.decide(rpc, Some(self.store.id));
        decision.delay().await;
        self.ensure_up()?;
        match decision.error {
            None => Ok(decision),
            Some(kind) => Err(inject::refusal(
                &self.cluster,
                self.store.id,
                rpc,
                kind,
                region_id,
                key,
            )),
        }
    }

    /// Unavailable while the store is stopped (calls that were already on a
    /// connection when it stopped).
    pub fn ensure_up(&self) -> Result<(), Status> {
        if self.store.is_up() {
            Ok(())
        } else {
            Err(Status::unavailable(format!(
                "store {} is not serving",
                self.store.id
            )))
        }
    }
}

impl From<Status> for Refusal {
    fn from(s: Status) -> Self {
        Refusal::Status(s)
    }
}

/// A store's server, startable and stoppable.
pub struct StoreServer {
    pub state: Arc<StoreState>,
    cluster: Arc<Cluster>,
    running: tokio::sync::Mutex<Option<GrpcTask>>,
}

impl StoreServer {
    pub fn new(state: Arc<StoreState>, cluster: Arc<Cluster>) -> Self {
        StoreServer {
            state,
            cluster,
            running: tokio::sync::Mutex::new(None),
        }
    }

    /// Serves on `listener` (or binds the store's address again).
    pub async fn start(&self, listener: Option<TcpListener>) -> Result<(), SimError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let what = format!("store {}", self.state.id);
        let listener = match listener {
            Some(l) => l,
            None => bind(self.state.addr, &what).await?,
        };
        let svc = StoreService {
            cluster: self.cluster.clone(),
            store: self.state.clone(),
        };
        let router = crate::tls::builder(self.cluster.settings.tls.as_ref())?
            .add_service(
                TikvServer::new(svc.clone())
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                ImportSstServer::new(svc)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            );
        self.state.set_up(true);
        *running = Some(GrpcTask::spawn(what, router, listener));
        tracing::info!(store = self.state.id, addr = %self.state.addr, "store serving");
        Ok(())
    }

    /// Stops serving; the store's leaders move to peers on stores that are
    /// up, as a Raft election would make them.
    pub async fn stop(&self) -> Result<(), SimError> {
        let task = self.running.lock().await.take();
        self.state.set_up(false);
        self.move_leaders_away()?;
        if let Some(task) = task {
            task.stop(Duration::from_secs(5)).await;
        }
        tracing::info!(store = self.state.id, "store stopped");
        Ok(())
    }

    /// Stops serving without touching region metadata (whole-sim shutdown).
    pub async fn halt(&self) {
        let task = self.running.lock().await.take();
        self.state.set_up(false);
        if let Some(task) = task {
            task.stop(Duration::from_secs(5)).await;
        }
    }

    fn move_leaders_away(&self) -> Result<(), SimError> {
        let cluster = &self.cluster;
        let mut state = lock(&cluster.state);
        let led: Vec<(u64, Vec<u64>)> = state
            .regions
            .all()
            .into_iter()
            .filter(|r| r.leader_store == self.state.id)
            .map(|r| (r.id(), r.region.peers.iter().map(|p| p.store_id).collect()))
            .collect();
        for (region_id, stores) in led {
            let target = stores
                .into_iter()
                .find(|s| *s != self.state.id && cluster.store(*s).is_some_and(|st| st.is_up()));
            if let Some(target) = target {
                cluster.transfer_leader(&mut state, region_id, target)?;
            }
        }
        Ok(())
    }
}
