//! Scatter (PD moves the peers and leaders of new regions across stores) and
//! the operator status used to wait for it.

use squall_proto::pdpb;

use super::PdClient;
use crate::error::{ClientError, PdErrorKind};
use crate::region::RegionInfo;

/// What PD is doing to a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorState {
    /// No operator (PD answers REGION_NOT_FOUND): nothing pending.
    None,
    /// An operator is running; `desc` names it ("scatter-region", ...).
    Running { desc: String },
    /// The last operator ended (success, timeout, cancel or replace).
    Finished {
        desc: String,
        status: pdpb::OperatorStatus,
    },
}

impl OperatorState {
    /// True while a scatter of the region is still running.
    pub fn is_scattering(&self) -> bool {
        matches!(self, Self::Running { desc } if desc == "scatter-region")
    }
}

impl PdClient {
    /// Asks PD to scatter one region (its peers and leader over the stores).
    pub async fn scatter_region(&self, region: &RegionInfo) -> Result<(), ClientError> {
        let (meta, leader, id) = (region.region.clone(), region.leader, region.id());
        self.call("PD ScatterRegion", |mut c, header| {
            #[allow(deprecated)]
            let req = pdpb::ScatterRegionRequest {
                header,
                region_id: id,
                region: Some(meta.clone()),
                leader,
                ..Default::default()
            };
            async move { c.scatter_region(req).await }
        })
        .await
        .map(|_| ())
    }

    /// Asks PD to scatter several regions at once; returns PD's finished
    /// percentage (100 when every region was scheduled).
    pub async fn scatter_regions(&self, ids: &[u64]) -> Result<u64, ClientError> {
        let resp = self
            .call("PD ScatterRegion", |mut c, header| {
                let req = pdpb::ScatterRegionRequest {
                    header,
                    regions_id: ids.to_vec(),
                    retry_limit: 3,
                    ..Default::default()
                };
                async move { c.scatter_region(req).await }
            })
            .await?;
        Ok(resp.finished_percentage)
    }

    /// The operator PD runs (or last ran) on region `id`.
    pub async fn get_operator(&self, id: u64) -> Result<OperatorState, ClientError> {
        let resp = self
            .call("PD GetOperator", |mut c, header| async move {
                c.get_operator(pdpb::GetOperatorRequest {
                    header,
                    region_id: id,
                })
                .await
            })
            .await;
        let resp = match resp {
            Ok(resp) => resp,
            Err(ClientError::Pd {
                kind: PdErrorKind::RegionNotFound,
                ..
            }) => return Ok(OperatorState::None),
            Err(err) => return Err(err),
        };
        let desc = String::from_utf8_lossy(&resp.desc).into_owned();
        let status =
            pdpb::OperatorStatus::try_from(resp.status).unwrap_or(pdpb::OperatorStatus::Success);
        Ok(match status {
            pdpb::OperatorStatus::Running => OperatorState::Running { desc },
            pdpb::OperatorStatus::Success
            | pdpb::OperatorStatus::Timeout
            | pdpb::OperatorStatus::Cancel
            | pdpb::OperatorStatus::Replace => OperatorState::Finished { desc, status },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_running_scatter_counts_as_scattering() {
        assert!(OperatorState::Running {
            desc: "scatter-region".into()
        }
        .is_scattering());
        assert!(!OperatorState::Running {
            desc: "balance-leader".into()
        }
        .is_scattering());
        assert!(!OperatorState::None.is_scattering());
        let done = OperatorState::Finished {
            desc: "scatter-region".into(),
            status: pdpb::OperatorStatus::Success,
        };
        assert!(!done.is_scattering());
    }
}
