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
use squall_client::RetryPolicy;
use squall_common::checkpoint::JobState;
use squall_coordinator::service::{JobRequest, JobStatus};
use squall_coordinator::{Phase, ProgressView};
use tokio_util::sync::CancellationToken;

use super::import::{ProgressMode, EXIT_INTERRUPTED};
use super::progress::{show_progress, Shown};
use crate::http::{request, Target, TlsFailure};
use crate::tls_args::TlsArgs;

/// Limit of one API call.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the job's status is read.
const POLL: Duration = Duration::from_millis(500);
/// How long the coordinator may be unreachable (a restart) before giving up.
const UNREACHABLE_FOR: Duration = Duration::from_secs(120);

pub struct Follow {
    pub url: String,
    pub tls: TlsArgs,
    pub progress: ProgressMode,
    pub log_interval: u64,
}

pub async fn submit_and_follow(
    f: Follow,
    req: JobRequest,
    shutdown: CancellationToken,
) -> anyhow::Result<ExitCode> {
    let coordinators = Coordinators::parse(&f.url, &f.tls)?;
    let first = submit(&coordinators, &req).await?;
    let id = first.job_id.clone();
    let view = Arc::new(Mutex::new(shown_of(&first)));
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
        *view.lock().unwrap_or_else(|p| p.into_inner()) = shown_of(&status);
        say_control(&status, &mut control, &f.url);
    }
    if status.verified {
        *view.lock().unwrap_or_else(|p| p.into_inner()) = Shown {
            view: ProgressView {
                phase: Phase::Done,
                ..status.progress.view("done")
            },
            ranges: status.ranges.as_ref().map(|r| r.total),
            backfill: status.backfill,
        };
    }
    display.abort();
    let _ = display.await;
    finish(&status, &f.url)
}

/// What the display shows of a status.
fn shown_of(status: &JobStatus) -> Shown {
    Shown {
        view: status.progress.view(&status.phase),
        ranges: status.ranges.as_ref().map(|r| r.total),
        backfill: status.backfill,
    }
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
        (None, false) if status.state == Some(JobState::Imported) => Ok(status
            .summary
            .as_ref()
            .map_or(ExitCode::from(super::import::EXIT_NOT_VERIFIED), super::import::ended)),
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
    hosts: Vec<Target>,
    /// For `https://` coordinators: trusts `--tls-ca` (or the system's roots).
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    current: AtomicUsize,
}

impl Coordinators {
    pub(crate) fn parse(urls: &str, tls: &TlsArgs) -> anyhow::Result<Self> {
        let hosts = urls
            .split(',')
            .filter(|u| !u.trim().is_empty())
            .map(|u| Target::parse(u.trim()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if hosts.is_empty() {
            bail!("--coordinator {urls:?}: no coordinator URL");
        }
        let tls = if hosts.iter().any(|t| t.https) {
            Some(
                tls.files()
                    .client_config()
                    .context("TLS for the https:// coordinator URL")?,
            )
        } else {
            None
        };
        Ok(Self {
            hosts,
            tls,
            current: AtomicUsize::new(0),
        })
    }

    fn host(&self) -> &Target {
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
            let target = self.host().clone();
            let result =
                request(&target, self.tls.as_ref(), method, path, body, CALL_TIMEOUT).await;
            if !matches!(&result, Ok(r) if r.status != 503) {
                self.current.fetch_add(1, Ordering::Relaxed);
            }
            result.map(|r| (target.url(), r))
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
        202 => eprintln!("job submitted to {host}"),
        409 => eprintln!("the job is already running on {host}; following it"),
        code => bail!(
            "the coordinator at {host} refused the job ({code}): {}",
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
        bail!("GET {host}{path}: {} {}", resp.status, resp.body);
    }
    serde_json::from_str(&resp.body)
        .with_context(|| format!("GET {host}{path}: not a job status: {}", resp.body))
}

/// Retries a call that could not reach the coordinator, with the project's
/// [`RetryPolicy`] (0.5 s growing ×1.5 to 5 s, jittered), for up to
/// `limit` in all: following outlives a coordinator restart or a failover,
/// however many attempts that takes. A 503 (a standby, or the leader's
/// store unavailable) is retried too; a TLS failure is not.
async fn retrying<F, Fut, T>(limit: Duration, call: F) -> anyhow::Result<(T, crate::http::Response)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(T, crate::http::Response)>>,
{
    let mut backoff = follow_policy().start();
    let started = tokio::time::Instant::now();
    loop {
        let err = match call().await {
            Ok((_, r)) if r.status == 503 => {
                anyhow::anyhow!("coordinator declined (503): {}", r.body)
            }
            Ok(r) => return Ok(r),
            // Untrusted certificates stay untrusted: say so at once.
            Err(e) if e.downcast_ref::<TlsFailure>().is_some() => return Err(e),
            Err(e) => e,
        };
        let elapsed = started.elapsed();
        let delay = match backoff.next_delay(None) {
            Some(delay) if elapsed < limit => delay.min(limit - elapsed),
            _ => {
                tracing::warn!(attempts = backoff.failures(), ?elapsed, error = %format!("{err:#}"), "coordinator unreachable; giving up");
                return Err(err.context(format!(
                    "no coordinator answered for {elapsed:?} ({} attempts); is `squall coordinator` running at the --coordinator URL?",
                    backoff.failures()
                )));
            }
        };
        tracing::warn!(attempt = backoff.failures(), ?delay, error = %format!("{err:#}"), "coordinator unreachable; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// The limits the follower had before it used [`RetryPolicy`]: the
/// `backoff` crate's defaults with a 5 s cap; attempts are bounded by time
/// (`limit` of [`retrying`]), not by count.
fn follow_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: u32::MAX,
        initial: Duration::from_millis(500),
        max_interval: Duration::from_secs(5),
        multiplier: 1.5,
        jitter: 0.5,
    }
}
