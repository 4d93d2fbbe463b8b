//! `Tikv.Coprocessor` with a checksum request (TiDB's `kv.ReqTypeChecksum`,
//! tp 105, payload `tipb.ChecksumRequest`, crc64-xor): the leader scans the
//! ranges of its region at the read ts and answers `tipb.ChecksumResponse`,
//! so only three numbers cross the network instead of the data.

use prost::Message as _;
use squall_codec::KvChecksum;
use squall_proto::tipb::{ChecksumAlgorithm, ChecksumRequest, ChecksumResponse, ChecksumScanOn};
use squall_proto::{coprocessor, kvrpcpb, REQ_TYPE_CHECKSUM};

use super::ImportClient;
use crate::error::ClientError;
use crate::region::RegionInfo;

const METHOD: &str = "Coprocessor";

impl ImportClient {
    /// The crc64-xor checksum, pair count and bytes of everything visible at
    /// `ts` in raw `ranges` (each inside `region`), computed by the region's
    /// leader. `scan_on` says whether the ranges are record or index ranges
    /// (TiKV only uses it for metrics). Region errors come back to the
    /// caller, who re-routes; transient failures are retried here. Each
    /// attempt may take `stream_idle_timeout`: the leader scans the whole
    /// piece before answering.
    pub async fn checksum(
        &self,
        region: &RegionInfo,
        ranges: &[(Vec<u8>, Vec<u8>)],
        scan_on: ChecksumScanOn,
        ts: u64,
    ) -> Result<KvChecksum, ClientError> {
        let peer = region.target_peer()?;
        // TiDB's gogoproto encoding writes scan_on and algorithm even at 0.
        let payload = ChecksumRequest {
            scan_on: Some(scan_on.into()),
            algorithm: Some(ChecksumAlgorithm::Crc64Xor.into()),
            ..Default::default()
        };
        let req = coprocessor::Request {
            context: Some(region.context(&peer)),
            tp: REQ_TYPE_CHECKSUM,
            data: payload.encode_to_vec(),
            start_ts: ts,
            ranges: ranges
                .iter()
                .map(|(start, end)| coprocessor::KeyRange {
                    start: start.clone(),
                    end: end.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let stub = |ch| {
            let mut c = self.tikv_stub(ch);
            let req = req.clone();
            async move { c.coprocessor(req).await }
        };
        let after = self.options().stream_idle_timeout;
        let resp = self
            .unary_within(peer.store_id, METHOD, after, stub)
            .await?;
        answer(region, resp)
    }
}

/// The checksum inside a coprocessor response, or its error classified as
/// for every region RPC: a region error for the caller to act on, a lock as
/// a key error (this client resolves no locks), `other_error` as final.
fn answer(region: &RegionInfo, resp: coprocessor::Response) -> Result<KvChecksum, ClientError> {
    if let Some(err) = resp.region_error {
        return Err(ClientError::region(METHOD, region.id(), err));
    }
    if let Some(lock) = resp.locked {
        let err = kvrpcpb::KeyError {
            locked: Some(lock),
            ..Default::default()
        };
        return Err(ClientError::key_error(METHOD, &err));
    }
    if !resp.other_error.is_empty() {
        return Err(ClientError::Protocol {
            what: "Coprocessor checksum",
            reason: format!("region {}: {}", region.id(), resp.other_error),
        });
    }
    let sum =
        ChecksumResponse::decode(resp.data.as_slice()).map_err(|e| ClientError::Protocol {
            what: "Coprocessor checksum",
            reason: format!("region {}: undecodable ChecksumResponse: {e}", region.id()),
        })?;
    Ok(KvChecksum {
        crc: sum.checksum(),
        kvs: sum.total_kvs(),
        bytes: sum.total_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use squall_proto::{errorpb, metapb};

    fn region() -> RegionInfo {
        RegionInfo::new(
            metapb::Region {
                id: 7,
                ..Default::default()
            },
            None,
        )
        .expect("unbounded region")
    }

    #[test]
    fn decodes_the_checksum() {
        let data = ChecksumResponse {
            checksum: Some(42),
            total_kvs: Some(3),
            total_bytes: Some(150),
        }
        .encode_to_vec();
        let resp = coprocessor::Response {
            data,
            ..Default::default()
        };
        let sum = answer(&region(), resp).expect("an answer");
        assert_eq!((sum.crc, sum.kvs, sum.bytes), (42, 3, 150));
    }

    #[test]
    fn classifies_errors_like_other_region_rpcs() {
        let region_error = coprocessor::Response {
            region_error: Some(errorpb::Error {
                epoch_not_match: Some(errorpb::EpochNotMatch::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = answer(&region(), region_error).expect_err("region error");
        assert!(err.retryable() && err.region_error().is_some(), "{err}");
        let unsupported = coprocessor::Response {
            other_error: "unsupported tp 103".into(),
            ..Default::default()
        };
        let err = answer(&region(), unsupported).expect_err("other error");
        assert!(!err.retryable(), "{err}");
        assert!(err.to_string().contains("unsupported tp 103"), "{err}");
        let locked = coprocessor::Response {
            locked: Some(kvrpcpb::LockInfo {
                key: b"k".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = answer(&region(), locked).expect_err("locked");
        assert!(matches!(err, ClientError::KeyError { .. }), "{err}");
    }
}
