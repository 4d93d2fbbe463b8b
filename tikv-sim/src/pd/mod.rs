//! The `pdpb.PD` service: members, stores, regions (boundaries encoded as
//! PD stores them), splits, scatter with operator progress, the TSO and GC safepoints;
//! and PD's scheduling HTTP API on the same address (`schedulers.rs`).

mod balance;
mod gc;
mod handlers;
pub mod scatter;
pub mod schedulers;
pub mod tso;

use std::sync::Arc;

use squall_proto::pdpb::pd_server::PdServer;
use squall_proto::pdpb::{self, ErrorType, RequestHeader, ResponseHeader};
use tonic::service::Routes;
use tonic::Status;

use crate::cluster::Cluster;
use crate::faults::{FaultError, Rpc};
use crate::server::MAX_MESSAGE_BYTES;

/// PD's gRPC service and its HTTP API (`schedulers.rs`) on one router.
pub fn routes(svc: PdService) -> Routes {
    let cluster = Arc::downgrade(&svc.cluster);
    let grpc = Routes::new(
        PdServer::new(svc)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    );
    let http = schedulers::router(Arc::new(schedulers::Scheduling::default()), cluster);
    Routes::from(http.merge(grpc.into_axum_router()))
}

/// PD's service state; cheap to clone.
#[derive(Clone)]
pub struct PdService {
    pub cluster: Arc<Cluster>,
    /// `host:port` clients reach PD at.
    pub advertise: String,
}

impl PdService {
    fn header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: self.cluster.cluster_id,
            error: None,
        })
    }

    fn error_header(&self, kind: ErrorType, message: String) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: self.cluster.cluster_id,
            error: Some(pdpb::Error {
                r#type: kind.into(),
                message,
            }),
        })
    }

    /// Like PD, rejects requests addressed to another cluster.
    fn validate(&self, header: Option<&RequestHeader>) -> Result<(), Status> {
        let got = header.map_or(0, |h| h.cluster_id);
        if got != self.cluster.cluster_id {
            return Err(Status::failed_precondition(format!(
                "mismatch cluster id, need {} but got {got}",
                self.cluster.cluster_id
            )));
        }
        Ok(())
    }

    /// Applies injected latency; an injected error is an unavailable PD.
    async fn admit(
        &self,
        rpc: Rpc,
        header: Option<&RequestHeader>,
    ) -> Result<crate::faults::Decision, Status> {
        let decision = self.cluster.faults.decide(rpc, None);
        decision.delay().await;
        if decision.error == Some(FaultError::Unavailable) {
            return Err(Status::unavailable("connection reset by peer"));
        }
        if rpc != Rpc::GetMembers {
            self.validate(header)?;
        }
        Ok(decision)
    }
}
