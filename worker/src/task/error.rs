//! Why an engine task failed, and whether running it again can help.

use squall_codec::convert::ConverterSetupError;
use squall_codec::EncodeError;
use squall_common::artefacts::ArtefactError;
use squall_common::checkpoint::CheckpointError;
use squall_common::queue::QueueError;
use squall_source::SourceError;

use super::columns::ColumnError;
use super::partition::RouteError;
use super::spec::BadChunkSpec;
use crate::engine::EngineError;
use crate::ingest::IngestError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("checkpoint store: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("checkpoint {key} is missing: the job's plan is incomplete or was removed")]
    MissingCheckpoint { key: String },
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Spec(#[from] BadChunkSpec),
    #[error("{file}: {error}")]
    Columns { file: String, error: ColumnError },
    #[error(
        "more than lightning.max-error = {limit} rows had errors; the last one: {last} \
         (every skipped row is in {log})"
    )]
    TooManyErrors {
        limit: u64,
        last: String,
        log: String,
    },
    #[error("{file} (byte {offset}): the chunk has more rows than its _tidb_rowid range allows (max {max})")]
    RowIdOverflow { file: String, offset: u64, max: i64 },
    #[error("{0}")]
    Route(#[from] RouteError),
    #[error("table schema cannot be encoded: {0}")]
    Schema(#[from] EncodeError),
    #[error("{0}")]
    Converter(#[from] ConverterSetupError),
    #[error("local engine: {0}")]
    Engine(#[from] EngineError),
    /// Boxed: ingest errors carry region answers and would bloat every `Result`.
    #[error("ingest: {0}")]
    Ingest(Box<IngestError>),
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The disk under the local engines is full (`disk_full`): the task
    /// goes back to the queue for another worker, and a cluster worker takes
    /// no more tasks until `dir` has `needed` bytes free.
    #[error(
        "the disk under {} is full ({free} bytes free, this engine needs about {needed}): \
         {error}. Free space there, or give the local engines (tikv-importer.sorted-kv-dir, \
         `squall worker --sorted-kv-dir`) a larger disk",
        dir.display()
    )]
    DiskFull {
        dir: std::path::PathBuf,
        free: u64,
        needed: u64,
        error: Box<TaskError>,
    },
    #[error("task queue: {0}")]
    Queue(#[from] QueueError),
    #[error("artefact store: {0}")]
    Artefact(#[from] ArtefactError),
    #[error("background task failed: {0}")]
    Blocking(String),
    #[error("stopped by shutdown")]
    Cancelled,
    /// An index backfill range failed (`backfill_range`): the build's own
    /// error, and whether another delivery may succeed.
    #[error("index backfill: {reason}")]
    Backfill { reason: String, retryable: bool },
    /// The engine's own numbers disagree (a bug, not bad input).
    #[error("inconsistent engine result: {0}")]
    Inconsistent(String),
}

impl TaskError {
    /// Whether another attempt of the engine may succeed. Bad input never
    /// does; everything about disks, the network and the cluster may.
    /// Exhaustive on purpose: a new variant must decide.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Checkpoint(e) => e.is_retryable(),
            Self::Artefact(e) => e.is_retryable(),
            Self::Backfill { retryable, .. } => *retryable,
            Self::Engine(_)
            | Self::Ingest(_)
            | Self::Io { .. }
            | Self::DiskFull { .. }
            | Self::Queue(_)
            | Self::Blocking(_)
            | Self::Cancelled => true,
            Self::MissingCheckpoint { .. }
            | Self::Source(_)
            | Self::Spec(_)
            | Self::Columns { .. }
            | Self::TooManyErrors { .. }
            | Self::RowIdOverflow { .. }
            | Self::Route(_)
            | Self::Schema(_)
            | Self::Converter(_)
            | Self::Inconsistent(_) => false,
        }
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<IngestError> for TaskError {
    fn from(e: IngestError) -> Self {
        TaskError::Ingest(Box::new(e))
    }
}
