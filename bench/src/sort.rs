//! `sort`: the worker's own encode (`squall_worker::task::encode::encode_chunk`)
//! of every chunk into the worker's local RocksDB engine (sort buffers,
//! sorted runs, ingest into the engine DB), `finish_writes`, then one
//! ordered scan of the engine, as ingest reads it. Chunks run on `threads`
//! threads, as `region-concurrency` chunks run at once in the import.
//!
//! `--export FILE` then writes the scan's KVs (`u32 key len, u32 value len,
//! key, value`, little endian) for the `sst-ingest` yardstick, untimed.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use squall_codec::Converter;
use squall_common::checkpoint::ChunkSpec;
use squall_worker::engine::{EngineKv, LocalEngine};
use squall_worker::task::encode::{encode_chunk, ChunkOutcome, EncodeContext};
use squall_worker::task::partition::PartitionRouter;
use squall_worker::task::rejects::RejectLog;
use squall_worker::task::{spec_from_source, ErrorBudget, WorkerProgress};

use crate::dump::{par_map, Dump};
use crate::measure::{Meter, Report, Span};

pub fn run(
    dump: &Dump,
    threads: usize,
    work: &Path,
    export: Option<&Path>,
) -> anyhow::Result<Report> {
    let converter = Converter::new(&dump.cfg.tidb.sql_mode, &dump.cfg.tidb.time_zone)
        .context("the default sql-mode and time zone")?;
    std::fs::create_dir_all(work).with_context(|| format!("creating {}", work.display()))?;
    let engine = LocalEngine::open(work, "bench", &dump.cfg.tikv_importer)
        .with_context(|| format!("opening a local engine under {}", work.display()))?;
    let mut jobs: Vec<(Arc<EncodeContext>, ChunkSpec)> = Vec::new();
    for (t, table) in dump.tables.iter().enumerate() {
        anyhow::ensure!(
            table.parsed.partition.is_none(),
            "table {} is partitioned: the sort stage covers plain tables only",
            table.parsed.info.qualified_name()
        );
        let rejects_path = work.join(format!("rejects-{t}.jsonl"));
        let cx = Arc::new(EncodeContext {
            store: dump.store.clone(),
            mydumper: dump.cfg.mydumper.clone(),
            read: dump.read_options(),
            router: PartitionRouter::new(&table.parsed.info, None),
            table: table.parsed.info.clone(),
            converter: converter.clone(),
            rejects: RejectLog::new(rejects_path.clone())
                .with_context(|| format!("creating {}", rejects_path.display()))?,
            // No bad rows are allowed in a generated dump.
            budget: Arc::new(ErrorBudget::new(0, 0)),
            taken: Default::default(),
            cancel: Default::default(),
            progress: Arc::new(WorkerProgress::default()),
            rows_only: false,
        });
        for (i, c) in table.chunks.iter().enumerate() {
            let spec = spec_from_source(i as u32, &table.files[c.file_index], c);
            jobs.push((Arc::clone(&cx), spec));
        }
    }

    let meter = Meter::start();
    let outcomes = par_map(threads, &jobs, |(cx, spec)| {
        let writer = engine.writer()?;
        encode_chunk(cx, spec, writer)
            .map_err(|e| anyhow::anyhow!("encoding {}: {e}", spec.file.path))
    })?;
    engine.finish_writes()?;
    let encoded = meter.stop();
    let stats = engine.stats()?;
    let scan_meter = Meter::start();
    let (kvs, kv_bytes) = scan(&engine, None)?;
    let scanned = scan_meter.stop();
    let total = Span {
        secs: encoded.secs + scanned.secs,
        cpu_secs: encoded.cpu_secs + scanned.cpu_secs,
    };
    let mut out = ChunkOutcome::default();
    for o in &outcomes {
        out.merge(o);
    }
    anyhow::ensure!(
        kvs == stats.kvs,
        "the scan read {kvs} KVs, the engine holds {}",
        stats.kvs
    );
    if let Some(path) = export {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        scan(&engine, Some(&mut w))?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let disk_bytes = stats.disk_bytes;
    engine.destroy()?;
    Ok(
        Report::new("sort", threads, dump.source_bytes, out.rows, total)
            .with("encode_sort_secs", encoded.secs)
            .with("encode_sort_cpu_secs", encoded.cpu_secs)
            .with("scan_secs", scanned.secs)
            .with("scan_cpu_secs", scanned.cpu_secs)
            .with("kvs", kvs)
            .with("kv_bytes", kv_bytes)
            .with("sorted_runs", stats.runs)
            .with("engine_disk_bytes", disk_bytes),
    )
}

/// One ordered scan of the whole engine; KVs and key+value bytes. With `out`,
/// every KV is written there too.
fn scan(engine: &LocalEngine, mut out: Option<&mut dyn Write>) -> anyhow::Result<(u64, u64)> {
    let (mut n, mut bytes) = (0u64, 0u64);
    for kv in engine.iter_range(b"", b"") {
        let kv = kv?;
        let (key, value) = match &kv {
            EngineKv::Put { key, value, .. }
            | EngineKv::Duplicate { key, value, .. }
            | EngineKv::Ingested { key, value, .. } => (key, value),
        };
        n += 1;
        bytes += (key.len() + value.len()) as u64;
        // Later copies of a key are not ingested; the yardstick loads what
        // ingest would.
        if let (Some(w), EngineKv::Put { .. }) = (out.as_deref_mut(), &kv) {
            w.write_all(&(key.len() as u32).to_le_bytes())?;
            w.write_all(&(value.len() as u32).to_le_bytes())?;
            w.write_all(key)?;
            w.write_all(value)?;
        }
    }
    Ok((n, bytes))
}
