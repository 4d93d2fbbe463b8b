//! The artefact store contract, written once as generic async fns and
//! stamped out per implementation by [`artefact_store_test_suite!`] (the
//! local store here; the NATS object store runs the same cases against a
//! real nats-server). A case takes a fresh, empty store.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::store::{ArtefactStore, MAX_KEY_LEN};
use super::{for_job, SharedArtefactStore};

/// Every case's name, so a suite can be checked for completeness.
pub const ALL_CASES: &[&str] = &[
    "get_missing_is_none",
    "put_then_get_and_replace",
    "put_file_streams_big_files",
    "get_to_file_streams_big_values",
    "values_are_binary_safe",
    "list_returns_prefix_in_key_order",
    "delete_reports_existence",
    "delete_prefix_removes_only_the_prefix",
    "racing_puts_leave_one_whole_value",
    "job_views_keep_jobs_apart",
    "invalid_keys_are_rejected",
];

pub async fn get_missing_is_none<S: ArtefactStore>(store: S) {
    assert_eq!(store.get("j1/duplicates/t1-e0.jsonl").await.unwrap(), None);
    assert!(store.list("j1/").await.unwrap().is_empty());
    assert!(!store.location().is_empty());
}

pub async fn put_then_get_and_replace<S: ArtefactStore>(store: S) {
    let key = "j1/duplicates/t1-e0.jsonl";
    store.put(key, b"first\n".to_vec()).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), Some(b"first\n".to_vec()));
    // A redone task writes the same key again: the new value replaces the old.
    store.put(key, b"second, longer\n".to_vec()).await.unwrap();
    assert_eq!(
        store.get(key).await.unwrap(),
        Some(b"second, longer\n".to_vec())
    );
    store.put(key, b"3\n".to_vec()).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), Some(b"3\n".to_vec()));
    assert_eq!(store.list("j1/").await.unwrap(), vec![key.to_string()]);
}

/// A file of several hundred KiB (more than one NATS chunk), put twice.
pub async fn put_file_streams_big_files<S: ArtefactStore>(store: S) {
    let file = TempFile::new();
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file.0, &big).unwrap();
    store.put_file("j1/big", &file.0).await.unwrap();
    assert_eq!(
        store.get("j1/big").await.unwrap().as_deref(),
        Some(&big[..])
    );
    assert!(file.0.exists(), "the source file stays");
    // A new file at that path (the contract forbids writing to the old one:
    // the store may share its data).
    std::fs::remove_file(&file.0).unwrap();
    std::fs::write(&file.0, b"small now").unwrap();
    assert_eq!(
        store.get("j1/big").await.unwrap().as_deref(),
        Some(&big[..]),
        "removing the source leaves the stored value"
    );
    store.put_file("j1/big", &file.0).await.unwrap();
    assert_eq!(
        store.get("j1/big").await.unwrap(),
        Some(b"small now".to_vec())
    );
    let missing = file.0.with_extension("missing");
    let err = store.put_file("j1/none", &missing).await.unwrap_err();
    assert!(
        err.to_string().contains("j1/none"),
        "the error names the key: {err}"
    );
    assert_eq!(store.get("j1/none").await.unwrap(), None);
}

/// A value of several hundred KiB read into a file, over an older file.
pub async fn get_to_file_streams_big_values<S: ArtefactStore>(store: S) {
    let file = TempFile::new();
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    store.put("j1/runs/r1.sst", big.clone()).await.unwrap();
    std::fs::write(&file.0, b"an older, unrelated file").unwrap();
    assert!(store.get_to_file("j1/runs/r1.sst", &file.0).await.unwrap());
    assert_eq!(std::fs::read(&file.0).unwrap(), big);
    // The reader's file is its own name: removing it keeps the value.
    std::fs::remove_file(&file.0).unwrap();
    assert_eq!(
        store.get("j1/runs/r1.sst").await.unwrap(),
        Some(big.clone())
    );
    let other = file.0.with_extension("missing");
    assert!(!store.get_to_file("j1/runs/none", &other).await.unwrap());
    assert!(!other.exists(), "no file for a missing key");
    // Missing parent directories are made.
    let nested = file.0.with_extension("dir").join("a/b.sst");
    assert!(store.get_to_file("j1/runs/r1.sst", &nested).await.unwrap());
    assert_eq!(std::fs::read(&nested).unwrap().len(), big.len());
    std::fs::remove_dir_all(file.0.with_extension("dir")).unwrap();
    let view = for_job(&(Arc::new(store) as SharedArtefactStore), "j2").unwrap();
    view.put("runs/r2.sst", b"two".to_vec()).await.unwrap();
    assert!(view.get_to_file("runs/r2.sst", &file.0).await.unwrap());
    assert_eq!(std::fs::read(&file.0).unwrap(), b"two");
}

pub async fn values_are_binary_safe<S: ArtefactStore>(store: S) {
    let value: Vec<u8> = (0..=255u8).chain([b'\n', 0, 0xff]).collect();
    store.put("j1/bin/`x`.\"名\"", value.clone()).await.unwrap();
    store.put("j1/bin/empty", Vec::new()).await.unwrap();
    assert_eq!(store.get("j1/bin/`x`.\"名\"").await.unwrap(), Some(value));
    assert_eq!(store.get("j1/bin/empty").await.unwrap(), Some(Vec::new()));
}

pub async fn list_returns_prefix_in_key_order<S: ArtefactStore>(store: S) {
    for key in [
        "j1/duplicates/t2-e0.jsonl",
        "j1/duplicates/t10-e1.jsonl",
        "j1/conflicts/part-1",
        "j10/duplicates/t1-e0.jsonl",
        "j2/duplicates/t1-e0.jsonl",
    ] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(
        store.list("j1/").await.unwrap(),
        vec![
            "j1/conflicts/part-1",
            "j1/duplicates/t10-e1.jsonl",
            "j1/duplicates/t2-e0.jsonl"
        ]
    );
    assert_eq!(
        store.list("j1/duplicates/t1").await.unwrap(),
        vec!["j1/duplicates/t10-e1.jsonl"],
        "a prefix may end inside a segment"
    );
    assert_eq!(
        store.list("j1").await.unwrap().len(),
        4,
        "a plain string prefix: j1 and j10"
    );
    assert!(store.list("j3/").await.unwrap().is_empty());
}

pub async fn delete_reports_existence<S: ArtefactStore>(store: S) {
    store.put("j1/a", b"a".to_vec()).await.unwrap();
    store.put("j1/b", b"b".to_vec()).await.unwrap();
    assert!(store.delete("j1/a").await.unwrap());
    assert!(!store.delete("j1/a").await.unwrap(), "gone already");
    assert!(!store.delete("j1/never").await.unwrap());
    assert_eq!(store.get("j1/a").await.unwrap(), None);
    assert_eq!(store.list("j1/").await.unwrap(), vec!["j1/b"]);
    store.put("j1/a", b"again".to_vec()).await.unwrap();
    assert_eq!(store.get("j1/a").await.unwrap(), Some(b"again".to_vec()));
}

pub async fn delete_prefix_removes_only_the_prefix<S: ArtefactStore>(store: S) {
    for key in ["j1/d/a", "j1/d/b", "j1/e", "j10/d/a"] {
        store.put(key, vec![1]).await.unwrap();
    }
    assert_eq!(store.delete_prefix("j1/").await.unwrap(), 3);
    assert!(store.list("j1/").await.unwrap().is_empty());
    assert_eq!(store.list("").await.unwrap(), vec!["j10/d/a"]);
    assert_eq!(store.delete_prefix("j1/").await.unwrap(), 0);
}

/// Two workers redoing one engine (a presumed-dead one and its successor)
/// put the same key at once: one value survives, whole.
pub async fn racing_puts_leave_one_whole_value<S: ArtefactStore>(store: S) {
    let store = Arc::new(store);
    let values: Vec<Vec<u8>> = (0..4u8).map(|n| vec![b'a' + n; 200_000]).collect();
    let mut writers = Vec::new();
    for value in values.clone() {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            store.put("j1/raced", value).await.unwrap()
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let got = store.get("j1/raced").await.unwrap().unwrap();
    assert!(values.contains(&got), "a torn value of {} bytes", got.len());
}

pub async fn job_views_keep_jobs_apart<S: ArtefactStore>(store: S) {
    let shared: SharedArtefactStore = Arc::new(store);
    let (one, two) = (
        for_job(&shared, "j1").unwrap(),
        for_job(&shared, "j2").unwrap(),
    );
    let key = "duplicates/t1-e0.jsonl";
    one.put(key, b"one".to_vec()).await.unwrap();
    two.put(key, b"two".to_vec()).await.unwrap();
    assert_eq!(one.get(key).await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(
        shared.get("j2/duplicates/t1-e0.jsonl").await.unwrap(),
        Some(b"two".to_vec())
    );
    assert_eq!(one.list("").await.unwrap(), vec![key]);
    assert_eq!(one.delete_prefix("").await.unwrap(), 1);
    assert_eq!(two.list("dup").await.unwrap(), vec![key]);
    assert!(one.location().contains("j1/"));
    assert_eq!(one.get("missing").await.unwrap(), None);
}

pub async fn invalid_keys_are_rejected<S: ArtefactStore>(store: S) {
    for bad in ["", "/abs", "a/", "a//b", "a/../b", ".tmp", "a\\b", "a\0b"] {
        assert!(store.put(bad, vec![]).await.is_err(), "put {bad:?}");
        assert!(store.get(bad).await.is_err(), "get {bad:?}");
        assert!(store.delete(bad).await.is_err(), "delete {bad:?}");
    }
    assert!(store
        .put(&"k".repeat(MAX_KEY_LEN + 1), vec![])
        .await
        .is_err());
    assert!(store.list("../").await.is_err());
    let err = store.put("a/../b", vec![]).await.unwrap_err();
    assert!(
        !err.is_retryable() && err.to_string().contains("a/../b"),
        "{err}"
    );
}

/// A file in the temp dir, removed on drop (the suite is also built outside
/// tests, where `tempfile` is not a dependency).
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!(
            "squall-artefact-suite-{}-{n}.bin",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Generates one `#[tokio::test]` per contract case in a module named `$name`.
/// `$make` is an expression evaluating to `(store, guard)`; the guard (a temp
/// dir, a server process) lives until the case ends.
#[macro_export]
macro_rules! artefact_store_test_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::artefact_store_test_suite!(@cases $make;
                get_missing_is_none,
                put_then_get_and_replace,
                put_file_streams_big_files,
                get_to_file_streams_big_values,
                values_are_binary_safe,
                list_returns_prefix_in_key_order,
                delete_reports_existence,
                delete_prefix_removes_only_the_prefix,
                racing_puts_leave_one_whole_value,
                job_views_keep_jobs_apart,
                invalid_keys_are_rejected
            );
        }
    };
    (@cases $make:expr; $($case:ident),*) => {
        #[test]
        fn suite_is_complete() {
            let stamped: &[&str] = &[$(stringify!($case)),*];
            assert_eq!(stamped, $crate::artefacts::testsuite::ALL_CASES);
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make;
                $crate::artefacts::testsuite::$case(store).await;
            }
        )*
    };
}
