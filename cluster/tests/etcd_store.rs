//! The checkpoint store contract and etcd's own faults, against a real etcd.
//!
//! Each test starts its own etcd (about a second). A server shared by the
//! whole binary would have to live in a `static`, which is never dropped, so
//! its process and data dir would outlive the test run; and the tests that
//! stop and restart etcd must own theirs anyway. Every store uses a key
//! prefix, so the prefix mapping is exercised by the whole suite.
//!
//! Without `/usr/bin/etcd` a test prints why and passes, unless `CI=true`,
//! where it fails: CI must run these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use squall_cluster::testserver::EtcdServer;
use squall_cluster::{EtcdCheckpointStore, EtcdOptions};
use squall_common::checkpoint::testsuite::increment_times;
use squall_common::checkpoint::{CasOutcome, CheckpointError, CheckpointStore};

/// A running etcd, or `None` (test skipped) when the binary is missing and
/// this is not CI.
fn start_etcd() -> Option<EtcdServer> {
    squall_cluster::testserver::start_or_skip("etcd", EtcdServer::start)
}

/// Options for a test: short waits so failure paths finish quickly.
fn options(endpoint: String) -> EtcdOptions {
    EtcdOptions {
        prefix: "test/".into(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        max_retries: 4,
        retry_initial: Duration::from_millis(50),
        retry_max_interval: Duration::from_millis(400),
        ..EtcdOptions::new([endpoint])
    }
}

async fn connect(options: EtcdOptions) -> EtcdCheckpointStore {
    EtcdCheckpointStore::connect(options)
        .await
        .expect("connect to the test etcd")
}

squall_common::checkpoint_store_test_suite!(etcd_suite, {
    let Some(server) = start_etcd() else { return };
    let store = connect(options(server.endpoint())).await;
    (store, server)
});

/// Separate clients (as separate workers would be) racing read-modify-CAS
/// on one counter: each increment lands once, each swap has its revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_from_separate_clients_are_all_counted() {
    let Some(server) = start_etcd() else { return };
    const CLIENTS: usize = 4;
    const EACH: u64 = 25;
    let first = connect(options(server.endpoint())).await;
    first.put("squall/n", b"0".to_vec()).await.expect("put");
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let store = connect(options(server.endpoint())).await;
        tasks.push(tokio::spawn(async move {
            increment_times(&store, "squall/n", EACH).await
        }));
    }
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.extend(t.await.expect("writer task"));
    }
    let got = first.get("squall/n").await.expect("get").expect("counter");
    let total = CLIENTS as u64 * EACH;
    assert_eq!(got.value, total.to_string().into_bytes());
    revisions.sort();
    revisions.dedup();
    assert_eq!(
        revisions.len() as u64,
        total,
        "one revision per winning swap"
    );
}

/// A put and a cas issued while etcd is down (killed: a crash) keep retrying
/// and succeed once etcd is back; the value acknowledged before the crash
/// was still there for the cas to swap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_while_etcd_is_down_succeeds_once_it_is_back() {
    let Some(mut server) = start_etcd() else {
        return;
    };
    let patient = EtcdOptions {
        max_retries: 100,
        ..options(server.endpoint())
    };
    let store = Arc::new(connect(patient).await);
    let before = store
        .put("squall/before", b"acked".to_vec())
        .await
        .expect("put");
    server.stop().expect("stop etcd");

    let writer = Arc::clone(&store);
    let call = tokio::spawn(async move { writer.put("squall/during", b"late".to_vec()).await });
    let swapper = Arc::clone(&store);
    let swap = tokio::spawn(async move {
        let value = b"swapped".to_vec();
        swapper.cas("squall/before", Some(before), value).await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !call.is_finished(),
        "a put must not finish while etcd is down"
    );
    assert!(
        !swap.is_finished(),
        "a cas must not finish while etcd is down"
    );
    tokio::task::block_in_place(|| server.start_again()).expect("restart etcd");

    let during = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("the put finishes after etcd is back")
        .expect("writer task")
        .expect("the put succeeds after etcd is back");
    assert!(during > before);
    let swapped = swap.await.expect("cas task").expect("the cas succeeds");
    assert!(matches!(swapped, CasOutcome::Swapped(_)), "{swapped:?}");
    let fresh = connect(options(server.endpoint())).await;
    for (key, value) in [
        ("squall/before", &b"swapped"[..]),
        ("squall/during", b"late"),
    ] {
        let got = fresh.get(key).await.expect("get").expect("key survives");
        assert_eq!(got.value, value, "{key}");
    }
}

/// With etcd gone for good, a call gives up after its bounded retries with
/// an error that names the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_against_a_stopped_etcd_fails_within_its_retries() {
    let Some(mut server) = start_etcd() else {
        return;
    };
    let store = connect(options(server.endpoint())).await;
    server.stop().expect("stop etcd");
    let started = Instant::now();
    let err = store.get("squall/x").await.expect_err("etcd is down");
    let elapsed = started.elapsed();
    // 5 attempts of at most 2 s each and 4 waits of at most 0.52 s.
    assert!(
        elapsed < Duration::from_secs(13),
        "gave up after {elapsed:?}"
    );
    assert!(
        matches!(err, CheckpointError::Unavailable { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&server.endpoint()) && msg.contains("5 times"),
        "{msg}"
    );
    assert!(err.is_retryable());
}

/// Connecting to an address where nothing listens fails fast and says
/// where and what to check. Needs no etcd at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_an_unreachable_address_names_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let err = EtcdCheckpointStore::connect(options(endpoint.clone()))
        .await
        .expect_err("nothing listens there");
    assert!(
        started.elapsed() < Duration::from_secs(13),
        "{:?}",
        started.elapsed()
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&endpoint) && msg.contains("check that etcd is running"),
        "{msg}"
    );
}

/// `list` over many pages returns every key once, in order; `put_many`
/// spreads 300 puts over several Txns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_spans_many_pages_and_put_many_many_txns() {
    let Some(server) = start_etcd() else { return };
    let store = connect(EtcdOptions {
        list_page_size: 7,
        ..options(server.endpoint())
    })
    .await;
    let items: Vec<(String, Vec<u8>)> = (0..300)
        .map(|i| {
            (
                format!("squall/jobs/j/t/{i:05}"),
                format!("v{i}").into_bytes(),
            )
        })
        .collect();
    let last = store.put_many(&items).await.expect("put_many");
    store
        .put("squall/jobs/j/u", b"other".to_vec())
        .await
        .expect("put");
    store
        .put("squall/jobs/j/t", b"no slash".to_vec())
        .await
        .expect("put");

    let listed = store.list("squall/jobs/j/t/").await.expect("list");
    let got: Vec<(String, Vec<u8>)> = listed
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    assert_eq!(got, items);
    assert_eq!(listed.iter().map(|(_, v)| v.revision).max(), last);
    // 300 puts in Txns of at most 128: three distinct revisions.
    let mut revisions: Vec<_> = listed.iter().map(|(_, v)| v.revision).collect();
    revisions.dedup();
    assert_eq!(revisions.len(), 3, "{revisions:?}");
}

/// The prefix keeps stores apart, and what one writes is `<prefix><key>` in etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_separates_stores() {
    let Some(server) = start_etcd() else { return };
    let a = connect(EtcdOptions {
        prefix: "a/".into(),
        ..options(server.endpoint())
    })
    .await;
    let b = connect(EtcdOptions {
        prefix: "b/".into(),
        ..options(server.endpoint())
    })
    .await;
    let root = connect(EtcdOptions {
        prefix: String::new(),
        ..options(server.endpoint())
    })
    .await;
    a.put("squall/k", b"from a".to_vec()).await.expect("put");
    assert_eq!(b.get("squall/k").await.expect("get"), None);
    assert!(b.list("").await.expect("list").is_empty());
    let all: Vec<String> = root
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(all, ["a/squall/k"]);
    assert_eq!(a.list("").await.expect("list").len(), 1);
}

/// etcd's refusals are not retried: values over etcd's request limit
/// (`--max-request-bytes`, 1.5 MiB) and over gRPC's message cap (2 MiB) are
/// `Rejected` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_value_is_rejected_without_retrying() {
    let Some(server) = start_etcd() else { return };
    let store = connect(options(server.endpoint())).await;
    for size in [1_700_000, 2 * 1024 * 1024] {
        let started = Instant::now();
        let err = store
            .put("squall/big", vec![b'x'; size])
            .await
            .expect_err("over etcd's limits");
        assert!(
            matches!(err, CheckpointError::Rejected { .. }),
            "{size}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // The store still works afterwards.
    let outcome = store
        .cas("squall/big", None, b"small".to_vec())
        .await
        .expect("cas");
    assert!(matches!(outcome, CasOutcome::Swapped(_)), "{outcome:?}");
}
