use super::*;
use crate::mvcc::tests::put_version;
use crate::storage::Storage;

fn detect(storage: &Storage, min_commit_ts: u64, key_only: bool) -> Vec<DuplicateDetectResponse> {
    let reader = MvccReader::new(storage);
    let detector = Detector {
        reader: &reader,
        min_commit_ts,
        key_only,
    };
    let mut out = Vec::new();
    detector.run(
        &KeyRange {
            lower: Vec::new(),
            upper: None,
        },
        |r| {
            out.push(r);
            true
        },
    );
    out
}

fn flat(resps: &[DuplicateDetectResponse]) -> Vec<(String, String, u64)> {
    resps
        .iter()
        .flat_map(|r| r.pairs.iter())
        .map(|p| {
            (
                String::from_utf8_lossy(&p.key).into_owned(),
                String::from_utf8_lossy(&p.value).into_owned(),
                p.commit_ts,
            )
        })
        .collect()
}

fn expect(list: &[(u64, u64)]) -> Vec<(String, String, u64)> {
    list.iter()
        .map(|(k, ts)| (k.to_string(), k.to_string(), *ts))
        .collect()
}

#[test]
fn reports_imported_duplicates_and_conflicts_with_existing_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    // Rows 100..110 and 104..114 existed before the import (ts 10, 14);
    // the import (min_commit_ts 16) wrote 108..118 at 18 and 112..122 at 22.
    for start in [100u64, 104, 108, 112] {
        for k in start..start + 10 {
            put_version(
                &storage,
                k.to_string().as_bytes(),
                start - 90,
                WriteKind::Put,
                k.to_string().as_bytes(),
            );
        }
    }
    let got = flat(&detect(&storage, 16, false));
    let mut want = Vec::new();
    for k in 108..=111 {
        want.extend([(k, 18), (k, 14)]);
    }
    for k in 112..=113 {
        want.extend([(k, 22), (k, 18), (k, 14)]);
    }
    for k in 114..=117 {
        want.extend([(k, 22), (k, 18)]);
    }
    assert_eq!(got, expect(&want));
}

#[test]
fn skips_rollbacks_and_stops_at_an_old_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    for k in ["100", "101", "102"] {
        put_version(&storage, k.as_bytes(), 10, WriteKind::Put, k.as_bytes());
        put_version(&storage, k.as_bytes(), 14, WriteKind::Put, k.as_bytes());
    }
    put_version(&storage, b"100", 11, WriteKind::Rollback, b"");
    put_version(&storage, b"101", 11, WriteKind::Rollback, b"");
    put_version(&storage, b"102", 12, WriteKind::Delete, b"");
    assert_eq!(
        flat(&detect(&storage, 13, false)),
        expect(&[(100, 14), (100, 10), (101, 14), (101, 10)])
    );
}

#[test]
fn an_older_delete_above_min_is_passed_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    put_version(&storage, b"7", 30, WriteKind::Put, b"7");
    put_version(&storage, b"7", 25, WriteKind::Delete, b"");
    put_version(&storage, b"7", 20, WriteKind::Put, b"7");
    assert_eq!(
        flat(&detect(&storage, 10, false)),
        expect(&[(7, 30), (7, 20)])
    );
}

#[test]
fn newest_delete_above_min_is_a_key_error_and_drops_the_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    put_version(&storage, b"1", 20, WriteKind::Put, b"a");
    put_version(&storage, b"1", 30, WriteKind::Put, b"b");
    put_version(&storage, b"2", 20, WriteKind::Put, b"c");
    put_version(&storage, b"2", 30, WriteKind::Delete, b"");
    let resps = detect(&storage, 10, false);
    assert_eq!(resps.len(), 1);
    assert!(resps[0].pairs.is_empty());
    let message = resps[0]
        .key_error
        .as_ref()
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert_eq!(
        message,
        "found a Delete key with commits ts 30 larger than min_commit_ts of importer 10"
    );
}

#[test]
fn key_only_omits_values_and_the_newest_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let long = vec![b'x'; 300];
    put_version(&storage, b"k", 5, WriteKind::Put, &long);
    put_version(&storage, b"k", 9, WriteKind::Put, b"v");
    let full = flat(&detect(&storage, 0, false));
    assert_eq!(
        full,
        vec![
            ("k".into(), "v".into(), 9),
            ("k".into(), String::from_utf8_lossy(&long).into_owned(), 5)
        ]
    );
    assert_eq!(
        flat(&detect(&storage, 0, true)),
        vec![("k".into(), String::new(), 5)]
    );
}

#[test]
fn single_versions_and_old_keys_are_not_reported_and_batches_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    put_version(&storage, b"lonely", 50, WriteKind::Put, b"v");
    put_version(&storage, b"old", 1, WriteKind::Put, b"v");
    put_version(&storage, b"old", 2, WriteKind::Put, b"v");
    for i in 0..3000u32 {
        let key = format!("dup{i:05}");
        put_version(&storage, key.as_bytes(), 10, WriteKind::Put, b"a");
        put_version(&storage, key.as_bytes(), 20, WriteKind::Put, b"b");
    }
    let resps = detect(&storage, 5, false);
    let sizes: Vec<usize> = resps.iter().map(|r| r.pairs.len()).collect();
    assert_eq!(sizes, vec![MAX_BATCH_PAIRS, 6000 - MAX_BATCH_PAIRS]);
    assert!(flat(&resps).iter().all(|(k, _, _)| k.starts_with("dup")));
}
