//! PD's GC safepoint RPCs, answered from the bookkeeping in `crate::gc`
//! with PD's semantics: the GC safepoint only moves forward; a service
//! safepoint lives until its TTL ends, TTL ≤ 0 removes it, and one below
//! the current minimum is not stored (the answer's `min_safe_point` says so).

use squall_proto::pdpb::*;
use tonic::{Response, Status};

use super::PdService;
use crate::gc::{self, unix_secs};

fn internal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

impl PdService {
    pub(super) fn get_gc_safe_point_impl(
        &self,
        req: &GetGcSafePointRequest,
    ) -> Result<Response<GetGcSafePointResponse>, Status> {
        self.validate(req.header.as_ref())?;
        let safe_point = crate::util::lock(&self.cluster.gc)
            .safe_points
            .gc_safe_point;
        Ok(Response::new(GetGcSafePointResponse {
            header: self.header(),
            safe_point,
        }))
    }

    pub(super) fn update_gc_safe_point_impl(
        &self,
        req: &UpdateGcSafePointRequest,
    ) -> Result<Response<UpdateGcSafePointResponse>, Status> {
        self.validate(req.header.as_ref())?;
        let new_safe_point =
            gc::update(&self.cluster, |sp| sp.update_gc(req.safe_point)).map_err(internal)?;
        Ok(Response::new(UpdateGcSafePointResponse {
            header: self.header(),
            new_safe_point,
        }))
    }

    pub(super) fn update_service_gc_safe_point_impl(
        &self,
        req: &UpdateServiceGcSafePointRequest,
    ) -> Result<Response<UpdateServiceGcSafePointResponse>, Status> {
        self.validate(req.header.as_ref())?;
        let service_id = String::from_utf8_lossy(&req.service_id).into_owned();
        let now = unix_secs();
        let answer = gc::update(&self.cluster, |sp| {
            sp.update_service(&service_id, req.ttl, req.safe_point, now)
        })
        .map_err(internal)?;
        let resp = match answer {
            Ok(up) => {
                if up.updated {
                    tracing::debug!(service = %service_id, safe_point = req.safe_point, ttl = req.ttl, "service safepoint updated");
                } else if req.ttl > 0 {
                    tracing::info!(service = %service_id, requested = req.safe_point, min = up.min.safe_point, "service safepoint below the minimum; not stored");
                }
                UpdateServiceGcSafePointResponse {
                    header: self.header(),
                    service_id: up.min.service_id.into_bytes(),
                    ttl: up.min.expired_at.saturating_sub(now),
                    min_safe_point: up.min.safe_point,
                }
            }
            Err(e) => UpdateServiceGcSafePointResponse {
                header: self.error_header(ErrorType::Unknown, e.to_string()),
                ..Default::default()
            },
        };
        Ok(Response::new(resp))
    }
}
