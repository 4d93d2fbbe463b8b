//! Injected faults, seen through the kvproto clients as TiKV would send them.

use std::time::{Duration, Instant};

use squall_proto::import_sstpb::{
    DuplicateDetectRequest, IngestRequest, MultiIngestRequest, WriteBatch,
};
use squall_proto::kvrpcpb::{BatchGetRequest, GetRequest, ScanRequest, SplitRegionRequest};
use squall_proto::pdpb::GetRegionRequest;
use squall_tests::http::request;
use squall_tests::kvproto::{context, encode_key, import, put, sst_meta, store_clients, write, Pd};
use squall_tests::sim::{pd_addr, start_sim};
use tonic::Code;

const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_errors_on_reads_and_splits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let faults = sim.faults();
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let ts = pd.tso().await;
    import(&mut pd, vec![put(b"a", b"1")], ts)
        .await
        .expect("import");
    let (region, leader) = pd.region_of(b"a").await;
    let (mut kv, _) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let get = GetRequest {
        context: Some(context(&region, &leader)),
        key: b"a".to_vec(),
        version: ts,
    };

    faults
        .inject_spec("rpc=KvGet,error=ServerIsBusy,count=1")
        .expect("fault");
    let busy = kv.kv_get(get.clone()).await.expect("KvGet").into_inner();
    assert!(busy.region_error.and_then(|e| e.server_is_busy).is_some());
    let ok = kv.kv_get(get.clone()).await.expect("KvGet").into_inner();
    assert_eq!(
        (ok.region_error, ok.value),
        (None, b"1".to_vec()),
        "count=1 fires once"
    );

    faults
        .inject_spec("rpc=KvBatchGet,error=RegionNotFound,count=1")
        .expect("fault");
    let req = BatchGetRequest {
        context: Some(context(&region, &leader)),
        keys: vec![b"a".to_vec()],
        version: ts,
    };
    let resp = kv.kv_batch_get(req).await.expect("KvBatchGet").into_inner();
    assert_eq!(
        resp.region_error
            .and_then(|e| e.region_not_found)
            .map(|r| r.region_id),
        Some(region.id)
    );

    faults
        .inject_spec("rpc=KvScan,error=KeyNotInRegion,count=1")
        .expect("fault");
    let req = ScanRequest {
        context: Some(context(&region, &leader)),
        start_key: b"a".to_vec(),
        limit: 1,
        version: ts,
        ..Default::default()
    };
    let resp = kv.kv_scan(req).await.expect("KvScan").into_inner();
    assert_eq!(
        resp.region_error
            .and_then(|e| e.key_not_in_region)
            .map(|k| k.key),
        Some(b"a".to_vec())
    );

    faults
        .inject_spec("rpc=SplitRegion,error=EpochNotMatch,count=1")
        .expect("fault");
    let req = SplitRegionRequest {
        context: Some(context(&region, &leader)),
        split_keys: vec![b"m".to_vec()],
        ..Default::default()
    };
    let resp = kv
        .split_region(req)
        .await
        .expect("SplitRegion")
        .into_inner();
    let current = resp
        .region_error
        .and_then(|e| e.epoch_not_match)
        .expect("EpochNotMatch")
        .current_regions;
    assert_eq!(current.first().map(|r| r.id), Some(region.id));

    faults
        .inject_spec("rpc=KvGet,error=Unavailable,count=1")
        .expect("fault");
    let status = kv.kv_get(get.clone()).await.expect_err("unavailable");
    assert_eq!(status.code(), Code::Unavailable);

    faults
        .inject_spec("rpc=GetRegion,error=Unavailable,count=1")
        .expect("fault");
    let req = GetRegionRequest {
        header: pd.header(),
        region_key: encode_key(b"a"),
        need_buckets: false,
    };
    assert_eq!(
        pd.client
            .get_region(req)
            .await
            .expect_err("PD unavailable")
            .code(),
        Code::Unavailable
    );

    faults
        .inject_spec("rpc=KvGet,latency_ms=300,count=1")
        .expect("fault");
    let started = Instant::now();
    kv.kv_get(get.clone()).await.expect("KvGet");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the injected latency delays the answer"
    );

    // A store filter: faults on another store leave this one alone.
    let other = region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .expect("peer")
        .store_id;
    faults
        .inject_spec(&format!("rpc=KvGet,error=ServerIsBusy,store={other}"))
        .expect("fault");
    assert_eq!(
        kv.kv_get(get)
            .await
            .expect("KvGet")
            .into_inner()
            .region_error,
        None
    );
    assert!(faults
        .list()
        .iter()
        .all(|f| f.rule.count.is_none_or(|c| f.fired == c)));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_faults_look_like_tikv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let faults = sim.faults();
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let ts = pd.tso().await;
    let (region, leader) = pd.region_of(b"a").await;
    let batch = || {
        vec![WriteBatch {
            commit_ts: ts,
            pairs: vec![put(b"a", b"1"), put(b"b", b"2")],
        }]
    };

    // Write to every peer, then MultiIngest faults on the leader.
    let meta = sst_meta(&region, b"a", b"b");
    let mut metas = Vec::new();
    for peer in &region.peers {
        let (_, mut import_client) = store_clients(&pd.store_addr(peer.store_id).await).await;
        let resp = write(&mut import_client, meta.clone(), batch())
            .await
            .expect("Write");
        assert_eq!(resp.error, None);
        metas = resp.metas;
    }
    let (_, mut leader_import) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let ingest = MultiIngestRequest {
        context: Some(context(&region, &leader)),
        ssts: metas.clone(),
    };
    for (spec, check) in [
        (
            "rpc=MultiIngest,error=ServerIsBusy,count=1",
            "server_is_busy",
        ),
        (
            "rpc=MultiIngest,error=StaleCommand,count=1",
            "stale_command",
        ),
        (
            "rpc=MultiIngest,error=EpochNotMatch,count=1",
            "epoch_not_match",
        ),
    ] {
        faults.inject_spec(spec).expect("fault");
        let err = leader_import
            .multi_ingest(ingest.clone())
            .await
            .expect("MultiIngest")
            .into_inner()
            .error
            .expect(check);
        let seen = match check {
            "server_is_busy" => err.server_is_busy.is_some(),
            "stale_command" => err.stale_command.is_some(),
            _ => err.epoch_not_match.is_some(),
        };
        assert!(seen, "{spec}: {err:?}");
    }
    // An injected NotLeader is a real leader change: the hint serves the ingest.
    faults
        .inject_spec("rpc=MultiIngest,error=NotLeader,count=1")
        .expect("fault");
    let err = leader_import
        .multi_ingest(ingest.clone())
        .await
        .expect("MultiIngest")
        .into_inner()
        .error
        .expect("NotLeader");
    let new_leader = err.not_leader.and_then(|n| n.leader).expect("leader hint");
    assert_ne!(new_leader.store_id, leader.store_id);
    assert_eq!(
        pd.region_of(b"a").await.1.store_id,
        new_leader.store_id,
        "PD agrees"
    );
    let (mut kv, mut new_import) = store_clients(&pd.store_addr(new_leader.store_id).await).await;
    let ingest = MultiIngestRequest {
        context: Some(context(&region, &new_leader)),
        ssts: metas,
    };
    assert_eq!(
        new_import
            .multi_ingest(ingest)
            .await
            .expect("MultiIngest")
            .into_inner()
            .error,
        None
    );
    let get = GetRequest {
        context: Some(context(&region, &new_leader)),
        key: b"b".to_vec(),
        version: ts,
    };
    assert_eq!(
        kv.kv_get(get).await.expect("KvGet").into_inner().value,
        b"2".to_vec()
    );

    // Ingest (single) and Write faults.
    faults
        .inject_spec("rpc=Ingest,error=ServerIsBusy,count=1")
        .expect("fault");
    let req = IngestRequest {
        context: Some(context(&region, &new_leader)),
        sst: None,
    };
    assert!(new_import
        .ingest(req)
        .await
        .expect("Ingest")
        .into_inner()
        .error
        .and_then(|e| e.server_is_busy)
        .is_some());
    faults
        .inject_spec("rpc=Write,error=RequestTooNew,count=1")
        .expect("fault");
    let resp = write(&mut new_import, sst_meta(&region, b"c", b"c"), vec![])
        .await
        .expect("Write");
    assert!(resp
        .error
        .expect("too new")
        .message
        .contains("ahead of local region"));
    faults
        .inject_spec("rpc=Write,error=ServerIsBusy,count=1")
        .expect("fault");
    let resp = write(&mut new_import, sst_meta(&region, b"c", b"c"), vec![])
        .await
        .expect("Write");
    assert!(resp
        .error
        .and_then(|e| e.store_error)
        .and_then(|e| e.server_is_busy)
        .is_some());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_cut_midway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let faults = sim.faults();
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let (region, leader) = pd.region_of(b"a").await;
    let (_, mut import_client) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let ts = pd.tso().await;
    let batches: Vec<WriteBatch> = (0..3)
        .map(|i| WriteBatch {
            commit_ts: ts,
            pairs: vec![put(format!("k{i}").as_bytes(), b"v")],
        })
        .collect();
    let meta = sst_meta(&region, b"k0", b"k2");

    faults
        .inject_spec("rpc=Write,drop_stream_after=2,count=1")
        .expect("fault");
    let status = write(&mut import_client, meta.clone(), batches.clone())
        .await
        .expect_err("stream cut");
    assert_eq!(status.code(), Code::Unavailable);
    // Nothing was staged, so the same SST can be written again.
    let resp = write(&mut import_client, meta, batches)
        .await
        .expect("Write");
    assert_eq!((resp.error, resp.metas.len()), (None, 1));

    let dup_ts = pd.tso().await;
    let keys: Vec<_> = (0..3000).map(|i| format!("d{i:05}").into_bytes()).collect();
    for _ in 0..2 {
        let ts = pd.tso().await;
        import(&mut pd, keys.iter().map(|k| put(k, b"v")).collect(), ts)
            .await
            .expect("import");
    }
    faults
        .inject_spec("rpc=DuplicateDetect,drop_stream_after=1,count=1")
        .expect("fault");
    let (region, leader) = pd.region_of(b"d").await;
    let (_, mut import_client) = store_clients(&pd.store_addr(leader.store_id).await).await;
    let req = DuplicateDetectRequest {
        context: Some(context(&region, &leader)),
        start_key: b"d".to_vec(),
        end_key: b"e".to_vec(),
        key_only: false,
        min_commit_ts: dup_ts,
    };
    let mut stream = import_client
        .duplicate_detect(req)
        .await
        .expect("DuplicateDetect")
        .into_inner();
    let first = stream
        .message()
        .await
        .expect("first message")
        .expect("a response");
    assert_eq!(first.pairs.len(), 4096);
    let cut = stream
        .message()
        .await
        .expect_err("stream cut after one message");
    assert_eq!(cut.code(), Code::Unavailable);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_go_down_and_up_through_the_admin_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let admin = sim.admin_addr;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let ts = pd.tso().await;
    import(&mut pd, vec![put(b"a", b"1")], ts)
        .await
        .expect("import");
    let (region, leader) = pd.region_of(b"a").await;
    let addr = pd.store_addr(leader.store_id).await;

    let stop = request(
        admin,
        "POST",
        &format!("/stores/{}/stop", leader.store_id),
        "",
        HTTP_TIMEOUT,
    )
    .await
    .expect("stop");
    assert_eq!(stop.status, 200, "{}", stop.body);
    assert!(
        squall_tests::kvproto::channel(&addr).await.is_err(),
        "a stopped store refuses connections"
    );
    let (_, new_leader) = pd.region_of(b"a").await;
    assert_ne!(
        new_leader.store_id, leader.store_id,
        "its leaders moved to live peers"
    );
    let (mut kv, _) = store_clients(&pd.store_addr(new_leader.store_id).await).await;
    let get = GetRequest {
        context: Some(context(&region, &new_leader)),
        key: b"a".to_vec(),
        version: ts,
    };
    assert_eq!(
        kv.kv_get(get).await.expect("KvGet").into_inner().value,
        b"1".to_vec()
    );

    let start = request(
        admin,
        "POST",
        &format!("/stores/{}/start", leader.store_id),
        "",
        HTTP_TIMEOUT,
    )
    .await
    .expect("start");
    assert_eq!(start.status, 200, "{}", start.body);
    squall_tests::kvproto::channel(&addr)
        .await
        .expect("the store serves again");

    let stores: serde_json::Value = serde_json::from_str(
        &request(admin, "GET", "/stores", "", HTTP_TIMEOUT)
            .await
            .expect("stores")
            .body,
    )
    .expect("json");
    assert_eq!(stores.as_array().map(Vec::len), Some(3));
    assert!(stores
        .as_array()
        .into_iter()
        .flatten()
        .all(|s| s["up"] == true));
    let added = request(
        admin,
        "POST",
        "/faults",
        "rpc=KvGet,error=ServerIsBusy,count=2",
        HTTP_TIMEOUT,
    )
    .await
    .expect("add fault");
    assert_eq!(added.status, 200, "{}", added.body);
    let bad = request(
        admin,
        "POST",
        "/faults",
        "rpc=KvGet,error=Nope",
        HTTP_TIMEOUT,
    )
    .await
    .expect("bad fault");
    assert_eq!(bad.status, 400);
    let listed = request(admin, "GET", "/faults", "", HTTP_TIMEOUT)
        .await
        .expect("faults");
    assert!(listed.body.contains("ServerIsBusy"), "{}", listed.body);
    let regions = request(admin, "GET", "/regions", "", HTTP_TIMEOUT)
        .await
        .expect("regions");
    assert!(regions.body.contains("leader_store_id"), "{}", regions.body);
    let versions = request(admin, "GET", "/versions?start=61&end=62", "", HTTP_TIMEOUT)
        .await
        .expect("versions");
    let versions: serde_json::Value = serde_json::from_str(&versions.body).expect("json");
    assert_eq!(versions[0]["key"], "61");
    assert_eq!(versions[0]["value"], "31");
    assert_eq!(versions[0]["commit_ts"], ts);

    // A timed outage from a fault spec.
    let other = region
        .peers
        .iter()
        .map(|p| p.store_id)
        .find(|s| *s != new_leader.store_id)
        .expect("peer");
    let other_addr = pd.store_addr(other).await;
    sim.faults()
        .inject_spec(&format!("store={other},down_after_ms=0,down_for_ms=400"))
        .expect("outage");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut was_down = false;
    loop {
        let up = squall_tests::kvproto::channel(&other_addr).await.is_ok();
        was_down |= !up;
        if was_down && up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "store {other} outage never began or ended (down seen: {was_down})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.shutdown().await;
}
