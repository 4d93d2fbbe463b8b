//! `squall coordinator`: runs submitted jobs on a cluster of `squall worker`
//! processes, behind an HTTP API (`squall_coordinator::service`).

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use squall_coordinator::service;
use tokio_util::sync::CancellationToken;

use crate::cluster_args::ClusterArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Address of the HTTP API.
    #[arg(long, default_value = "127.0.0.1:8287")]
    listen: SocketAddr,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let seams = args.cluster.connect().await?;
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
        eprintln!("coordinator listening on http://{}", args.listen);
        service::serve(listener, seams, shutdown)
            .await
            .context("serving the coordinator API")?;
        Ok(ExitCode::SUCCESS)
    })
}
