//! The coordinator's one error type.

use squall_client::ClientError;
use squall_codec::CodecError;
use squall_codec::KvChecksum;
use squall_common::checkpoint::CheckpointError;
use squall_common::queue::QueueError;
use squall_source::SourceError;
use squall_worker::task::TaskError;

#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("table {table}: {reason}")]
    Schema { table: String, reason: String },
    #[error("checkpoint store: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("PD/TiKV: {0}")]
    Client(#[from] ClientError),
    #[error("task queue: {0}")]
    Queue(#[from] QueueError),
    #[error("worker: {0}")]
    Worker(#[from] TaskError),
    #[error("{0}")]
    Codec(#[from] CodecError),
    #[error("{0}")]
    Tidb(#[from] crate::tidb::TidbError),
    #[error(
        "the checkpoint of job {job_id} in {dir} was made with different settings (config hash {stored}, now {now}); \
         rerun with the original config, or remove {dir} (and the imported tables) to start over"
    )]
    ConfigChanged {
        job_id: String,
        dir: String,
        stored: String,
        now: String,
    },
    #[error("no table to import in {path}: no schema or data file there matches the file rules ({skipped} files skipped). Check the path (a container's volume mounted where the config says?) and the [mydumper] rules or filter")]
    NoTables { path: String, skipped: usize },
    #[error("the source {path} changed since job {job_id} was created (other files or sizes): it is another dump, and the job's checkpoints describe the old one. To import it, remove the old job's checkpoints ({dir}; in a cluster: `squall job destroy {job_id}`) or give the new dump another directory")]
    SourceChanged {
        job_id: String,
        path: String,
        dir: String,
    },
    #[error("checkpoint {key} does not match the source any more: {reason}; remove the checkpoint directory to start over")]
    PlanMismatch { key: String, reason: String },
    #[error("checkpoint {key} is missing")]
    MissingCheckpoint { key: String },
    #[error("table {table}, engine {engine} failed: {reason}")]
    EngineFailed {
        table: String,
        engine: u32,
        reason: String,
    },
    #[error("table {table}: checksum mismatch: local {local}, TiKV {remote}")]
    ChecksumMismatch {
        table: String,
        local: KvChecksum,
        remote: KvChecksum,
    },
    #[error("table {table}: {count} duplicate keys found and conflict.strategy = {strategy:?}; they are listed in {report}")]
    Duplicates {
        table: String,
        count: u64,
        strategy: String,
        report: String,
    },
    #[error("table {name} is not in {whence}")]
    TableNotFound { name: String, whence: String },
    #[error("{what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted; the job is checkpointed and resumes when run again")]
    Interrupted,
    /// The operator cancelled the job (`POST /jobs/{id}/cancel`).
    #[error("job {job_id} was cancelled: {engines_done} of {engines} engines done, {rows} rows ingested; submit it again to go on from its checkpoints, or `squall job destroy {job_id}` to remove them")]
    Cancelled {
        job_id: String,
        engines_done: u64,
        engines: u64,
        rows: u64,
    },
    #[error("background task failed: {0}")]
    Blocking(String),
}

impl CoordinatorError {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.display().to_string(),
            source,
        }
    }
}
