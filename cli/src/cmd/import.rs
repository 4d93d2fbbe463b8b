//! `squall import`: import a dump into TiKV in one process (embedded mode),
//! resuming from the checkpoint when one exists; with `--coordinator URL`,
//! submit the same job to a cluster's coordinator and follow it
//! ([`super::follow`]). Exit code 0 only when the job ended verified, 2 when
//! it ended unverified, 130 when interrupted, 1 on any error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use squall_coordinator::backfill::BackfillView;
use squall_coordinator::service::{JobRequest, RangeCounts};
use squall_coordinator::{run_import, CoordinatorError, ImportOptions, ImportProgress};
use tokio_util::sync::CancellationToken;

use super::progress::{show_progress, Shown};
use crate::config_args::GlobalArgs;

/// Exit code after Ctrl-C / SIGTERM (the job is checkpointed).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
/// Exit code of a job that ended but is not verified: a table's checksum
/// was not compared (`post-restore.checksum = "off"`) or an `optional` one
/// did not match. The summary names the tables.
pub(crate) const EXIT_NOT_VERIFIED: u8 = 2;

/// The exit code of a job that ended with `summary`.
pub(crate) fn ended(summary: &squall_coordinator::ImportSummary) -> ExitCode {
    match summary.verified {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(EXIT_NOT_VERIFIED),
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProgressMode {
    /// A progress bar on a terminal, log lines otherwise.
    Auto,
    Bar,
    Log,
    None,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The dump (Dumpling/mydumper layout): a directory, or an
    /// `s3://bucket/prefix` URL (settings as in TiDB Lightning: URL
    /// parameters such as `endpoint`, `region`, `access-key`,
    /// `secret-access-key`, `force-path-style`, or the `AWS_*` environment).
    #[arg(long)]
    source: PathBuf,
    /// PD address(es), comma separated; default `[tidb] pd-addr`.
    #[arg(long, value_delimiter = ',')]
    pd: Vec<String>,
    /// Reports (errors, duplicates) and checkpoints; default `[squall] output-dir`.
    #[arg(long)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressMode,
    /// Seconds between progress log lines (log mode).
    #[arg(long, default_value_t = 10)]
    log_interval: u64,
    /// Run the job on a cluster: submit it to this `squall coordinator`
    /// (`http://host:port`; several, comma separated, to follow the job
    /// across a leader's failover) and follow it. `--source` (unless a URL) and
    /// `--output` must be paths every node of the cluster sees.
    #[arg(long, env = "SQUALL_COORDINATOR")]
    coordinator: Option<String>,
    // With an `https://` --coordinator: the CA that signed its certificate
    // (PD and TiKV take theirs from the config's `[security]`).
    #[command(flatten)]
    tls: crate::tls_args::TlsArgs,
}

pub fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let mut cfg = global.load_config()?;
    cfg.mydumper.data_source_dir = args.source.display().to_string();
    if !args.pd.is_empty() {
        cfg.tidb.pd_addr = args.pd.join(",");
    }
    cfg.validate().context("validating the task config")?;
    let pd_addrs: Vec<String> = cfg
        .tidb
        .pd_addr
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(&cfg.squall.output_dir));
    if let Some(url) = args.coordinator.clone() {
        return run_remote(url, cfg, &args, pd_addrs, output);
    }
    let opts = ImportOptions::new(cfg, args.source.clone(), pd_addrs, output);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let progress = ImportProgress::new();
        let records = Arc::new(Mutex::new(Records::default()));
        let poll = tokio::spawn(poll_records(Arc::clone(&progress), Arc::clone(&records)));
        let shown = Arc::clone(&progress);
        let display = tokio::spawn(show_progress(
            move || {
                let r = *records.lock().unwrap_or_else(|p| p.into_inner());
                Shown {
                    view: shown.view(),
                    ranges: r.ranges,
                    backfill: r.backfill,
                }
            },
            args.progress,
            args.log_interval,
        ));
        let result = run_import(opts, progress, shutdown).await;
        poll.abort();
        display.abort();
        let _ = display.await;
        match result {
            Ok(summary) => {
                println!("{summary}");
                Ok(ended(&summary))
            }
            Err(CoordinatorError::Interrupted) => {
                eprintln!(
                    "interrupted: the job is checkpointed; run the same command again to resume"
                );
                Ok(ExitCode::from(EXIT_INTERRUPTED))
            }
            Err(e) => Err(anyhow::Error::new(e).context("import failed")),
        }
    })
}

/// The job as a coordinator takes it: the config as TOML (every default
/// filled in), paths made absolute.
fn run_remote(
    url: String,
    cfg: squall_common::TaskConfig,
    args: &Args,
    pd_addrs: Vec<String>,
    output: PathBuf,
) -> anyhow::Result<ExitCode> {
    let absolute = |p: &PathBuf| -> anyhow::Result<String> {
        let p = std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))?;
        Ok(p.canonicalize().unwrap_or(p).display().to_string())
    };
    let req = JobRequest {
        task_toml: toml::to_string(&cfg).context("writing the task config as TOML")?,
        source_dir: match args.source.to_str() {
            // A URL is no path: sent as given, never made absolute.
            Some(url) if squall_source::storage::is_remote(url) => url.to_string(),
            _ => absolute(&args.source)?,
        },
        pd_addrs,
        output_dir: absolute(&output)?,
    };
    let follow = super::follow::Follow {
        url,
        tls: args.tls.clone(),
        progress: args.progress,
        log_interval: args.log_interval,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_following_on_signal(shutdown.clone()));
        super::follow::submit_and_follow(follow, req, shutdown).await
    })
}

/// Ctrl-C or SIGTERM while following: stop following (the job runs on).
async fn stop_following_on_signal(shutdown: CancellationToken) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::warn!("cannot listen for SIGTERM");
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    shutdown.cancel();
}

/// First Ctrl-C or SIGTERM: stop cleanly (checkpointed). A second: exit now.
pub(crate) async fn stop_on_signal(shutdown: CancellationToken) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::warn!("cannot listen for SIGTERM");
        return;
    };
    for n in 0.. {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        if n > 0 {
            eprintln!("second interrupt: exiting now (the checkpoint is still consistent)");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("stopping: finishing checkpoint writes (interrupt again to exit at once)");
        shutdown.cancel();
    }
}

/// What the display shows from the job's records.
#[derive(Debug, Clone, Copy, Default)]
struct Records {
    ranges: Option<RangeCounts>,
    backfill: Option<BackfillView>,
}

/// Keeps `into` at the engine ranges' and the index backfill's progress
/// (from the runner's records, once a second: they change range by range).
async fn poll_records(progress: Arc<ImportProgress>, into: Arc<Mutex<Records>>) {
    loop {
        let now = Records {
            ranges: progress.ranges().await,
            backfill: progress.backfill().await,
        };
        *into.lock().unwrap_or_else(|p| p.into_inner()) = now;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
