//! Coordinator leadership against a real etcd: one leader at a time, a
//! standby elected when the leader's lease ends, and a deposed leader's
//! writes refused by the fence whatever the write (issue 14).

use std::time::Duration;

use squall_cluster::leader::{campaign, current_leader};
use squall_cluster::testserver::EtcdServer;
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::{CasOutcome, CheckpointError, CheckpointStore};
use tokio_util::sync::CancellationToken;

const TTL: i64 = 2;

fn start_etcd() -> Option<EtcdServer> {
    squall_cluster::testserver::start_or_skip("etcd", EtcdServer::start)
}

async fn store(endpoint: &str) -> EtcdCheckpointStore {
    EtcdCheckpointStore::connect(EtcdOptions {
        prefix: "fence-test/".into(),
        max_retries: 2,
        ..EtcdOptions::new([endpoint.to_string()])
    })
    .await
    .expect("connect to the test etcd")
}

fn fenced(err: Result<impl std::fmt::Debug, CheckpointError>) -> bool {
    matches!(err, Err(CheckpointError::Fenced { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leader_writes_nothing_and_learns_it_lost() {
    let Some(server) = start_etcd() else { return };
    let endpoints = vec![server.endpoint()];
    let never = CancellationToken::new();
    let a = campaign(&endpoints, "coordinator-a", TTL, &never)
        .await
        .expect("campaign a")
        .expect("a elected");
    assert_eq!(
        current_leader(&endpoints).await.as_deref(),
        Some("coordinator-a")
    );
    let base = store(&server.endpoint()).await;
    let store_a = base.fenced(a.fence());
    let rev = store_a
        .put("job", b"a1".to_vec())
        .await
        .expect("the leader writes");

    // A standby waits while a leads.
    let b_endpoints = endpoints.clone();
    let standby = tokio::spawn(async move {
        campaign(
            &b_endpoints,
            "coordinator-b",
            TTL,
            &CancellationToken::new(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!standby.is_finished(), "no second leader while a leads");

    // a's lease ends as if it had been paused past its TTL.
    let mut admin = etcd_client::Client::connect(&endpoints, None)
        .await
        .expect("admin client");
    admin
        .lease_revoke(a.lease_id())
        .await
        .expect("revoke a's lease");
    let b = tokio::time::timeout(Duration::from_secs(10), standby)
        .await
        .expect("the standby is elected once the leader's lease is gone")
        .expect("join")
        .expect("campaign b")
        .expect("b elected");
    assert_eq!(
        current_leader(&endpoints).await.as_deref(),
        Some("coordinator-b")
    );

    // Every kind of write a makes now is refused, and changes nothing.
    assert!(fenced(store_a.put("job", b"a2".to_vec()).await), "put");
    assert!(
        fenced(store_a.cas("job", Some(rev), b"a3".to_vec()).await),
        "cas at the right revision"
    );
    assert!(
        fenced(store_a.cas("new", None, b"a4".to_vec()).await),
        "cas create"
    );
    assert!(fenced(store_a.delete("job").await), "delete");
    assert!(
        fenced(store_a.put_many(&[("x".into(), b"1".to_vec())]).await),
        "put_many"
    );
    let job = base.get("job").await.expect("get").expect("job kept");
    assert_eq!(job.value, b"a1");
    assert!(base.get("new").await.expect("get").is_none());
    assert!(base.get("x").await.expect("get").is_none());

    // The new leader's fenced writes go through, CAS conflicts stay conflicts.
    let store_b = base.fenced(b.fence());
    let rev_b = store_b.put("job", b"b1".to_vec()).await.expect("b writes");
    assert!(matches!(
        store_b.cas("job", Some(rev), b"b2".to_vec()).await,
        Ok(CasOutcome::Conflict { .. })
    ));
    assert!(matches!(
        store_b.cas("job", Some(rev_b), b"b3".to_vec()).await,
        Ok(CasOutcome::Swapped(_))
    ));
    assert!(store_b.delete("job").await.expect("b deletes"));

    // a's keep-alive notices the lease is gone.
    tokio::time::timeout(Duration::from_secs(10), a.lost().cancelled())
        .await
        .expect("the deposed leader learns it lost within the keep-alive period");
    b.resign().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resigning_hands_over_at_once_and_cancel_stops_a_campaign() {
    let Some(server) = start_etcd() else { return };
    let endpoints = vec![server.endpoint()];
    let a = campaign(&endpoints, "a", 30, &CancellationToken::new())
        .await
        .expect("campaign")
        .expect("elected");
    let cancel = CancellationToken::new();
    let (e, c) = (endpoints.clone(), cancel.clone());
    let cancelled = tokio::spawn(async move { campaign(&e, "c", 30, &c).await });
    let e = endpoints.clone();
    let standby =
        tokio::spawn(async move { campaign(&e, "b", 30, &CancellationToken::new()).await });
    cancel.cancel();
    assert!(
        cancelled.await.expect("join").expect("campaign").is_none(),
        "a cancelled campaign returns None"
    );
    // With a 30 s TTL only resigning can make the standby leader this fast.
    a.resign().await;
    let b = tokio::time::timeout(Duration::from_secs(5), standby)
        .await
        .expect("the standby takes over when the leader resigns")
        .expect("join")
        .expect("campaign")
        .expect("elected");
    assert_eq!(current_leader(&endpoints).await.as_deref(), Some("b"));
    b.resign().await;
}

// The whole store contract holds for a leader's fenced store while it leads.
squall_common::checkpoint_store_test_suite!(fenced_suite, {
    let Some(server) = start_etcd() else { return };
    let endpoints = vec![server.endpoint()];
    let leadership = campaign(&endpoints, "suite", 30, &CancellationToken::new())
        .await
        .expect("campaign")
        .expect("elected");
    let store = store(&server.endpoint()).await.fenced(leadership.fence());
    (store, (leadership, server))
});
