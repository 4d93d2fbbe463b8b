//! Early import bookkeeping (`parts.rs`): what a retire keeps, how reads
//! classify copies afterwards, the quota check, and restarts.

use squall_common::config::{ByteSize, ImporterConfig};
use tempfile::TempDir;

use super::*;

fn open_with(root: &TempDir, quota: u64) -> LocalEngine {
    let cfg = ImporterConfig {
        local_writer_mem_cache_size: ByteSize::mib(1),
        disk_quota: ByteSize(quota),
        ..ImporterConfig::default()
    };
    LocalEngine::open(root.path(), "job1-e0", &cfg).expect("open engine")
}

fn write(engine: &LocalEngine, kvs: &[(&[u8], &[u8], u64)]) {
    let mut w = engine.writer().expect("writer");
    for (k, v, t) in kvs {
        w.append(k, v, *t).expect("append");
    }
    w.close().expect("close");
}

fn read_all(engine: &LocalEngine) -> Vec<EngineKv> {
    engine
        .iter_range(b"", b"")
        .collect::<Result<_, _>>()
        .expect("scan engine")
}

fn kv(kind: &str, key: &[u8], value: &[u8], row_tag: u64) -> EngineKv {
    let (key, value) = (key.to_vec(), value.to_vec());
    match kind {
        "put" => EngineKv::Put {
            key,
            value,
            row_tag,
        },
        "dup" => EngineKv::Duplicate {
            key,
            value,
            row_tag,
        },
        _ => EngineKv::Ingested {
            key,
            value,
            row_tag,
        },
    }
}

#[test]
fn a_retired_part_leaves_only_what_later_reads_need() {
    let root = TempDir::new().expect("tempdir");
    let engine = open_with(&root, 0);
    let big = vec![7u8; 4096];
    let mut part: Vec<(Vec<u8>, Vec<u8>, u64)> = (0..200u64)
        .map(|i| (format!("k{i:04}").into_bytes(), big.clone(), 100 + i))
        .collect();
    // "k0005" twice in this part: both copies stay for the report.
    part.push((b"k0005".to_vec(), b"second".to_vec(), 900));
    let rows: Vec<(&[u8], &[u8], u64)> = part
        .iter()
        .map(|(k, v, t)| (k.as_slice(), v.as_slice(), *t))
        .collect();
    write(&engine, &rows);
    let before = engine.stats().expect("stats").disk_bytes;
    let retired = engine.retire_part().expect("retire");
    assert_eq!(retired.ingested_keys, 200);
    assert_eq!(retired.kept, 2, "the two copies of k0005");
    assert!(
        retired.disk_after < before / 4,
        "the part left the disk: {before} -> {}",
        retired.disk_after
    );
    assert_eq!(engine.parts(), 1);
    assert_eq!(
        read_all(&engine),
        [
            kv("ingested", b"k0005", &big, 105),
            kv("dup", b"k0005", b"second", 900)
        ]
    );

    // The next part: a new key, and copies of keys ingested before, one of
    // them with a smaller row tag than the ingested copy.
    write(
        &engine,
        &[
            (b"k0001", b"again", 7),
            (b"k0005", b"third", 950),
            (b"zz", b"new", 3),
        ],
    );
    assert_eq!(
        read_all(&engine),
        [
            kv("dup", b"k0001", b"again", 7),
            kv("ingested", b"k0005", &big, 105),
            kv("dup", b"k0005", b"second", 900),
            kv("dup", b"k0005", b"third", 950),
            kv("put", b"zz", b"new", 3),
        ]
    );
    assert_eq!(engine.ingested_tag(b"k0001").expect("tag"), Some(101));
    assert_eq!(engine.ingested_tag(b"zz").expect("tag"), None);
    assert_eq!(
        engine.keys_without_kept_copy().expect("keys"),
        [b"k0001".to_vec()],
        "k0001's kept copy is only in TiKV now"
    );
    // Only "zz" is left to ingest: the SST range must not cover the others.
    assert_eq!(
        engine.key_bounds(b"", b"").expect("bounds"),
        Some((b"zz".to_vec(), b"zz".to_vec()))
    );
    assert_eq!(engine.key_bounds(b"", b"k9").expect("bounds"), None);
}

#[test]
fn an_engine_with_parts_is_re_encoded_after_a_restart() {
    let root = TempDir::new().expect("tempdir");
    let engine = open_with(&root, 0);
    write(&engine, &[(b"a", b"1", 1), (b"b", b"2", 2)]);
    engine.retire_part().expect("retire");
    write(&engine, &[(b"c", b"3", 3)]);
    engine.finish_writes().expect("finish");
    assert!(!engine.is_finished(), "the first part is not on disk");
    engine.close().expect("close");
    let engine = open_with(&root, 0);
    assert_eq!(engine.parts(), 1, "the part count survives a restart");
    assert!(!engine.is_finished());
    let engine = engine.reset().expect("reset");
    assert_eq!(engine.parts(), 0);
    write(&engine, &[(b"a", b"1", 1)]);
    assert_eq!(read_all(&engine), [kv("put", b"a", b"1", 1)]);
}

#[test]
fn the_quota_counts_the_jobs_engines_and_needs_a_share_of_data() {
    let root = TempDir::new().expect("tempdir");
    let off = open_with(&root, 0);
    write(&off, &[(b"a", &[1u8; 100_000], 1)]);
    assert_eq!(off.quota_reached().expect("quota"), None, "no quota set");
    off.close().expect("close");
    let engine = open_with(&root, 64 << 10);
    assert!(engine
        .quota_reached()
        .expect("quota")
        .is_some_and(|used| used >= 64 << 10));
    // Another engine of the job with almost no data does not import.
    let cfg = ImporterConfig {
        disk_quota: ByteSize::kib(64),
        ..ImporterConfig::default()
    };
    let small = LocalEngine::open(root.path(), "job1-e1", &cfg).expect("open");
    write(&small, &[(b"x", b"1", 1)]);
    assert_eq!(small.quota_reached().expect("quota"), None);
}
