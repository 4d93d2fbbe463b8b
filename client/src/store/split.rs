//! Batch split through TiKV's `SplitRegion` on the region leader, as
//! Lightning does: split keys are raw; TiKV encodes them.

use squall_proto::kvrpcpb;

use super::ImportClient;
use crate::error::ClientError;
use crate::region::RegionInfo;

impl ImportClient {
    /// Splits `region` at raw `keys` (sorted, each strictly inside the
    /// region). Returns every resulting region, in key order. The new
    /// regions' leader is guessed to be on the old leader's store (where TiKV
    /// puts it right after a split); a wrong guess costs one NotLeader.
    pub async fn split_region(
        &self,
        region: &RegionInfo,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<RegionInfo>, ClientError> {
        let peer = region.target_peer()?;
        let req = kvrpcpb::SplitRegionRequest {
            context: Some(region.context(&peer)),
            split_keys: keys,
            ..Default::default()
        };
        let stub = |ch| {
            let mut c = self.tikv_stub(ch);
            let req = req.clone();
            async move { c.split_region(req).await }
        };
        let resp = self.unary(peer.store_id, "SplitRegion", stub).await?;
        if let Some(err) = resp.region_error {
            return Err(ClientError::region("SplitRegion", region.id(), err));
        }
        let mut regions = resp
            .regions
            .into_iter()
            .map(|r| {
                let leader = r
                    .peers
                    .iter()
                    .find(|p| p.store_id == peer.store_id)
                    .cloned();
                RegionInfo::new(r, leader)
            })
            .collect::<Result<Vec<_>, _>>()?;
        regions.sort_by(|a, b| a.start.cmp(&b.start));
        Ok(regions)
    }
}
