//! tikv-sim driven through the kvproto clients only: split, scatter, Write +
//! MultiIngest, reads at a version, epoch and leader errors.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use squall_proto::import_sstpb::{MultiIngestRequest, WriteBatch};
use squall_proto::kvrpcpb::{BatchGetRequest, GetRequest, ScanRequest, SplitRegionRequest};
use squall_proto::metapb;
use squall_proto::pdpb::{GetOperatorRequest, OperatorStatus, ScatterRegionRequest};
use squall_proto::tikvpb::tikv_client::TikvClient;
use squall_tests::kvproto::{
    context, delete, encode_key, import, put, sst_meta, store_clients, write, Pd,
};
use squall_tests::sim::{pd_addr, start_sim};
use tonic::transport::Channel;

async fn split(pd: &mut Pd, keys: &[&[u8]]) -> Vec<metapb::Region> {
    let (region, leader) = pd.region_of(keys[0]).await;
    let (mut kv, _) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let req = SplitRegionRequest {
        context: Some(context(&region, &leader)),
        split_keys: keys.iter().map(|k| k.to_vec()).collect(),
        ..Default::default()
    };
    let resp = kv
        .split_region(req)
        .await
        .expect("SplitRegion")
        .into_inner();
    assert_eq!(resp.region_error, None);
    resp.regions
}

async fn get(
    kv: &mut TikvClient<Channel>,
    region: &metapb::Region,
    leader: &metapb::Peer,
    key: &[u8],
    version: u64,
) -> Option<Vec<u8>> {
    let req = GetRequest {
        context: Some(context(region, leader)),
        key: key.to_vec(),
        version,
    };
    let resp = kv.kv_get(req).await.expect("KvGet").into_inner();
    assert_eq!(resp.region_error, None, "KvGet {key:?}");
    (!resp.not_found).then_some(resp.value)
}

async fn wait_scatter_done(pd: &mut Pd, id: u64) -> Vec<OperatorStatus> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let req = GetOperatorRequest {
            header: pd.header(),
            region_id: id,
        };
        let resp = pd
            .client
            .get_operator(req)
            .await
            .expect("GetOperator")
            .into_inner();
        assert_eq!(resp.header.as_ref().and_then(|h| h.error.clone()), None);
        assert_eq!(resp.desc, b"scatter-region");
        let status = resp.status();
        seen.push(status);
        if status == OperatorStatus::Success {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "scatter of {id} still {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_scatter_write_ingest_and_read_back_at_a_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");

    let regions = split(&mut pd, &[b"t_b", b"t_d", b"t_f"]).await;
    assert_eq!(regions.len(), 4);
    let ends: Vec<_> = regions.iter().map(|r| r.end_key.clone()).collect();
    assert_eq!(
        ends,
        vec![
            encode_key(b"t_b"),
            encode_key(b"t_d"),
            encode_key(b"t_f"),
            vec![]
        ]
    );
    assert!(
        regions
            .iter()
            .all(|r| r.region_epoch.map(|e| e.version) == Some(4)),
        "{regions:?}"
    );
    let scanned = pd.scan(b"", b"", 0).await;
    assert_eq!(scanned.len(), 4);
    assert_eq!(pd.scan(b"t_c", b"t_e", 0).await.len(), 2);
    assert_eq!(pd.scan(b"", b"", 3).await.len(), 3);

    let ids: Vec<u64> = regions.iter().map(|r| r.id).collect();
    let req = ScatterRegionRequest {
        header: pd.header(),
        regions_id: ids.clone(),
        ..Default::default()
    };
    let resp = pd
        .client
        .scatter_region(req)
        .await
        .expect("ScatterRegion")
        .into_inner();
    assert_eq!(
        (resp.header.and_then(|h| h.error), resp.finished_percentage),
        (None, 100)
    );
    let first = wait_scatter_done(&mut pd, ids[0]).await;
    assert_eq!(
        first[0],
        OperatorStatus::Running,
        "a fresh scatter is RUNNING first"
    );
    let mut leaders = BTreeSet::new();
    for id in &ids {
        wait_scatter_done(&mut pd, *id).await;
        leaders.insert(pd.region_by_id(*id).await.1.store_id);
    }
    assert_eq!(leaders.len(), 3, "4 scattered regions lead on all 3 stores");

    let ts1 = pd.tso().await;
    let long = vec![7u8; 300];
    let pairs = vec![
        put(b"t_b1", b"one"),
        put(b"t_b2", &long),
        put(b"t_c9", b"nine"),
    ];
    import(&mut pd, pairs, ts1).await.expect("first import");
    let ts2 = pd.tso().await;
    import(&mut pd, vec![put(b"t_b1", b"uno"), delete(b"t_b2")], ts2)
        .await
        .expect("second import");

    let (region, leader) = pd.region_of(b"t_b1").await;
    let (mut kv, _) = store_clients(&pd.store_addr(leader.store_id).await).await;
    assert_eq!(get(&mut kv, &region, &leader, b"t_b1", ts1 - 1).await, None);
    assert_eq!(
        get(&mut kv, &region, &leader, b"t_b1", ts1).await,
        Some(b"one".to_vec())
    );
    assert_eq!(
        get(&mut kv, &region, &leader, b"t_b1", ts2).await,
        Some(b"uno".to_vec())
    );
    assert_eq!(
        get(&mut kv, &region, &leader, b"t_b2", ts2 - 1).await,
        Some(long.clone())
    );
    assert_eq!(get(&mut kv, &region, &leader, b"t_b2", ts2).await, None);

    let req = BatchGetRequest {
        context: Some(context(&region, &leader)),
        keys: vec![b"t_b1".to_vec(), b"t_b2".to_vec(), b"t_c0".to_vec()],
        version: ts1,
    };
    let resp = kv.kv_batch_get(req).await.expect("KvBatchGet").into_inner();
    let got: Vec<_> = resp
        .pairs
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (b"t_b1".to_vec(), b"one".to_vec()),
            (b"t_b2".to_vec(), long.clone())
        ]
    );

    let scan = |version, reverse| ScanRequest {
        context: Some(context(&region, &leader)),
        start_key: if reverse { Vec::new() } else { b"t_b".to_vec() },
        limit: 10,
        version,
        reverse,
        ..Default::default()
    };
    let keys = |resp: squall_proto::kvrpcpb::ScanResponse| {
        resp.pairs.into_iter().map(|p| p.key).collect::<Vec<_>>()
    };
    let at_ts2 = keys(
        kv.kv_scan(scan(ts2, false))
            .await
            .expect("KvScan")
            .into_inner(),
    );
    assert_eq!(at_ts2, vec![b"t_b1".to_vec(), b"t_c9".to_vec()]);
    let at_ts1_rev = keys(
        kv.kv_scan(scan(ts1, true))
            .await
            .expect("KvScan")
            .into_inner(),
    );
    assert_eq!(
        at_ts1_rev,
        vec![b"t_c9".to_vec(), b"t_b2".to_vec(), b"t_b1".to_vec()]
    );

    // Every peer applied both ingests (one write-CF SST each, plus one
    // default-CF SST for the long value).
    let peer_stores: Vec<u64> = region.peers.iter().map(|p| p.store_id).collect();
    for store in peer_stores {
        assert_eq!(sim.ingested_sst_count(store), 3, "store {store}");
    }
    let versions = sim.dump_versions(b"t_b2", b"t_b3").expect("dump");
    assert_eq!(
        versions.iter().map(|v| v.commit_ts).collect::<Vec<_>>(),
        vec![ts2, ts1]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_go_stale_after_a_split() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let (old, leader) = pd.region_of(b"a").await;
    let (mut kv, mut import) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let ts = pd.tso().await;
    let meta = sst_meta(&old, b"a", b"z");
    let resp = write(
        &mut import,
        meta,
        vec![WriteBatch {
            commit_ts: ts,
            pairs: vec![put(b"a", b"1"), put(b"z", b"2")],
        }],
    )
    .await
    .expect("Write");
    assert_eq!(resp.error, None);

    let regions = split(&mut pd, &[b"m"]).await;
    assert_eq!(regions.len(), 2);

    // Ingesting what was written for the old epoch: EpochNotMatch with the
    // regions that now cover the range.
    let req = MultiIngestRequest {
        context: Some(context(&old, &leader)),
        ssts: resp.metas.clone(),
    };
    let err = import
        .multi_ingest(req)
        .await
        .expect("MultiIngest")
        .into_inner()
        .error
        .expect("epoch error");
    let current = err.epoch_not_match.expect("EpochNotMatch").current_regions;
    let mut current_ids: Vec<u64> = current.iter().map(|r| r.id).collect();
    current_ids.sort();
    let mut new_ids: Vec<u64> = regions.iter().map(|r| r.id).collect();
    new_ids.sort();
    assert_eq!(current_ids, new_ids);

    // Same files with the new context: their own epoch is stale.
    let (new_right, new_leader) = pd.region_of(b"z").await;
    let req = MultiIngestRequest {
        context: Some(context(&new_right, &new_leader)),
        ssts: resp.metas,
    };
    let err = import
        .multi_ingest(req)
        .await
        .expect("MultiIngest")
        .into_inner()
        .error
        .expect("epoch error");
    assert!(err.epoch_not_match.is_some(), "{err:?}");

    // Write with the old epoch: too old; with a future epoch: too new.
    let resp = write(&mut import, sst_meta(&old, b"a", b"b"), vec![])
        .await
        .expect("Write");
    assert!(resp
        .error
        .expect("stale")
        .message
        .contains("is staler than local region"));
    let mut ahead = new_right.clone();
    ahead.region_epoch = Some(metapb::RegionEpoch {
        conf_ver: 1,
        version: 99,
    });
    let resp = write(&mut import, sst_meta(&ahead, b"n", b"o"), vec![])
        .await
        .expect("Write");
    assert!(resp
        .error
        .expect("ahead")
        .message
        .contains("is ahead of local region"));

    // Reads with the old epoch.
    let req = GetRequest {
        context: Some(context(&old, &leader)),
        key: b"z".to_vec(),
        version: ts,
    };
    let resp = kv.kv_get(req).await.expect("KvGet").into_inner();
    assert!(resp.region_error.and_then(|e| e.epoch_not_match).is_some());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_route_by_leader_and_region() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let ts = pd.tso().await;
    import(&mut pd, vec![put(b"k1", b"v1")], ts)
        .await
        .expect("import");
    let (region, leader) = pd.region_of(b"k1").await;
    let follower = region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .copied()
        .expect("a follower");

    // A follower answers NotLeader naming the leader; following it works.
    let (mut kv, mut import_client) = store_clients(&pd.store_addr(follower.store_id).await).await;
    let req = GetRequest {
        context: Some(context(&region, &follower)),
        key: b"k1".to_vec(),
        version: ts,
    };
    let resp = kv.kv_get(req.clone()).await.expect("KvGet").into_inner();
    let hint = resp
        .region_error
        .and_then(|e| e.not_leader)
        .and_then(|n| n.leader)
        .expect("NotLeader with leader");
    assert_eq!(hint.store_id, leader.store_id);
    let (mut kv_leader, _) = store_clients(&pd.store_addr(hint.store_id).await).await;
    let resp = kv_leader
        .kv_get(GetRequest {
            context: Some(context(&region, &hint)),
            ..req
        })
        .await
        .expect("KvGet")
        .into_inner();
    assert_eq!((resp.region_error, resp.value), (None, b"v1".to_vec()));

    let req = MultiIngestRequest {
        context: Some(context(&region, &follower)),
        ssts: vec![],
    };
    let resp = import_client
        .multi_ingest(req)
        .await
        .expect("MultiIngest")
        .into_inner();
    assert!(resp.error.and_then(|e| e.not_leader).is_some());

    // Unknown region, key outside the region, an SST ingested twice.
    let mut unknown = context(&region, &leader);
    unknown.region_id = 999_999;
    let req = GetRequest {
        context: Some(unknown),
        key: b"k1".to_vec(),
        version: ts,
    };
    let resp = kv_leader.kv_get(req).await.expect("KvGet").into_inner();
    assert_eq!(
        resp.region_error
            .and_then(|e| e.region_not_found)
            .map(|r| r.region_id),
        Some(999_999)
    );
    split(&mut pd, &[b"m"]).await;
    let (left, left_leader) = pd.region_of(b"k1").await;
    let (mut kv_left, _) = store_clients(&pd.store_addr(left_leader.store_id).await).await;
    let req = GetRequest {
        context: Some(context(&left, &left_leader)),
        key: b"x".to_vec(),
        version: ts,
    };
    let resp = kv_left.kv_get(req).await.expect("KvGet").into_inner();
    let err = resp
        .region_error
        .and_then(|e| e.key_not_in_region)
        .expect("KeyNotInRegion");
    assert_eq!((err.key, err.end_key), (b"x".to_vec(), encode_key(b"m")));

    let (region, leader) = pd.region_of(b"k2").await;
    let meta = sst_meta(&region, b"k2", b"k2");
    let (_, mut leader_import) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let resp = write(
        &mut leader_import,
        meta,
        vec![WriteBatch {
            commit_ts: ts,
            pairs: vec![put(b"k2", b"v2")],
        }],
    )
    .await
    .expect("Write");
    let req = MultiIngestRequest {
        context: Some(context(&region, &leader)),
        ssts: resp.metas,
    };
    assert_eq!(
        leader_import
            .multi_ingest(req.clone())
            .await
            .expect("MultiIngest")
            .into_inner()
            .error,
        None
    );
    let again = leader_import
        .multi_ingest(req)
        .await
        .expect("MultiIngest")
        .into_inner()
        .error
        .expect("second ingest fails");
    assert!(again.stale_command.is_some(), "{again:?}");
    sim.shutdown().await;
}
