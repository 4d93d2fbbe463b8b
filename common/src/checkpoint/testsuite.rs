//! The checkpoint store contract, written once as generic async fns and
//! stamped out per implementation by [`checkpoint_store_test_suite!`]
//! (the local store here; the etcd store runs the same cases against a real
//! etcd). A case takes a fresh, empty store.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use super::store::{CasOutcome, CheckpointStore, Revision};

/// Every case's name, so a suite can be checked for completeness.
pub const ALL_CASES: &[&str] = &[
    "get_missing_is_none",
    "put_then_get",
    "revisions_strictly_increase",
    "cas_creates_only_when_absent",
    "cas_swaps_only_at_expected_revision",
    "cas_after_delete_and_recreate_conflicts",
    "list_returns_prefix_in_key_order",
    "list_page_walks_a_prefix_a_page_at_a_time",
    "delete_reports_existence",
    "concurrent_cas_has_one_winner",
    "concurrent_increments_are_all_counted",
    "invalid_keys_are_rejected",
    "values_are_binary_safe",
];

pub async fn get_missing_is_none<S: CheckpointStore>(store: S) {
    assert_eq!(store.get("squall/none").await.unwrap(), None);
}

pub async fn put_then_get<S: CheckpointStore>(store: S) {
    let rev = store.put("squall/a", b"one".to_vec()).await.unwrap();
    let got = store
        .get("squall/a")
        .await
        .unwrap()
        .expect("value after put");
    assert_eq!(got.value, b"one");
    assert_eq!(got.revision, rev);
    let rev2 = store.put("squall/a", b"two".to_vec()).await.unwrap();
    let got = store
        .get("squall/a")
        .await
        .unwrap()
        .expect("value after overwrite");
    assert_eq!((got.value.as_slice(), got.revision), (&b"two"[..], rev2));
}

pub async fn revisions_strictly_increase<S: CheckpointStore>(store: S) {
    let mut last = Revision(0);
    for (i, key) in ["squall/x", "squall/y", "squall/x", "squall/z"]
        .iter()
        .enumerate()
    {
        let rev = store.put(key, vec![i as u8]).await.unwrap();
        assert!(rev > last, "write {i} got {rev:?} after {last:?}");
        last = rev;
    }
    store.delete("squall/y").await.unwrap();
    let rev = store.put("squall/y", vec![9]).await.unwrap();
    assert!(rev > last, "recreated key got {rev:?} after {last:?}");
}

pub async fn cas_creates_only_when_absent<S: CheckpointStore>(store: S) {
    let CasOutcome::Swapped(rev) = store
        .cas("squall/c", None, b"first".to_vec())
        .await
        .unwrap()
    else {
        panic!("create of an absent key must swap");
    };
    match store
        .cas("squall/c", None, b"second".to_vec())
        .await
        .unwrap()
    {
        CasOutcome::Conflict { current: Some(cur) } => {
            assert_eq!((cur.value.as_slice(), cur.revision), (&b"first"[..], rev));
        }
        other => panic!("create of an existing key must conflict, got {other:?}"),
    }
}

pub async fn cas_swaps_only_at_expected_revision<S: CheckpointStore>(store: S) {
    let r1 = store.put("squall/k", b"v1".to_vec()).await.unwrap();
    let CasOutcome::Swapped(r2) = store
        .cas("squall/k", Some(r1), b"v2".to_vec())
        .await
        .unwrap()
    else {
        panic!("cas at the current revision must swap");
    };
    assert!(r2 > r1);
    match store
        .cas("squall/k", Some(r1), b"v3".to_vec())
        .await
        .unwrap()
    {
        CasOutcome::Conflict { current: Some(cur) } => assert_eq!(cur.revision, r2),
        other => panic!("cas at a stale revision must conflict, got {other:?}"),
    }
    match store
        .cas("squall/missing", Some(r1), b"v".to_vec())
        .await
        .unwrap()
    {
        CasOutcome::Conflict { current: None } => {}
        other => panic!("cas on an absent key with a revision must conflict, got {other:?}"),
    }
    assert_eq!(store.get("squall/k").await.unwrap().unwrap().value, b"v2");
}

pub async fn cas_after_delete_and_recreate_conflicts<S: CheckpointStore>(store: S) {
    let r1 = store.put("squall/d", b"a".to_vec()).await.unwrap();
    assert!(store.delete("squall/d").await.unwrap());
    store.put("squall/d", b"b".to_vec()).await.unwrap();
    let outcome = store
        .cas("squall/d", Some(r1), b"c".to_vec())
        .await
        .unwrap();
    assert!(
        matches!(outcome, CasOutcome::Conflict { current: Some(_) }),
        "{outcome:?}"
    );
}

pub async fn list_returns_prefix_in_key_order<S: CheckpointStore>(store: S) {
    for key in [
        "squall/j/b",
        "squall/j/a",
        "squall/jx",
        "squall/i",
        "squall/j/c/d",
    ] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let listed = store.list("squall/j/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["squall/j/a", "squall/j/b", "squall/j/c/d"]);
    for (k, v) in &listed {
        assert_eq!(v.value, k.as_bytes());
    }
    assert!(store.list("squall/nothing/").await.unwrap().is_empty());
}

pub async fn list_page_walks_a_prefix_a_page_at_a_time<S: CheckpointStore>(store: S) {
    let inside: Vec<String> = (0..7).map(|i| format!("squall/p/{i:02}")).collect();
    for key in inside
        .iter()
        .map(String::as_str)
        .chain(["squall/o", "squall/q"])
    {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    // Pages of 3 after the last key of the page before: every key once, in order.
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_page("squall/p/", after.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.len() <= 3, "a page of {} keys", page.len());
        for (k, v) in &page {
            assert_eq!(v.value, k.as_bytes());
        }
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        walked.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(walked, inside);
    // `after` below the prefix starts at its first key; past it, nothing.
    let first = store
        .list_page("squall/p/", Some("squall/a"), 2)
        .await
        .unwrap();
    let keys: Vec<&str> = first.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["squall/p/00", "squall/p/01"]);
    let past = store
        .list_page("squall/p/", Some("squall/p/06"), 5)
        .await
        .unwrap();
    assert!(past.is_empty(), "{past:?}");
    assert!(store
        .list_page("squall/none/", None, 5)
        .await
        .unwrap()
        .is_empty());
}

pub async fn delete_reports_existence<S: CheckpointStore>(store: S) {
    store.put("squall/del", vec![1]).await.unwrap();
    assert!(store.delete("squall/del").await.unwrap());
    assert!(!store.delete("squall/del").await.unwrap());
    assert_eq!(store.get("squall/del").await.unwrap(), None);
}

pub async fn concurrent_cas_has_one_winner<S: CheckpointStore>(store: S) {
    let store = Arc::new(store);
    let base = store.put("squall/race", b"0".to_vec()).await.unwrap();
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.cas("squall/race", Some(base), vec![i]).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let CasOutcome::Swapped(_) = t.await.unwrap().unwrap() {
            winners.push(i as u8);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one cas may win: {winners:?}");
    assert_eq!(
        store.get("squall/race").await.unwrap().unwrap().value,
        winners
    );
}

/// Writers racing read-modify-CAS loops on one counter: every increment
/// lands exactly once and every swap gets its own revision.
pub async fn concurrent_increments_are_all_counted<S: CheckpointStore>(store: S) {
    const WRITERS: u64 = 4;
    const EACH: u64 = 10;
    let store = Arc::new(store);
    store.put("squall/counter", b"0".to_vec()).await.unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { increment_times(&*store, "squall/counter", EACH).await })
        })
        .collect();
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.extend(t.await.unwrap());
    }
    let total = WRITERS * EACH;
    let got = store.get("squall/counter").await.unwrap().unwrap();
    assert_eq!(got.value, total.to_string().into_bytes());
    revisions.sort();
    revisions.dedup();
    assert_eq!(
        revisions.len() as u64,
        total,
        "one revision per winning swap"
    );
    assert_eq!(revisions.last(), Some(&got.revision));
}

/// Adds one to the decimal counter at `key` `times` times by get + cas,
/// retrying on conflict; returns the revision of each winning swap.
pub async fn increment_times<S: CheckpointStore + ?Sized>(
    store: &S,
    key: &str,
    times: u64,
) -> Vec<Revision> {
    let mut won = Vec::new();
    while (won.len() as u64) < times {
        let current = store.get(key).await.unwrap().unwrap();
        let n: u64 = String::from_utf8(current.value).unwrap().parse().unwrap();
        let next = (n + 1).to_string().into_bytes();
        match store.cas(key, Some(current.revision), next).await.unwrap() {
            CasOutcome::Swapped(rev) => won.push(rev),
            CasOutcome::Conflict { .. } => tokio::task::yield_now().await,
        }
    }
    won
}

pub async fn invalid_keys_are_rejected<S: CheckpointStore>(store: S) {
    assert!(store.put("", vec![]).await.is_err());
    assert!(store.put("a\0b", vec![]).await.is_err());
    assert!(store
        .put(&"k".repeat(super::store::MAX_KEY_LEN + 1), vec![])
        .await
        .is_err());
}

pub async fn values_are_binary_safe<S: CheckpointStore>(store: S) {
    let value: Vec<u8> = (0..=255u8).chain([b'\n', 0, 0xff]).collect();
    store
        .put("squall/bin/`x`.\"名\"", value.clone())
        .await
        .unwrap();
    store.put("squall/bin/empty", Vec::new()).await.unwrap();
    let got = store.get("squall/bin/`x`.\"名\"").await.unwrap().unwrap();
    assert_eq!(got.value, value);
    assert_eq!(
        store.get("squall/bin/empty").await.unwrap().unwrap().value,
        b""
    );
}

/// Generates one `#[tokio::test]` per contract case in a module named `$name`.
/// `$make` is an expression evaluating to `(store, guard)`; the guard (a temp
/// dir, a server process) lives until the case ends.
#[macro_export]
macro_rules! checkpoint_store_test_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::checkpoint_store_test_suite!(@cases $make;
                get_missing_is_none,
                put_then_get,
                revisions_strictly_increase,
                cas_creates_only_when_absent,
                cas_swaps_only_at_expected_revision,
                cas_after_delete_and_recreate_conflicts,
                list_returns_prefix_in_key_order,
                list_page_walks_a_prefix_a_page_at_a_time,
                delete_reports_existence,
                concurrent_cas_has_one_winner,
                concurrent_increments_are_all_counted,
                invalid_keys_are_rejected,
                values_are_binary_safe
            );

        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        #[test]
        fn suite_is_complete() {
            let stamped: &[&str] = &[$(stringify!($case)),*];
            assert_eq!(stamped, $crate::checkpoint::testsuite::ALL_CASES);
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make;
                $crate::checkpoint::testsuite::$case(store).await;
            }
        )*
    };
}
