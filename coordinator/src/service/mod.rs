//! `squall coordinator`: the coordinator of a cluster. It runs each
//! submitted job with the cluster flavour of the runner ([`crate::run`],
//! [`crate::run::Workers::Cluster`]): tasks on the shared queue for
//! `squall worker` processes, every checkpoint in the shared store. It
//! keeps no state of its own: started again, it resumes every job the store
//! holds that is not finished.
//!
//! * [`wire`]: the API's JSON ([`JobRequest`], [`JobStatus`]).
//! * `api`: the axum routes; `jobs`: the runners of this process;
//!   `status`: a job's status from the store (`range_status`: the engine
//!   ranges' part); `request`: a request as the
//!   runner's options; `control`: pause, resume, cancel and destroy;
//!   `tls`: the API over TLS.

mod api;
mod control;
mod jobs;
mod leadership;
mod metrics;
mod range_status;
mod request;
mod status;
mod tls;
mod web;
pub mod wire;

use std::sync::Arc;

use squall_common::checkpoint::{keys, typed, CheckpointError, JobCheckpoint};
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;
use tokio_util::sync::CancellationToken;

use crate::run::ClusterSeams;
use api::{router, ApiState};
use jobs::Jobs;
use leadership::Leading;
pub use leadership::{Campaign, Elected};
pub use range_status::job_ranges_status;
pub use wire::{
    EngineStatus, JobRequest, JobStatus, ProgressStatus, RangeCounts, RangesStatus, TableRanges,
    TableStatus, WorkerStatus,
};

/// Serves the API on `listener` (over TLS with `tls`) until `shutdown`; runs jobs once
/// `campaign` has made this coordinator the leader. On `shutdown` the
/// running jobs stop at their next checkpoint and leadership is handed
/// over; a lost leadership stops the jobs and is an error (exit, so a
/// supervisor restarts the process as a standby).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    seams: ClusterSeams,
    campaign: Campaign,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    // Jobs stop on shutdown and on a lost leadership.
    let stop_jobs = shutdown.child_token();
    let jobs = Jobs::new(stop_jobs.clone());
    let leading = Leading::default();
    let state = ApiState {
        seams: seams.clone(),
        jobs: jobs.clone(),
        leading: leading.clone(),
    };
    let addr = listener.local_addr()?;
    tracing::info!(%addr, tls = tls.is_some(), "coordinator listening");
    let stop_api = stop_jobs.clone().cancelled_owned();
    let app = router(state.clone());
    let api = match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config)?;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop_api)
                    .await
            })
        }
        None => tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop_api)
                .await
        }),
    };
    let elected = tokio::select! {
        _ = shutdown.cancelled() => return finish(api, &jobs, None).await,
        elected = campaign => match elected {
            Ok(Some(e)) => e,
            Ok(None) => return finish(api, &jobs, None).await,
            Err(reason) => {
                stop_jobs.cancel();
                let _ = finish(api, &jobs, None).await;
                return Err(std::io::Error::other(format!("coordinator election: {reason}")));
            }
        },
    };
    let lost = elected.lost.clone();
    leading.set(ClusterSeams {
        store: elected.store.clone(),
        ..seams
    });
    tracing::info!("leading: running jobs");
    match resume_unfinished(&state).await {
        Ok(n) if n > 0 => tracing::info!(jobs = n, "resumed unfinished jobs"),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not look for unfinished jobs; submit them again to resume")
        }
    }
    tokio::select! {
        _ = shutdown.cancelled() => finish(api, &jobs, Some(elected)).await,
        _ = lost.cancelled() => {
            stop_jobs.cancel();
            let _ = finish(api, &jobs, None).await;
            Err(std::io::Error::other(
                "leadership lost (lease expired): stopped; another coordinator carries on",
            ))
        }
    }
}

/// Waits for the API and the runners to stop, then resigns.
async fn finish(
    api: tokio::task::JoinHandle<Result<(), std::io::Error>>,
    jobs: &Jobs,
    elected: Option<Elected>,
) -> Result<(), std::io::Error> {
    jobs.wait_all().await;
    if let Some(e) = elected {
        e.resign.await;
        tracing::info!("leadership handed over");
    }
    match api.await {
        Ok(result) => result,
        Err(e) => Err(std::io::Error::other(format!("API task: {e}"))),
    }
}

/// Starts a runner for every job in the store that is planned, importing
/// or post-processing (a paused one waits paused; one cancelled while its
/// last leader stopped ends cancelled). Returns how many.
async fn resume_unfinished(state: &ApiState) -> Result<usize, CheckpointError> {
    let Some(seams) = state.leading.get() else {
        return Ok(0);
    };
    let store = &seams.store;
    let listed = store.list(&keys::jobs_prefix()).await?;
    let mut resumed = 0;
    for (key, _) in listed.iter().filter(|(k, _)| k.ends_with("/job")) {
        let Some(job) = typed::read::<JobCheckpoint>(store.as_ref(), key).await? else {
            continue;
        };
        if job.record.state.is_finished() {
            continue;
        }
        let id = job.record.job_id;
        let Some(config) = squall_worker::node::job_config::read(store, &id).await? else {
            tracing::warn!(job = %id, "unfinished job has no stored config (not a cluster job); leaving it");
            continue;
        };
        match request::import_options(&request::from_stored(config), &seams) {
            Ok(mut opts) => {
                // Found, not asked for: a paused job stays paused.
                opts.restart = false;
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
