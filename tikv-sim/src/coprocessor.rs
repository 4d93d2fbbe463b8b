//! `Tikv.Coprocessor`, checksum requests only (tp 105, TiDB's
//! `kv.ReqTypeChecksum`), answered as TiKV's `coprocessor/endpoint.rs` and
//! `coprocessor/checksum.rs` do:
//!
//! * the request type is parsed first: any other type (DAG, analyze, ...)
//!   gets `other_error` "unsupported tp N", never an answer the sim cannot
//!   compute;
//! * then the region is checked as for every read (leader, epoch version,
//!   every range inside the region, else a region error);
//! * then every visible KV of the ranges at `start_ts` (the request's, else
//!   the checksum request's deprecated `start_ts_fallback`) is hashed:
//!   `checksum ^= crc64(old_prefix ‖ key[new_prefix..] ‖ value)` with
//!   crc64fast's CRC-64/XZ over the raw user key (not memcomparable) and the
//!   value; `total_kvs` counts pairs and `total_bytes` sums key and value
//!   lengths (adjusted by a rewrite rule's prefix difference).

use std::ops::ControlFlow;

use prost::Message as _;
use squall_proto::coprocessor::{KeyRange as PbRange, Request, Response};
use squall_proto::tipb::{ChecksumAlgorithm, ChecksumRequest, ChecksumResponse};
use squall_proto::REQ_TYPE_CHECKSUM;

use crate::faults::Rpc;
use crate::keys;
use crate::kv::blocking;
use crate::mvcc::{KeyRange, MvccError, MvccReader};
use crate::region::RegionMeta;
use crate::store::check::{check_key, EpochCheck};
use crate::store::{errors, Refusal, StoreService};

/// A checksum request the sim can run: its ranges (encoded, inside the
/// region), the read ts and the prefix rewrite rule.
struct ChecksumJob {
    ranges: Vec<KeyRange>,
    start_ts: u64,
    old_prefix: Vec<u8>,
    new_prefix: Vec<u8>,
}

/// Why the answer is an `other_error` (TiKV's `Error::Other` text).
struct OtherError(String);

impl StoreService {
    /// Serves one coprocessor request: region errors come back as
    /// `Err(Refusal)` (the caller puts them in `region_error`); request
    /// errors as a response carrying `other_error`.
    pub(crate) async fn serve_coprocessor(&self, mut req: Request) -> Result<Response, Refusal> {
        let ctx = req.context.take().unwrap_or_default();
        let first = req.ranges.first().map(|r| r.start.clone());
        self.admit(Rpc::Coprocessor, ctx.region_id, first.as_deref())
            .await?;
        let mut checksum = match parse(&req) {
            Ok(c) => c,
            Err(OtherError(message)) => return Ok(other_error(message)),
        };
        let region = self.leader_region(&ctx, EpochCheck::Version)?;
        let ranges = req
            .ranges
            .iter()
            .map(|r| range_in_region(&region, r))
            .collect::<Result<Vec<_>, _>>()?;
        let rule = checksum.rule.take().unwrap_or_default();
        let job = ChecksumJob {
            ranges,
            start_ts: match req.start_ts {
                0 => checksum.start_ts_fallback(),
                ts => ts,
            },
            old_prefix: rule.old_prefix.unwrap_or_default(),
            new_prefix: rule.new_prefix.unwrap_or_default(),
        };
        let cluster = self.cluster.clone();
        let answer = blocking(move || job.run(&MvccReader::new(&cluster.storage))).await?;
        Ok(match answer {
            Ok(resp) => Response {
                data: resp.encode_to_vec(),
                ..Default::default()
            },
            Err(OtherError(message)) => other_error(message),
        })
    }
}

/// The checksum request inside `req`, or the error TiKV gives for it.
fn parse(req: &Request) -> Result<ChecksumRequest, OtherError> {
    if req.tp != REQ_TYPE_CHECKSUM {
        return Err(OtherError(format!("unsupported tp {}", req.tp)));
    }
    let checksum = ChecksumRequest::decode(req.data.as_slice())
        .map_err(|e| OtherError(format!("failed to parse ChecksumRequest: {e}")))?;
    let algorithm = checksum.algorithm.unwrap_or_default();
    if algorithm != ChecksumAlgorithm::Crc64Xor as i32 {
        return Err(OtherError(format!(
            "unknown checksum algorithm {algorithm}"
        )));
    }
    Ok(checksum)
}

fn other_error(message: String) -> Response {
    Response {
        other_error: message,
        ..Default::default()
    }
}

/// The encoded form of raw `[start, end)`, which must lie inside `region`
/// (TiDB cuts its ranges at region boundaries; TiKV's region snapshot
/// refuses keys outside with KeyNotInRegion). An empty `end` means +∞ and
/// fits only the last region.
fn range_in_region(region: &RegionMeta, r: &PbRange) -> Result<KeyRange, Refusal> {
    let lower = check_key(region, &r.start)?;
    let region_end = &region.region.end_key;
    let upper = match r.end.is_empty() {
        true => None,
        false => Some(keys::encode_bytes(&r.end)),
    };
    let inside = match (&upper, region_end.is_empty()) {
        (_, true) => true,
        (Some(upper), false) => upper <= region_end,
        (None, false) => false,
    };
    if !inside {
        return Err(errors::key_not_in_region(&r.end, &region.region).into());
    }
    Ok(KeyRange { lower, upper })
}

impl ChecksumJob {
    /// Hashes every visible pair of the ranges, as TiKV's `ChecksumContext`.
    /// A key without the rule's new prefix is TiKV's "Wrong prefix" error.
    fn run(
        &self,
        reader: &MvccReader<'_>,
    ) -> Result<Result<ChecksumResponse, OtherError>, MvccError> {
        let mut prefix = crc64fast::Digest::new();
        prefix.write(&self.old_prefix);
        let (mut checksum, mut kvs, mut bytes) = (0u64, 0u64, 0u64);
        let mut wrong_prefix = false;
        for range in &self.ranges {
            reader.for_each_visible(range, self.start_ts, false, |key, value| {
                let Some(suffix) = key.strip_prefix(self.new_prefix.as_slice()) else {
                    wrong_prefix = true;
                    return ControlFlow::Break(());
                };
                let mut digest = prefix.clone();
                digest.write(suffix);
                digest.write(value);
                checksum ^= digest.sum64();
                kvs += 1;
                bytes += (self.old_prefix.len() + suffix.len() + value.len()) as u64;
                ControlFlow::Continue(())
            })?;
            if wrong_prefix {
                let expected = &self.new_prefix;
                return Ok(Err(OtherError(format!(
                    "Wrong prefix expect: {expected:?}"
                ))));
            }
        }
        Ok(Ok(ChecksumResponse {
            checksum: Some(checksum),
            total_kvs: Some(kvs),
            total_bytes: Some(bytes),
        }))
    }
}
