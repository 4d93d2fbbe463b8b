//! The task queue contract, written once and stamped out per implementation
//! by [`task_queue_test_suite!`]. Cases use real time scaled by the queue's
//! `ack_wait` (the factory should pick a short one, under a second), so the
//! same cases run against a real JetStream server.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::seam::{Published, TaskMessage, TaskQueue};

pub const ALL_CASES: &[&str] = &[
    "publish_then_pull",
    "empty_pull_times_out",
    "tasks_come_in_publish_order",
    "acked_task_is_never_redelivered",
    "unacked_task_is_redelivered",
    "in_progress_postpones_redelivery",
    "nak_redelivers_after_delay",
    "pending_duplicate_is_dropped",
    "competing_pullers_get_distinct_tasks",
    "waiting_pull_wakes_on_publish",
    "republish_of_unfinished_tasks_is_deduplicated",
    "heartbeat_keeps_task_from_other_pullers",
];

fn task(id: &str) -> TaskMessage {
    TaskMessage {
        id: id.to_string(),
        payload: format!("payload-{id}").into_bytes(),
    }
}

pub async fn publish_then_pull<Q: TaskQueue>(q: Q) {
    assert_eq!(q.publish(task("a")).await.unwrap(), Published::Queued);
    let d = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(
        (d.id.as_str(), d.payload.as_slice(), d.delivered),
        ("a", &b"payload-a"[..], 1)
    );
    d.ack().await.unwrap();
}

pub async fn empty_pull_times_out<Q: TaskQueue>(q: Q) {
    let started = tokio::time::Instant::now();
    assert!(q.pull(Duration::from_millis(100)).await.unwrap().is_none());
    assert!(started.elapsed() >= Duration::from_millis(90));
}

pub async fn tasks_come_in_publish_order<Q: TaskQueue>(q: Q) {
    for id in ["1", "2", "3"] {
        q.publish(task(id)).await.unwrap();
    }
    let mut got = Vec::new();
    while let Some(d) = q.pull(Duration::from_millis(200)).await.unwrap() {
        got.push(d.id.clone());
        d.ack().await.unwrap();
    }
    assert_eq!(got, ["1", "2", "3"]);
}

pub async fn acked_task_is_never_redelivered<Q: TaskQueue>(q: Q) {
    q.publish(task("a")).await.unwrap();
    q.pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task")
        .ack()
        .await
        .unwrap();
    assert!(q.pull(q.ack_wait() * 3).await.unwrap().is_none());
}

pub async fn unacked_task_is_redelivered<Q: TaskQueue>(q: Q) {
    q.publish(task("a")).await.unwrap();
    let first = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    assert!(
        q.pull(q.ack_wait() / 3).await.unwrap().is_none(),
        "not before ack_wait"
    );
    let again = q.pull(q.ack_wait() * 5).await.unwrap().expect("redelivery");
    assert_eq!((again.id.as_str(), again.delivered), ("a", 2));
    drop(first);
    again.ack().await.unwrap();
}

pub async fn in_progress_postpones_redelivery<Q: TaskQueue>(q: Q) {
    q.publish(task("a")).await.unwrap();
    let d = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    // Heartbeat at a third of ack_wait for twice ack_wait: never redelivered.
    for _ in 0..6 {
        tokio::time::sleep(q.ack_wait() / 3).await;
        d.in_progress().await.unwrap();
        assert!(q.pull(Duration::ZERO).await.unwrap().is_none());
    }
    d.ack().await.unwrap();
    assert!(q.pull(q.ack_wait() * 2).await.unwrap().is_none());
}

pub async fn nak_redelivers_after_delay<Q: TaskQueue>(q: Q) {
    q.publish(task("a")).await.unwrap();
    let d = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    let delay = q.ack_wait() / 2;
    d.nak(delay).await.unwrap();
    let again = q
        .pull(delay * 4)
        .await
        .unwrap()
        .expect("redelivery after nak");
    assert_eq!(again.delivered, 2);
    again.nak(Duration::ZERO).await.unwrap();
    let third = q
        .pull(q.ack_wait() / 2)
        .await
        .unwrap()
        .expect("immediate redelivery");
    assert_eq!(third.delivered, 3);
    third.ack().await.unwrap();
}

pub async fn pending_duplicate_is_dropped<Q: TaskQueue>(q: Q) {
    assert_eq!(q.publish(task("a")).await.unwrap(), Published::Queued);
    assert_eq!(q.publish(task("a")).await.unwrap(), Published::Duplicate);
    let d = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(
        q.publish(task("a")).await.unwrap(),
        Published::Duplicate,
        "while in flight"
    );
    d.ack().await.unwrap();
    assert!(
        q.pull(Duration::from_millis(100)).await.unwrap().is_none(),
        "only one copy"
    );
}

pub async fn competing_pullers_get_distinct_tasks<Q: TaskQueue>(q: Q) {
    let q = Arc::new(q);
    for i in 0..20 {
        q.publish(task(&format!("t{i:02}"))).await.unwrap();
    }
    let pullers: Vec<_> = (0..4)
        .map(|_| {
            let q = Arc::clone(&q);
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(d) = q.pull(Duration::from_millis(200)).await.unwrap() {
                    got.push(d.id.clone());
                    d.ack().await.unwrap();
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for p in pullers {
        all.extend(p.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 20, "each task once: {all:?}");
    assert_eq!(distinct.len(), 20);
}

pub async fn waiting_pull_wakes_on_publish<Q: TaskQueue>(q: Q) {
    let q = Arc::new(q);
    let puller = {
        let q = Arc::clone(&q);
        tokio::spawn(async move { q.pull(Duration::from_secs(10)).await.unwrap().map(|d| d.id) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = tokio::time::Instant::now();
    q.publish(task("late")).await.unwrap();
    assert_eq!(puller.await.unwrap().as_deref(), Some("late"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the pull must not wait for its timeout"
    );
}

/// A restarted coordinator republishes every task it has no result for, some
/// still queued, one in flight: nothing is queued twice. (What happens to an
/// id republished after its ack differs: the in-process queue has forgotten
/// it, JetStream remembers it for its duplicate window. Not part of the
/// contract; callers skip tasks their checkpoint store records as done.)
pub async fn republish_of_unfinished_tasks_is_deduplicated<Q: TaskQueue>(q: Q) {
    for id in ["a", "b", "c"] {
        assert_eq!(q.publish(task(id)).await.unwrap(), Published::Queued);
    }
    let in_flight = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(in_flight.id, "a");
    for id in ["a", "b", "c"] {
        assert_eq!(
            q.publish(task(id)).await.unwrap(),
            Published::Duplicate,
            "republished {id}"
        );
    }
    in_flight.ack().await.unwrap();
    let mut rest = Vec::new();
    while let Some(d) = q.pull(q.ack_wait() * 2).await.unwrap() {
        rest.push(d.id.clone());
        d.ack().await.unwrap();
    }
    assert_eq!(rest, ["b", "c"], "each unfinished task exactly once");
}

/// A worker's background heartbeat (through [`super::Delivery::heartbeat`])
/// keeps its task from other pullers for several ack waits; after the ack a
/// late heartbeat may fail but never brings the task back.
pub async fn heartbeat_keeps_task_from_other_pullers<Q: TaskQueue>(q: Q) {
    let q = Arc::new(q);
    q.publish(task("long")).await.unwrap();
    let d = q
        .pull(Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a task");
    let handle = d.heartbeat();
    let period = q.ack_wait() / 3;
    let beating = tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            handle.in_progress().await.unwrap();
        }
    });
    let other = {
        let q = Arc::clone(&q);
        tokio::spawn(async move { q.pull(q.ack_wait() * 4).await.unwrap().map(|d| d.id) })
    };
    assert_eq!(other.await.unwrap(), None, "kept while heartbeating");
    assert!(!beating.is_finished(), "every heartbeat succeeded");
    beating.abort();
    let late = d.heartbeat();
    d.ack().await.unwrap();
    let _ = late.in_progress().await;
    assert!(
        q.pull(q.ack_wait() * 3).await.unwrap().is_none(),
        "a heartbeat after the ack does not bring the task back"
    );
}

/// Generates one `#[tokio::test]` per contract case in a module named `$name`.
/// `$make` evaluates to `(queue, guard)`; the guard lives until the case ends.
#[macro_export]
macro_rules! task_queue_test_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::task_queue_test_suite!(@cases $make;
                publish_then_pull,
                empty_pull_times_out,
                tasks_come_in_publish_order,
                acked_task_is_never_redelivered,
                unacked_task_is_redelivered,
                in_progress_postpones_redelivery,
                nak_redelivers_after_delay,
                pending_duplicate_is_dropped,
                competing_pullers_get_distinct_tasks,
                waiting_pull_wakes_on_publish,
                republish_of_unfinished_tasks_is_deduplicated,
                heartbeat_keeps_task_from_other_pullers
            );
        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        #[test]
        fn suite_is_complete() {
            let stamped: &[&str] = &[$(stringify!($case)),*];
            assert_eq!(stamped, $crate::queue::testsuite::ALL_CASES);
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (queue, _guard) = $make;
                $crate::queue::testsuite::$case(queue).await;
            }
        )*
    };
}
