//! tikv-sim keeps data and regions across restarts, in process and as the
//! real `squall sim` process stopped with SIGTERM.

use std::process::Command;
use std::time::Duration;

use squall_proto::kvrpcpb::GetRequest;
use squall_proto::pdpb::GetAllStoresRequest;
use squall_tests::kvproto::{context, import, put, store_clients, Pd};
use squall_tests::sim::{pd_addr, start_sim, start_sim_with};
use squall_tests::{free_addr, wait_for_tcp_async, ProcessGuard};
use tikv_sim::SimConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_regions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start_sim(dir.path()).await;
    let (pd_at, stores_at) = (sim.pd_addr, sim.store_addrs.clone());
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    let ts = pd.tso().await;
    import(
        &mut pd,
        vec![put(b"k1", b"v1"), put(b"k2", &[9u8; 400])],
        ts,
    )
    .await
    .expect("import");
    let regions = sim.regions();
    let cluster_id = pd.cluster_id;
    drop(pd);
    sim.shutdown().await;

    let cfg = SimConfig {
        pd_addr: pd_at,
        ..SimConfig::new(dir.path())
    };
    let sim = start_sim_with(cfg).await;
    assert_eq!(
        sim.store_addrs, stores_at,
        "stores come back on their ports"
    );
    assert_eq!(sim.regions(), regions);
    let mut pd = Pd::connect(&pd_addr(&sim)).await.expect("PD");
    assert_eq!(pd.cluster_id, cluster_id);
    assert!(pd.tso().await > ts, "the TSO never goes back");
    let (region, leader) = pd.region_of(b"k2").await;
    let (mut kv, _) = store_clients(&pd.store_addr(leader.store_id).await).await;
    for (key, value) in [
        (b"k1".to_vec(), b"v1".to_vec()),
        (b"k2".to_vec(), vec![9u8; 400]),
    ] {
        let req = GetRequest {
            context: Some(context(&region, &leader)),
            key,
            version: ts,
        };
        assert_eq!(
            kv.kv_get(req).await.expect("KvGet").into_inner().value,
            value
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squall_sim_process_serves_and_stops_on_sigterm() {
    // Cargo builds the binary for this package's tests: never skipped.
    let bin = env!("CARGO_BIN_EXE_squall");
    let dir = tempfile::tempdir().expect("tempdir");
    let (pd_at, admin_at) = (free_addr(), free_addr());
    let mut cmd = Command::new(bin);
    cmd.args([
        "sim",
        "--pd-addr",
        &pd_at.to_string(),
        "--admin-addr",
        &admin_at.to_string(),
        "--stores",
        "3",
    ])
    .arg("--data-dir")
    .arg(dir.path());
    let mut sim = ProcessGuard::spawn("squall sim", cmd).expect("spawn squall sim");
    wait_for_tcp_async(pd_at, Duration::from_secs(30))
        .await
        .expect("PD answers");
    let line = tokio::task::block_in_place(|| {
        sim.wait_for_line("tikv-sim serving", Duration::from_secs(10))
    })
    .expect("address line");
    assert!(
        line.contains(&pd_at.to_string()) && line.contains(&admin_at.to_string()),
        "{line}"
    );

    let mut pd = Pd::connect(&pd_at.to_string()).await.expect("PD");
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
    assert_eq!(stores.len(), 3);
    for store in &stores {
        assert!(
            line.contains(&format!("{}={}", store.id, store.address)),
            "{line} names store {}",
            store.id
        );
    }
    let ts = pd.tso().await;
    import(&mut pd, vec![put(b"p", b"q")], ts)
        .await
        .expect("import");
    drop(pd);

    let status = tokio::task::block_in_place(|| sim.terminate(Duration::from_secs(20)))
        .expect("exits on SIGTERM");
    assert!(status.success(), "clean exit: {status}");
    assert!(dir.path().join("db").is_dir());
}
