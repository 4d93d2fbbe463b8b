//! `squall import`: import a dump into TiKV in one process (embedded mode),
//! resuming from the checkpoint when one exists; with `--coordinator URL`,
//! submit the same job to a cluster's coordinator and follow it
//! ([`super::follow`]). Exit code 0 only when the job ended verified, 2 when
//! it ended unverified, 130 when interrupted, 1 on any error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use squall_coordinator::service::JobRequest;
use squall_coordinator::{
    run_import, CoordinatorError, ImportOptions, ImportProgress, Phase, ProgressView,
};
use tokio_util::sync::CancellationToken;

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
        let shown = Arc::clone(&progress);
        let display = tokio::spawn(show_progress(
            move || shown.view(),
            args.progress,
            args.log_interval,
        ));
        let result = run_import(opts, progress, shutdown).await;
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

/// Shows what `view` says (read every few hundred ms) until it says `Done`.
pub(crate) async fn show_progress<V>(view: V, mode: ProgressMode, log_interval: u64)
where
    V: Fn() -> ProgressView + Send + 'static,
{
    let bar = match mode {
        ProgressMode::None => return,
        ProgressMode::Log => false,
        ProgressMode::Bar => true,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    if bar {
        show_bar(view).await
    } else {
        show_log(view, Duration::from_secs(log_interval.max(1))).await
    }
}

async fn show_bar(view: impl Fn() -> ProgressView) {
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} {prefix:>9} [{bar:30}] {bytes}/{total_bytes} encoded, {bytes_per_sec}, ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    loop {
        let v = view();
        pb.set_length(v.total_source_bytes);
        pb.set_position(v.encoded_bytes.min(v.total_source_bytes));
        pb.set_prefix(v.phase.name());
        pb.set_message(format!(
            "| {:.1} MB ingested | engines {}/{}",
            v.ingested_bytes as f64 / 1e6,
            v.engines_done,
            v.total_engines
        ));
        if v.phase == Phase::Done {
            pb.finish();
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn show_log(view: impl Fn() -> ProgressView, every: Duration) {
    let started = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let v = view();
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let pct = if v.total_source_bytes == 0 {
            0.0
        } else {
            100.0 * v.encoded_bytes as f64 / v.total_source_bytes as f64
        };
        tracing::info!(
            phase = v.phase.name(),
            encoded_mb = format!("{:.1}", v.encoded_bytes as f64 / 1e6),
            total_mb = format!("{:.1}", v.total_source_bytes as f64 / 1e6),
            percent = format!("{pct:.1}"),
            ingested_mb = format!("{:.1}", v.ingested_bytes as f64 / 1e6),
            ingest_mb_per_sec = format!("{:.1}", v.ingested_bytes as f64 / 1e6 / secs),
            engines = format!("{}/{}", v.engines_done, v.total_engines),
            "import progress"
        );
    }
}
