//! Thin helpers over the generated kvproto clients, for tests that drive a
//! PD + TiKV cluster (tikv-sim, or a real one) through its gRPC API only.
//! Key encoding is implemented here independently of the code under test.

use std::time::Duration;

use squall_proto::import_sstpb::import_sst_client::ImportSstClient;
use squall_proto::import_sstpb::{
    self, pair, write_request, SstMeta, WriteBatch, WriteRequest, WriteResponse,
};
use squall_proto::kvrpcpb::Context;
use squall_proto::metapb;
use squall_proto::pdpb::pd_client::PdClient;
use squall_proto::pdpb::{self, RequestHeader};
use squall_proto::tikvpb::tikv_client::TikvClient;
use tonic::transport::Channel;
use tonic::Status;

/// Memcomparable `EncodeBytes` (TiDB codec), as PD region boundaries use.
pub fn encode_key(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in raw.chunks(8).chain(if raw.len().is_multiple_of(8) {
        Some(&[][..])
    } else {
        None
    }) {
        let mut group = [0u8; 8];
        group[..chunk.len()].copy_from_slice(chunk);
        out.extend_from_slice(&group);
        out.push(if chunk.len() == 8 {
            0xFF
        } else {
            0xFF - (8 - chunk.len()) as u8
        });
    }
    out
}

/// A channel to `addr` (`host:port`) with connect and request timeouts.
pub async fn channel(addr: &str) -> Result<Channel, String> {
    Channel::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("bad address {addr}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

/// A PD client that knows the cluster id.
pub struct Pd {
    pub client: PdClient<Channel>,
    pub cluster_id: u64,
}

impl Pd {
    pub async fn connect(addr: &str) -> Result<Self, String> {
        let mut client = PdClient::new(channel(addr).await?);
        let members = client
            .get_members(pdpb::GetMembersRequest::default())
            .await
            .map_err(|s| format!("GetMembers: {s}"))?
            .into_inner();
        let cluster_id = members
            .header
            .map(|h| h.cluster_id)
            .ok_or("GetMembers without header")?;
        Ok(Pd { client, cluster_id })
    }

    pub fn header(&self) -> Option<RequestHeader> {
        Some(RequestHeader {
            cluster_id: self.cluster_id,
            sender_id: 0,
        })
    }

    /// The region holding raw key `raw`, and its leader.
    pub async fn region_of(&mut self, raw: &[u8]) -> (metapb::Region, metapb::Peer) {
        let req = pdpb::GetRegionRequest {
            header: self.header(),
            region_key: encode_key(raw),
            need_buckets: false,
        };
        let resp = self
            .client
            .get_region(req)
            .await
            .expect("GetRegion")
            .into_inner();
        (resp.region.expect("region"), resp.leader.expect("leader"))
    }

    pub async fn region_by_id(&mut self, id: u64) -> (metapb::Region, metapb::Peer) {
        let req = pdpb::GetRegionByIdRequest {
            header: self.header(),
            region_id: id,
            need_buckets: false,
        };
        let resp = self
            .client
            .get_region_by_id(req)
            .await
            .expect("GetRegionByID")
            .into_inner();
        (resp.region.expect("region"), resp.leader.expect("leader"))
    }

    pub async fn store_addr(&mut self, store_id: u64) -> String {
        let req = pdpb::GetStoreRequest {
            header: self.header(),
            store_id,
        };
        self.client
            .get_store(req)
            .await
            .expect("GetStore")
            .into_inner()
            .store
            .expect("store")
            .address
    }

    /// Regions overlapping raw `[start, end)` (`end` empty = +inf).
    pub async fn scan(&mut self, start: &[u8], end: &[u8], limit: i32) -> Vec<pdpb::Region> {
        let end = if end.is_empty() {
            Vec::new()
        } else {
            encode_key(end)
        };
        let req = pdpb::ScanRegionsRequest {
            header: self.header(),
            start_key: encode_key(start),
            end_key: end,
            limit,
        };
        self.client
            .scan_regions(req)
            .await
            .expect("ScanRegions")
            .into_inner()
            .regions
    }

    /// One timestamp from the TSO stream.
    pub async fn tso(&mut self) -> u64 {
        let req = pdpb::TsoRequest {
            header: self.header(),
            count: 1,
            dc_location: String::new(),
        };
        let mut stream = self
            .client
            .tso(tokio_stream::iter(vec![req]))
            .await
            .expect("Tso")
            .into_inner();
        let resp = stream
            .message()
            .await
            .expect("Tso response")
            .expect("one response");
        let ts = resp.timestamp.expect("timestamp");
        ((ts.physical as u64) << 18) | ts.logical as u64
    }
}

/// Tikv and ImportSST clients of the store at `addr`.
pub async fn store_clients(addr: &str) -> (TikvClient<Channel>, ImportSstClient<Channel>) {
    let ch = channel(addr).await.expect("store channel");
    (TikvClient::new(ch.clone()), ImportSstClient::new(ch))
}

pub fn context(region: &metapb::Region, peer: &metapb::Peer) -> Context {
    Context {
        region_id: region.id,
        region_epoch: region.region_epoch,
        peer: Some(*peer),
        ..Default::default()
    }
}

/// A fresh SSTMeta for `region` covering raw keys `first..=last`.
pub fn sst_meta(region: &metapb::Region, first: &[u8], last: &[u8]) -> SstMeta {
    SstMeta {
        uuid: uuid::Uuid::new_v4().as_bytes().to_vec(),
        region_id: region.id,
        region_epoch: region.region_epoch,
        range: Some(import_sstpb::Range {
            start: encode_key(first),
            end: encode_key(last),
        }),
        ..Default::default()
    }
}

pub fn put(key: &[u8], value: &[u8]) -> import_sstpb::Pair {
    import_sstpb::Pair {
        key: key.to_vec(),
        value: value.to_vec(),
        op: pair::Op::Put.into(),
    }
}

pub fn delete(key: &[u8]) -> import_sstpb::Pair {
    import_sstpb::Pair {
        key: key.to_vec(),
        value: Vec::new(),
        op: pair::Op::Delete.into(),
    }
}

/// Streams one Write: the meta, then `batches`.
pub async fn write(
    client: &mut ImportSstClient<Channel>,
    meta: SstMeta,
    batches: Vec<WriteBatch>,
) -> Result<WriteResponse, Status> {
    let mut msgs = vec![WriteRequest {
        chunk: Some(write_request::Chunk::Meta(meta)),
        context: None,
    }];
    msgs.extend(batches.into_iter().map(|b| WriteRequest {
        chunk: Some(write_request::Chunk::Batch(b)),
        context: None,
    }));
    client
        .write(tokio_stream::iter(msgs))
        .await
        .map(|r| r.into_inner())
}

/// Imports sorted `pairs` at `commit_ts` into the region holding the first
/// key, the way Lightning does: Write to every peer, MultiIngest the
/// leader's metas on the leader. Returns the ingest's region error, if any.
pub async fn import(
    pd: &mut Pd,
    pairs: Vec<import_sstpb::Pair>,
    commit_ts: u64,
) -> Result<(), String> {
    let first = pairs.first().ok_or("nothing to import")?.key.clone();
    let last = pairs.last().map(|p| p.key.clone()).unwrap_or_default();
    let (region, leader) = pd.region_of(&first).await;
    let meta = sst_meta(&region, &first, &last);
    let mut leader_metas = Vec::new();
    for peer in &region.peers {
        let addr = pd.store_addr(peer.store_id).await;
        let (_, mut import) = store_clients(&addr).await;
        let batch = WriteBatch {
            commit_ts,
            pairs: pairs.clone(),
        };
        let resp = write(&mut import, meta.clone(), vec![batch])
            .await
            .map_err(|s| format!("Write to store {}: {s}", peer.store_id))?;
        if let Some(e) = resp.error {
            return Err(format!("Write to store {}: {}", peer.store_id, e.message));
        }
        if peer.store_id == leader.store_id {
            leader_metas = resp.metas;
        }
    }
    let addr = pd.store_addr(leader.store_id).await;
    let (_, mut import) = store_clients(&addr).await;
    let req = import_sstpb::MultiIngestRequest {
        context: Some(context(&region, &leader)),
        ssts: leader_metas,
    };
    let resp = import
        .multi_ingest(req)
        .await
        .map_err(|s| format!("MultiIngest: {s}"))?
        .into_inner();
    match resp.error {
        None => Ok(()),
        Some(e) => Err(format!("MultiIngest: {e:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_tidb() {
        assert_eq!(encode_key(b""), [0, 0, 0, 0, 0, 0, 0, 0, 0xF7]);
        assert_eq!(encode_key(&[1, 2, 3]), [1, 2, 3, 0, 0, 0, 0, 0, 0xFA]);
        assert_eq!(
            encode_key(&[1; 8]),
            [1, 1, 1, 1, 1, 1, 1, 1, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0xF7]
        );
    }
}
