//! tikv-sim's PD API through the generated pdpb client.

use squall_proto::pdpb::{
    AskBatchSplitRequest, ErrorType, GetAllStoresRequest, GetRegionByIdRequest, GetStoreRequest,
    RequestHeader, SplitRegionsRequest, TsoRequest,
};
use squall_tests::kvproto::{encode_key, Pd};
use squall_tests::sim::{pd_addr, start_sim};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_stores_and_cluster_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    assert_ne!(pd.cluster_id, 0);

    let stores = pd
        .client
        .get_all_stores(GetAllStoresRequest {
            header: pd.header(),
            ..Default::default()
        })
        .await
        .expect("GetAllStores")
        .into_inner()
        .stores;
    let addrs: Vec<String> = stores.iter().map(|s| s.address.clone()).collect();
    let want: Vec<String> = sim.store_addrs.iter().map(ToString::to_string).collect();
    assert_eq!(addrs, want);
    assert!(stores.iter().all(|s| !s.version.is_empty()));

    let resp = pd
        .client
        .get_store(GetStoreRequest {
            header: pd.header(),
            store_id: 42,
        })
        .await
        .expect("GetStore")
        .into_inner();
    assert_eq!(
        resp.header.and_then(|h| h.error).map(|e| e.r#type()),
        Some(ErrorType::Unknown)
    );

    let wrong = Some(RequestHeader {
        cluster_id: pd.cluster_id + 1,
        sender_id: 0,
    });
    let status = pd
        .client
        .get_store(GetStoreRequest {
            header: wrong,
            store_id: 1,
        })
        .await
        .expect_err("wrong cluster");
    assert_eq!(status.code(), Code::FailedPrecondition);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tso_is_monotonic_and_counts_consecutive_stamps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let reqs: Vec<TsoRequest> = [1u32, 10, 1, 100]
        .iter()
        .map(|&count| TsoRequest {
            header: pd.header(),
            count,
            dc_location: String::new(),
        })
        .collect();
    let mut stream = pd
        .client
        .tso(tokio_stream::iter(reqs))
        .await
        .expect("Tso")
        .into_inner();
    let mut last = 0u64;
    for count in [1u64, 10, 1, 100] {
        let resp = stream.message().await.expect("message").expect("response");
        assert_eq!(u64::from(resp.count), count);
        let ts = resp.timestamp.expect("timestamp");
        let stamp = ((ts.physical as u64) << 18) | ts.logical as u64;
        // The answer is the last of `count` stamps; the first must follow the previous batch.
        assert!(
            stamp - count + 1 > last,
            "batch of {count} overlaps the previous one"
        );
        last = stamp;
    }
    assert!(pd.tso().await > last);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_splits_by_encoded_keys_and_hands_out_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let keys = vec![encode_key(b"g"), encode_key(b"p"), encode_key(b"g")];
    let resp = pd
        .client
        .split_regions(SplitRegionsRequest {
            header: pd.header(),
            split_keys: keys,
            retry_limit: 0,
        })
        .await
        .expect("SplitRegions")
        .into_inner();
    assert_eq!(resp.finished_percentage, 100);
    assert_eq!(resp.regions_id.len(), 2);
    let regions = pd.scan(b"", b"", 0).await;
    let starts: Vec<Vec<u8>> = regions
        .iter()
        .map(|r| r.region.clone().expect("region").start_key)
        .collect();
    assert_eq!(starts, vec![vec![], encode_key(b"g"), encode_key(b"p")]);
    for id in &resp.regions_id {
        let by_id = pd
            .client
            .get_region_by_id(GetRegionByIdRequest {
                header: pd.header(),
                region_id: *id,
                need_buckets: false,
            })
            .await
            .expect("GetRegionByID")
            .into_inner();
        assert_eq!(by_id.region.map(|r| r.id), Some(*id));
    }
    // Splitting at an existing boundary is already done.
    let again = pd
        .client
        .split_regions(SplitRegionsRequest {
            header: pd.header(),
            split_keys: vec![encode_key(b"g")],
            retry_limit: 0,
        })
        .await
        .expect("SplitRegions")
        .into_inner();
    assert_eq!(
        (again.finished_percentage, again.regions_id.len()),
        (100, 0)
    );

    let (region, _) = pd.region_of(b"x").await;
    let resp = pd
        .client
        .ask_batch_split(AskBatchSplitRequest {
            header: pd.header(),
            region: Some(region.clone()),
            split_count: 2,
        })
        .await
        .expect("AskBatchSplit")
        .into_inner();
    assert_eq!(resp.ids.len(), 2);
    assert!(resp
        .ids
        .iter()
        .all(|id| id.new_peer_ids.len() == region.peers.len()));
    let mut all: Vec<u64> = resp
        .ids
        .iter()
        .flat_map(|i| std::iter::once(i.new_region_id).chain(i.new_peer_ids.iter().copied()))
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "ids are unique");
    sim.shutdown().await;
}
