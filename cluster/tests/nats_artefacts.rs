//! The artefact-store contract and the NATS-specific behaviour, against a
//! real nats-server with JetStream (one server and one bucket per test).
//! Without the binary the tests skip with the reason printed, unless
//! `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use squall_cluster::testserver::NatsServer;
use squall_cluster::{NatsArtefactOptions, NatsArtefactStore, NatsOpenError};
use squall_common::artefacts::{ArtefactError, ArtefactStore};
use tokio::time::Instant;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_FOR: Duration = Duration::from_secs(3);

fn server_or_skip() -> Option<NatsServer> {
    squall_cluster::testserver::start_or_skip("nats-server", NatsServer::start)
}

fn options(server: &NatsServer) -> NatsArtefactOptions {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut opts = NatsArtefactOptions::new(server.url(), format!("squall-test-artefacts-{n}"));
    opts.connect_timeout = REQUEST_TIMEOUT;
    opts.request_timeout = REQUEST_TIMEOUT;
    opts.retry_for = RETRY_FOR;
    opts
}

async fn open(opts: &NatsArtefactOptions) -> NatsArtefactStore {
    NatsArtefactStore::connect(opts.clone())
        .await
        .expect("open the artefact bucket")
}

squall_common::artefact_store_test_suite!(nats_suite, {
    let Some(server) = server_or_skip() else {
        return;
    };
    (open(&options(&server)).await, server)
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artefacts_survive_a_server_restart_and_a_second_client_sees_them() {
    let Some(mut server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let worker = open(&opts).await;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 199) as u8).collect();
    worker
        .put("j1/duplicates/t1-e0.jsonl", big.clone())
        .await
        .unwrap();
    server.stop().unwrap();
    server.start_again().unwrap();
    // Another process (the coordinator), opening the existing bucket.
    let coordinator = open(&opts).await;
    assert_eq!(
        coordinator.get("j1/duplicates/t1-e0.jsonl").await.unwrap(),
        Some(big)
    );
    assert_eq!(
        coordinator.list("j1/").await.unwrap(),
        vec!["j1/duplicates/t1-e0.jsonl"]
    );
    // The first client reconnected by itself.
    worker.put("j1/after", b"x".to_vec()).await.unwrap();
    assert_eq!(
        coordinator.get("j1/after").await.unwrap(),
        Some(b"x".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_while_the_server_is_down_fail_in_bounded_time_naming_the_key() {
    let Some(mut server) = server_or_skip() else {
        return;
    };
    let store = open(&options(&server)).await;
    server.stop().unwrap();
    let started = Instant::now();
    let err = store
        .put("j1/duplicates/t2-e5.jsonl", b"x".to_vec())
        .await
        .expect_err("the server is down");
    let took = started.elapsed();
    match &err {
        ArtefactError::Unavailable {
            key, store: at, op, ..
        } => {
            assert_eq!((key.as_str(), *op), ("j1/duplicates/t2-e5.jsonl", "put"));
            assert!(at.contains(&server.url()), "{err}");
        }
        other => panic!("put while down: {other:?}"),
    }
    assert!(err.is_retryable(), "a worker retries the task later");
    assert!(took < RETRY_FOR + REQUEST_TIMEOUT * 4, "put took {took:?}");
    server.start_again().unwrap();
    store
        .put("j1/duplicates/t2-e5.jsonl", b"x".to_vec())
        .await
        .unwrap();
    assert_eq!(
        store.get("j1/duplicates/t2-e5.jsonl").await.unwrap(),
        Some(b"x".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_at_connect() {
    let Some(mut server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    server.stop().unwrap();
    let started = Instant::now();
    let err = match NatsArtefactStore::connect(opts.clone()).await {
        Ok(_) => panic!("nothing listens at {}", server.url()),
        Err(e) => e,
    };
    assert!(matches!(err, NatsOpenError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&server.url()), "{err}");
    assert!(
        started.elapsed() < REQUEST_TIMEOUT * 3,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_an_existing_bucket_again_is_idempotent() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let (a, b) = tokio::join!(
        NatsArtefactStore::connect(opts.clone()),
        NatsArtefactStore::connect(opts.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    a.put("j1/k", b"v".to_vec()).await.unwrap();
    assert_eq!(b.get("j1/k").await.unwrap(), Some(b"v".to_vec()));
    assert!(a.location().contains(&opts.bucket));
}
