//! Everything duplicate detection and resolution need from the runner.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use squall_client::{ImportClient, RetryPolicy};
use squall_common::checkpoint::{ChunkSpec, EngineCheckpoint, SharedCheckpointStore};
use squall_common::schema::TableInfo;

use super::cancel::Cancel;
use super::local::LocalDuplicateSource;
use super::strategy::ConflictStrategy;
use crate::resolve::apply::ResolutionWriter;
use crate::resolve::locate::SourceRows;

/// Default streams in flight (Lightning's `range-concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default size of a checkpointed detection segment (pair bytes before hex).
pub const DEFAULT_SEGMENT_BYTES: usize = 256 << 10;
/// Default `conflict.resolve-batch-rows`.
pub const DEFAULT_RESOLVE_BATCH_ROWS: usize = 4096;
/// Default `conflict.resolve-memory`.
pub const DEFAULT_RESOLVE_MEMORY: u64 = 256 << 20;

/// One engine of a table as the plan made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSource {
    pub engine_id: u32,
    /// Every KV the engine ingested has this commit ts.
    pub commit_ts: u64,
    pub chunks: Vec<ChunkSpec>,
}

impl EngineSource {
    pub fn from_checkpoint(e: &EngineCheckpoint) -> Self {
        Self {
            engine_id: e.engine_id,
            commit_ts: e.commit_ts,
            chunks: e.chunks.clone(),
        }
    }

    /// Position of the engine's first chunk in the table's chunk list.
    pub fn first_chunk_ordinal(&self) -> u32 {
        self.chunks
            .iter()
            .map(|c| c.ordinal)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// The chunk whose `_tidb_rowid` range holds `row_id`.
    pub fn chunk_of_row_id(&self, row_id: i64) -> Option<&ChunkSpec> {
        self.chunks
            .iter()
            .find(|c| c.row_id_base < row_id && row_id <= c.row_id_max)
    }

    #[cfg(test)]
    pub fn for_test(engine_id: u32, commit_ts: u64, first_chunk: u32) -> Self {
        let mut chunk = test_chunk(first_chunk);
        chunk.end = 100;
        chunk.row_id_base = i64::from(first_chunk) * 1000;
        chunk.row_id_max = chunk.row_id_base + 1000;
        Self {
            engine_id,
            commit_ts,
            chunks: vec![chunk],
        }
    }
}

/// A chunk of `db.t.<ordinal>.csv` covering the whole file, for tests.
#[cfg(test)]
pub fn test_chunk(ordinal: u32) -> ChunkSpec {
    let file = squall_common::checkpoint::SourceFileSpec {
        path: format!("db.t.{ordinal:03}.csv"),
        format: "csv".into(),
        compression: "none".into(),
        size: 1 << 30,
        sort_key: format!("{ordinal:03}"),
    };
    ChunkSpec {
        file,
        ordinal,
        file_index: ordinal,
        start: 0,
        end: 1 << 30,
        start_line: None,
        est_rows: 0,
        row_id_base: 0,
        row_id_max: 0,
        columns: None,
        sql_in_values: false,
    }
}

/// A table to check, with the engines that imported into it.
#[derive(Debug, Clone)]
pub struct TableJob {
    pub table: TableInfo,
    pub engines: Vec<EngineSource>,
    /// Commit ts that stand for another in detected versions: with engine
    /// ranges, each range's ts → the one its copies are read at
    /// (`worker_files::RangeDuplicates`), so the version DuplicateDetect
    /// reports for a key is the same row as the range's ingested copy of
    /// it. Empty without ranges.
    pub ts_alias: HashMap<u64, u64>,
}

impl TableJob {
    /// The commit ts resolution gives a detected version written at `ts`.
    pub fn pair_ts(&self, ts: u64) -> u64 {
        self.ts_alias.get(&ts).copied().unwrap_or(ts)
    }
}

/// The inputs of [`super::detect_and_resolve`].
#[derive(Clone)]
pub struct DuplicateContext {
    pub job_id: String,
    /// The cluster (PD through `import.pd()`).
    pub import: ImportClient,
    pub tables: Vec<TableJob>,
    /// Just below the job's first ingest ts (`JobCheckpoint::start_ts`):
    /// versions above it were written by this job, versions at or below it
    /// were in the table before.
    pub min_commit_ts: u64,
    pub strategy: ConflictStrategy,
    /// Stop past this many conflicting rows (0 = no limit).
    pub threshold: u64,
    pub checkpoints: SharedCheckpointStore,
    /// The job's output dir; reports go to `<output>/conflicts/`.
    pub output_dir: PathBuf,
    /// DuplicateDetect streams (and KvBatchGet requests) in flight.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Checkpointed detection segments are cut at this many pair bytes.
    pub segment_bytes: usize,
    /// Conflicting rows resolution decodes, decides, writes and reports at a
    /// time (`conflict.resolve-batch-rows`); see `resolve::group`.
    pub resolve_batch_rows: usize,
    /// Memory one table's resolution plans in at once
    /// (`conflict.resolve-memory`); a table that needs more is resolved in
    /// shards spilled under `spill_dir` (see `resolve::stream`).
    pub resolve_memory: u64,
    /// Where resolution spills a table's shards (one directory per table,
    /// removed when the table's step ends).
    pub spill_dir: PathBuf,
    pub local: Arc<dyn LocalDuplicateSource>,
    /// Reads the source again for the positions of conflicting rows no
    /// engine recorded (`resolve::locate`); `None` leaves them unknown.
    pub source_rows: Option<Arc<SourceRows>>,
    /// The job's converter: a row read back from TiKV lacks its virtual
    /// generated columns, which are computed again with it before the row's
    /// index entries are derived.
    pub converter: squall_codec::Converter,
    pub writer: Arc<dyn ResolutionWriter>,
    pub cancel: Cancel,
}
