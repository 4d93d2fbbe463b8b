//! `LocalEngine`: one RocksDB per (job, engine) under `sorted-kv-dir`, its
//! lifecycle, and the step every writer ends with: ingesting a sorted run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rocksdb::{ColumnFamily, IngestExternalFileOptions, Options, DB};
use squall_common::config::ImporterConfig;

use super::budget::WriterBudget;
use super::error::EngineError;
use super::meta::{self, RunRecord};
use super::options::{self, DATA_CF, INGESTED_CF, META_CF};
use super::sort_buffer::SortBuffer;
use super::split::KeyRange;
use super::writer::EngineWriter;

/// Subdirectory of an engine where runs are built before ingestion (same
/// filesystem as the DB, so ingestion moves the file instead of copying it).
const RUNS_TMP_DIR: &str = "runs-tmp";
/// RocksDB's default number of levels.
const LEVELS: usize = 7;

/// Size and state of an engine, for progress reporting and planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// KVs in ingested runs, counting every copy of a duplicated key.
    pub kvs: u64,
    /// Sum of user key + value lengths of those KVs.
    pub bytes: u64,
    /// Sorted runs ingested so far.
    pub runs: u64,
    /// Bytes the engine directory occupies on disk (DB, WAL, runs being built).
    pub disk_bytes: u64,
    /// Bytes allocated by open writers' sort buffers.
    pub mem_bytes: u64,
    /// `finish_writes` has completed (now or before a restart).
    pub finished: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    pub(crate) finished: bool,
    pub(crate) open_writers: usize,
    /// Parts imported early (`parts.rs`).
    pub(crate) parts: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) runs: u64,
    pub(crate) rec: RunRecord,
}

/// Shared state behind every handle and writer of one engine.
pub(crate) struct EngineInner {
    pub(crate) id: String,
    pub(crate) root: PathBuf,
    dir: PathBuf,
    pub(crate) cfg: ImporterConfig,
    pub(crate) db: DB,
    pub(crate) sst_options: Options,
    pub(crate) budget: WriterBudget,
    pub(crate) lifecycle: Mutex<Lifecycle>,
    pub(crate) totals: Mutex<Totals>,
    /// An empty sort buffer a closed writer left for the next one: every
    /// chunk opens a writer, and growing a fresh 64 MiB buffer each time
    /// cost page faults and page clearing (~7% of the sort stage). Its
    /// allocation stays counted in `budget`; released by `finish_writes`.
    pub(crate) spare: Mutex<Option<SortBuffer>>,
    next_run_id: AtomicU64,
}

/// A local sorted engine. Cheap to clone (all clones share one DB).
///
/// All methods block on disk I/O; from async code call them through
/// [`LocalEngine::run_blocking`] or `tokio::task::spawn_blocking`.
#[derive(Clone)]
pub struct LocalEngine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("id", &self.inner.id)
            .field("dir", &self.inner.dir)
            .finish()
    }
}

fn validate_id(id: &str) -> Result<(), EngineError> {
    let invalid = |reason| {
        Err(EngineError::InvalidId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() || id == "." || id == ".." {
        return invalid("must be a non-empty name other than . and ..");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return invalid("may only contain ASCII letters, digits, '-', '_' and '.'");
    }
    Ok(())
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data are plain counters that stay consistent even if a
    // holder panicked, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bytes under `path`. Writers and RocksDB create, rename and delete files
/// while this walks (SST ingest, compaction, temp files), so an entry that
/// vanishes between the listing and its stat counts as zero, not an error.
pub(crate) fn dir_size(path: &Path) -> std::io::Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        total += if meta.is_dir() {
            match dir_size(&entry.path()) {
                Err(e) if gone(&e) => 0,
                other => other?,
            }
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn remove_dir_if_exists(engine: &str, dir: &Path) -> Result<(), EngineError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(EngineError::io(engine, "remove", dir, e))
        }
        _ => Ok(()),
    }
}

impl LocalEngine {
    /// Opens (creating if needed) engine `id` in `root/id`. Reopening after a
    /// crash keeps every run ingested before it; writers' unflushed buffers are
    /// lost, so an engine that is not [`is_finished`](Self::is_finished) must be
    /// [`reset`](Self::reset) and re-encoded. `root` is normally
    /// `cfg.sorted_kv_dir` (possibly with a per-job subdirectory).
    pub fn open(root: &Path, id: &str, cfg: &ImporterConfig) -> Result<Self, EngineError> {
        validate_id(id)?;
        let dir = root.join(id);
        let tmp = dir.join(RUNS_TMP_DIR);
        // Runs left half-built by a crash are garbage: they were never ingested.
        remove_dir_if_exists(id, &tmp)?;
        std::fs::create_dir_all(&tmp).map_err(|e| EngineError::io(id, "create", &tmp, e))?;
        let db = DB::open_cf_descriptors(&options::db_options(), &dir, options::column_families())
            .map_err(|e| EngineError::rocks(id, "open", e))?;
        for cf in [DATA_CF, META_CF, INGESTED_CF] {
            if db.cf_handle(cf).is_none() {
                return Err(EngineError::CorruptMeta {
                    engine: id.to_owned(),
                    key_hex: hex::encode(cf),
                    reason: "column family missing after open",
                });
            }
        }
        let loaded = meta::load(&db, id)?;
        tracing::debug!(
            engine = id,
            runs = loaded.runs,
            kvs = loaded.totals.kvs,
            finished = loaded.finished,
            "opened local engine"
        );
        let inner = EngineInner {
            id: id.to_owned(),
            root: root.to_owned(),
            dir,
            cfg: cfg.clone(),
            db,
            sst_options: options::data_cf_options(),
            budget: WriterBudget::new(cfg.local_writer_mem_cache_size.as_u64()),
            lifecycle: Mutex::new(Lifecycle {
                finished: loaded.finished,
                open_writers: 0,
                parts: loaded.parts,
            }),
            totals: Mutex::new(Totals {
                runs: loaded.runs,
                rec: loaded.totals,
            }),
            next_run_id: AtomicU64::new(loaded.next_run_id),
            spare: Mutex::new(None),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Removes engine `id` under `root` without opening it (e.g. when it cannot
    /// be opened any more). Missing directories are fine.
    pub fn remove_dir(root: &Path, id: &str) -> Result<(), EngineError> {
        validate_id(id)?;
        remove_dir_if_exists(id, &root.join(id))
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Whether `finish_writes` completed, now or before a restart, and the
    /// engine holds all its KVs: one that imported parts early (`parts.rs`)
    /// is never reused after a restart (those parts are in TiKV, not here),
    /// so it reads as unfinished and is re-encoded.
    pub fn is_finished(&self) -> bool {
        let state = lock(&self.inner.lifecycle);
        state.finished && state.parts == 0
    }

    /// A new writer. Any number may be open at once (one per chunk being encoded);
    /// they share the engine's memory budget.
    pub fn writer(&self) -> Result<EngineWriter, EngineError> {
        let mut state = lock(&self.inner.lifecycle);
        if state.finished {
            return Err(EngineError::Finished {
                engine: self.inner.id.clone(),
            });
        }
        state.open_writers += 1;
        self.inner.budget.writer_opened();
        Ok(EngineWriter::new(self.clone()))
    }

    /// Marks the engine complete: every writer must have been closed (closing
    /// flushes it). Afterwards no writer can be opened until [`reset`](Self::reset),
    /// and the marker survives restarts.
    pub fn finish_writes(&self) -> Result<(), EngineError> {
        let mut state = lock(&self.inner.lifecycle);
        if state.open_writers > 0 {
            return Err(EngineError::WritersOpen {
                engine: self.inner.id.clone(),
                open: state.open_writers,
            });
        }
        if let Some(spare) = lock(&self.inner.spare).take() {
            self.inner.budget.update_allocated(spare.allocated(), 0);
        }
        if !state.finished {
            meta::mark_finished(&self.inner.db, &self.inner.id)?;
            state.finished = true;
        }
        Ok(())
    }

    /// Merges all runs into non-overlapping files. Optional: reads merge the
    /// runs anyway; see [`compact_if_many_runs`](Self::compact_if_many_runs).
    pub fn compact(&self) -> Result<(), EngineError> {
        self.inner
            .db
            .compact_range_cf(self.inner.data_cf(), None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    /// Compacts the engine when `range-concurrency` scans over its runs
    /// would overrun the scan readahead budget; returns whether it did.
    pub fn compact_if_many_runs(&self) -> Result<bool, EngineError> {
        let files = self.overlapping_files();
        if !options::needs_compaction(files, self.inner.cfg.range_concurrency) {
            return Ok(false);
        }
        let began = std::time::Instant::now();
        self.compact()?;
        tracing::info!(engine = %self.inner.id, runs = files, after = self.overlapping_files(),
            secs = began.elapsed().as_secs_f64(), "compacted an engine with many sorted runs");
        Ok(true)
    }

    /// How many files one scan of the data merges: every L0 file (the
    /// ingested runs overlap) plus one per deeper non-empty level (their
    /// files do not overlap, a scan holds one at a time). Falls back to the
    /// recorded run count if RocksDB does not say.
    pub(crate) fn overlapping_files(&self) -> u64 {
        let inner = &*self.inner;
        let files_at = |level: usize| -> Option<u64> {
            let name = format!("rocksdb.num-files-at-level{level}");
            let value = inner
                .db
                .property_value_cf(inner.data_cf(), name.as_str())
                .ok()??;
            value.trim().parse().ok()
        };
        let Some(l0) = files_at(0) else {
            return lock(&inner.totals).runs;
        };
        let deeper = (1..LEVELS)
            .filter(|&l| files_at(l).unwrap_or(0) > 0)
            .count();
        l0 + deeper as u64
    }

    /// Readahead per file for a scan running beside `range-concurrency` others.
    pub(crate) fn scan_readahead(&self) -> usize {
        options::scan_readahead(self.overlapping_files(), self.inner.cfg.range_concurrency)
    }

    /// Sizes for reporting. `disk_bytes` walks the engine directory.
    pub fn stats(&self) -> Result<EngineStats, EngineError> {
        let (runs, rec) = {
            let totals = lock(&self.inner.totals);
            (totals.runs, totals.rec)
        };
        let disk_bytes = dir_size(&self.inner.dir)
            .map_err(|e| EngineError::io(&self.inner.id, "measure", &self.inner.dir, e))?;
        Ok(EngineStats {
            kvs: rec.kvs,
            bytes: rec.bytes,
            runs,
            disk_bytes,
            mem_bytes: self.inner.budget.allocated() as u64,
            finished: self.is_finished(),
        })
    }

    /// `(kvs, bytes)` of the ingested runs, without measuring the disk.
    pub(crate) fn totals(&self) -> (u64, u64) {
        let totals = lock(&self.inner.totals);
        (totals.rec.kvs, totals.rec.bytes)
    }

    /// `split_ranges` with the configured region split size and keys.
    pub fn region_ranges(&self) -> Result<Vec<KeyRange>, EngineError> {
        let cfg = &self.inner.cfg;
        self.split_ranges(cfg.region_split_size.as_u64(), cfg.region_split_keys)
    }

    fn into_inner(self) -> Result<EngineInner, EngineError> {
        let id = self.inner.id.clone();
        Arc::try_unwrap(self.inner).map_err(|arc| EngineError::InUse {
            engine: id,
            handles: Arc::strong_count(&arc) - 1,
        })
    }

    /// Closes the DB. Fails with `InUse` while clones or writers exist.
    pub fn close(self) -> Result<(), EngineError> {
        drop(self.into_inner()?);
        Ok(())
    }

    /// Wipes the engine and opens it again empty and writable.
    pub fn reset(self) -> Result<LocalEngine, EngineError> {
        let inner = self.into_inner()?;
        let (root, id, cfg, dir) = (inner.root, inner.id, inner.cfg, inner.dir);
        drop(inner.db);
        remove_dir_if_exists(&id, &dir)?;
        tracing::info!(engine = %id, "reset local engine");
        Self::open(&root, &id, &cfg)
    }

    /// Closes the engine and deletes its directory.
    pub fn destroy(self) -> Result<(), EngineError> {
        let inner = self.into_inner()?;
        let (id, dir) = (inner.id, inner.dir);
        drop(inner.db);
        remove_dir_if_exists(&id, &dir)?;
        tracing::debug!(engine = %id, "destroyed local engine");
        Ok(())
    }
}

impl EngineInner {
    pub(crate) fn data_cf(&self) -> &ColumnFamily {
        self.db
            .cf_handle(DATA_CF)
            .expect("data column family is checked at open")
    }

    pub(crate) fn ingested_cf(&self) -> &ColumnFamily {
        self.db
            .cf_handle(INGESTED_CF)
            .expect("ingested column family is checked at open")
    }

    /// A fresh run id and the path its SST is built at.
    pub(crate) fn new_run_path(&self) -> (u64, PathBuf) {
        let id = self.next_run_id.fetch_add(1, Ordering::Relaxed);
        (
            id,
            self.dir
                .join(RUNS_TMP_DIR)
                .join(format!("run-{id:016x}.sst")),
        )
    }

    /// Moves the finished SST at `path` into the DB and records it. The file is
    /// gone afterwards, whether ingestion succeeded or not.
    pub(crate) fn ingest_run(
        &self,
        id: u64,
        path: &Path,
        rec: RunRecord,
    ) -> Result<(), EngineError> {
        let mut opts = IngestExternalFileOptions::default();
        opts.set_move_files(true);
        let ingested = self
            .db
            .ingest_external_file_cf_opts(self.data_cf(), &opts, vec![path]);
        if let Err(e) = std::fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(engine = %self.id, path = %path.display(), error = %e,
                    "could not remove a run file after ingestion");
            }
        }
        ingested.map_err(|e| EngineError::rocks(&self.id, "ingest run", e))?;
        meta::record_run(&self.db, &self.id, id, rec)?;
        let mut totals = lock(&self.totals);
        totals.runs += 1;
        totals.rec.kvs += rec.kvs;
        totals.rec.bytes += rec.bytes;
        Ok(())
    }

    /// Called by a writer's drop.
    pub(crate) fn writer_closed(&self) {
        let mut state = lock(&self.lifecycle);
        state.open_writers = state.open_writers.saturating_sub(1);
        self.budget.writer_closed();
    }
}
