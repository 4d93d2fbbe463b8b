//! `squall coordinator`: runs submitted jobs on a cluster of `squall worker`
//! processes, behind an HTTP API (`squall_coordinator::service`). Several
//! may run: they campaign in etcd, the leader runs the jobs with fenced
//! writes, the others stand by and answer status.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context;
use squall_cluster::{leader, ClusterTls, EtcdCheckpointStore};
use squall_coordinator::service::{self, Campaign, Elected};
use tokio_util::sync::CancellationToken;

use crate::cluster_args::ClusterArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8287")]
    listen: SocketAddr,
    /// The URL other processes know this coordinator by (default:
    /// `http://<listen>`, `https://` with --tls-cert); stored as the
    /// leader's value in etcd.
    #[arg(long)]
    advertise: Option<String>,
    /// Seconds a dead leader goes unnoticed before a standby takes over.
    #[arg(long, env = "SQUALL_LEADER_TTL_SECS", default_value_t = leader::DEFAULT_TTL_SECS, value_parser = clap::value_parser!(i64).range(2..=60))]
    leader_ttl_secs: i64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // With --tls-cert/--tls-key the API is HTTPS only, with that certificate.
    let tls = args
        .cluster
        .tls
        .files()
        .server_config()
        .context("the API's TLS certificate")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // A TLS setting that cannot work is refused before anything connects.
    args.cluster.etcd_connect_options()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let (etcd, seams) = args.cluster.connect_parts().await?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| {
                format!(
                    "listening on {} (in use? pick another --listen)",
                    args.listen
                )
            })?;
        let shutdown = CancellationToken::new();
        tokio::spawn(super::import::stop_on_signal(shutdown.clone()));
        eprintln!("coordinator listening on {scheme}://{}", args.listen);
        let advertise = args
            .advertise
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", args.listen));
        let campaign = campaign(
            args.cluster.etcd.clone(),
            args.cluster.tls.files(),
            etcd,
            advertise,
            args.leader_ttl_secs,
            shutdown.clone(),
        );
        service::serve(listener, tls, seams, campaign, shutdown)
            .await
            .context("serving the coordinator API")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The election as the service sees it: once elected, writes go through a
/// copy of the store fenced on this coordinator's election key.
fn campaign(
    endpoints: Vec<String>,
    tls: ClusterTls,
    store: EtcdCheckpointStore,
    advertise: String,
    ttl_secs: i64,
    cancel: CancellationToken,
) -> Campaign {
    Box::pin(async move {
        match leader::campaign_tls(&endpoints, &tls, &advertise, ttl_secs, &cancel).await {
            Ok(Some(won)) => {
                eprintln!("coordinator elected leader");
                Ok(Some(Elected {
                    store: Arc::new(store.fenced(won.fence())),
                    lost: won.lost(),
                    resign: Box::pin(won.resign()),
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    })
}
