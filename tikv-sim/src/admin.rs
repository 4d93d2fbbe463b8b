//! The admin HTTP API, on its own port:
//!
//! | request | does |
//! |---|---|
//! | `GET /health` | `ok` |
//! | `GET /regions` | regions with epochs, peers and leader store (keys hex, encoded) |
//! | `GET /stores` | stores: address, up, import mode, SSTs ingested, leaders, overlapping SSTs, L0 files, write-stall answers |
//! | `POST /stores/{id}/stop`, `POST /stores/{id}/start` | stop or restart a store |
//! | `GET /faults` | faults in force and how often each fired |
//! | `POST /faults` (body: a fault spec) | add a fault; answers `{"id": N}` |
//! | `DELETE /faults`, `DELETE /faults/{id}` | remove all faults, or one |
//! | `GET /versions?start=HEX&end=HEX` | every stored version of raw keys in `[start, end)` |
//! | `GET /gc` | PD's GC safepoint, service safepoints, GC rounds and versions collected |
//! | `POST /gc` (optional body `{"safe_point": TS}`) | run a GC round now (default proposal: now - GC life time) |
//! | `GET /ingests` | per store: SSTs ingested, overlapping (sent to L0), L0 files, write-stall ServerIsBusy answers; every ingested SST (raw keys hex) — [`report::IngestReport`] |
//! | `POST /ingests/reset` | clear that list and the counters (not the L0 models) |
//!
//! [`report`] also holds the typed client side of `/ingests` for tests in
//! other crates.

pub mod report;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::error::SimError;
use crate::sim::{dump_versions, StoreServers};

#[derive(Clone)]
struct AdminState {
    cluster: Arc<Cluster>,
    stores: Arc<StoreServers>,
}

fn error(status: StatusCode, message: impl ToString) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

fn sim_error(e: SimError) -> Response {
    let status = match e {
        SimError::UnknownStore(_) => StatusCode::NOT_FOUND,
        SimError::Fault(_) | SimError::Config(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e)
}

async fn regions(State(s): State<AdminState>) -> Response {
    Json(s.cluster.region_infos()).into_response()
}

async fn stores(State(s): State<AdminState>) -> Response {
    Json(s.cluster.store_infos()).into_response()
}

async fn stop_store(State(s): State<AdminState>, Path(id): Path<u64>) -> Response {
    match s.stores.stop(id).await {
        Ok(()) => Json(json!({ "stopped": id })).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn start_store(State(s): State<AdminState>, Path(id): Path<u64>) -> Response {
    match s.stores.start(id).await {
        Ok(()) => Json(json!({ "started": id })).into_response(),
        Err(e) => sim_error(e),
    }
}

async fn list_faults(State(s): State<AdminState>) -> Response {
    Json(s.cluster.faults.list()).into_response()
}

async fn add_fault(State(s): State<AdminState>, body: String) -> Response {
    match s.cluster.faults.inject_spec(body.trim()) {
        Ok(id) => Json(json!({ "id": id })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn clear_faults(State(s): State<AdminState>) -> Response {
    s.cluster.faults.clear();
    Json(json!({ "cleared": true })).into_response()
}

async fn remove_fault(State(s): State<AdminState>, Path(id): Path<u64>) -> Response {
    if s.cluster.faults.remove(id) {
        Json(json!({ "removed": id })).into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no fault {id}"))
    }
}

async fn versions(
    State(s): State<AdminState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let decode = |name: &str| hex::decode(q.get(name).map(String::as_str).unwrap_or(""));
    let (start, end) = match (decode("start"), decode("end")) {
        (Ok(start), Ok(end)) => (start, end),
        _ => return error(StatusCode::BAD_REQUEST, "start and end must be hex"),
    };
    let cluster = s.cluster.clone();
    match tokio::task::spawn_blocking(move || dump_versions(&cluster, &start, &end)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => sim_error(e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn gc_status(State(s): State<AdminState>) -> Response {
    match crate::gc::status(&s.cluster) {
        Ok(status) => Json(status).into_response(),
        Err(e) => sim_error(e),
    }
}

#[derive(serde::Deserialize, Default)]
struct GcRequest {
    safe_point: Option<u64>,
}

async fn gc_round(State(s): State<AdminState>, body: String) -> Response {
    let req: GcRequest = match body.trim() {
        "" => GcRequest::default(),
        text => match serde_json::from_str(text) {
            Ok(req) => req,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("body: {e}")),
        },
    };
    let cluster = s.cluster.clone();
    match tokio::task::spawn_blocking(move || crate::gc::run_round(&cluster, req.safe_point)).await
    {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e)) => sim_error(e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn ingests(State(s): State<AdminState>) -> Response {
    Json(crate::import::accounting::report(&s.cluster)).into_response()
}

async fn reset_ingests(State(s): State<AdminState>) -> Response {
    crate::import::accounting::reset(&s.cluster);
    Json(json!({ "reset": true })).into_response()
}

fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/regions", get(regions))
        .route("/stores", get(stores))
        .route("/stores/{id}/stop", post(stop_store))
        .route("/stores/{id}/start", post(start_store))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/versions", get(versions))
        .route("/gc", get(gc_status).post(gc_round))
        .route("/ingests", get(ingests))
        .route("/ingests/reset", post(reset_ingests))
        .with_state(state)
}

/// The running admin server.
pub(crate) struct AdminServer {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl AdminServer {
    pub fn spawn(listener: TcpListener, cluster: Arc<Cluster>, stores: Arc<StoreServers>) -> Self {
        let (shutdown, rx) = oneshot::channel::<()>();
        let app = router(AdminState { cluster, stores });
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::error!(error = %e, "admin server failed");
            }
        });
        AdminServer { shutdown, task }
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
