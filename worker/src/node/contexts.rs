//! One [`WorkerContext`] per job, built from the job's config in the store
//! the first time a task of the job arrives and kept for the next ones (a
//! PD connection and the opened source are worth reusing).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use squall_client::{ClientOptions, ImportClient, PdClient};
use squall_common::artefacts::{self, SharedArtefactStore};
use squall_common::checkpoint::{
    keys, typed, EngineCheckpoint, EngineState, SharedCheckpointStore,
};
use squall_common::TaskConfig;
use squall_source::SourceStore;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::error::NodeError;
use super::job_config;
use crate::task::{
    ErrorBudget, ProgressSnapshot, SharedBackfillRunner, SharedWorkerContext, WorkerContext,
    WorkerProgress,
};

/// What every job's context on this node shares.
pub struct NodeIdentity {
    pub worker_id: String,
    /// The node's own engine directory; each job gets `<dir>/<job>`.
    pub sorted_kv_dir: PathBuf,
    /// Overrides the job's PD addresses (a node that reaches PD elsewhere).
    pub pd_override: Vec<String>,
    /// This node's own report directory; each job gets `<dir>/<job>`.
    /// `None`: the job's output directory (a path every node then sees).
    pub output_override: Option<PathBuf>,
}

pub struct JobContexts {
    node: NodeIdentity,
    store: SharedCheckpointStore,
    /// The cluster's artefact store, shared by every job (each sees it under `<job>/`).
    artefacts: SharedArtefactStore,
    cancel: CancellationToken,
    /// Given to every job's context: builds index backfill ranges.
    backfill: Option<SharedBackfillRunner>,
    /// Held across the build, so two loops never build the same job twice.
    built: Mutex<HashMap<String, SharedWorkerContext>>,
}

impl JobContexts {
    pub fn new(
        node: NodeIdentity,
        store: SharedCheckpointStore,
        artefacts: SharedArtefactStore,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            node,
            store,
            artefacts,
            cancel,
            backfill: None,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// Lets this node's workers build index backfill ranges with `runner`
    /// (`squall worker` installs the coordinator crate's).
    pub fn with_backfill(mut self, runner: SharedBackfillRunner) -> Self {
        self.backfill = Some(runner);
        self
    }

    /// The job's context, built on first use.
    pub async fn get(&self, job_id: &str) -> Result<SharedWorkerContext, NodeError> {
        let mut built = self.built.lock().await;
        if let Some(cx) = built.get(job_id) {
            return Ok(Arc::clone(cx));
        }
        let cx = Arc::new(self.build(job_id).await?);
        // Redacted: an s3:// URL may carry credentials.
        let source = squall_source::storage::redacted(&cx.cfg.mydumper.data_source_dir);
        tracing::info!(job = job_id, %source, "serving a new job");
        built.insert(job_id.to_string(), Arc::clone(&cx));
        Ok(cx)
    }

    /// Each served job's progress on this node so far, for metrics.
    pub async fn progress(&self) -> Vec<(String, ProgressSnapshot)> {
        let built = self.built.lock().await;
        built
            .iter()
            .map(|(job, cx)| (job.clone(), cx.progress.snapshot()))
            .collect()
    }

    async fn build(&self, job_id: &str) -> Result<WorkerContext, NodeError> {
        let record = job_config::read(&self.store, job_id)
            .await?
            .ok_or_else(|| NodeError::NoJobConfig {
                job_id: job_id.to_string(),
                key: job_config::key(job_id),
            })?;
        let origin = PathBuf::from(job_config::key(job_id));
        let mut cfg = TaskConfig::from_toml(&record.task_toml, &origin).map_err(|source| {
            NodeError::Config {
                job_id: job_id.to_string(),
                source,
            }
        })?;
        cfg.mydumper.data_source_dir = record.source_dir.clone();
        let pd_addrs = match self.node.pd_override.is_empty() {
            true => record.pd_addrs.clone(),
            false => self.node.pd_override.clone(),
        };
        let pd = PdClient::connect(&pd_addrs, ClientOptions::from_task(&cfg))
            .await
            .map_err(|source| NodeError::Pd {
                job_id: job_id.to_string(),
                pd: pd_addrs.join(","),
                source,
            })?;
        let source = SourceStore::open(&record.source_dir).map_err(|source| NodeError::Source {
            job_id: job_id.to_string(),
            dir: squall_source::storage::redacted(&record.source_dir),
            source,
        })?;
        let budget = ErrorBudget::new(cfg.lightning.max_error, self.skipped_so_far(job_id).await?);
        let output_dir = match &self.node.output_override {
            Some(dir) => dir.join(job_id),
            None => Path::new(&record.output_dir).to_path_buf(),
        };
        let artefacts =
            artefacts::for_job(&self.artefacts, job_id).map_err(|e| NodeError::Artefacts {
                job_id: job_id.to_string(),
                source: e,
            })?;
        Ok(WorkerContext {
            store: Arc::clone(&self.store),
            client: ImportClient::new(pd),
            source,
            sorted_kv_dir: self.node.sorted_kv_dir.join(job_id),
            output_dir,
            artefacts,
            worker_id: self.node.worker_id.clone(),
            budget: Arc::new(budget),
            progress: Arc::new(WorkerProgress::default()),
            cancel: self.cancel.child_token(),
            backfill: self.backfill.clone(),
            cfg,
        })
    }

    /// Rows the job's finished engines skipped: they count against
    /// `max-error`. Each node keeps its own budget from there on, so the
    /// cluster as a whole may skip up to one budget per node.
    async fn skipped_so_far(&self, job_id: &str) -> Result<u64, NodeError> {
        let engines: Vec<typed::Stored<EngineCheckpoint>> =
            typed::read_all(self.store.as_ref(), &keys::engines_prefix(job_id)).await?;
        Ok(engines
            .iter()
            .filter_map(|e| match &e.record.state {
                EngineState::Done(r) => Some(r.skipped_rows),
                _ => None,
            })
            .sum())
    }
}
