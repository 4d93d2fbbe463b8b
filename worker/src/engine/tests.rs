//! Engine behaviour tests: duplicates, budget-driven runs, splitting, restart.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use squall_common::config::{ByteSize, ImporterConfig};
use tempfile::TempDir;

use super::*;

fn cfg(mem: u64) -> ImporterConfig {
    ImporterConfig {
        local_writer_mem_cache_size: ByteSize(mem),
        ..ImporterConfig::default()
    }
}

fn open(root: &TempDir, mem: u64) -> LocalEngine {
    LocalEngine::open(root.path(), "job1-e0", &cfg(mem)).expect("open engine")
}

fn read_all(engine: &LocalEngine) -> Vec<EngineKv> {
    engine
        .iter_range(b"", b"")
        .collect::<Result<_, _>>()
        .expect("scan engine")
}

fn put(key: &[u8], value: &[u8], row_tag: u64) -> EngineKv {
    EngineKv::Put {
        key: key.to_vec(),
        value: value.to_vec(),
        row_tag,
    }
}

fn dup(key: &[u8], value: &[u8], row_tag: u64) -> EngineKv {
    EngineKv::Duplicate {
        key: key.to_vec(),
        value: value.to_vec(),
        row_tag,
    }
}

/// Random distinct keys with values; tags are insertion indexes.
fn random_kvs(n: usize, seed: u64, val_len: usize) -> BTreeMap<Vec<u8>, (Vec<u8>, u64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut kvs = BTreeMap::new();
    while kvs.len() < n {
        let key_len = rng.gen_range(1..24);
        let key: Vec<u8> = (0..key_len).map(|_| rng.gen_range(0..4u8)).collect();
        let value: Vec<u8> = (0..val_len).map(|_| rng.gen()).collect();
        let tag = kvs.len() as u64;
        kvs.entry(key).or_insert((value, tag));
    }
    kvs
}

fn write_all(engine: &LocalEngine, kvs: &BTreeMap<Vec<u8>, (Vec<u8>, u64)>) {
    let mut writer = engine.writer().expect("writer");
    // Reverse order: the writer must sort.
    for (k, (v, t)) in kvs.iter().rev() {
        writer.append(k, v, *t).expect("append");
    }
    writer.close().expect("close writer");
}

/// Appends in a shuffled order, so every sorted run spans the whole key space
/// and the runs overlap (in key order they would be disjoint, and RocksDB
/// would file them side by side in one level).
fn write_shuffled(engine: &LocalEngine, kvs: &BTreeMap<Vec<u8>, (Vec<u8>, u64)>) {
    let mut order: Vec<_> = kvs.iter().collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(11));
    let mut writer = engine.writer().expect("writer");
    for (k, (v, t)) in order {
        writer.append(k, v, *t).expect("append");
    }
    writer.close().expect("close writer");
}

#[test]
fn duplicates_are_kept_and_reported_after_the_first_copy() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 1 << 20);
    let mut w1 = engine.writer().expect("writer");
    let mut w2 = engine.writer().expect("writer");
    w1.append_batch([
        (&b"k1"[..], &b"v5"[..], 5),
        (b"k2", b"v3", 3),
        (b"k1", b"v9", 9),
    ])
    .expect("append");
    w1.flush().expect("first run");
    w1.append(b"k1\0", b"vx", 0).expect("append");
    w2.append_batch([(&b"k1"[..], &b"v2"[..], 2), (b"k0", b"v1", 1)])
        .expect("append");
    // An exact repeat of a (key, tag, value) is the same row written twice: kept once.
    w2.append(b"k0", b"v1", 1).expect("append");
    assert_eq!(w1.close().expect("close").runs, 2);
    assert_eq!(w2.close().expect("close").kvs, 2);
    engine.finish_writes().expect("finish");

    let want = vec![
        put(b"k0", b"v1", 1),
        put(b"k1", b"v2", 2),
        dup(b"k1", b"v5", 5),
        dup(b"k1", b"v9", 9),
        put(b"k1\0", b"vx", 0),
        put(b"k2", b"v3", 3),
    ];
    assert_eq!(read_all(&engine), want);
    // A range starting at a duplicated key sees its Put first.
    let part: Vec<EngineKv> = engine
        .iter_range(b"k1", b"k1\0")
        .map(|r| r.expect("kv"))
        .collect();
    assert_eq!(part, want[1..4].to_vec());
    let stats = engine.stats().expect("stats");
    assert_eq!((stats.kvs, stats.runs), (6, 3));
    assert_eq!(
        stats.bytes,
        want.iter()
            .map(|kv| (kv.key().len() + kv.value().len()) as u64)
            .sum::<u64>()
    );
    assert!(stats.disk_bytes > 0);
}

#[test]
fn same_row_tag_with_two_values_is_an_error() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 1 << 20);
    let mut w = engine.writer().expect("writer");
    w.append(b"key", b"a", 7).expect("append");
    w.append(b"key", b"b", 7).expect("append");
    let err = w.close().expect_err("conflicting tag must fail");
    assert!(
        matches!(&err, EngineError::ConflictingRowTag { row_tag: 7, key_hex, .. } if key_hex == "6b6579"),
        "{err}"
    );
}

#[test]
fn budget_forces_many_runs_and_reads_stay_ordered() {
    let root = TempDir::new().expect("tempdir");
    let budget = 32 << 10;
    let engine = open(&root, budget);
    let kvs = random_kvs(6000, 1, 40);
    let items: Vec<_> = kvs.iter().collect();
    let (a, b) = items.split_at(items.len() / 2);
    std::thread::scope(|s| {
        for half in [a, b] {
            let engine = engine.clone();
            s.spawn(move || {
                let mut w = engine.writer().expect("writer");
                for (k, (v, t)) in half.iter().rev() {
                    w.append(k, v, *t).expect("append");
                    assert!(w.buffered_bytes() <= budget as usize);
                    assert!(engine.stats().expect("stats").mem_bytes <= 2 * budget * 3 / 2);
                }
                w.close().expect("close");
            });
        }
    });
    engine.finish_writes().expect("finish");
    let stats = engine.stats().expect("stats");
    assert!(stats.runs > 10, "expected many runs, got {}", stats.runs);
    // Written in key order, the runs are disjoint: one level, one file at a time.
    assert_eq!(engine.overlapping_files(), 1);
    assert_eq!(stats.kvs, kvs.len() as u64);
    assert_eq!(stats.mem_bytes, 0);
    let got: Vec<EngineKv> = read_all(&engine);
    let want: Vec<EngineKv> = kvs.iter().map(|(k, (v, t))| put(k, v, *t)).collect();
    assert_eq!(got, want);
}

#[test]
fn many_runs_are_compacted_once_and_read_the_same() {
    let root = TempDir::new().expect("tempdir");
    // 40 runs × 200 scans is past the readahead budget at one block per file;
    // 40 runs × 16 scans (the default) is not.
    let many_scans = ImporterConfig {
        range_concurrency: 200,
        ..cfg(8 << 10)
    };
    let engine = LocalEngine::open(root.path(), "job1-e0", &many_scans).expect("open");
    let kvs = random_kvs(4000, 7, 40);
    write_shuffled(&engine, &kvs);
    engine.finish_writes().expect("finish");
    let runs = engine.stats().expect("stats").runs;
    assert!(runs >= 40, "expected many runs, got {runs}");
    // Overlapping runs: every one is merged by a scan.
    assert_eq!(engine.overlapping_files(), runs);
    let before = read_all(&engine);
    assert!(engine.compact_if_many_runs().expect("compact"));
    assert_eq!(engine.overlapping_files(), 1, "one level of disjoint files");
    assert!(!engine.compact_if_many_runs().expect("no second compaction"));
    assert_eq!(read_all(&engine), before);
    let want: Vec<EngineKv> = kvs.iter().map(|(k, (v, t))| put(k, v, *t)).collect();
    assert_eq!(before, want);

    let other = TempDir::new().expect("tempdir");
    let default_scans = open(&other, 8 << 10);
    write_shuffled(&default_scans, &kvs);
    assert!(!default_scans
        .compact_if_many_runs()
        .expect("below the budget"));
}

#[test]
fn key_bounds_seek_both_ends_within_the_range() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 1 << 20);
    let mut w = engine.writer().expect("writer");
    w.append_batch([
        (&b"a"[..], &b"1"[..], 1),
        (b"c", b"2", 2),
        (b"c", b"3", 9),
        (b"e", b"4", 4),
        (b"e\x00", b"5", 5),
    ])
    .expect("append");
    w.close().expect("close");
    let bounds = |s: &[u8], e: &[u8]| engine.key_bounds(s, e).expect("seek");
    let pair = |f: &[u8], l: &[u8]| Some((f.to_vec(), l.to_vec()));
    assert_eq!(bounds(b"", b""), pair(b"a", b"e\x00"));
    assert_eq!(
        bounds(b"b", b"e"),
        pair(b"c", b"c"),
        "both copies of c, end excluded"
    );
    assert_eq!(bounds(b"c", b"e\x00"), pair(b"c", b"e"));
    assert_eq!(bounds(b"e", b""), pair(b"e", b"e\x00"));
    assert_eq!(bounds(b"f", b""), None);
    assert_eq!(bounds(b"b", b"c"), None);
}

/// Checks the split contract against the engine's own contents.
fn check_split(engine: &LocalEngine, max_bytes: u64, max_keys: u64) -> Vec<KeyRange> {
    let ranges = engine.split_ranges(max_bytes, max_keys).expect("split");
    let all = read_all(engine);
    let puts: Vec<&EngineKv> = all.iter().filter(|kv| !kv.is_duplicate()).collect();
    let first = puts.first().expect("non-empty engine").key();
    let last = puts.last().expect("non-empty engine").key();
    assert_eq!(ranges.first().expect("a range").0, first);
    assert_eq!(ranges.last().expect("a range").1, next_key(last));
    let mut seen = 0;
    for (i, (start, end)) in ranges.iter().enumerate() {
        assert!(start < end);
        if i > 0 {
            assert_eq!(&ranges[i - 1].1, start, "ranges must be contiguous");
        }
        let (mut bytes, mut keys) = (0u64, 0u64);
        for kv in engine.iter_range(start, end) {
            let kv = kv.expect("kv");
            seen += 1;
            if !kv.is_duplicate() {
                bytes += (kv.key().len() + kv.value().len()) as u64;
                keys += 1;
            }
        }
        assert!(keys >= 1);
        assert!(keys <= max_keys, "range {i} has {keys} keys");
        assert!(
            bytes <= max_bytes || keys == 1,
            "range {i} has {bytes} bytes"
        );
        // Tight: the next range's first KV would not have fitted.
        if let Some((next_start, next_end)) = ranges.get(i + 1) {
            let kv = engine
                .iter_range(next_start, next_end)
                .next()
                .expect("kv")
                .expect("kv");
            let size = (kv.key().len() + kv.value().len()) as u64;
            assert!(bytes + size > max_bytes || keys == max_keys);
        }
    }
    assert_eq!(seen, all.len(), "ranges must cover every stored KV");
    ranges
}

#[test]
fn split_ranges_tiny_engine_is_one_range() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 1 << 20);
    assert!(engine.split_ranges(100, 10).expect("split").is_empty());
    let kvs = random_kvs(3, 2, 10);
    write_all(&engine, &kvs);
    // Unfinished: walked. Finished: two seeks. Same answer.
    let walked = check_split(&engine, 1 << 20, 100);
    engine.finish_writes().expect("finish");
    assert_eq!(check_split(&engine, 1 << 20, 100), walked);
    assert_eq!(walked.len(), 1);
    assert_eq!(engine.region_ranges().expect("split"), walked);
}

#[test]
fn split_ranges_respects_bytes_and_keys() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 64 << 10);
    let kvs = random_kvs(20_000, 3, 100);
    write_all(&engine, &kvs);
    let mut w = engine.writer().expect("writer");
    // Ten copies of one key count once toward the limits.
    let dup_key = kvs.keys().nth(5000).expect("key").clone();
    for tag in 0..10 {
        w.append(&dup_key, b"dup", 1_000_000 + tag).expect("append");
    }
    w.append(b"\x02huge", &vec![7u8; 300 << 10], 2_000_000)
        .expect("append");
    w.close().expect("close");
    engine.finish_writes().expect("finish");
    assert!(engine.stats().expect("stats").runs > 1);
    let by_bytes = check_split(&engine, 256 << 10, 1_000_000);
    assert!(
        by_bytes.len() >= 2_000_000 / (256 << 10),
        "{} ranges",
        by_bytes.len()
    );
    let by_keys = check_split(&engine, u64::MAX, 999);
    assert_eq!(by_keys.len(), (20_001usize).div_ceil(999));
}

#[test]
fn reopen_keeps_a_finished_engine() {
    let root = TempDir::new().expect("tempdir");
    let kvs = random_kvs(2000, 4, 30);
    let (before, stats) = {
        let engine = open(&root, 16 << 10);
        write_all(&engine, &kvs);
        engine.finish_writes().expect("finish");
        (read_all(&engine), engine.stats().expect("stats"))
    }; // dropped without close, as a crash would
    let engine = open(&root, 16 << 10);
    assert!(engine.is_finished());
    assert_eq!(read_all(&engine), before);
    let again = engine.stats().expect("stats");
    assert_eq!(
        (again.kvs, again.bytes, again.runs),
        (stats.kvs, stats.bytes, stats.runs)
    );
    assert!(matches!(engine.writer(), Err(EngineError::Finished { .. })));
    engine.close().expect("close");
}

#[test]
fn reopen_after_crash_mid_write_then_reset() {
    let root = TempDir::new().expect("tempdir");
    {
        let engine = open(&root, 1 << 20);
        let mut w = engine.writer().expect("writer");
        w.append(b"flushed", b"1", 1).expect("append");
        w.flush().expect("flush");
        w.append(b"lost", b"2", 2).expect("append");
        // A half-built run file, as a crash during a flush leaves it.
        std::fs::write(engine.dir().join("runs-tmp").join("run-dead.sst"), b"junk")
            .expect("write junk");
        drop(w); // no close: the buffer is discarded, as kill -9 would lose it
    }
    let engine = open(&root, 1 << 20);
    assert!(!engine.is_finished());
    assert_eq!(read_all(&engine), vec![put(b"flushed", b"1", 1)]);
    let tmp_files = std::fs::read_dir(engine.dir().join("runs-tmp"))
        .expect("tmp dir")
        .count();
    assert_eq!(tmp_files, 0, "stale run files are swept at open");
    let engine = engine.reset().expect("reset");
    assert!(read_all(&engine).is_empty());
    assert_eq!(engine.stats().expect("stats").runs, 0);
    let mut w = engine.writer().expect("writable after reset");
    w.append(b"again", b"3", 3).expect("append");
    w.close().expect("close");
    let dir = engine.dir().to_owned();
    engine.destroy().expect("destroy");
    assert!(!dir.exists());
}

#[test]
fn lifecycle_misuse_is_reported() {
    let root = TempDir::new().expect("tempdir");
    assert!(matches!(
        LocalEngine::open(root.path(), "../escape", &cfg(1 << 20)),
        Err(EngineError::InvalidId { .. })
    ));
    let engine = open(&root, 1 << 20);
    let w = engine.writer().expect("writer");
    assert!(matches!(
        engine.finish_writes(),
        Err(EngineError::WritersOpen { open: 1, .. })
    ));
    let clone = engine.clone();
    let err = clone.close().expect_err("in use");
    assert!(
        matches!(err, EngineError::InUse { handles: 2, .. }),
        "{err}"
    );
    drop(w);
    engine.finish_writes().expect("finish");
    engine.close().expect("only handle now");
    LocalEngine::remove_dir(root.path(), "job1-e0").expect("remove");
    assert!(!root.path().join("job1-e0").exists());
}

#[tokio::test]
async fn async_helpers_stream_and_split() {
    let root = TempDir::new().expect("tempdir");
    let engine = open(&root, 1 << 20);
    let kvs = random_kvs(3000, 5, 20);
    let writer_engine = engine.clone();
    let kvs_for_writer = kvs.clone();
    engine
        .run_blocking(move |_| {
            write_all(&writer_engine, &kvs_for_writer);
            Ok(())
        })
        .await
        .expect("write");
    engine
        .run_blocking(|e| e.finish_writes())
        .await
        .expect("finish");
    let ranges = engine
        .run_blocking(|e| e.split_ranges(16 << 10, 1 << 20))
        .await
        .expect("split");
    assert!(ranges.len() > 3);
    let mut rx = engine.stream_range(Vec::new(), Vec::new(), 4096, 2);
    let mut got = Vec::new();
    let mut batches = 0;
    while let Some(batch) = rx.recv().await {
        got.extend(batch.expect("batch"));
        batches += 1;
    }
    assert!(batches > 1);
    let want: Vec<EngineKv> = kvs.iter().map(|(k, (v, t))| put(k, v, *t)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_closed_writers_buffer_serves_the_next_writer_until_finish() {
    let root = tempfile::tempdir().expect("tmp");
    let engine = open(&root, 1 << 20);
    let mut w = engine.writer().expect("writer");
    w.append(b"a", b"1", 1).expect("append");
    w.close().expect("close");
    let kept = engine.stats().expect("stats").mem_bytes;
    assert!(kept > 0, "the empty buffer is kept for the next writer");
    let mut w = engine.writer().expect("writer");
    assert_eq!(engine.stats().expect("stats").mem_bytes, kept);
    w.append(b"b", b"2", 2).expect("append");
    w.close().expect("close");
    assert_eq!(engine.stats().expect("stats").mem_bytes, kept);
    engine.finish_writes().expect("finish");
    assert_eq!(engine.stats().expect("stats").mem_bytes, 0);
    let got = read_all(&engine);
    assert_eq!(got, vec![put(b"a", b"1", 1), put(b"b", b"2", 2)]);
}
