//! `squall worker`: a stateless worker of a cluster. It registers in etcd,
//! pulls engine tasks of any job from NATS and runs them
//! (`squall_worker::node`), and serves Prometheus metrics with
//! `--metrics-addr`.
//!
//! Ctrl-C / SIGTERM drains: take no more tasks, let the tasks in flight
//! finish within `--drain-timeout-secs`, then stop the rest, release their
//! engine records and hand them back to the queue at once (a second signal
//! does that now; a third exits at once). Then deregister from etcd and
//! exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use squall_worker::metrics::scrape::ScrapeSources;
use squall_worker::metrics::{server, WorkerMetrics};
use squall_worker::node::registration::Registration;
use squall_worker::node::{run_node, JobContexts, NodeIdentity};
use tokio_util::sync::CancellationToken;

use super::import::EXIT_INTERRUPTED;
use crate::cluster_args::ClusterArgs;

/// How long tasks told to stop may take to hand themselves back (an encode
/// notices within a few thousand rows) before the worker exits anyway;
/// their deliveries then come back after the ack wait.
const STOP_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// PD address(es), comma separated; default: each job's own.
    #[arg(long, value_delimiter = ',')]
    pd: Vec<String>,
    /// This worker's local engines (a cache: losing it costs only time).
    #[arg(long)]
    sorted_kv_dir: PathBuf,
    /// This worker's reports (`errors/`, its copy of `duplicates/`), per job
    /// under `<dir>/<job>`; default: the job's output directory, which every
    /// node must then see. What the coordinator needs goes through NATS.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Names the worker in etcd and in the engine records; default
    /// `<hostname>-<pid>`.
    #[arg(long)]
    id: Option<String>,
    /// Engine tasks run at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Serve Prometheus metrics on `http://<addr>/metrics` (port 0: any free
    /// port; the bound address is logged). Default: no metrics.
    #[arg(long, env = "SQUALL_METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// On Ctrl-C / SIGTERM, seconds the tasks in flight may take to finish
    /// before they are stopped and handed back to the queue (0: at once).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86400))]
    drain_timeout_secs: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = args.id.clone().unwrap_or_else(default_id);
    std::fs::create_dir_all(&args.sorted_kv_dir)
        .with_context(|| format!("creating --sorted-kv-dir {}", args.sorted_kv_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let seams = args.cluster.connect().await?;
        let metrics_listener = match args.metrics_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("listening on --metrics-addr {addr} (in use? pick another)")
            })?),
            None => None,
        };
        let about = serde_json::json!({
            "id": id,
            "pid": std::process::id(),
            "sorted-kv-dir": args.sorted_kv_dir.display().to_string(),
            "concurrency": args.concurrency,
        })
        .to_string();
        let registration = Registration::register(
            &args.cluster.etcd,
            args.cluster.etcd_connect_options()?,
            &id,
            about,
        )
        .await?;
        // Stop taking tasks / stop the tasks in flight / leave etcd.
        let (drain, stop_tasks, leave) = (
            CancellationToken::new(),
            CancellationToken::new(),
            CancellationToken::new(),
        );
        let timeout = Duration::from_secs(args.drain_timeout_secs);
        tokio::spawn(drain_on_signal(drain.clone(), stop_tasks.clone(), timeout));
        let keeper = tokio::spawn(registration.keep_alive(leave.clone()));
        let node = NodeIdentity {
            worker_id: id.clone(),
            sorted_kv_dir: args.sorted_kv_dir.clone(),
            pd_override: args.pd.clone(),
            output_override: args.output.clone(),
        };
        // Index backfill ranges (`index-mode = "after-data"`) are built by
        // the coordinator crate's runner, which the worker crate cannot name.
        let contexts = Arc::new(
            JobContexts::new(node, seams.store, seams.artefacts, stop_tasks.clone())
                .with_backfill(Arc::new(squall_coordinator::backfill::QueueRangeRunner)),
        );
        let metrics = match metrics_listener {
            Some(listener) => {
                let metrics = Arc::new(WorkerMetrics::new());
                metrics.observe_client();
                let sources = ScrapeSources {
                    metrics: Arc::clone(&metrics),
                    queue: Arc::clone(&seams.queue),
                    contexts: Arc::clone(&contexts),
                    sorted_kv_dir: args.sorted_kv_dir.clone(),
                };
                let addr = listener.local_addr().context("the metrics address")?;
                tracing::info!(%addr, "metrics on http://{addr}/metrics");
                let stop = leave.clone();
                tokio::spawn(async move {
                    if let Err(e) = server::serve(listener, sources, stop).await {
                        tracing::error!(error = %e, "the metrics server stopped");
                    }
                });
                Some(metrics)
            }
            None => None,
        };
        tracing::info!(worker = %id, concurrency = args.concurrency, "worker ready, pulling tasks");
        let stopped = async {
            stop_tasks.cancelled().await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        tokio::select! {
            _ = run_node(contexts, seams.queue, args.concurrency, drain, metrics) => {}
            _ = stopped => tracing::warn!(grace = ?STOP_GRACE,
                "tasks told to stop did not hand themselves back in time; exiting (they come back after the ack wait)"),
        }
        leave.cancel();
        if let Err(e) = keeper.await {
            tracing::warn!(error = %e, "registration task ended abnormally");
        }
        tracing::info!(worker = %id, "worker stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// First signal: `drain` (take no more tasks), then `stop_tasks` after
/// `timeout` or at a second signal; a third exits at once.
async fn drain_on_signal(
    drain: CancellationToken,
    stop_tasks: CancellationToken,
    timeout: Duration,
) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        tracing::warn!("cannot listen for SIGTERM");
        return;
    };
    signalled(&mut term).await;
    tracing::info!(deadline = ?timeout,
        "draining: taking no more tasks; tasks in flight may finish until the deadline, then are handed back (signal again to hand them back now)");
    drain.cancel();
    tokio::select! {
        _ = tokio::time::sleep(timeout) => {
            tracing::info!("drain deadline passed: stopping the tasks in flight and handing them back")
        }
        _ = signalled(&mut term) => {
            tracing::info!("second signal: stopping the tasks in flight and handing them back")
        }
    }
    stop_tasks.cancel();
    signalled(&mut term).await;
    eprintln!("third signal: exiting now (unfinished tasks come back after the ack wait)");
    std::process::exit(i32::from(EXIT_INTERRUPTED));
}

async fn signalled(term: &mut tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn default_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
