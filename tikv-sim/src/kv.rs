//! The `tikvpb.Tikv` service of a store: snapshot reads at a version
//! (KvGet, KvBatchGet, KvScan), SplitRegion, and Coprocessor (checksum
//! requests, in `coprocessor.rs`).

use squall_proto::kvrpcpb::{
    BatchGetRequest, BatchGetResponse, Context, GetRequest, GetResponse, KvPair, ScanRequest,
    ScanResponse, SplitRegionRequest, SplitRegionResponse,
};
use squall_proto::{coprocessor, errorpb, tikvpb};
use tonic::{Request, Response, Status};

use crate::faults::Rpc;
use crate::keys;
use crate::mvcc::{KeyRange, MvccError, MvccReader};
use crate::region::RegionMeta;
use crate::store::check::{check_context, check_key, EpochCheck};
use crate::store::{errors, Refusal, StoreService};
use crate::util::lock;

/// Answers a refusal the way each RPC carries it: region errors inside the
/// response, everything else as a gRPC status.
pub(crate) fn respond<T>(
    result: Result<T, Refusal>,
    with_region_error: impl FnOnce(errorpb::Error) -> T,
) -> Result<Response<T>, Status> {
    match result {
        Ok(resp) => Ok(Response::new(resp)),
        Err(Refusal::Region(e)) => Ok(Response::new(with_region_error(e))),
        Err(Refusal::Status(s)) => Err(s),
        Err(Refusal::Import(message)) => Err(Status::unknown(message)),
    }
}

/// Runs a RocksDB read off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MvccError> + Send + 'static,
) -> Result<T, Refusal> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "storage read failed");
            Err(Refusal::Status(Status::internal(e.to_string())))
        }
        Err(e) => Err(Refusal::Status(Status::internal(format!(
            "read task failed: {e}"
        )))),
    }
}

impl StoreService {
    pub(crate) fn leader_region(
        &self,
        ctx: &Context,
        check: EpochCheck,
    ) -> Result<RegionMeta, Refusal> {
        let state = lock(&self.cluster.state);
        Ok(check_context(&state, self.store.id, ctx, check, None)?)
    }

    async fn get(&self, ctx: Context, req: GetRequest) -> Result<GetResponse, Refusal> {
        self.admit(Rpc::KvGet, ctx.region_id, Some(&req.key))
            .await?;
        let region = self.leader_region(&ctx, EpochCheck::Version)?;
        let enc = check_key(&region, &req.key)?;
        let cluster = self.cluster.clone();
        let value =
            blocking(move || MvccReader::new(&cluster.storage).get(&enc, req.version)).await?;
        Ok(GetResponse {
            not_found: value.is_none(),
            value: value.unwrap_or_default(),
            ..Default::default()
        })
    }

    async fn batch_get(
        &self,
        ctx: Context,
        req: BatchGetRequest,
    ) -> Result<BatchGetResponse, Refusal> {
        self.admit(
            Rpc::KvBatchGet,
            ctx.region_id,
            req.keys.first().map(Vec::as_slice),
        )
        .await?;
        let region = self.leader_region(&ctx, EpochCheck::Version)?;
        let encoded = req
            .keys
            .iter()
            .map(|k| check_key(&region, k))
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = self.cluster.clone();
        let pairs = blocking(move || {
            let reader = MvccReader::new(&cluster.storage);
            let mut pairs = Vec::new();
            for (key, enc) in req.keys.into_iter().zip(encoded) {
                if let Some(value) = reader.get(&enc, req.version)? {
                    pairs.push(KvPair {
                        key,
                        value,
                        ..Default::default()
                    });
                }
            }
            Ok(pairs)
        })
        .await?;
        Ok(BatchGetResponse {
            pairs,
            ..Default::default()
        })
    }

    async fn scan(&self, ctx: Context, req: ScanRequest) -> Result<ScanResponse, Refusal> {
        self.admit(Rpc::KvScan, ctx.region_id, Some(&req.start_key))
            .await?;
        let region = self.leader_region(&ctx, EpochCheck::Version)?;
        let range = scan_range(&region, &req)?;
        let cluster = self.cluster.clone();
        let limit = req.limit as usize;
        let found = blocking(move || {
            MvccReader::new(&cluster.storage).scan(
                &range,
                req.version,
                limit,
                req.key_only,
                req.reverse,
            )
        })
        .await?;
        let pairs = found
            .into_iter()
            .map(|(key, value)| KvPair {
                key,
                value,
                ..Default::default()
            })
            .collect();
        Ok(ScanResponse {
            pairs,
            ..Default::default()
        })
    }

    // `split_key`, `left` and `right` are deprecated in kvproto; TiKV still
    // reads and fills them for old clients, and so does the sim.
    #[allow(deprecated)]
    async fn split(
        &self,
        ctx: Context,
        req: SplitRegionRequest,
    ) -> Result<SplitRegionResponse, Refusal> {
        self.admit(Rpc::SplitRegion, ctx.region_id, None).await?;
        let mut raw = req.split_keys;
        if raw.is_empty() && !req.split_key.is_empty() {
            raw.push(req.split_key);
        }
        if raw.is_empty() {
            return Err(errors::other(format!(
                "[region {}] no split key is specified.",
                ctx.region_id
            ))
            .into());
        }
        if raw.iter().any(Vec::is_empty) {
            return Err(errors::other("split key should not be empty".into()).into());
        }
        let mut keys: Vec<Vec<u8>> = raw
            .iter()
            .map(|k| {
                if req.is_raw_kv {
                    k.clone()
                } else {
                    keys::encode_bytes(k)
                }
            })
            .collect();
        keys.sort();
        let mut state = lock(&self.cluster.state);
        let region = check_context(&state, self.store.id, &ctx, EpochCheck::Version, None)?;
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(errors::other(format!(
                "invalid split request: duplicated split keys for region {}",
                region.id()
            ))
            .into());
        }
        if let Some(bad) = keys.iter().find(|k| !region.splits_at(k)) {
            return Err(errors::key_not_in_region(bad, &region.region).into());
        }
        let out = self
            .cluster
            .split(&mut state, region.id(), &keys)
            .map_err(|e| Refusal::Status(Status::internal(e.to_string())))?;
        let regions: Vec<_> = out.into_iter().map(|r| r.region).collect();
        Ok(SplitRegionResponse {
            left: regions.first().cloned(),
            right: regions.get(1).cloned(),
            regions,
            ..Default::default()
        })
    }
}

/// The encoded range a scan reads: the request's range cut to the region.
/// Forward scans read `[start_key, end_key)`; reverse scans read
/// `[end_key, start_key)` from the top, as TiKV's reverse scan does.
fn scan_range(region: &RegionMeta, req: &ScanRequest) -> Result<KeyRange, Refusal> {
    let r = &region.region;
    let enc = |k: &[u8]| (!k.is_empty()).then(|| keys::encode_bytes(k));
    let (low, high) = if req.reverse {
        (&req.end_key, &req.start_key)
    } else {
        (&req.start_key, &req.end_key)
    };
    if !req.reverse {
        check_key(region, &req.start_key)?;
    } else if let Some(top) = enc(high) {
        let inside = top > r.start_key && (r.end_key.is_empty() || top <= r.end_key);
        if !inside {
            return Err(errors::key_not_in_region(high, r).into());
        }
    }
    let lower = enc(low).map_or_else(|| r.start_key.clone(), |l| l.max(r.start_key.clone()));
    let region_end = (!r.end_key.is_empty()).then(|| r.end_key.clone());
    let upper = match (enc(high), region_end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(KeyRange { lower, upper })
}

#[tonic::async_trait]
impl tikvpb::tikv_server::Tikv for StoreService {
    async fn kv_get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let mut req = request.into_inner();
        let ctx = req.context.take().unwrap_or_default();
        respond(self.get(ctx, req).await, |e| GetResponse {
            region_error: Some(e),
            ..Default::default()
        })
    }

    async fn kv_scan(
        &self,
        request: Request<ScanRequest>,
    ) -> Result<Response<ScanResponse>, Status> {
        let mut req = request.into_inner();
        let ctx = req.context.take().unwrap_or_default();
        respond(self.scan(ctx, req).await, |e| ScanResponse {
            region_error: Some(e),
            ..Default::default()
        })
    }

    async fn kv_batch_get(
        &self,
        request: Request<BatchGetRequest>,
    ) -> Result<Response<BatchGetResponse>, Status> {
        let mut req = request.into_inner();
        let ctx = req.context.take().unwrap_or_default();
        respond(self.batch_get(ctx, req).await, |e| BatchGetResponse {
            region_error: Some(e),
            ..Default::default()
        })
    }

    async fn coprocessor(
        &self,
        request: Request<coprocessor::Request>,
    ) -> Result<Response<coprocessor::Response>, Status> {
        respond(self.serve_coprocessor(request.into_inner()).await, |e| {
            coprocessor::Response {
                region_error: Some(e),
                ..Default::default()
            }
        })
    }

    async fn split_region(
        &self,
        request: Request<SplitRegionRequest>,
    ) -> Result<Response<SplitRegionResponse>, Status> {
        let mut req = request.into_inner();
        let ctx = req.context.take().unwrap_or_default();
        respond(self.split(ctx, req).await, |e| SplitRegionResponse {
            region_error: Some(e),
            ..Default::default()
        })
    }
}
