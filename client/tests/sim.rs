//! The client against tikv-sim, through the real gRPC API: PD discovery,
//! TSO, region lookups and paginated scans, stores, splits, scatter, import
//! mode, Write + MultiIngest, KV reads and DuplicateDetect.

use std::time::Duration;

use squall_client::keys::{encode_bytes, next_key};
use squall_client::{
    put_batch, ClientError, ClientOptions, ImportClient, OperatorState, PdClient, RegionError,
    RetryPolicy,
};
use squall_proto::import_sstpb::{SstMeta, SwitchMode};
use tikv_sim::{SimConfig, SimHandle};

async fn start_sim(dir: &tempfile::TempDir, faults: &[&str]) -> SimHandle {
    let mut cfg = SimConfig::new(dir.path());
    cfg.scatter_duration = Duration::from_millis(100);
    for spec in faults {
        cfg.initial_faults
            .push(spec.parse().expect("valid fault spec"));
    }
    tikv_sim::start(cfg).await.expect("sim starts")
}

fn opts() -> ClientOptions {
    let retry = RetryPolicy {
        max_attempts: 20,
        initial: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    ClientOptions {
        retry,
        ..ClientOptions::for_test()
    }
}

async fn connect(sim: &SimHandle) -> ImportClient {
    let pd = PdClient::connect(&[sim.pd_addr.to_string()], opts())
        .await
        .expect("PD answers");
    ImportClient::new(pd)
}

fn key(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

/// Splits the whole key space at `key(step)`, `key(2 step)`, ... below `n`.
async fn split_every(client: &ImportClient, n: u32, step: u32) {
    let keys: Vec<Vec<u8>> = (1..n / step).map(|i| key(i * step)).collect();
    let region = client.pd().get_region(b"").await.expect("first region");
    let pieces = client
        .split_region(&region, keys.clone())
        .await
        .expect("split");
    assert_eq!(pieces.len(), keys.len() + 1);
}

/// Writes pairs (sorted, all in one region) to every peer and ingests them.
async fn write_and_ingest(client: &ImportClient, pairs: Vec<(Vec<u8>, Vec<u8>)>, ts: u64) {
    let region = client.pd().get_region(&pairs[0].0).await.expect("region");
    let leader = region.target_peer().expect("peer");
    let meta = SstMeta {
        uuid: uuid_bytes(),
        range: Some(squall_client::keys::sst_range(
            &pairs[0].0,
            &pairs[pairs.len() - 1].0,
        )),
        region_id: region.id(),
        region_epoch: Some(region.epoch()),
        ..Default::default()
    };
    let mut leader_metas = Vec::new();
    for peer in &region.region.peers {
        let batches = vec![put_batch(ts, pairs.clone())];
        let metas = client
            .write(peer.store_id, region.context(peer), meta.clone(), batches)
            .await
            .expect("write");
        if peer.id == leader.id {
            leader_metas = metas;
        }
    }
    client
        .multi_ingest(leader.store_id, region.context(&leader), leader_metas)
        .await
        .expect("ingest");
}

fn uuid_bytes() -> Vec<u8> {
    uuid::Uuid::new_v4().as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_basics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let pd = client.pd();
    assert_eq!(pd.cluster_id(), sim.cluster_id());
    let (a, b) = (pd.tso().await.expect("tso"), pd.tso().await.expect("tso"));
    assert!(
        b > a && a > (1 << 18),
        "monotonic, physical part set: {a} {b}"
    );
    let stores = pd.get_all_stores().await.expect("stores");
    assert_eq!(stores.len(), 3);
    for store in &stores {
        let one = pd.get_store(store.id).await.expect("store");
        assert_eq!(one.address, store.address);
    }
    assert!(matches!(
        pd.get_store(99).await,
        Err(ClientError::Pd { .. } | ClientError::StoreNotFound { .. })
    ));
    let first = pd.get_region(b"anything").await.expect("region");
    assert!(first.start.is_empty() && first.end.is_empty() && first.leader.is_some());
    assert_eq!(
        pd.get_region_by_id(first.id())
            .await
            .expect("by id")
            .map(|r| r.id()),
        Some(first.id())
    );
    assert!(pd
        .get_region_by_id(123_456)
        .await
        .expect("answer")
        .is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_paginate_and_split_keys_are_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    split_every(&client, 1000, 100).await;
    // PD keeps boundaries encoded; the client hands out raw ones.
    let encoded: Vec<Vec<u8>> = sim.regions().iter().map(|r| r.start_key.clone()).collect();
    assert!(encoded.contains(&encode_bytes(&key(100))));
    let all = client.pd().scan_regions(b"", b"", 3).await.expect("scan");
    assert_eq!(all.len(), 10);
    assert_eq!(all[1].start, key(100));
    for w in all.windows(2) {
        assert_eq!(w[0].end, w[1].start, "continuous");
    }
    let part = client
        .pd()
        .scan_regions(&key(150), &key(350), 2)
        .await
        .expect("scan part");
    let starts: Vec<_> = part.iter().map(|r| r.start.clone()).collect();
    assert_eq!(starts, vec![key(100), key(200), key(300)]);
    let to_boundary = client
        .pd()
        .scan_regions(&key(150), &key(300), 1)
        .await
        .expect("scan");
    assert_eq!(
        to_boundary.len(),
        2,
        "a region starting at the end is not included"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_errors_are_typed_and_scatter_is_observable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let stale = client.pd().get_region(b"").await.expect("region");
    client
        .split_region(&stale, vec![key(10)])
        .await
        .expect("split");
    let err = client
        .split_region(&stale, vec![key(20)])
        .await
        .expect_err("old epoch");
    match err.region_error() {
        Some(RegionError::EpochNotMatch { current_regions }) => {
            assert!(!current_regions.is_empty())
        }
        other => panic!("expected EpochNotMatch, got {other:?} ({err})"),
    }
    let region = client.pd().get_region(&key(20)).await.expect("region");
    client.pd().scatter_region(&region).await.expect("scatter");
    let mut saw_running = false;
    for _ in 0..100 {
        match client
            .pd()
            .get_operator(region.id())
            .await
            .expect("operator")
        {
            op if op.is_scattering() => saw_running = true,
            OperatorState::None
            | OperatorState::Finished { .. }
            | OperatorState::Running { .. } => break,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_running, "scatter was reported running for a while");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_ingest_read_and_detect_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    client
        .switch_mode_all(SwitchMode::Import)
        .await
        .expect("import mode");
    assert!(sim.stores().iter().all(|s| s.import_mode));
    let pairs: Vec<_> = (0..100)
        .map(|i| (key(i), vec![i as u8; if i % 10 == 0 { 400 } else { 8 }]))
        .collect();
    let ts1 = client.pd().tso().await.expect("tso");
    write_and_ingest(&client, pairs.clone(), ts1).await;
    let region = client.pd().get_region(&key(0)).await.expect("region");
    assert_eq!(
        client.kv_get(&region, &key(10), ts1).await.expect("get"),
        Some(vec![10u8; 400])
    );
    assert_eq!(
        client
            .kv_get(&region, &key(10), ts1 - 1)
            .await
            .expect("get"),
        None
    );
    let got = client
        .kv_batch_get(&region, &[key(1), key(2), key(500)], ts1)
        .await
        .expect("batch get");
    assert_eq!(got, vec![(key(1), vec![1u8; 8]), (key(2), vec![2u8; 8])]);
    let scanned = client
        .kv_scan(&region, &key(5), &key(50), 10, ts1)
        .await
        .expect("scan");
    assert_eq!(scanned.len(), 10);
    assert_eq!(scanned[0].0, key(5));
    let all = client
        .kv_scan(&region, b"", b"", 1000, ts1)
        .await
        .expect("scan all");
    assert_eq!(all, pairs);

    // The same keys again at a newer ts: two versions, found by DuplicateDetect.
    let ts2 = client.pd().tso().await.expect("tso");
    write_and_ingest(&client, pairs[..20].to_vec(), ts2).await;
    let leader = region.target_peer().expect("leader");
    let mut stream = client
        .duplicate_detect(
            leader.store_id,
            region.context(&leader),
            &key(0),
            &next_key(&key(99)),
            ts1 - 1,
            false,
        )
        .await
        .expect("detect");
    let mut dups = Vec::new();
    while let Some(batch) = stream.next().await.expect("stream") {
        dups.extend(batch);
    }
    assert_eq!(
        dups.len(),
        40,
        "each of 20 keys reported with both versions"
    );
    assert!(dups
        .iter()
        .all(|p| p.commit_ts == ts1 || p.commit_ts == ts2));
    client
        .switch_mode_all(SwitchMode::Normal)
        .await
        .expect("normal mode");
    assert!(sim.stores().iter().all(|s| !s.import_mode));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_errors_come_back_classified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(&dir, &[]).await;
    let client = connect(&sim).await;
    let region = client.pd().get_region(b"").await.expect("region");
    let leader = region.target_peer().expect("leader");
    let follower = region
        .region
        .peers
        .iter()
        .find(|p| p.id != leader.id)
        .copied()
        .expect("a follower");
    let meta = SstMeta {
        uuid: uuid_bytes(),
        range: Some(squall_client::keys::sst_range(&key(1), &key(2))),
        region_id: region.id(),
        region_epoch: Some(region.epoch()),
        ..Default::default()
    };
    let ts = client.pd().tso().await.expect("tso");
    let batches = vec![put_batch(
        ts,
        vec![(key(1), b"a".to_vec()), (key(2), b"b".to_vec())],
    )];
    let metas = client
        .write(follower.store_id, region.context(&follower), meta, batches)
        .await
        .expect("write");
    let err = client
        .multi_ingest(follower.store_id, region.context(&follower), metas)
        .await
        .expect_err("a follower cannot ingest");
    match err.region_error() {
        Some(RegionError::NotLeader {
            leader: Some(hint), ..
        }) => assert_eq!(hint.store_id, leader.store_id),
        other => panic!("expected NotLeader with a hint, got {other:?} ({err})"),
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_pd_failures_are_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(
        &dir,
        &[
            "rpc=GetRegion,error=Unavailable,count=3",
            "rpc=Tso,error=Unavailable,count=2",
        ],
    )
    .await;
    let client = connect(&sim).await;
    client
        .pd()
        .get_region(b"x")
        .await
        .expect("answered after retries");
    client.pd().tso().await.expect("answered after retries");
    sim.shutdown().await;
}
