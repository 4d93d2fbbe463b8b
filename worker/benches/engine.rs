//! Local sorted engine throughput: write N random 64-byte keys with 200-byte
//! values through the engine (sort, SST, ingest), read them back in order, and
//! the same through a plain RocksDB memtable with the WAL off, for comparison.
//!
//! `cargo bench -p squall-worker --bench engine -- --warm-up-time 1 --measurement-time 5`
//! N defaults to 1 million; set `SQUALL_ENGINE_BENCH_KVS` to change it.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{RngCore, SeedableRng};
use squall_common::config::{ByteSize, ImporterConfig};
use squall_worker::engine::{EngineKv, LocalEngine};
use tempfile::TempDir;

const KEY_LEN: usize = 64;
const VALUE_LEN: usize = 200;
const KV_LEN: usize = KEY_LEN + VALUE_LEN;

fn kv_count() -> usize {
    std::env::var("SQUALL_ENGINE_BENCH_KVS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// One buffer holding N key ++ value records in random order.
fn random_kvs(n: usize) -> Vec<u8> {
    let mut data = vec![0u8; n * KV_LEN];
    rand::rngs::StdRng::seed_from_u64(42).fill_bytes(&mut data);
    data
}

fn records(data: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    data.chunks_exact(KV_LEN).map(|r| r.split_at(KEY_LEN))
}

fn open_engine(root: &TempDir) -> LocalEngine {
    let cfg = ImporterConfig {
        local_writer_mem_cache_size: ByteSize::mib(128),
        ..ImporterConfig::default()
    };
    LocalEngine::open(root.path(), "bench", &cfg).expect("open engine")
}

/// Two writers (as two chunks being encoded), each on its own thread.
fn write_engine(engine: &LocalEngine, data: &[u8]) {
    let half = data.len() / KV_LEN / 2 * KV_LEN;
    let (a, b) = data.split_at(half);
    std::thread::scope(|s| {
        for (part, base) in [(a, 0u64), (b, (half / KV_LEN) as u64)] {
            let engine = engine.clone();
            s.spawn(move || {
                let mut w = engine.writer().expect("writer");
                for (i, (k, v)) in records(part).enumerate() {
                    w.append(k, v, base + i as u64).expect("append");
                }
                w.close().expect("close writer");
            });
        }
    });
    engine.finish_writes().expect("finish");
}

fn read_engine(engine: &LocalEngine, expected: usize) {
    let mut n = 0;
    let mut prev: Vec<u8> = Vec::new();
    for kv in engine.iter_range(b"", b"") {
        let kv = kv.expect("kv");
        assert!(matches!(kv, EngineKv::Put { .. }) && kv.key() > prev.as_slice());
        prev = kv.key().to_vec();
        n += 1;
    }
    assert_eq!(n, expected);
}

/// Times `f` on a fresh engine per iteration, excluding setup and teardown.
fn time_fresh(iters: u64, mut f: impl FnMut(&LocalEngine)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let root = TempDir::new().expect("tempdir");
        let engine = open_engine(&root);
        let start = Instant::now();
        f(&engine);
        total += start.elapsed();
        engine.destroy().expect("destroy");
    }
    total
}

fn engine_bench(c: &mut Criterion) {
    let n = kv_count();
    let data = random_kvs(n);
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((n * KV_LEN) as u64));

    group.bench_function("write", |b| {
        b.iter_custom(|iters| time_fresh(iters, |e| write_engine(e, &data)))
    });
    group.bench_function("write_read", |b| {
        b.iter_custom(|iters| {
            time_fresh(iters, |e| {
                write_engine(e, &data);
                read_engine(e, n);
            })
        })
    });

    let root = TempDir::new().expect("tempdir");
    let engine = open_engine(&root);
    write_engine(&engine, &data);
    let runs = engine.stats().expect("stats").runs;
    eprintln!("engine holds {n} KVs in {runs} runs");
    group.bench_function("read", |b| b.iter(|| read_engine(&engine, n)));
    group.bench_function("split_walk_96MiB", |b| {
        b.iter(|| {
            let ranges = engine.split_ranges(96 << 20, 1_280_000).expect("split");
            assert!(ranges.len() >= (n * KV_LEN) >> 27);
        })
    });
    engine.compact().expect("compact");
    group.bench_function("read_after_compact", |b| b.iter(|| read_engine(&engine, n)));
    drop(engine);

    group.bench_function("baseline_memtable_wal_off_write_read", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let root = TempDir::new().expect("tempdir");
                total += memtable_baseline(&root, &data, n);
            }
            total
        })
    });
    group.finish();
}

/// The design we did not pick: puts into a memtable (WAL off), flushes and
/// compactions by RocksDB, then an ordered scan. Duplicates would be lost here.
fn memtable_baseline(root: &TempDir, data: &[u8], n: usize) -> Duration {
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.set_write_buffer_size(128 << 20);
    let db = rocksdb::DB::open(&opts, root.path()).expect("open baseline db");
    let mut wo = rocksdb::WriteOptions::default();
    wo.disable_wal(true);
    let start = Instant::now();
    let mut batch = rocksdb::WriteBatch::default();
    for (k, v) in records(data) {
        batch.put(k, v);
        if batch.len() >= 1024 {
            db.write_opt(std::mem::take(&mut batch), &wo)
                .expect("write");
        }
    }
    db.write_opt(batch, &wo).expect("write");
    db.flush().expect("flush");
    let read = db.iterator(rocksdb::IteratorMode::Start).count();
    let elapsed = start.elapsed();
    assert_eq!(read, n);
    elapsed
}

criterion_group!(benches, engine_bench);
criterion_main!(benches);
