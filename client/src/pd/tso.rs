//! Timestamps from PD's TSO: the commit ts of an engine and the read ts of
//! exports and checksums.

use squall_proto::pdpb;
use tokio_stream::StreamExt as _;

use super::{check_header, PdClient};
use crate::error::ClientError;
use crate::retry::retry;

/// Bits of a TiDB timestamp that hold the logical counter.
pub const LOGICAL_BITS: u32 = 18;

/// Composes a TiDB timestamp: milliseconds since the epoch, then 18 logical bits.
pub fn compose_ts(physical_ms: i64, logical: i64) -> u64 {
    ((physical_ms as u64) << LOGICAL_BITS) | (logical as u64 & ((1 << LOGICAL_BITS) - 1))
}

impl PdClient {
    /// A fresh timestamp from PD (strictly greater than any handed out before).
    pub async fn tso(&self) -> Result<u64, ClientError> {
        retry("PD Tso", &self.inner.opts.retry, || self.tso_once()).await
    }

    async fn tso_once(&self) -> Result<u64, ClientError> {
        let leader = self.leader();
        let req = pdpb::TsoRequest {
            header: Self::header(&leader),
            count: 1,
            dc_location: String::new(),
        };
        let timeout = self.inner.opts.rpc_timeout;
        let attempt = async {
            let mut client = leader.client.clone();
            let resp = client
                .tso(tokio_stream::once(req))
                .await
                .map_err(|s| ClientError::rpc("Tso", &leader.url, s))?;
            let mut stream = resp.into_inner();
            match stream.next().await {
                Some(Ok(msg)) => Ok(msg),
                Some(Err(s)) => Err(ClientError::rpc("Tso", &leader.url, s)),
                None => Err(ClientError::Protocol {
                    what: "PD Tso",
                    reason: "stream ended without a timestamp".into(),
                }),
            }
        };
        let result = match tokio::time::timeout(timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                method: "Tso",
                addr: leader.url.clone(),
                after: timeout,
            }),
        };
        let msg = match result {
            Ok(msg) => msg,
            Err(err) => {
                if err.retryable() {
                    self.reconnect(&leader.url, &err).await;
                }
                return Err(err);
            }
        };
        check_header("Tso", msg.header.as_ref())?;
        let ts = msg.timestamp.ok_or(ClientError::Protocol {
            what: "PD Tso",
            reason: "no timestamp in the answer".into(),
        })?;
        // With count = 1 the answer's logical part is the one timestamp we own.
        Ok(compose_ts(ts.physical, ts.logical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_like_tidb() {
        assert_eq!(compose_ts(1, 0), 1 << 18);
        assert_eq!(
            compose_ts(1_700_000_000_000, 5),
            (1_700_000_000_000u64 << 18) | 5
        );
        assert!(compose_ts(2, 0) > compose_ts(1, (1 << 18) - 1));
    }
}
