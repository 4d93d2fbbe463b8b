use rocksdb::WriteBatch;

use super::*;
use crate::keys::{data_key, encode_bytes};

pub(crate) fn put_version(
    storage: &Storage,
    raw: &[u8],
    commit_ts: u64,
    kind: WriteKind,
    value: &[u8],
) {
    let enc = encode_bytes(raw);
    let record = WriteRecord::for_import(kind, commit_ts, value);
    let mut batch = WriteBatch::default();
    if kind == WriteKind::Put && record.short_value.is_none() {
        batch.put_cf(storage.cf(CF_DEFAULT), data_key(&enc, commit_ts), value);
    }
    batch.put_cf(
        storage.cf(CF_WRITE),
        data_key(&enc, commit_ts),
        record.to_bytes(),
    );
    storage.db().write(batch).expect("test write");
}

fn all() -> KeyRange {
    KeyRange {
        lower: Vec::new(),
        upper: None,
    }
}

#[test]
fn reads_the_newest_version_at_or_below_ts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let long = vec![9u8; 300];
    put_version(&storage, b"a", 10, WriteKind::Put, b"a10");
    put_version(&storage, b"a", 20, WriteKind::Put, &long);
    put_version(&storage, b"a", 30, WriteKind::Delete, b"");
    put_version(&storage, b"a", 40, WriteKind::Rollback, b"");
    let reader = MvccReader::new(&storage);
    let enc = encode_bytes(b"a");
    assert_eq!(reader.get(&enc, 5).expect("get"), None);
    assert_eq!(reader.get(&enc, 10).expect("get"), Some(b"a10".to_vec()));
    assert_eq!(reader.get(&enc, 29).expect("get"), Some(long));
    assert_eq!(reader.get(&enc, 35).expect("get"), None);
    assert_eq!(reader.get(&enc, 45).expect("get"), None);
    assert_eq!(reader.get(&encode_bytes(b"b"), 45).expect("get"), None);
}

#[test]
fn scans_forward_and_backward_within_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    for (i, key) in [b"k1", b"k2", b"k3", b"k4"].iter().enumerate() {
        put_version(
            &storage,
            *key,
            10,
            WriteKind::Put,
            format!("v{i}").as_bytes(),
        );
        put_version(
            &storage,
            *key,
            20,
            WriteKind::Put,
            format!("w{i}").as_bytes(),
        );
    }
    put_version(&storage, b"k2", 15, WriteKind::Delete, b"");
    let reader = MvccReader::new(&storage);
    let pairs = reader.scan(&all(), 16, 10, false, false).expect("scan");
    let expect: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"k1".to_vec(), b"v0".to_vec()),
        (b"k3".to_vec(), b"v2".to_vec()),
        (b"k4".to_vec(), b"v3".to_vec()),
    ];
    assert_eq!(pairs, expect);
    let range = KeyRange {
        lower: encode_bytes(b"k2"),
        upper: Some(encode_bytes(b"k4")),
    };
    let keys: Vec<_> = reader
        .scan(&range, 25, 10, true, false)
        .expect("scan")
        .into_iter()
        .collect();
    assert_eq!(
        keys,
        vec![(b"k2".to_vec(), vec![]), (b"k3".to_vec(), vec![])]
    );
    let rev: Vec<_> = reader
        .scan(&all(), 25, 3, false, true)
        .expect("scan")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(rev, vec![b"k4".to_vec(), b"k3".to_vec(), b"k2".to_vec()]);
    let rev_in: Vec<_> = reader
        .scan(&range, 25, 10, false, true)
        .expect("scan")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(rev_in, vec![b"k3".to_vec(), b"k2".to_vec()]);
}

/// The forward scan must agree with a `get` per key whatever lies above the
/// visible version: locks, rollbacks, deletes, many versions, large values.
#[test]
fn forward_scan_matches_get_per_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let big = vec![7u8; SHORT_VALUE_MAX_LEN + 10];
    put_version(&storage, b"a", 10, WriteKind::Put, b"a10");
    put_version(&storage, b"a", 30, WriteKind::Lock, b"");
    put_version(&storage, b"a", 31, WriteKind::Rollback, b"");
    for ts in 1..=40 {
        put_version(
            &storage,
            b"b",
            ts,
            WriteKind::Put,
            format!("b{ts}").as_bytes(),
        );
    }
    put_version(&storage, b"c", 50, WriteKind::Put, b"too new");
    put_version(&storage, b"d", 5, WriteKind::Put, &big);
    put_version(&storage, b"d", 20, WriteKind::Delete, b"");
    put_version(&storage, b"e", 5, WriteKind::Put, &big);
    let reader = MvccReader::new(&storage);
    for ts in [4, 10, 25, 35, 60] {
        let expect: Vec<KvPair> = [b"a", b"b", b"c", b"d", b"e"]
            .iter()
            .filter_map(|k| {
                let v = reader.get(&encode_bytes(*k), ts).expect("get")?;
                Some((k.to_vec(), v))
            })
            .collect();
        let got = reader.scan(&all(), ts, 100, false, false).expect("scan");
        assert_eq!(got, expect, "ts {ts}");
        let first_two = reader.scan(&all(), ts, 2, false, false).expect("scan");
        assert_eq!(first_two[..], expect[..expect.len().min(2)], "ts {ts}");
    }
}

#[test]
fn lists_every_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    put_version(&storage, b"x", 1, WriteKind::Put, b"old");
    put_version(&storage, b"x", 2, WriteKind::Delete, b"");
    let versions = MvccReader::new(&storage)
        .versions(&all())
        .expect("versions");
    let summary: Vec<_> = versions
        .iter()
        .map(|v| (v.commit_ts, v.kind, v.value.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, WriteKind::Delete, None),
            (1, WriteKind::Put, Some(b"old".to_vec()))
        ]
    );
}
