//! The HTTP API (axum): `POST /jobs`, `GET /jobs`, `GET /jobs/{id}`,
//! `DELETE /jobs/{id}`, `POST /jobs/{id}/pause|resume|cancel`,
//! `GET /metrics`, `GET /healthz`.
//! Every coordinator answers reads; only the leader takes jobs and acts on
//! them (see `control`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use squall_common::checkpoint::ControlAction;

use super::jobs::{AlreadyRunning, Jobs};
use super::leadership::Leading;
use super::request::import_options;
use super::status::job_status;
use super::wire::JobRequest;
use crate::run::ClusterSeams;

#[derive(Clone)]
pub struct ApiState {
    /// For reads: any coordinator answers status from the store.
    pub seams: ClusterSeams,
    pub jobs: Arc<Jobs>,
    /// For runs: set once this coordinator leads.
    pub leading: Leading,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/jobs", post(submit).get(list))
        .route("/jobs/{id}", get(status).delete(destroy))
        .route("/jobs/{id}/pause", post(pause))
        .route("/jobs/{id}/resume", post(resume))
        .route("/jobs/{id}/cancel", post(cancel))
        .merge(super::web::routes())
        .with_state(state)
}

/// 202 with the status when started, 409 with the running job's status
/// when it runs already, 400 for a request that cannot run, 503 from a
/// standby (the client tries the next coordinator).
async fn submit(State(state): State<ApiState>, Json(req): Json<JobRequest>) -> Response {
    let Some(seams) = state.leading.get() else {
        let msg = "this coordinator is a standby; submit to the leader (any other coordinator)";
        return (StatusCode::SERVICE_UNAVAILABLE, msg).into_response();
    };
    let opts = match import_options(&req, &seams) {
        Ok(o) => o,
        Err(reason) => return (StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let job_id = match opts.job_id() {
        Ok(id) => id,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let code = match state.jobs.start(&job_id, opts) {
        Ok(()) => {
            // The runner lifts a pause or cancel too; done here as well so
            // that the answer already says the job runs.
            super::control::lift(&seams.store, &job_id).await;
            StatusCode::ACCEPTED
        }
        Err(AlreadyRunning) => StatusCode::CONFLICT,
    };
    match status_of(&state, &job_id).await {
        Ok(Some(body)) => (code, body).into_response(),
        Ok(None) => (code, Json(serde_json::json!({ "job_id": job_id }))).into_response(),
        Err(e) => e,
    }
}

/// Every job the store holds, with its status.
async fn list(State(state): State<ApiState>) -> Response {
    match super::status::all_jobs(&state).await {
        Ok(jobs) => Json(jobs).into_response(),
        Err(e) => {
            let msg = format!("reading the checkpoint store: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
        }
    }
}

async fn metrics(State(state): State<ApiState>) -> Response {
    match super::metrics::render(&state).await {
        Ok(text) => (
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => {
            let msg = format!("reading the checkpoint store: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
        }
    }
}

async fn pause(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    super::control::apply(&state, &id, ControlAction::Pause).await
}

async fn resume(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    super::control::apply(&state, &id, ControlAction::Resume).await
}

async fn cancel(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    super::control::apply(&state, &id, ControlAction::Cancel).await
}

async fn destroy(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    super::control::destroy(&state, &id).await
}

async fn status(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match status_of(&state, &id).await {
        Ok(Some(body)) => body.into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no job {id:?}")).into_response(),
        Err(e) => e,
    }
}

async fn status_of(
    state: &ApiState,
    job_id: &str,
) -> Result<Option<Json<super::wire::JobStatus>>, Response> {
    let leader = state.leading.is_leader();
    job_status(
        &state.seams.store,
        job_id,
        state.jobs.get(job_id),
        leader,
        true,
    )
    .await
    .map(|s| s.map(Json))
    .map_err(|e| {
        let msg = format!("reading job {job_id} from the checkpoint store: {e}");
        (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
    })
}
