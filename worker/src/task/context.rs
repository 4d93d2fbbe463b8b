//! What a worker process needs to run engine tasks.

use std::path::PathBuf;
use std::sync::Arc;

use squall_client::ImportClient;
use squall_common::artefacts::{keys, SharedArtefactStore};
use squall_common::checkpoint::SharedCheckpointStore;
use squall_common::TaskConfig;
use squall_source::SourceStore;
use tokio_util::sync::CancellationToken;

use super::backfill_range::SharedBackfillRunner;
use super::progress::WorkerProgress;
use super::rejects::ErrorBudget;

/// Shared by every worker loop of a process.
pub struct WorkerContext {
    /// The task config; `mydumper.data-source-dir` is the job's source.
    pub cfg: TaskConfig,
    pub store: SharedCheckpointStore,
    pub client: ImportClient,
    pub source: SourceStore,
    /// Local engines live under here (`tikv-importer.sorted-kv-dir`).
    pub sorted_kv_dir: PathBuf,
    /// Reports go under here (`errors/`, and the worker's own copy of
    /// `duplicates/`).
    pub output_dir: PathBuf,
    /// Where the coordinator finds what this worker leaves for it, seen from
    /// the job (keys of [`keys`]): the output directory itself in embedded
    /// mode, the cluster's NATS object store under `<job>/` otherwise.
    pub artefacts: SharedArtefactStore,
    /// Names this process in checkpoints and logs.
    pub worker_id: String,
    pub budget: Arc<ErrorBudget>,
    pub progress: Arc<WorkerProgress>,
    /// Stops encoding and pulling; in-flight work is abandoned (the next
    /// claim of the engine redoes it).
    pub cancel: CancellationToken,
    /// Builds index backfill ranges (`backfill_range`); `None` in the
    /// embedded loops, which never get such a task.
    pub backfill: Option<SharedBackfillRunner>,
}

impl WorkerContext {
    pub fn errors_path(&self, table_id: i64, engine_id: u32) -> PathBuf {
        self.output_dir
            .join("errors")
            .join(format!("t{table_id}-e{engine_id}.jsonl"))
    }

    /// Where the local duplicates pass writes its file, before it is handed
    /// to [`Self::artefacts`] under [`Self::duplicates_key`].
    pub fn duplicates_path(&self, table_id: i64, engine_id: u32) -> PathBuf {
        self.output_dir
            .join(self.duplicates_key(table_id, engine_id))
    }

    pub fn duplicates_key(&self, table_id: i64, engine_id: u32) -> String {
        keys::local_duplicates(table_id, engine_id)
    }
}

pub type SharedWorkerContext = Arc<WorkerContext>;
