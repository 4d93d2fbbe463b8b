//! tikv-sim's `Tikv.Coprocessor` through the raw kvproto API, checked
//! against TiKV's behaviour: crc64-xor of raw key ‖ value at the request's
//! start ts (golden values of Lightning's `KVChecksum`), the rewrite rule,
//! region checks (follower, stale epoch, range outside the region) and the
//! "unsupported tp" answer to request types it does not implement.
#![allow(clippy::unwrap_used)]

use prost::Message as _;
use squall_proto::coprocessor::{KeyRange, Request, Response};
use squall_proto::kvrpcpb::SplitRegionRequest;
use squall_proto::metapb;
use squall_proto::tipb::{
    ChecksumAlgorithm, ChecksumRequest, ChecksumResponse, ChecksumRewriteRule, ChecksumScanOn,
};
use squall_proto::{REQ_TYPE_CHECKSUM, REQ_TYPE_DAG};
use squall_tests::kvproto::{self, context, store_clients, Pd};
use squall_tests::sim::start_sim;

fn checksum_request(rule: Option<ChecksumRewriteRule>) -> Vec<u8> {
    ChecksumRequest {
        scan_on: Some(ChecksumScanOn::Table.into()),
        algorithm: Some(ChecksumAlgorithm::Crc64Xor.into()),
        rule,
        ..Default::default()
    }
    .encode_to_vec()
}

fn request(
    region: &metapb::Region,
    peer: &metapb::Peer,
    tp: i64,
    data: Vec<u8>,
    range: (&[u8], &[u8]),
    ts: u64,
) -> Request {
    Request {
        context: Some(context(region, peer)),
        tp,
        data,
        start_ts: ts,
        ranges: vec![KeyRange {
            start: range.0.to_vec(),
            end: range.1.to_vec(),
        }],
        ..Default::default()
    }
}

async fn send(pd: &mut Pd, store_id: u64, req: Request) -> Response {
    let addr = pd.store_addr(store_id).await;
    let (mut tikv, _) = store_clients(&addr).await;
    tikv.coprocessor(req).await.unwrap().into_inner()
}

fn sums(resp: &Response) -> (u64, u64, u64) {
    assert!(resp.region_error.is_none(), "{:?}", resp.region_error);
    assert_eq!(resp.other_error, "");
    let c = ChecksumResponse::decode(resp.data.as_slice()).unwrap();
    (c.checksum(), c.total_kvs(), c.total_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coprocessor_checksum_answers_as_tikv() {
    let work = tempfile::tempdir().unwrap();
    let sim = start_sim(work.path()).await;
    let mut pd = Pd::connect(&sim.pd_addr.to_string()).await.unwrap();
    let before = pd.tso().await;
    let imported = pd.tso().await;
    let pairs = vec![kvproto::put(b"key", b"val"), kvproto::put(b"kez", b"")];
    kvproto::import(&mut pd, pairs, imported).await.unwrap();
    let after = pd.tso().await;
    let (region, leader) = pd.region_of(b"key").await;
    let table = (&b"k"[..], &b"l"[..]);
    let data = checksum_request(None);

    // Lightning's golden value: crc64(key ‖ val) = 0xCDD3164F62DB81E0; an
    // empty value hashes the key alone.
    let req = request(
        &region,
        &leader,
        REQ_TYPE_CHECKSUM,
        data.clone(),
        table,
        after,
    );
    let (crc, kvs, bytes) = sums(&send(&mut pd, leader.store_id, req).await);
    let kez = squall_codec::checksum::kv_crc64(b"kez", b"");
    assert_eq!((crc, kvs, bytes), (0xCDD3_164F_62DB_81E0 ^ kez, 2, 9));

    // MVCC: the snapshot before the import has nothing.
    let req = request(
        &region,
        &leader,
        REQ_TYPE_CHECKSUM,
        data.clone(),
        table,
        before,
    );
    assert_eq!(sums(&send(&mut pd, leader.store_id, req).await), (0, 0, 0));

    // A rewrite rule hashes old_prefix ‖ key[new_prefix..] ‖ value.
    let rule = |new: &[u8]| ChecksumRewriteRule {
        old_prefix: Some(b"K".to_vec()),
        new_prefix: Some(new.to_vec()),
    };
    let only_key = (&b"key"[..], &b"kez"[..]);
    let req = request(
        &region,
        &leader,
        REQ_TYPE_CHECKSUM,
        checksum_request(Some(rule(b"k"))),
        only_key,
        after,
    );
    let expected = squall_codec::checksum::kv_crc64(b"Key", b"val");
    assert_eq!(
        sums(&send(&mut pd, leader.store_id, req).await),
        (expected, 1, 6)
    );
    let req = request(
        &region,
        &leader,
        REQ_TYPE_CHECKSUM,
        checksum_request(Some(rule(b"x"))),
        only_key,
        after,
    );
    let resp = send(&mut pd, leader.store_id, req).await;
    assert!(
        resp.other_error.starts_with("Wrong prefix expect"),
        "{resp:?}"
    );

    // A request type the sim does not implement: TiKV's error, no data.
    let req = request(&region, &leader, REQ_TYPE_DAG, Vec::new(), table, after);
    let resp = send(&mut pd, leader.store_id, req).await;
    assert_eq!(resp.other_error, "unsupported tp 103");
    assert!(resp.data.is_empty() && resp.region_error.is_none());

    // A follower answers NotLeader naming the leader.
    let follower = region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .unwrap();
    let req = request(
        &region,
        follower,
        REQ_TYPE_CHECKSUM,
        data.clone(),
        table,
        after,
    );
    let resp = send(&mut pd, follower.store_id, req).await;
    let hint = resp
        .region_error
        .and_then(|e| e.not_leader)
        .and_then(|n| n.leader);
    assert_eq!(hint.map(|p| p.store_id), Some(leader.store_id));

    // After a split at "kez": the old epoch is stale, and a range reaching
    // past the (new) region is KeyNotInRegion.
    let (mut tikv, _) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let split = SplitRegionRequest {
        context: Some(context(&region, &leader)),
        split_keys: vec![b"kez".to_vec()],
        ..Default::default()
    };
    let split = tikv.split_region(split).await.unwrap().into_inner();
    assert!(split.region_error.is_none(), "{split:?}");
    let req = request(
        &region,
        &leader,
        REQ_TYPE_CHECKSUM,
        data.clone(),
        table,
        after,
    );
    let resp = send(&mut pd, leader.store_id, req).await;
    assert!(resp.region_error.and_then(|e| e.epoch_not_match).is_some());
    let (left, left_leader) = pd.region_of(b"key").await;
    let req = request(
        &left,
        &left_leader,
        REQ_TYPE_CHECKSUM,
        data.clone(),
        table,
        after,
    );
    let resp = send(&mut pd, left_leader.store_id, req).await;
    let outside = resp.region_error.and_then(|e| e.key_not_in_region);
    assert_eq!(outside.map(|k| k.key), Some(b"l".to_vec()));
    let req = request(
        &left,
        &left_leader,
        REQ_TYPE_CHECKSUM,
        data,
        (b"k", b"kez"),
        after,
    );
    let (crc, kvs, _) = sums(&send(&mut pd, left_leader.store_id, req).await);
    assert_eq!((crc, kvs), (0xCDD3_164F_62DB_81E0, 1));
    sim.shutdown().await;
}
