//! `squall worker`: a stateless worker of a cluster. It registers in etcd,
//! pulls engine tasks of any job from NATS and runs them
//! (`squall_worker::node`). Ctrl-C / SIGTERM: stop pulling, hand the tasks
//! in flight back to the queue, exit 0.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use squall_worker::node::registration::Registration;
use squall_worker::node::{run_node, JobContexts, NodeIdentity};
use tokio_util::sync::CancellationToken;

use crate::cluster_args::ClusterArgs;

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
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let id = args.id.clone().unwrap_or_else(default_id);
    std::fs::create_dir_all(&args.sorted_kv_dir)
        .with_context(|| format!("creating --sorted-kv-dir {}", args.sorted_kv_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let seams = args.cluster.connect().await?;
        let about = serde_json::json!({
            "id": id,
            "pid": std::process::id(),
            "sorted-kv-dir": args.sorted_kv_dir.display().to_string(),
            "concurrency": args.concurrency,
        })
        .to_string();
        let registration = Registration::register(&args.cluster.etcd, &id, about).await?;
        let cancel = CancellationToken::new();
        tokio::spawn(super::import::stop_on_signal(cancel.clone()));
        let keeper = tokio::spawn(registration.keep_alive(cancel.clone()));
        let node = NodeIdentity {
            worker_id: id.clone(),
            sorted_kv_dir: args.sorted_kv_dir.clone(),
            pd_override: args.pd.clone(),
            output_override: args.output.clone(),
        };
        let contexts = Arc::new(JobContexts::new(
            node,
            seams.store,
            seams.artefacts,
            cancel.clone(),
        ));
        tracing::info!(worker = %id, concurrency = args.concurrency, "worker ready, pulling tasks");
        run_node(contexts, seams.queue, args.concurrency, cancel).await;
        if let Err(e) = keeper.await {
            tracing::warn!(error = %e, "registration task ended abnormally");
        }
        tracing::info!(worker = %id, "worker stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn default_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
