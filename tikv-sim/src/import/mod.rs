//! The `import_sstpb.ImportSST` service of a store.

pub mod accounting;
pub mod duplicate;
pub mod ingest;
pub mod staging;
pub mod write;

use squall_proto::import_sstpb::{
    import_sst_server::ImportSst, DuplicateDetectRequest, GetModeRequest, GetModeResponse,
    IngestRequest, IngestResponse, MultiIngestRequest, SwitchMode, SwitchModeRequest,
    SwitchModeResponse, WriteRequest, WriteResponse,
};
use tonic::{Request, Response, Status, Streaming};

use crate::faults::Rpc;
use crate::store::{Refusal, StoreService};

impl StoreService {
    /// SwitchMode/GetMode carry no error field: a refusal is a status.
    async fn admit_mode_rpc(&self, rpc: Rpc) -> Result<(), Status> {
        match self.admit(rpc, 0, None).await {
            Ok(_) => Ok(()),
            Err(Refusal::Status(s)) => Err(s),
            Err(Refusal::Region(e)) => Err(Status::unknown(e.message)),
            Err(Refusal::Import(m)) => Err(Status::unknown(m)),
        }
    }
}

#[tonic::async_trait]
impl ImportSst for StoreService {
    async fn switch_mode(
        &self,
        request: Request<SwitchModeRequest>,
    ) -> Result<Response<SwitchModeResponse>, Status> {
        self.admit_mode_rpc(Rpc::SwitchMode).await?;
        let mode = SwitchMode::try_from(request.into_inner().mode)
            .map_err(|_| Status::invalid_argument("unknown switch mode"))?;
        self.store.set_import_mode(mode == SwitchMode::Import);
        tracing::info!(store = self.store.id, ?mode, "switch mode");
        Ok(Response::new(SwitchModeResponse {}))
    }

    async fn get_mode(
        &self,
        _request: Request<GetModeRequest>,
    ) -> Result<Response<GetModeResponse>, Status> {
        self.admit_mode_rpc(Rpc::GetMode).await?;
        let import = self
            .store
            .in_import_mode(self.cluster.settings.import_mode_timeout);
        let mode = if import {
            SwitchMode::Import
        } else {
            SwitchMode::Normal
        };
        Ok(Response::new(GetModeResponse { mode: mode.into() }))
    }

    async fn ingest(
        &self,
        request: Request<IngestRequest>,
    ) -> Result<Response<IngestResponse>, Status> {
        let req = request.into_inner();
        let ssts = req.sst.into_iter().collect();
        ingest::ingest(self, Rpc::Ingest, req.context.unwrap_or_default(), ssts)
            .await
            .map(Response::new)
    }

    async fn write(
        &self,
        request: Request<Streaming<WriteRequest>>,
    ) -> Result<Response<WriteResponse>, Status> {
        write::write(self, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn multi_ingest(
        &self,
        request: Request<MultiIngestRequest>,
    ) -> Result<Response<IngestResponse>, Status> {
        let req = request.into_inner();
        ingest::ingest(
            self,
            Rpc::MultiIngest,
            req.context.unwrap_or_default(),
            req.ssts,
        )
        .await
        .map(Response::new)
    }

    type DuplicateDetectStream = duplicate::DuplicateStream;

    async fn duplicate_detect(
        &self,
        request: Request<DuplicateDetectRequest>,
    ) -> Result<Response<Self::DuplicateDetectStream>, Status> {
        duplicate::duplicate_detect(self, request.into_inner())
            .await
            .map(Response::new)
    }
}
