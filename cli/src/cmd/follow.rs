//! `squall import --coordinator URL[,URL...]`: submit the job to a
//! coordinator and follow it with the embedded run's progress display and
//! summary. With several coordinators (a leader and standbys), a call that
//! cannot reach one, or that a standby declines (503), moves to the next, so
//! following survives a leader's death. Ctrl-C stops following only; the job
//! keeps running on the coordinator. A job paused by the operator is said
//! so (and followed on); a cancelled one ends the command with an error
//! saying what was written.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use backoff::ExponentialBackoff;
use squall_common::checkpoint::JobState;
use squall_coordinator::service::{JobRequest, JobStatus};
use squall_coordinator::{Phase, ProgressView};
use tokio_util::sync::CancellationToken;

use super::import::{show_progress, ProgressMode, EXIT_INTERRUPTED};
use crate::http::{authority, request};

/// Limit of one API call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the job's status is read.
const POLL: Duration = Duration::from_millis(500);
/// How long the coordinator may be unreachable (a restart) before giving up.
const UNREACHABLE_FOR: Duration = Duration::from_secs(120);

pub struct Follow {
    pub url: String,
    pub progress: ProgressMode,
    pub log_interval: u64,
}

pub async fn submit_and_follow(
    f: Follow,
    req: JobRequest,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let coordinators = Coordinators::parse(&f.url)?;
    let first = submit(&coordinators, &req).await?;
    let id = first.job_id.clone();
    let view = Arc::new(Mutex::new(first.progress.view(&first.phase)));
    let shown = Arc::clone(&view);
    let display = tokio::spawn(show_progress(
        move || *shown.lock().unwrap_or_else(|p| p.into_inner()),
        f.progress,
        f.log_interval,
    ));
    let mut status = first;
    let mut control = String::from("running");
    say_control(&status, &mut control, &f.url);
    while status.running {
        tokio::select! {
            _ = shutdown.cancelled() => {
                display.abort();
                eprintln!("interrupted: job {id} keeps running on the coordinator at {}; run the same command again to follow it", f.url);
                return Ok(ExitCode::from(EXIT_INTERRUPTED));
            }
            _ = tokio::time::sleep(POLL) => {}
        }
        status = get_status(&coordinators, &id).await?;
        *view.lock().unwrap_or_else(|p| p.into_inner()) = status.progress.view(&status.phase);
        say_control(&status, &mut control, &f.url);
    }
    if status.verified {
        *view.lock().unwrap_or_else(|p| p.into_inner()) = ProgressView {
            phase: Phase::Done,
            ..status.progress.view("done")
        };
    }
    display.abort();
    let _ = display.await;
    finish(&status, &f.url)
}

/// Says when the operator paused, resumed or cancelled the job.
fn say_control(status: &JobStatus, said: &mut String, url: &str) {
    if status.control == *said {
        return;
    }
    let id = &status.job_id;
    match status.control.as_str() {
        "paused" => eprintln!(
            "job {id} is paused: nothing new starts; `squall job --coordinator {url} resume {id}` lets it go on"
        ),
        "running" => eprintln!("job {id} resumed"),
        "cancelled" => eprintln!("job {id} is being cancelled"),
        other => eprintln!("job {id}: control {other}"),
    }
    *said = status.control.clone();
}

fn finish(status: &JobStatus, url: &str) -> anyhow::Result<ExitCode> {
    if let Some(JobState::Cancelled { engines_done, rows }) = &status.state {
        bail!(
            "job {} was cancelled on the coordinator at {url}: {engines_done} of {} engines done, {rows} rows ingested; \
             run the same command again to go on from its checkpoints, or `squall job --coordinator {url} destroy {}` to remove them",
            status.job_id,
            status.engines.len(),
            status.job_id
        );
    }
    if let Some(summary) = &status.summary {
        println!("{summary}");
    } else if status.verified {
        println!("job {}: already imported and verified", status.job_id);
    }
    match (&status.error, status.verified) {
        (_, true) => Ok(ExitCode::SUCCESS),
        (Some(e), false) => bail!("import failed on the coordinator at {url}: {e}"),
        (None, false) => bail!(
            "job {} stopped on the coordinator at {url} before it finished ({}); run the same command again to resume it",
            status.job_id,
            status.phase
        ),
    }
}

/// The coordinators to talk to, and the one in use.
pub(crate) struct Coordinators {
    hosts: Vec<String>,
    current: AtomicUsize,
}

impl Coordinators {
    pub(crate) fn parse(urls: &str) -> anyhow::Result<Self> {
        let hosts = urls
            .split(',')
            .filter(|u| !u.trim().is_empty())
            .map(|u| authority(u.trim()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if hosts.is_empty() {
            bail!("--coordinator {urls:?}: no coordinator URL");
        }
        Ok(Self {
            hosts,
            current: AtomicUsize::new(0),
        })
    }

    fn host(&self) -> &str {
        &self.hosts[self.current.load(Ordering::Relaxed) % self.hosts.len()]
    }

    /// One call, retried with backoff for up to `limit` while no
    /// coordinator can be reached or each declines (503: a standby, or its
    /// store unavailable); every failed attempt moves to the next one.
    pub(crate) async fn call(
        &self,
        limit: Duration,
        method: &str,
        path: &str,
        body: &str,
    ) -> anyhow::Result<(String, crate::http::Response)> {
        retrying(limit, || async move {
            let host = self.host().to_string();
            let result = request(&host, method, path, body, CALL_TIMEOUT).await;
            if !matches!(&result, Ok(r) if r.status != 503) {
                self.current.fetch_add(1, Ordering::Relaxed);
            }
            result.map(|r| (host, r))
        })
        .await
    }
}

/// `POST /jobs`: 202 started, 409 running already (then follow that run).
async fn submit(coordinators: &Coordinators, req: &JobRequest) -> anyhow::Result<JobStatus> {
    let body = serde_json::to_string(req).context("encoding the job request")?;
    let (host, resp) = coordinators
        .call(UNREACHABLE_FOR / 4, "POST", "/jobs", &body)
        .await?;
    match resp.status {
        202 => eprintln!("job submitted to http://{host}"),
        409 => eprintln!("the job is already running on http://{host}; following it"),
        code => bail!(
            "the coordinator at http://{host} refused the job ({code}): {}",
            resp.body
        ),
    }
    serde_json::from_str(&resp.body).with_context(|| {
        format!(
            "the coordinator's answer is not a job status: {}",
            resp.body
        )
    })
}

async fn get_status(coordinators: &Coordinators, id: &str) -> anyhow::Result<JobStatus> {
    let path = format!("/jobs/{id}");
    let path = path.as_str();
    let (host, resp) = coordinators.call(UNREACHABLE_FOR, "GET", path, "").await?;
    if resp.status != 200 {
        bail!("GET http://{host}{path}: {} {}", resp.status, resp.body);
    }
    serde_json::from_str(&resp.body)
        .with_context(|| format!("GET http://{host}{path}: not a job status: {}", resp.body))
}

/// Retries a call that could not reach the coordinator, with backoff, for
/// up to `limit`; a 503 (store unavailable) is retried too.
async fn retrying<F, Fut, T>(limit: Duration, call: F) -> anyhow::Result<(T, crate::http::Response)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(T, crate::http::Response)>>,
{
    let policy = ExponentialBackoff {
        max_elapsed_time: Some(limit),
        max_interval: Duration::from_secs(5),
        ..ExponentialBackoff::default()
    };
    let call = &call;
    backoff::future::retry_notify(
        policy,
        move || async move {
            match call().await {
                Ok((_, r)) if r.status == 503 => Err(backoff::Error::transient(anyhow::anyhow!(
                    "coordinator declined (503): {}",
                    r.body
                ))),
                Ok(r) => Ok(r),
                Err(e) => Err(backoff::Error::transient(e)),
            }
        },
        |e: anyhow::Error, wait| tracing::warn!(error = %format!("{e:#}"), ?wait, "coordinator unreachable; retrying"),
    )
    .await
}
