//! PD's GC safepoints: the cluster-wide GC safepoint (TiKV may drop
//! versions below it) and service safepoints, with which a job keeps the
//! versions it still reads (`UpdateServiceGCSafePoint`, as Lightning, BR
//! and TiCDC register theirs).

use squall_proto::pdpb;

use super::{HasHeader, PdClient};
use crate::error::ClientError;

/// PD's answer to a service safepoint update: the smallest live service
/// safepoint after the call. The caller's safepoint was stored only if it is
/// not below `min_safe_point` (PD refuses a safepoint below the minimum
/// without an error, since the versions it asks for may be gone already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSafePoint {
    /// The service holding the minimum.
    pub min_service_id: String,
    /// Seconds left of that service's TTL (`i64::MAX`-ish for `gc_worker`).
    pub min_ttl_secs: i64,
    pub min_safe_point: u64,
}

impl PdClient {
    /// `UpdateServiceGCSafePoint`: keep versions at and above `safe_point`
    /// for `ttl_secs` for service `service_id`; `ttl_secs <= 0` removes the
    /// service's safepoint. Retried with backoff (the call is idempotent).
    pub async fn update_service_gc_safe_point(
        &self,
        service_id: &str,
        ttl_secs: i64,
        safe_point: u64,
    ) -> Result<ServiceSafePoint, ClientError> {
        let id = service_id.as_bytes().to_vec();
        let resp = self
            .call("PD UpdateServiceGCSafePoint", |mut c, header| {
                let id = id.clone();
                async move {
                    c.update_service_gc_safe_point(pdpb::UpdateServiceGcSafePointRequest {
                        header,
                        service_id: id,
                        ttl: ttl_secs,
                        safe_point,
                    })
                    .await
                }
            })
            .await?;
        Ok(ServiceSafePoint {
            min_service_id: String::from_utf8_lossy(&resp.service_id).into_owned(),
            min_ttl_secs: resp.ttl,
            min_safe_point: resp.min_safe_point,
        })
    }

    /// `GetGCSafePoint`: the version below which TiKV may have collected
    /// old versions.
    pub async fn gc_safe_point(&self) -> Result<u64, ClientError> {
        let resp = self
            .call("PD GetGCSafePoint", |mut c, header| async move {
                c.get_gc_safe_point(pdpb::GetGcSafePointRequest { header })
                    .await
            })
            .await?;
        Ok(resp.safe_point)
    }
}

impl HasHeader for pdpb::UpdateServiceGcSafePointResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}

impl HasHeader for pdpb::GetGcSafePointResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
