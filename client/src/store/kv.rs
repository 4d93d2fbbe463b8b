//! Transactional reads of one region (`Tikv.KvGet`, `KvBatchGet`, `KvScan`),
//! sent to its leader at a read timestamp. Region errors come back to the
//! caller, who re-routes; transient failures are retried here.

use squall_proto::kvrpcpb;

use super::ImportClient;
use crate::error::ClientError;
use crate::region::RegionInfo;

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

impl ImportClient {
    /// The value of raw `key` at `ts`, `None` when absent.
    pub async fn kv_get(
        &self,
        region: &RegionInfo,
        key: &[u8],
        ts: u64,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let peer = region.target_peer()?;
        let req = kvrpcpb::GetRequest {
            context: Some(region.context(&peer)),
            key: key.to_vec(),
            version: ts,
        };
        let stub = |ch| {
            let mut c = self.tikv_stub(ch);
            let req = req.clone();
            async move { c.kv_get(req).await }
        };
        let resp = self.unary(peer.store_id, "KvGet", stub).await?;
        if let Some(err) = resp.region_error {
            return Err(ClientError::region("KvGet", region.id(), err));
        }
        if let Some(err) = &resp.error {
            return Err(ClientError::key_error("KvGet", err));
        }
        Ok((!resp.not_found).then_some(resp.value))
    }

    /// The values of `keys` (all inside `region`) at `ts`; absent keys are
    /// left out of the answer.
    pub async fn kv_batch_get(
        &self,
        region: &RegionInfo,
        keys: &[Vec<u8>],
        ts: u64,
    ) -> Result<Vec<KvPair>, ClientError> {
        let peer = region.target_peer()?;
        let req = kvrpcpb::BatchGetRequest {
            context: Some(region.context(&peer)),
            keys: keys.to_vec(),
            version: ts,
        };
        let stub = |ch| {
            let mut c = self.tikv_stub(ch);
            let req = req.clone();
            async move { c.kv_batch_get(req).await }
        };
        let resp = self.unary(peer.store_id, "KvBatchGet", stub).await?;
        if let Some(err) = resp.region_error {
            return Err(ClientError::region("KvBatchGet", region.id(), err));
        }
        if let Some(err) = &resp.error {
            return Err(ClientError::key_error("KvBatchGet", err));
        }
        pairs("KvBatchGet", resp.pairs)
    }

    /// Up to `limit` pairs of raw `[start, end)` (`end` empty = no bound) at
    /// `ts`. The caller keeps the range inside `region`.
    pub async fn kv_scan(
        &self,
        region: &RegionInfo,
        start: &[u8],
        end: &[u8],
        limit: u32,
        ts: u64,
    ) -> Result<Vec<KvPair>, ClientError> {
        let peer = region.target_peer()?;
        let req = kvrpcpb::ScanRequest {
            context: Some(region.context(&peer)),
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            limit,
            version: ts,
            ..Default::default()
        };
        let stub = |ch| {
            let mut c = self.tikv_stub(ch);
            let req = req.clone();
            async move { c.kv_scan(req).await }
        };
        let resp = self.unary(peer.store_id, "KvScan", stub).await?;
        if let Some(err) = resp.region_error {
            return Err(ClientError::region("KvScan", region.id(), err));
        }
        if let Some(err) = &resp.error {
            return Err(ClientError::key_error("KvScan", err));
        }
        pairs("KvScan", resp.pairs)
    }
}

fn pairs(method: &'static str, pairs: Vec<kvrpcpb::KvPair>) -> Result<Vec<KvPair>, ClientError> {
    pairs
        .into_iter()
        .map(|p| match &p.error {
            Some(err) => Err(ClientError::key_error(method, err)),
            None => Ok((p.key, p.value)),
        })
        .collect()
}
