//! What can go wrong while finding and resolving conflicts. One enum for the
//! whole area (detection, resolution, report), so the runner has one thing
//! to match on; every variant names the table, range or key involved.

use squall_client::ClientError;
use squall_common::checkpoint::CheckpointError;

#[derive(Debug, thiserror::Error)]
pub enum DuplicateError {
    #[error("conflict.strategy {0:?} is not one of error, record, none, remove, replace")]
    BadStrategy(String),
    #[error("{what} failed: {source}")]
    Client {
        what: String,
        #[source]
        source: ClientError,
    },
    #[error("{what} gave up after {attempts} attempts: {source}")]
    RetriesExhausted {
        what: String,
        attempts: u32,
        #[source]
        source: ClientError,
    },
    /// TiKV refuses DuplicateDetect over a range whose newest version is a
    /// Delete above `min_commit_ts`: something deleted rows in the range after
    /// the import started (or detection was re-run over a resolved range).
    #[error(
        "DuplicateDetect over table {table_id} {target} [{start}, {end}) hit a key error: {message} \
         (rows were deleted in this range after the import started; detection cannot be repeated here)"
    )]
    KeyError {
        table_id: i64,
        target: String,
        start: String,
        end: String,
        message: String,
    },
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("table {table}: key {key}: {reason}")]
    Decode {
        table: String,
        key: String,
        reason: String,
    },
    #[error("table {table}: {reason}")]
    Inconsistent { table: String, reason: String },
    #[error(
        "conflict resolution spill {path}: {reason} (it lives under tikv-importer.sorted-kv-dir: \
         check its free space and permissions, or raise conflict.resolve-memory to spill less)"
    )]
    Spill { path: String, reason: String },
    #[error("conflict report {path}: {source}")]
    Report {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the resolution of table {table} at ts {commit_ts}: {reason}")]
    Ingest {
        table: String,
        commit_ts: u64,
        reason: String,
    },
    #[error("local duplicates of table {table}: {reason}")]
    LocalDuplicates { table: String, reason: String },
    #[error(
        "{rows} conflicting rows found (conflict.strategy = \"error\"); see the report in {report_dir}"
    )]
    ConflictsFound {
        rows: u64,
        report_dir: String,
        summary: Box<super::summary::ConflictSummary>,
    },
    #[error(
        "{rows} conflicting rows found, more than conflict.threshold = {threshold}; the job stops \
         here, see the report in {report_dir}"
    )]
    ThresholdExceeded {
        rows: u64,
        threshold: u64,
        report_dir: String,
    },
    #[error("cancelled")]
    Cancelled,
}

impl DuplicateError {
    pub(crate) fn client(what: impl Into<String>, source: ClientError) -> Self {
        Self::Client {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn decode(table: &str, key: &[u8], reason: impl std::fmt::Display) -> Self {
        Self::Decode {
            table: table.to_string(),
            key: hex::encode(key),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn inconsistent(table: &str, reason: impl Into<String>) -> Self {
        Self::Inconsistent {
            table: table.to_string(),
            reason: reason.into(),
        }
    }
}
