//! `squall coordinator`: the coordinator of a cluster. It runs each
//! submitted job with the cluster flavour of the runner ([`crate::run`],
//! [`crate::run::Workers::Cluster`]): tasks on the shared queue for
//! `squall worker` processes, every checkpoint in the shared store. It
//! keeps no state of its own: started again, it resumes every job the store
//! holds that is not finished.
//!
//! * [`wire`]: the API's JSON ([`JobRequest`], [`JobStatus`]).
//! * `api`: the axum routes; `jobs`: the runners of this process;
//!   `status`: a job's status from the store; `request`: a request as the
//!   runner's options.

mod api;
mod jobs;
mod request;
mod status;
pub mod wire;

use squall_common::checkpoint::{keys, typed, CheckpointError, JobCheckpoint, JobState};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::run::ClusterSeams;
use api::{router, ApiState};
use jobs::Jobs;
pub use wire::{EngineStatus, JobRequest, JobStatus, ProgressStatus, TableStatus};

/// Serves the API on `listener` until `shutdown`; then stops the running
/// jobs at their next checkpoint and returns.
pub async fn serve(
    listener: TcpListener,
    seams: ClusterSeams,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let jobs = Jobs::new(shutdown.clone());
    let state = ApiState {
        seams: seams.clone(),
        jobs: jobs.clone(),
    };
    match resume_unfinished(&state).await {
        Ok(n) if n > 0 => tracing::info!(jobs = n, "resumed unfinished jobs"),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not look for unfinished jobs; submit them again to resume")
        }
    }
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "coordinator listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await?;
    jobs.wait_all().await;
    Ok(())
}

/// Starts a runner for every job in the store that is planned, importing
/// or post-processing. Returns how many.
async fn resume_unfinished(state: &ApiState) -> Result<usize, CheckpointError> {
    let store = &state.seams.store;
    let listed = store.list(&keys::jobs_prefix()).await?;
    let mut resumed = 0;
    for (key, _) in listed.iter().filter(|(k, _)| k.ends_with("/job")) {
        let Some(job) = typed::read::<JobCheckpoint>(store.as_ref(), key).await? else {
            continue;
        };
        if matches!(
            job.record.state,
            JobState::Verified | JobState::Failed { .. }
        ) {
            continue;
        }
        let id = job.record.job_id;
        let Some(config) = squall_worker::node::job_config::read(store, &id).await? else {
            tracing::warn!(job = %id, "unfinished job has no stored config (not a cluster job); leaving it");
            continue;
        };
        match request::import_options(&request::from_stored(config), &state.seams) {
            Ok(opts) => {
                tracing::info!(job = %id, state = ?job.record.state, "resuming unfinished job");
                if state.jobs.start(&id, opts).is_ok() {
                    resumed += 1;
                }
            }
            Err(reason) => tracing::error!(job = %id, %reason, "cannot resume the job"),
        }
    }
    Ok(resumed)
}
