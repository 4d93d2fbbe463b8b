//! Job control on the API: `POST /jobs/{id}/pause|resume|cancel` and
//! `DELETE /jobs/{id}`. Only the leader acts (a standby answers 503, as for
//! a submission, and the client tries the next coordinator); its writes go
//! through its fenced store. The control record
//! (`checkpoint::control`) decides which transitions exist; the runner and
//! the workers obey it (`crate::run::control`, the worker's claim).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use squall_common::artefacts;
use squall_common::checkpoint::{
    control, keys, typed, ControlAction, JobCheckpoint, JobState, SharedCheckpointStore,
};
use squall_worker::task::claim::now_unix_ms;

use super::api::ApiState;
use super::status::job_status;

const STANDBY: &str = "this coordinator is a standby; ask the leader (any other coordinator)";

/// 202 with the job's status once the control is stored; 404 for an
/// unknown job; 409 for a transition that makes no sense (resume a job
/// that is not paused, pause a finished one); 503 from a standby or when
/// the store is away.
pub async fn apply(state: &ApiState, job_id: &str, action: ControlAction) -> Response {
    let Some(seams) = state.leading.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, STANDBY).into_response();
    };
    let store = &seams.store;
    let job = match typed::read::<JobCheckpoint>(store.as_ref(), &keys::job(job_id)).await {
        Ok(Some(j)) => j.record,
        Ok(None) => return (StatusCode::NOT_FOUND, format!("no job {job_id:?}")).into_response(),
        Err(e) => return unavailable(job_id, &e),
    };
    if job.state.is_finished() {
        let msg = format!(
            "cannot {} job {job_id}: it is {} already; submit it again to restart it",
            action.name(),
            state_name(&job.state)
        );
        return (StatusCode::CONFLICT, msg).into_response();
    }
    match control::change(store.as_ref(), job_id, action, now_unix_ms()).await {
        Ok(Ok(c)) => {
            tracing::info!(job = job_id, action = action.name(), control = %c.control, generation = c.generation, "job control changed");
        }
        Ok(Err(refused)) => {
            return (StatusCode::CONFLICT, format!("job {job_id}: {refused}")).into_response()
        }
        Err(e) => return unavailable(job_id, &e),
    }
    status_response(state, store, job_id, StatusCode::ACCEPTED).await
}

/// A job submitted again goes on: a pause or cancel is lifted (the
/// runner does the same first thing; both are one idempotent CAS). Best
/// effort: the runner reports a store that is away.
pub async fn lift(store: &SharedCheckpointStore, job_id: &str) {
    match control::change(
        store.as_ref(),
        job_id,
        ControlAction::Restart,
        now_unix_ms(),
    )
    .await
    {
        Ok(Ok(c)) => {
            tracing::debug!(job = job_id, control = %c.control, "control after submission")
        }
        Ok(Err(refused)) => tracing::debug!(job = job_id, %refused, "control not changed"),
        Err(e) => {
            tracing::warn!(job = job_id, error = %e, "could not lift the job's control; its runner tries again")
        }
    }
}

/// `DELETE /jobs/{id}`: removes every record of a job no runner works on
/// (its checkpoints, control and config in the store, its artefacts), so
/// that a submission starts it from nothing. What it wrote to TiKV stays.
/// 200 with what was removed; 404 for an unknown job; 409 while it runs
/// (cancel it first).
pub async fn destroy(state: &ApiState, job_id: &str) -> Response {
    let Some(seams) = state.leading.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, STANDBY).into_response();
    };
    if !state.jobs.forget(job_id) {
        let msg = format!("job {job_id} is running; cancel it first, then destroy it");
        return (StatusCode::CONFLICT, msg).into_response();
    }
    let store = &seams.store;
    let listed = match store.list(&keys::job_prefix(job_id)).await {
        Ok(l) => l,
        Err(e) => return unavailable(job_id, &e),
    };
    if listed.is_empty() {
        return (StatusCode::NOT_FOUND, format!("no job {job_id:?}")).into_response();
    }
    // The job record goes last: a destroy cut short still lists the job,
    // and running it again finishes it.
    let job_key = keys::job(job_id);
    let (last, first): (Vec<_>, Vec<_>) = listed.iter().partition(|(k, _)| *k == job_key);
    let mut records = 0;
    for (key, _) in first.iter().chain(last.iter()) {
        match store.delete(key).await {
            Ok(true) => records += 1,
            Ok(false) => {}
            Err(e) => return unavailable(job_id, &e),
        }
    }
    let artefacts = match seams
        .artefacts
        .delete_prefix(&artefacts::keys::job_prefix(job_id))
        .await
    {
        Ok(n) => serde_json::json!(n),
        Err(e) => {
            tracing::warn!(job = job_id, error = %e, "job records removed, but not its artefacts");
            serde_json::json!(format!("not removed: {e}"))
        }
    };
    tracing::info!(job = job_id, records, "job destroyed");
    Json(serde_json::json!({
        "job_id": job_id,
        "records": records,
        "artefacts": artefacts,
    }))
    .into_response()
}

async fn status_response(
    state: &ApiState,
    store: &SharedCheckpointStore,
    job_id: &str,
    code: StatusCode,
) -> Response {
    let leader = state.leading.is_leader();
    match job_status(store, job_id, state.jobs.get(job_id), leader, true).await {
        Ok(Some(s)) => (code, Json(s)).into_response(),
        Ok(None) => (code, Json(serde_json::json!({ "job_id": job_id }))).into_response(),
        Err(e) => unavailable(job_id, &e),
    }
}

fn unavailable(job_id: &str, e: &dyn std::fmt::Display) -> Response {
    let msg = format!("job {job_id}: the checkpoint store: {e}");
    (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
}

fn state_name(state: &JobState) -> &'static str {
    match state {
        JobState::Planning => "planning",
        JobState::Importing => "importing",
        JobState::PostProcessing => "post-processing",
        JobState::Verified => "verified",
        JobState::Imported => "imported (no checksum match)",
        JobState::Failed { .. } => "failed",
        JobState::Cancelled { .. } => "cancelled",
    }
}
