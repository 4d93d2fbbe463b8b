//! PD's scheduling HTTP API, served on PD's own address beside gRPC (as
//! real PD multiplexes both on its client URL): the schedulers with their
//! pause (`POST /pd/api/v1/schedulers/{name}` `{"delay": secs}`, resumed by
//! itself when the delay ends, as PD does so a dead importer cannot leave
//! them paused), and the schedule config (`GET /pd/api/v1/config/schedule`,
//! `POST /pd/api/v1/config[?ttlSecond=n]`, where a TTL'd value overrides the
//! stored one until it expires and `ttlSecond=0` drops it).
//!
//! The state is what a test reads back over the same API (paused or not,
//! the effective config). Only `balance-leader-scheduler` acts, and only
//! when a test switches the sim's balancer on (`balance.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::balance::{Balance, BalanceState};
use crate::cluster::Cluster;

/// The schedulers a fresh PD runs (PD's defaults).
const DEFAULT_SCHEDULERS: &[&str] = &[
    "balance-leader-scheduler",
    "balance-region-scheduler",
    "balance-hot-region-scheduler",
    "evict-slow-store-scheduler",
];

/// PD's schedule config defaults for the keys importers touch.
fn default_config() -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("max-merge-region-size", Value::from(20)),
        ("max-merge-region-keys", Value::from(200_000)),
        ("leader-schedule-limit", Value::from(4)),
        ("region-schedule-limit", Value::from(2048)),
        ("replica-schedule-limit", Value::from(64)),
        ("merge-schedule-limit", Value::from(8)),
        ("hot-region-schedule-limit", Value::from(4)),
        ("max-snapshot-count", Value::from(64)),
        ("max-pending-peer-count", Value::from(64)),
        ("enable-location-replacement", Value::from(true)),
        ("split-merge-interval", Value::from("1h0m0s")),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// Schedulers and schedule config; shared by the HTTP handlers.
#[derive(Default)]
pub struct Scheduling {
    state: Mutex<SchedState>,
    /// The test balancer (`balance.rs`), off unless switched on.
    balance: Balance,
}

struct SchedState {
    /// Scheduler name → paused until.
    schedulers: BTreeMap<String, Option<Instant>>,
    config: Map<String, Value>,
    /// Temporary values (`ttlSecond`), until their expiry.
    ttl: HashMap<String, (Value, Instant)>,
}

impl Default for SchedState {
    fn default() -> Self {
        Self {
            schedulers: DEFAULT_SCHEDULERS
                .iter()
                .map(|s| (s.to_string(), None))
                .collect(),
            config: default_config(),
            ttl: HashMap::new(),
        }
    }
}

impl Scheduling {
    fn lock(&self) -> std::sync::MutexGuard<'_, SchedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn balance(&self) -> &Balance {
        &self.balance
    }

    /// Whether scheduler `name` is paused now.
    pub fn is_paused(&self, name: &str) -> bool {
        let now = Instant::now();
        self.lock()
            .schedulers
            .get(name)
            .is_some_and(|until| until.is_some_and(|u| u > now))
    }

    /// Names of the schedulers; only those paused now with `paused_only`.
    pub fn schedulers(&self, paused_only: bool) -> Vec<String> {
        let now = Instant::now();
        self.lock()
            .schedulers
            .iter()
            .filter(|(_, until)| !paused_only || until.is_some_and(|u| u > now))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The effective schedule config: stored values under live TTL'd ones.
    pub fn config(&self) -> Map<String, Value> {
        let now = Instant::now();
        let mut st = self.lock();
        st.ttl.retain(|_, (_, until)| *until > now);
        let mut out = st.config.clone();
        for (k, (v, _)) in &st.ttl {
            out.insert(k.clone(), v.clone());
        }
        out
    }

    fn pause(&self, name: &str, delay_secs: u64) -> Result<(), String> {
        let mut st = self.lock();
        let Some(until) = st.schedulers.get_mut(name) else {
            return Err(format!(
                "[PD:scheduler:ErrSchedulerNotFound]scheduler {name} not found"
            ));
        };
        *until = (delay_secs > 0).then(|| Instant::now() + Duration::from_secs(delay_secs));
        tracing::info!(
            scheduler = name,
            delay_secs,
            "PD scheduler paused or resumed"
        );
        Ok(())
    }

    fn set_config(&self, values: Map<String, Value>, ttl: Option<u64>) -> Result<(), String> {
        let mut st = self.lock();
        if let Some(bad) = values.keys().find(|k| !st.config.contains_key(*k)) {
            return Err(format!("config item {bad} not found"));
        }
        for (k, v) in values {
            match ttl {
                Some(0) => {
                    st.ttl.remove(&k);
                }
                Some(secs) => {
                    let until = Instant::now() + Duration::from_secs(secs);
                    st.ttl.insert(k, (v, until));
                }
                None => {
                    st.config.insert(k, v);
                }
            }
        }
        tracing::info!(?ttl, "PD schedule config changed");
        Ok(())
    }
}

/// The HTTP routes, to be merged with PD's gRPC routes.
pub fn router(state: Arc<Scheduling>, cluster: Weak<Cluster>) -> Router {
    let balance = BalanceState {
        scheduling: state.clone(),
        cluster,
    };
    Router::new()
        .route("/pd/api/v1/schedulers", get(list))
        .route("/pd/api/v1/schedulers/{name}", post(pause))
        .route("/pd/api/v1/config/schedule", get(config))
        .route("/pd/api/v1/config", post(set_config))
        .with_state(state)
        .merge(
            Router::new()
                .route(
                    "/sim/balance-leader",
                    get(super::balance::get).post(super::balance::set),
                )
                .with_state(balance),
        )
}

async fn list(
    State(s): State<Arc<Scheduling>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Vec<String>> {
    let paused_only = q.get("status").is_some_and(|v| v == "paused");
    Json(s.schedulers(paused_only))
}

async fn pause(
    State(s): State<Arc<Scheduling>>,
    Path(name): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> Response {
    let Some(delay) = body.get("delay").and_then(Value::as_u64) else {
        return (StatusCode::BAD_REQUEST, "missing \"delay\" (seconds)").into_response();
    };
    match s.pause(&name, delay) {
        Ok(()) => Json("Pause or resume the scheduler successfully.").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn config(State(s): State<Arc<Scheduling>>) -> Json<Map<String, Value>> {
    Json(s.config())
}

async fn set_config(
    State(s): State<Arc<Scheduling>>,
    Query(q): Query<HashMap<String, String>>,
    Json(values): Json<Map<String, Value>>,
) -> Response {
    let ttl = match q.get("ttlSecond").map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(secs)) => Some(secs),
        Some(Err(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                "ttlSecond: not a number of seconds",
            )
                .into_response()
        }
    };
    match s.set_config(values, ttl) {
        Ok(()) => Json("The config is updated.").into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
    }
}
