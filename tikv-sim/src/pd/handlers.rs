//! One function per PD RPC.

use std::collections::BTreeMap;
use std::time::Instant;

use squall_proto::metapb;
use squall_proto::pdpb::pd_server::Pd;
use squall_proto::pdpb::*;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::{scatter, PdService};
use crate::faults::{FaultError, Rpc};
use crate::region::RegionMeta;
use crate::util::{lock, unix_millis};

/// The version stores report, so clients' version checks pass.
const TIKV_VERSION: &str = "8.5.0";

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

impl PdService {
    fn store_meta(&self, id: u64) -> Option<metapb::Store> {
        let store = self.cluster.store(id)?;
        let heartbeat_ms = if store.is_up() {
            unix_millis()
        } else {
            store.started_at * 1000
        };
        Some(metapb::Store {
            id,
            address: store.advertise.clone(),
            state: metapb::StoreState::Up.into(),
            version: TIKV_VERSION.into(),
            status_address: store.advertise.clone(),
            start_timestamp: store.started_at,
            last_heartbeat: heartbeat_ms.saturating_mul(1_000_000),
            ..Default::default()
        })
    }

    fn region_response(&self, region: Option<&RegionMeta>) -> GetRegionResponse {
        GetRegionResponse {
            header: self.header(),
            region: region.map(|r| r.region.clone()),
            leader: region.and_then(RegionMeta::leader_peer),
            ..Default::default()
        }
    }

    fn member(&self) -> Member {
        let scheme = crate::tls::scheme(self.cluster.settings.tls.is_some());
        let url = format!("{scheme}://{}", self.advertise);
        Member {
            name: "pd".into(),
            member_id: self.cluster.cluster_id ^ 0x5044,
            peer_urls: vec![url.clone()],
            client_urls: vec![url],
            binary_version: TIKV_VERSION.into(),
            ..Default::default()
        }
    }

    fn tso_stream(
        &self,
        mut inbound: Streaming<TsoRequest>,
        drop_after: Option<u64>,
    ) -> ReceiverStream<Result<TsoResponse, Status>> {
        let (tx, rx) = mpsc::channel(16);
        let svc = self.clone();
        tokio::spawn(async move {
            let mut sent = 0u64;
            loop {
                let req = match inbound.message().await {
                    Ok(Some(req)) => req,
                    Ok(None) => return,
                    Err(status) => {
                        tracing::debug!(%status, "tso stream ended");
                        return;
                    }
                };
                if drop_after.is_some_and(|n| sent >= n) {
                    let _ = tx
                        .send(Err(Status::unavailable("transport is closing")))
                        .await;
                    return;
                }
                let resp = svc
                    .validate(req.header.as_ref())
                    .and_then(|()| svc.tso_once(req.count));
                let failed = resp.is_err();
                if tx.send(resp).await.is_err() || failed {
                    return;
                }
                sent += 1;
            }
        });
        ReceiverStream::new(rx)
    }

    fn tso_once(&self, count: u32) -> Result<TsoResponse, Status> {
        let mut tso = lock(&self.cluster.tso);
        let (stamp, save) = tso
            .alloc(count, unix_millis())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if let Some(limit) = save {
            crate::meta::save_tso_limit(&self.cluster.storage, limit).map_err(internal)?;
        }
        Ok(TsoResponse {
            header: self.header(),
            count,
            timestamp: Some(Timestamp {
                physical: stamp.physical,
                logical: stamp.logical,
                suffix_bits: 0,
            }),
        })
    }

    fn split_by_keys(&self, mut keys: Vec<Vec<u8>>) -> Result<SplitRegionsResponse, Status> {
        keys.sort();
        keys.dedup();
        let total = keys.len();
        let mut state = lock(&self.cluster.state);
        let mut groups: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
        let mut done = 0usize;
        for key in keys {
            match state.regions.find(&key) {
                Some(r) if r.splits_at(&key) => groups.entry(r.id()).or_default().push(key),
                // Already a region boundary: nothing to do.
                _ => done += 1,
            }
        }
        let mut regions_id = Vec::new();
        for (id, keys) in groups {
            let out = self
                .cluster
                .split(&mut state, id, &keys)
                .map_err(internal)?;
            done += keys.len();
            regions_id.extend(out.iter().map(RegionMeta::id).filter(|r| *r != id));
        }
        let finished_percentage = (done * 100).checked_div(total).unwrap_or(100) as u64;
        Ok(SplitRegionsResponse {
            header: self.header(),
            finished_percentage,
            regions_id,
        })
    }
}

#[tonic::async_trait]
impl Pd for PdService {
    async fn get_members(
        &self,
        request: Request<GetMembersRequest>,
    ) -> Result<Response<GetMembersResponse>, Status> {
        self.admit(Rpc::GetMembers, request.get_ref().header.as_ref())
            .await?;
        let member = self.member();
        Ok(Response::new(GetMembersResponse {
            header: self.header(),
            members: vec![member.clone()],
            leader: Some(member.clone()),
            etcd_leader: Some(member),
            ..Default::default()
        }))
    }

    type TsoStream = ReceiverStream<Result<TsoResponse, Status>>;

    async fn tso(
        &self,
        request: Request<Streaming<TsoRequest>>,
    ) -> Result<Response<Self::TsoStream>, Status> {
        let decision = self.cluster.faults.decide(Rpc::Tso, None);
        decision.delay().await;
        if decision.error == Some(FaultError::Unavailable) {
            return Err(Status::unavailable("connection reset by peer"));
        }
        Ok(Response::new(
            self.tso_stream(request.into_inner(), decision.drop_after),
        ))
    }

    async fn get_store(
        &self,
        request: Request<GetStoreRequest>,
    ) -> Result<Response<GetStoreResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::GetStore, req.header.as_ref()).await?;
        let resp = match self.store_meta(req.store_id) {
            Some(store) => GetStoreResponse {
                header: self.header(),
                store: Some(store),
            },
            None => GetStoreResponse {
                header: self.error_header(
                    ErrorType::Unknown,
                    format!("invalid store ID {}, not found", req.store_id),
                ),
                store: None,
            },
        };
        Ok(Response::new(resp))
    }

    async fn get_all_stores(
        &self,
        request: Request<GetAllStoresRequest>,
    ) -> Result<Response<GetAllStoresResponse>, Status> {
        self.admit(Rpc::GetAllStores, request.get_ref().header.as_ref())
            .await?;
        let stores = self
            .cluster
            .stores
            .iter()
            .filter_map(|s| self.store_meta(s.id))
            .collect();
        Ok(Response::new(GetAllStoresResponse {
            header: self.header(),
            stores,
        }))
    }

    async fn get_region(
        &self,
        request: Request<GetRegionRequest>,
    ) -> Result<Response<GetRegionResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::GetRegion, req.header.as_ref()).await?;
        let state = lock(&self.cluster.state);
        Ok(Response::new(
            self.region_response(state.regions.find(&req.region_key)),
        ))
    }

    async fn get_region_by_id(
        &self,
        request: Request<GetRegionByIdRequest>,
    ) -> Result<Response<GetRegionResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::GetRegionById, req.header.as_ref()).await?;
        let state = lock(&self.cluster.state);
        Ok(Response::new(
            self.region_response(state.regions.get(req.region_id)),
        ))
    }

    async fn scan_regions(
        &self,
        request: Request<ScanRegionsRequest>,
    ) -> Result<Response<ScanRegionsResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::ScanRegions, req.header.as_ref()).await?;
        let state = lock(&self.cluster.state);
        let limit = usize::try_from(req.limit).unwrap_or(0);
        let found = state.regions.scan(&req.start_key, &req.end_key, limit);
        let leaders: Vec<_> = found
            .iter()
            .map(|r| r.leader_peer().unwrap_or_default())
            .collect();
        Ok(Response::new(ScanRegionsResponse {
            header: self.header(),
            region_metas: found.iter().map(|r| r.region.clone()).collect(),
            regions: found
                .iter()
                .zip(&leaders)
                .map(|(r, l)| Region {
                    region: Some(r.region.clone()),
                    leader: Some(*l),
                    ..Default::default()
                })
                .collect(),
            leaders,
        }))
    }

    async fn ask_batch_split(
        &self,
        request: Request<AskBatchSplitRequest>,
    ) -> Result<Response<AskBatchSplitResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::AskBatchSplit, req.header.as_ref()).await?;
        let Some(region) = req.region else {
            let header = self.error_header(ErrorType::Unknown, "missing region for split".into());
            return Ok(Response::new(AskBatchSplitResponse {
                header,
                ids: Vec::new(),
            }));
        };
        let mut state = lock(&self.cluster.state);
        let ids = (0..req.split_count)
            .map(|_| SplitId {
                new_region_id: state.alloc_id(),
                new_peer_ids: region.peers.iter().map(|_| state.alloc_id()).collect(),
            })
            .collect();
        self.cluster.persist(&state, &[]).map_err(internal)?;
        Ok(Response::new(AskBatchSplitResponse {
            header: self.header(),
            ids,
        }))
    }

    async fn report_batch_split(
        &self,
        request: Request<ReportBatchSplitRequest>,
    ) -> Result<Response<ReportBatchSplitResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::ReportBatchSplit, req.header.as_ref())
            .await?;
        tracing::info!(regions = req.regions.len(), "batch split reported");
        Ok(Response::new(ReportBatchSplitResponse {
            header: self.header(),
        }))
    }

    async fn scatter_region(
        &self,
        request: Request<ScatterRegionRequest>,
    ) -> Result<Response<ScatterRegionResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::ScatterRegion, req.header.as_ref()).await?;
        #[allow(deprecated)]
        let single = req
            .region
            .as_ref()
            .map(|r| r.id)
            .filter(|id| *id != 0)
            .unwrap_or(req.region_id);
        let ids = if req.regions_id.is_empty() {
            vec![single]
        } else {
            req.regions_id
        };
        let mut state = lock(&self.cluster.state);
        let missing = scatter::scatter(&self.cluster, &mut state, &ids).map_err(internal)?;
        let header = match missing.first() {
            None => self.header(),
            Some(id) => {
                self.error_header(ErrorType::RegionNotFound, format!("region {id} not found"))
            }
        };
        let finished_percentage = ((ids.len() - missing.len()) * 100 / ids.len().max(1)) as u64;
        Ok(Response::new(ScatterRegionResponse {
            header,
            finished_percentage,
        }))
    }

    async fn get_operator(
        &self,
        request: Request<GetOperatorRequest>,
    ) -> Result<Response<GetOperatorResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::GetOperator, req.header.as_ref()).await?;
        let state = lock(&self.cluster.state);
        let mut resp = GetOperatorResponse {
            region_id: req.region_id,
            ..Default::default()
        };
        if state.regions.get(req.region_id).is_none() {
            resp.header = self.error_header(
                ErrorType::RegionNotFound,
                format!("region {} not found", req.region_id),
            );
        } else if let Some(op) = state.operators.get(&req.region_id) {
            resp.header = self.header();
            resp.desc = b"scatter-region".to_vec();
            resp.kind = b"leader,region".to_vec();
            let running = Instant::now() < op.finish_at;
            resp.status = if running {
                OperatorStatus::Running
            } else {
                OperatorStatus::Success
            }
            .into();
        } else {
            resp.header = self.error_header(ErrorType::Unknown, "operator not found".into());
        }
        Ok(Response::new(resp))
    }

    async fn split_regions(
        &self,
        request: Request<SplitRegionsRequest>,
    ) -> Result<Response<SplitRegionsResponse>, Status> {
        let req = request.into_inner();
        self.admit(Rpc::SplitRegions, req.header.as_ref()).await?;
        let keys = req
            .split_keys
            .into_iter()
            .filter(|k| !k.is_empty())
            .collect();
        self.split_by_keys(keys).map(Response::new)
    }

    // GC safepoints take no injected faults: the fault rules name no such
    // RPC yet (`faults::Rpc`); the handlers check the cluster id as PD does.
    async fn get_gc_safe_point(
        &self,
        request: Request<GetGcSafePointRequest>,
    ) -> Result<Response<GetGcSafePointResponse>, Status> {
        self.get_gc_safe_point_impl(request.get_ref())
    }

    async fn update_gc_safe_point(
        &self,
        request: Request<UpdateGcSafePointRequest>,
    ) -> Result<Response<UpdateGcSafePointResponse>, Status> {
        self.update_gc_safe_point_impl(request.get_ref())
    }

    async fn update_service_gc_safe_point(
        &self,
        request: Request<UpdateServiceGcSafePointRequest>,
    ) -> Result<Response<UpdateServiceGcSafePointResponse>, Status> {
        self.update_service_gc_safe_point_impl(request.get_ref())
    }
}
