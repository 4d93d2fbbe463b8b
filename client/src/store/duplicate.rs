//! `ImportSST.DuplicateDetect`: a server stream of key versions newer than
//! `min_commit_ts` that collide with another version of the same key.

use std::time::Duration;

use squall_proto::import_sstpb::{self, DuplicateDetectRequest, DuplicateDetectResponse};
use squall_proto::kvrpcpb;
use tokio_stream::StreamExt as _;

use super::ImportClient;
use crate::error::ClientError;

/// An open DuplicateDetect stream over one region.
pub struct DuplicateStream {
    addr: String,
    region_id: u64,
    timeout: Duration,
    inner: tonic::codec::Streaming<DuplicateDetectResponse>,
}

impl ImportClient {
    /// Starts DuplicateDetect over raw `[start, end)` (`end` empty = the
    /// region's end) of the region in `context`, on `store_id` (its leader).
    /// Opening is retried while the failure is transient.
    pub async fn duplicate_detect(
        &self,
        store_id: u64,
        context: kvrpcpb::Context,
        start: &[u8],
        end: &[u8],
        min_commit_ts: u64,
        key_only: bool,
    ) -> Result<DuplicateStream, ClientError> {
        let region_id = context.region_id;
        let req = DuplicateDetectRequest {
            context: Some(context),
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            key_only,
            min_commit_ts,
        };
        let stub = |ch| {
            let mut c = self.import_stub(ch);
            let req = req.clone();
            async move { c.duplicate_detect(req).await }
        };
        let addr = self.pd().store_address(store_id).await?;
        let inner = self.unary(store_id, "DuplicateDetect", stub).await?;
        Ok(DuplicateStream {
            addr,
            region_id,
            timeout: self.options().stream_idle_timeout,
            inner,
        })
    }
}

impl DuplicateStream {
    /// The next batch of duplicate versions (sorted by key, then commit ts
    /// descending), or `None` at the end. Region errors and key errors (a
    /// newer Delete in the range) end the stream as errors.
    pub async fn next(&mut self) -> Result<Option<Vec<import_sstpb::KvPair>>, ClientError> {
        loop {
            let msg = match tokio::time::timeout(self.timeout, self.inner.next()).await {
                Ok(Some(Ok(msg))) => msg,
                Ok(Some(Err(status))) => {
                    return Err(ClientError::rpc("DuplicateDetect", &self.addr, status))
                }
                Ok(None) => return Ok(None),
                Err(_) => {
                    return Err(ClientError::Timeout {
                        method: "DuplicateDetect",
                        addr: self.addr.clone(),
                        after: self.timeout,
                    })
                }
            };
            if let Some(err) = msg.region_error {
                return Err(ClientError::region("DuplicateDetect", self.region_id, err));
            }
            if let Some(err) = msg.key_error {
                return Err(ClientError::KeyError {
                    method: "DuplicateDetect",
                    message: err.message,
                });
            }
            if !msg.pairs.is_empty() {
                return Ok(Some(msg.pairs));
            }
        }
    }
}
