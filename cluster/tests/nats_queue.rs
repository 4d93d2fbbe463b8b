//! The task-queue contract and the NATS-specific faults, against a real
//! nats-server with JetStream (one server and one stream per test).
//! Without the binary the tests skip with the reason printed, unless
//! `CI=true`, where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use squall_cluster::testserver::NatsServer;
use squall_cluster::{NatsOpenError, NatsOptions, NatsTaskQueue};
use squall_common::queue::{Published, QueueError, TaskMessage, TaskQueue};
use tokio::time::Instant;

/// Short, as the contract suite expects: its cases scale waits by it.
const ACK_WAIT: Duration = Duration::from_millis(600);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_FOR: Duration = Duration::from_secs(4);

/// A started server, or `None` (reason printed) when nats-server is not
/// installed and this is not CI.
fn server_or_skip() -> Option<NatsServer> {
    squall_cluster::testserver::start_or_skip("nats-server", NatsServer::start)
}

fn options(server: &NatsServer) -> NatsOptions {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut opts = NatsOptions::new(server.url(), format!("squall-test-{n}"));
    opts.ack_wait = ACK_WAIT;
    opts.connect_timeout = REQUEST_TIMEOUT;
    opts.request_timeout = REQUEST_TIMEOUT;
    opts.retry_for = RETRY_FOR;
    opts
}

async fn open(opts: &NatsOptions) -> NatsTaskQueue {
    NatsTaskQueue::connect(opts.clone())
        .await
        .expect("open the queue")
}

fn task(id: &str) -> TaskMessage {
    TaskMessage {
        id: id.to_string(),
        payload: format!("payload-{id}").into_bytes(),
    }
}

squall_common::task_queue_test_suite!(nats_suite, {
    let Some(server) = server_or_skip() else {
        return;
    };
    (open(&options(&server)).await, server)
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_tasks_survive_a_server_restart() {
    let Some(mut server) = server_or_skip() else {
        return;
    };
    let q = open(&options(&server)).await;
    for id in ["a", "b"] {
        assert_eq!(q.publish(task(id)).await.unwrap(), Published::Queued);
    }
    server.stop().unwrap();
    server.start_again().unwrap();
    // The same client reconnects by itself; the pull waits for it.
    let mut got = Vec::new();
    for _ in 0..2 {
        let d = q
            .pull(Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("pull after restart: {e}"))
            .expect("a queued task after the restart");
        got.push((d.id.clone(), d.payload.clone(), d.delivered));
        d.ack().await.unwrap();
    }
    assert_eq!(
        got,
        [
            ("a".to_string(), b"payload-a".to_vec(), 1),
            ("b".to_string(), b"payload-b".to_vec(), 1)
        ]
    );
    assert!(
        q.pull(ACK_WAIT * 2).await.unwrap().is_none(),
        "nothing else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_coordinator_republishing_gets_duplicate() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let first = open(&opts).await;
    assert_eq!(first.publish(task("a")).await.unwrap(), Published::Queued);
    drop(first);
    let restarted = open(&opts).await;
    assert_eq!(
        restarted.publish(task("a")).await.unwrap(),
        Published::Duplicate
    );
    let d = restarted
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the task");
    assert_eq!((d.id.as_str(), d.delivered), ("a", 1));
    d.ack().await.unwrap();
    // Unlike the in-process queue, JetStream remembers the id past the ack
    // for its duplicate window (see the module doc of `nats`).
    assert_eq!(
        restarted.publish(task("a")).await.unwrap(),
        Published::Duplicate
    );
    assert!(
        restarted.pull(ACK_WAIT * 2).await.unwrap().is_none(),
        "only one copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_stops_after_max_deliver_and_the_last_one_says_so() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let mut opts = options(&server);
    opts.max_deliver = 3;
    let q = open(&opts).await;
    q.publish(task("doomed")).await.unwrap();
    for n in 1..=3 {
        let d = q
            .pull(ACK_WAIT * 5)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("delivery {n}"));
        assert_eq!(d.delivered, n);
        assert_eq!(q.is_last_delivery(&d), n == 3, "delivery {n}");
        // Not acked: the first one times out, the others are given back.
        if n > 1 {
            d.nak(Duration::ZERO).await.unwrap();
        }
    }
    assert!(
        q.pull(ACK_WAIT * 4).await.unwrap().is_none(),
        "no fourth delivery"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_worker_keeps_its_task_for_many_ack_waits() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let busy = open(&opts).await;
    let idle = Arc::new(open(&opts).await);
    busy.publish(task("long")).await.unwrap();
    let d = busy
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the task");
    let other = {
        let idle = Arc::clone(&idle);
        tokio::spawn(async move { idle.pull(ACK_WAIT * 6).await.unwrap().map(|d| d.id) })
    };
    // "Work" for six ack waits, heartbeating at a third of it as a worker does.
    let working_until = Instant::now() + ACK_WAIT * 6;
    while Instant::now() < working_until {
        tokio::time::sleep(ACK_WAIT / 3).await;
        d.in_progress().await.unwrap();
    }
    assert_eq!(other.await.unwrap(), None, "the other worker never got it");
    assert_eq!(d.delivered, 1);
    d.ack().await.unwrap();
    assert!(
        idle.pull(ACK_WAIT * 3).await.unwrap().is_none(),
        "done for good"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_while_the_server_is_down_fail_in_bounded_time_and_work_after() {
    let Some(mut server) = server_or_skip() else {
        return;
    };
    let q = open(&options(&server)).await;
    server.stop().unwrap();

    let wait = Duration::from_secs(1);
    let started = Instant::now();
    let pulled = q.pull(wait).await;
    let took = started.elapsed();
    assert!(
        took < wait + REQUEST_TIMEOUT + Duration::from_secs(1),
        "pull took {took:?}"
    );
    match pulled {
        Err(QueueError::Unavailable { reason }) => {
            assert!(reason.contains(&server.url()), "{reason}")
        }
        Ok(None) => {}
        other => panic!("pull while down: {other:?}"),
    }

    let started = Instant::now();
    let published = q.publish(task("a")).await;
    let took = started.elapsed();
    match published {
        Err(QueueError::Unavailable { reason }) => {
            assert!(
                reason.contains(&server.url()) && reason.contains("publish"),
                "{reason}"
            );
        }
        other => panic!("publish while down: {other:?}"),
    }
    assert!(
        took < RETRY_FOR + REQUEST_TIMEOUT * 2,
        "publish took {took:?}"
    );

    server.start_again().unwrap();
    assert_eq!(q.publish(task("a")).await.unwrap(), Published::Queued);
    let d = q
        .pull(Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the task after restart");
    assert_eq!(d.id, "a");
    d.ack().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_again_is_idempotent_and_updates_the_consumer() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let q = open(&opts).await;
    q.publish(task("a")).await.unwrap();
    let again = open(&opts).await;
    let mut slower = opts.clone();
    slower.ack_wait = ACK_WAIT * 10;
    slower.max_deliver = 2;
    let updated = open(&slower).await;
    // The updated ack wait holds on the server: no redelivery after the old one.
    let d = updated
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the queued task");
    assert!(
        again.pull(ACK_WAIT * 3).await.unwrap().is_none(),
        "redelivered after the old ack wait"
    );
    d.ack().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_stream_with_other_retention_is_refused() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let opts = options(&server);
    let client = async_nats::connect(server.url()).await.unwrap();
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: opts.stream.clone(),
            subjects: vec![opts.subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    match NatsTaskQueue::connect(opts).await {
        Err(e @ NatsOpenError::Mismatch { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("WorkQueue") && text.contains(&server.url()),
                "{text}"
            );
        }
        Err(other) => panic!("expected a mismatch, got {other}"),
        Ok(_) => panic!("expected a mismatch, the queue opened"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_named_with_what_to_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let mut opts = NatsOptions::new(url.clone(), "squall-unreachable");
    opts.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = match NatsTaskQueue::connect(opts).await {
        Err(e) => e,
        Ok(_) => panic!("connected to nothing at {url}"),
    };
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = err.to_string();
    assert!(matches!(err, NatsOpenError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&url) && text.contains("-js") && text.contains("scripts/setup.sh"),
        "{text}"
    );
}
