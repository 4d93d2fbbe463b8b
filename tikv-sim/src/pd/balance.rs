//! A leader balancer for tests, so pausing PD's `balance-leader-scheduler`
//! has an effect a test can see: while switched on (`POST
//! /sim/balance-leader {"interval-ms": N}` on PD's address; 0 = off) and
//! the scheduler is not paused, every interval it moves one region's
//! leader to another live peer (round-robin over the regions), as PD's
//! balancer moves leaders under an import that does not pause it. `GET
//! /sim/balance-leader` answers `{"interval-ms": N, "moves": M}`.
//!
//! Off by default: other tests rely on leaders staying where they are.
//! The task holds the cluster weakly, so it never delays the sim's
//! shutdown, and ends when the cluster is gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::schedulers::Scheduling;
use crate::cluster::Cluster;
use crate::util::lock;

const SCHEDULER: &str = "balance-leader-scheduler";

/// The balancer's switch and counter, kept with the schedulers' state.
#[derive(Default)]
pub struct Balance {
    interval_ms: AtomicU64,
    moves: AtomicU64,
    /// Round-robin position over the regions.
    next: AtomicU64,
    started: std::sync::OnceLock<()>,
}

/// Shared by the handlers: the schedulers' state and the cluster.
#[derive(Clone)]
pub struct BalanceState {
    pub scheduling: Arc<Scheduling>,
    pub cluster: Weak<Cluster>,
}

pub async fn get(State(s): State<BalanceState>) -> Json<Value> {
    let b = s.scheduling.balance();
    Json(json!({
        "interval-ms": b.interval_ms.load(Ordering::SeqCst),
        "moves": b.moves.load(Ordering::SeqCst),
    }))
}

pub async fn set(State(s): State<BalanceState>, Json(body): Json<Map<String, Value>>) -> Response {
    let Some(ms) = body.get("interval-ms").and_then(Value::as_u64) else {
        return (StatusCode::BAD_REQUEST, "missing \"interval-ms\"").into_response();
    };
    let b = s.scheduling.balance();
    b.interval_ms.store(ms, Ordering::SeqCst);
    b.started.get_or_init(|| {
        tokio::spawn(run(s.scheduling.clone(), s.cluster.clone()));
    });
    tracing::info!(interval_ms = ms, "sim leader balancer set");
    Json("ok").into_response()
}

async fn run(scheduling: Arc<Scheduling>, cluster: Weak<Cluster>) {
    loop {
        let ms = scheduling.balance().interval_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms.max(1))).await;
        if ms == 0 || scheduling.is_paused(SCHEDULER) {
            continue;
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        if move_one(&cluster, scheduling.balance()) {
            scheduling.balance().moves.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Moves the leader of the next region with a live peer elsewhere.
fn move_one(cluster: &Cluster, b: &Balance) -> bool {
    let mut state = lock(&cluster.state);
    let candidates: Vec<(u64, u64)> = state
        .regions
        .all()
        .into_iter()
        .filter_map(|r| {
            let target =
                r.region.peers.iter().map(|p| p.store_id).find(|s| {
                    *s != r.leader_store && cluster.store(*s).is_some_and(|st| st.is_up())
                })?;
            Some((r.id(), target))
        })
        .collect();
    if candidates.is_empty() {
        return false;
    }
    let i = b.next.fetch_add(1, Ordering::SeqCst) as usize % candidates.len();
    let (region, target) = candidates[i];
    match cluster.transfer_leader(&mut state, region, target) {
        Ok(Some(_)) => {
            tracing::debug!(region, to = target, "sim balancer moved a leader");
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(region, error = %e, "sim balancer could not move a leader");
            false
        }
    }
}
