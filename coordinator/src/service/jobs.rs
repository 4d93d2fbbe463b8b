//! The jobs this coordinator runs: one runner per job id at a time, and what
//! the last runner of each job ended with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::CoordinatorError;
use crate::run::{run_import, ImportOptions, ImportProgress, ImportSummary};

/// How a runner ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Finished(ImportSummary),
    Failed(String),
    /// The coordinator is stopping; the job resumes when it starts again.
    Interrupted,
    /// The operator cancelled the job (the job record says what was written).
    Cancelled,
}

#[derive(Clone)]
pub struct JobEntry {
    pub progress: Arc<ImportProgress>,
    /// `None` while the runner runs.
    pub outcome: Option<Outcome>,
}

pub struct Jobs {
    entries: Mutex<HashMap<String, JobEntry>>,
    runners: Mutex<JoinSet<()>>,
    shutdown: CancellationToken,
}

/// A job with this id is running already.
#[derive(Debug)]
pub struct AlreadyRunning;

impl Jobs {
    pub fn new(shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            runners: Mutex::new(JoinSet::new()),
            shutdown,
        })
    }

    pub fn get(&self, job_id: &str) -> Option<JobEntry> {
        lock(&self.entries).get(job_id).cloned()
    }

    /// Forgets the last outcome of a job that is not running (its records
    /// were destroyed). `false`: a runner is on it.
    pub fn forget(&self, job_id: &str) -> bool {
        let mut entries = lock(&self.entries);
        if entries.get(job_id).is_some_and(|e| e.outcome.is_none()) {
            return false;
        }
        entries.remove(job_id);
        true
    }

    /// Starts a runner for `job_id`, unless one is running.
    pub fn start(
        self: &Arc<Self>,
        job_id: &str,
        opts: ImportOptions,
    ) -> Result<(), AlreadyRunning> {
        let progress = ImportProgress::new();
        {
            let mut entries = lock(&self.entries);
            if entries.get(job_id).is_some_and(|e| e.outcome.is_none()) {
                return Err(AlreadyRunning);
            }
            let entry = JobEntry {
                progress: Arc::clone(&progress),
                outcome: None,
            };
            entries.insert(job_id.to_string(), entry);
        }
        let (jobs, id, shutdown) = (Arc::clone(self), job_id.to_string(), self.shutdown.clone());
        let source = squall_source::storage::redacted(&opts.source_dir.display().to_string());
        tracing::info!(job = %id, %source, "job started");
        lock(&self.runners).spawn(async move {
            let outcome = match run_import(opts, progress, shutdown).await {
                Ok(summary) => {
                    tracing::info!(job = %id, "{summary}");
                    Outcome::Finished(summary)
                }
                Err(CoordinatorError::Interrupted) => Outcome::Interrupted,
                Err(CoordinatorError::Cancelled { .. }) => Outcome::Cancelled,
                Err(e) => {
                    tracing::error!(job = %id, error = %e, "job failed");
                    Outcome::Failed(e.to_string())
                }
            };
            if let Some(entry) = lock(&jobs.entries).get_mut(&id) {
                entry.outcome = Some(outcome);
            }
        });
        Ok(())
    }

    /// Waits for every runner (after `shutdown`, they stop at their next
    /// checkpoint).
    pub async fn wait_all(&self) {
        let mut runners = std::mem::take(&mut *lock(&self.runners));
        while runners.join_next().await.is_some() {}
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one map operation; a panic cannot leave
    // the map half-changed.
    m.lock().unwrap_or_else(|p| p.into_inner())
}
