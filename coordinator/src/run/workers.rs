//! Where a job's engines run. The coordinator logic is the same either way:
//! it publishes one task per unfinished engine and waits on the engine
//! records; only who pulls the tasks differs.
//!
//! * [`Workers::Embedded`]: `lightning.index-concurrency` worker loops in
//!   this process, over an in-process queue, checkpoints in a local directory
//!   (`squall import`).
//! * [`Workers::Cluster`]: worker processes elsewhere (`squall worker`),
//!   reached through a shared queue (NATS JetStream), checkpoints in a shared
//!   store (etcd), artefacts (local duplicates) in a shared object store
//!   (NATS JetStream). No worker loop runs in this process.
//!
//! Either way the workers and the duplicate step see artefacts through the
//! same job-relative keys ([`Workers::artefacts`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use squall_client::ImportClient;
use squall_common::artefacts::{self, LocalArtefactStore, SharedArtefactStore};
use squall_common::checkpoint::{EngineState, JobCheckpoint, SharedCheckpointStore};
use squall_common::queue::{InProcessQueue, SharedTaskQueue};
use squall_source::SourceStore;
use squall_worker::task::{run_worker, ErrorBudget, TaskError, WorkerContext};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ImportOptions;
use crate::error::CoordinatorError;
use crate::plan::StoredPlan;

/// How long a task may go unacknowledged in the in-process queue before it
/// is handed out again; the worker heartbeats every third of it.
const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Default)]
pub enum Workers {
    #[default]
    Embedded,
    Cluster(ClusterSeams),
}

/// The shared checkpoint store, task queue and artefact store of a cluster.
#[derive(Clone)]
pub struct ClusterSeams {
    pub store: SharedCheckpointStore,
    pub queue: SharedTaskQueue,
    /// Shared by every job; each sees it under `<job>/`.
    pub artefacts: SharedArtefactStore,
}

impl Workers {
    /// The job's artefacts as its workers write them: files under the
    /// output directory in embedded mode (today's paths), the cluster's
    /// artefact store under `<job>/` otherwise.
    pub fn artefacts(
        &self,
        job_id: &str,
        output_dir: &Path,
    ) -> Result<SharedArtefactStore, CoordinatorError> {
        match self {
            Workers::Embedded => Ok(Arc::new(LocalArtefactStore::new(output_dir))),
            Workers::Cluster(seams) => artefacts::for_job(&seams.artefacts, job_id).map_err(|e| {
                CoordinatorError::Invalid {
                    what: "artefact store",
                    reason: e.to_string(),
                }
            }),
        }
    }
}

/// Worker loops running in this process, and the queue they pull from.
pub struct EmbeddedWorkers {
    pub queue: SharedTaskQueue,
    pub loops: JoinSet<Result<(), TaskError>>,
    /// Stops the loops (their in-flight tasks are nak'ed).
    pub cancel: CancellationToken,
}

impl EmbeddedWorkers {
    /// Starts `lightning.index-concurrency` loops sharing one context.
    pub fn start(
        opts: &ImportOptions,
        store: &SharedCheckpointStore,
        client: &ImportClient,
        job: &JobCheckpoint,
        plan: &StoredPlan,
        progress: &super::ImportProgress,
        shutdown: &CancellationToken,
    ) -> Result<Self, CoordinatorError> {
        let queue: SharedTaskQueue = Arc::new(InProcessQueue::new(ACK_WAIT));
        let cancel = shutdown.child_token();
        let already_skipped = plan
            .engines
            .iter()
            .filter_map(|e| match &e.record.state {
                EngineState::Done(r) => Some(r.skipped_rows),
                _ => None,
            })
            .sum();
        let cx = Arc::new(WorkerContext {
            cfg: opts.cfg.clone(),
            store: Arc::clone(store),
            client: client.clone(),
            source: SourceStore::open(&opts.cfg.mydumper.data_source_dir)?,
            sorted_kv_dir: PathBuf::from(&opts.cfg.tikv_importer.sorted_kv_dir).join(&job.job_id),
            output_dir: opts.output_dir.clone(),
            artefacts: opts.workers.artefacts(&job.job_id, &opts.output_dir)?,
            worker_id: format!("embedded-{}", std::process::id()),
            budget: Arc::new(ErrorBudget::new(
                opts.cfg.lightning.max_error,
                already_skipped,
            )),
            progress: progress.workers(),
            cancel: cancel.clone(),
            // The backfill step runs after these loops stop, in-process
            // (`backfill::tasks::run_plan`): they never get a range task.
            backfill: None,
        });
        let mut loops = JoinSet::new();
        for _ in 0..opts.cfg.lightning.index_concurrency.max(1) {
            loops.spawn(run_worker(Arc::clone(&cx), Arc::clone(&queue)));
        }
        Ok(Self {
            queue,
            loops,
            cancel,
        })
    }

    /// Stops the loops and waits for them.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while let Some(joined) = self.loops.join_next().await {
            if let Ok(Err(e)) = joined {
                tracing::warn!(error = %e, "worker loop ended with an error");
            }
        }
    }
}
