//! The sample engine ranges are planned from: the first rows of every chunk
//! (a bounded number, so the table's sample is about [`SAMPLE_SOURCE_BYTES`]
//! of source), encoded with the worker's own path
//! (`squall_worker::task::encode::sample_chunk`: column map, `Converter`,
//! partition routing, `TableEncoder`). Only each KV's key and size are kept.

use std::sync::Arc;

use squall_codec::Converter;
use squall_common::checkpoint::{ChunkSpec, TableCheckpoint};
use squall_common::TaskConfig;
use squall_source::{ReadOptions, SourceStore};
use squall_worker::task::encode::{sample_chunk, EncodeContext};
use squall_worker::task::partition::PartitionRouter;
use squall_worker::task::rejects::RejectLog;
use squall_worker::task::{ErrorBudget, WorkerProgress};
use tokio_util::sync::CancellationToken;

use crate::error::CoordinatorError;

/// Source bytes sampled per table, spread over its chunks.
pub const SAMPLE_SOURCE_BYTES: u64 = 4 << 20;
/// Rows sampled per chunk, at least and at most.
const MIN_ROWS: u64 = 16;
const MAX_ROWS: u64 = 20_000;

/// What the sample saw of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSample {
    /// Every sampled KV: raw key and key + value bytes.
    pub keys: Vec<(Vec<u8>, u64)>,
    pub rows: u64,
    /// Source bytes the sampled rows span.
    pub source_bytes: u64,
}

impl TableSample {
    pub fn kv_bytes(&self) -> u64 {
        self.keys.iter().map(|(_, b)| b).sum()
    }
}

/// Samples `chunks` of `table`. Blocking.
pub fn sample_table(
    cfg: &TaskConfig,
    table: &TableCheckpoint,
    chunks: &[&ChunkSpec],
    now_unix_ms: u64,
) -> Result<TableSample, CoordinatorError> {
    // The sample never logs a reject (`sample_chunk`); the log only needs a path.
    let rejects_path = std::env::temp_dir().join(format!(
        "squall-sample-{}-t{}.jsonl",
        std::process::id(),
        table.table.id
    ));
    let cx = context(cfg, table, now_unix_ms, rejects_path)?;
    let fraction = SAMPLE_SOURCE_BYTES as f64 / table.source_bytes.max(1) as f64;
    let mut sample = TableSample::default();
    for spec in chunks {
        let rows = ((spec.est_rows as f64 * fraction).ceil() as u64).clamp(MIN_ROWS, MAX_ROWS);
        let keys = &mut sample.keys;
        let span = sample_chunk(&cx, spec, rows, &mut |kv| {
            keys.push((kv.key.clone(), (kv.key.len() + kv.value.len()) as u64));
        })
        .map_err(|e| CoordinatorError::Schema {
            table: table.table.qualified_name(),
            reason: format!("sampling {} for engine ranges: {e}", spec.file.path),
        })?;
        sample.rows += rows.min(spec.est_rows.max(1));
        sample.source_bytes += span;
    }
    Ok(sample)
}

fn context(
    cfg: &TaskConfig,
    table: &TableCheckpoint,
    now_unix_ms: u64,
    rejects_path: std::path::PathBuf,
) -> Result<EncodeContext, CoordinatorError> {
    let now = chrono::DateTime::from_timestamp_millis(now_unix_ms as i64).unwrap_or_default();
    let converter = Converter::new(&cfg.tidb.sql_mode, &cfg.tidb.time_zone)
        .map_err(|e| CoordinatorError::Invalid {
            what: "tidb.sql-mode / tidb.time-zone",
            reason: e.to_string(),
        })?
        .with_now(now);
    let rejects = RejectLog::new(rejects_path.clone()).map_err(|e| CoordinatorError::Io {
        op: "create",
        path: rejects_path.display().to_string(),
        source: e,
    })?;
    Ok(EncodeContext {
        store: SourceStore::open(&cfg.mydumper.data_source_dir)?,
        mydumper: cfg.mydumper.clone(),
        read: ReadOptions {
            time_zone: Some(cfg.tidb.time_zone.clone()),
            ..ReadOptions::default()
        },
        router: PartitionRouter::new(&table.table, table.partition.as_ref()),
        table: table.table.clone(),
        converter,
        rejects,
        budget: Arc::new(ErrorBudget::new(u64::MAX, 0)),
        taken: Default::default(),
        cancel: CancellationToken::new(),
        progress: Arc::new(WorkerProgress::default()),
        rows_only: cfg.squall.index_mode == squall_common::config::IndexMode::AfterData,
    })
}
