//! PD's scheduling controls over its HTTP API (the PD client URL serves
//! both gRPC and HTTP): the schedulers that move leaders and regions, and
//! the schedule config that drives merges. Lightning (BR's `pdutil`)
//! pauses the balance schedulers and region merging while it ingests, so
//! PD does not move or merge regions under a job that split and scattered
//! them; this module is the wire part of that, the coordinator holds the
//! pause (`squall_coordinator::pd_schedulers`).
//!
//! Every request has the client's deadline (`squall.rpc-timeout-secs`) and
//! is retried with its backoff ([`RetryPolicy`]); PD answers 5xx while it
//! has no leader, so those are retried, 4xx are not. Requests go to the
//! PD member the gRPC client follows (a follower forwards them to the
//! leader anyway).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};

use super::PdClient;
use crate::channels::to_url;
use crate::error::ClientError;
use crate::retry::retry;
use crate::tls::ClientTls;

/// `GET /pd/api/v1/schedulers`: the schedulers running.
const SCHEDULERS: &str = "/pd/api/v1/schedulers";
/// `GET` the schedule config; `POST` to `CONFIG` changes it.
const SCHEDULE_CONFIG: &str = "/pd/api/v1/config/schedule";
const CONFIG: &str = "/pd/api/v1/config";

/// The schedulers Lightning pauses (BR's `pdutil.Schedulers`): those that
/// move leaders and regions between stores. Only those PD runs are paused.
pub const BALANCE_SCHEDULERS: &[&str] = &[
    "balance-leader-scheduler",
    "balance-region-scheduler",
    "balance-hot-region-scheduler",
    "shuffle-leader-scheduler",
    "shuffle-region-scheduler",
    "shuffle-hot-region-scheduler",
];

/// A PD HTTP API client sharing a [`PdClient`]'s member, deadline and
/// retry policy. Cheap to clone.
#[derive(Clone)]
pub struct PdHttp {
    pd: PdClient,
    http: reqwest::Client,
}

impl PdHttp {
    pub fn new(pd: &PdClient) -> Result<Self, ClientError> {
        let opts = pd.options();
        let mut builder = reqwest::Client::builder()
            .timeout(opts.rpc_timeout)
            .connect_timeout(opts.connect_timeout)
            // PD is on the cluster's network: an HTTP(S)_PROXY meant for
            // the internet must not reroute it.
            .no_proxy();
        if let Some(tls) = &opts.tls {
            builder = with_tls(builder, tls)?;
        }
        let http = builder.build().map_err(|e| ClientError::TlsConfig {
            reason: format!("the PD HTTP client: {e}"),
        })?;
        Ok(Self {
            pd: pd.clone(),
            http,
        })
    }

    /// The names of the schedulers PD runs (paused or not).
    pub async fn schedulers(&self) -> Result<Vec<String>, ClientError> {
        let body = self
            .request("PD list schedulers", Method::GET, SCHEDULERS, None)
            .await?;
        names(SCHEDULERS, &body)
    }

    /// The names of the schedulers paused now (`?status=paused`).
    pub async fn paused_schedulers(&self) -> Result<Vec<String>, ClientError> {
        let path = format!("{SCHEDULERS}?status=paused");
        let body = self
            .request("PD list paused schedulers", Method::GET, &path, None)
            .await?;
        names(SCHEDULERS, &body)
    }

    /// Pauses scheduler `name` for `delay` (PD resumes it by itself when
    /// the delay ends); a zero delay resumes it now.
    pub async fn pause_scheduler(&self, name: &str, delay: Duration) -> Result<(), ClientError> {
        let path = format!("{SCHEDULERS}/{name}");
        let body = serde_json::json!({ "delay": delay.as_secs() }).to_string();
        self.request("PD pause scheduler", Method::POST, &path, Some(body))
            .await?;
        Ok(())
    }

    /// The schedule config (`max-merge-region-size`, `leader-schedule-limit`…).
    pub async fn schedule_config(&self) -> Result<Map<String, Value>, ClientError> {
        let body = self
            .request("PD get schedule config", Method::GET, SCHEDULE_CONFIG, None)
            .await?;
        match serde_json::from_str(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(bad_answer(SCHEDULE_CONFIG, &body)),
        }
    }

    /// Sets schedule config `values`. With `ttl`, PD keeps them only that
    /// long and then goes back to its stored values (a zero `ttl` drops
    /// such temporary values now); without, they are stored.
    pub async fn set_schedule_config(
        &self,
        values: &Map<String, Value>,
        ttl: Option<Duration>,
    ) -> Result<(), ClientError> {
        let path = match ttl {
            Some(ttl) => format!("{CONFIG}?ttlSecond={}", ttl.as_secs()),
            None => CONFIG.to_string(),
        };
        let body = Value::Object(values.clone()).to_string();
        self.request("PD set schedule config", Method::POST, &path, Some(body))
            .await?;
        Ok(())
    }

    /// One request, retried; the body of a 2xx answer.
    async fn request(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String, ClientError> {
        retry(what, &self.pd.options().retry, || {
            self.request_once(what, method.clone(), path, body.clone())
        })
        .await
    }

    async fn request_once(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String, ClientError> {
        // With `[security]` on, https:// as the gRPC channels dial it.
        let base = to_url(&self.pd.leader_url(), self.pd.options().tls.is_some());
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut req = self.http.request(method, &url);
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let failed = |status: Option<StatusCode>, reason: String| ClientError::Http {
            what,
            url: url.clone(),
            status: status.map(|s| s.as_u16()),
            reason,
        };
        let resp = req.send().await.map_err(|e| failed(None, e.to_string()))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| failed(None, e.to_string()))?;
        if !status.is_success() {
            return Err(failed(Some(status), text.trim().to_string()));
        }
        tracing::debug!(what, %url, "PD HTTP call answered");
        Ok(text)
    }
}

/// TLS as `[security]` sets it for gRPC: trust only `ca-path`, present
/// `cert-path` + `key-path` when set. ALPN offers h2 too: PD's TLS port
/// (and tikv-sim's, tonic) may speak only HTTP/2.
fn with_tls(
    builder: reqwest::ClientBuilder,
    tls: &ClientTls,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let (ca_path, identity) = tls.paths();
    let read = |path: &std::path::Path, key: &str| {
        std::fs::read(path).map_err(|e| ClientError::TlsConfig {
            reason: format!("{key} {}: {e}", path.display()),
        })
    };
    let bad = |key: &str, path: &std::path::Path, e: reqwest::Error| ClientError::TlsConfig {
        reason: format!("{key} {}: {e}", path.display()),
    };
    let ca = reqwest::Certificate::from_pem(&read(ca_path, "security.ca-path")?)
        .map_err(|e| bad("security.ca-path", ca_path, e))?;
    let mut builder = builder
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca);
    if let Some((cert_path, key_path)) = identity {
        let mut pem = read(cert_path, "security.cert-path")?;
        pem.push(b'\n');
        pem.extend(read(key_path, "security.key-path")?);
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| bad("security.cert-path/key-path", cert_path, e))?;
        builder = builder.identity(id);
    }
    Ok(builder)
}

/// A JSON array of scheduler names.
fn names(path: &str, body: &str) -> Result<Vec<String>, ClientError> {
    serde_json::from_str::<Vec<String>>(body).map_err(|_| bad_answer(path, body))
}

fn bad_answer(path: &str, body: &str) -> ClientError {
    let shown: String = body.chars().take(200).collect();
    ClientError::Protocol {
        what: "PD HTTP API",
        reason: format!("unexpected answer to {path}: {shown:?}"),
    }
}
