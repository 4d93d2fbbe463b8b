//! Flags every cluster process shares: where etcd and NATS are, and the
//! one work queue (stream and consumer) and artefact bucket the coordinator
//! and workers agree on.

use std::sync::Arc;

use anyhow::Context;
use squall_cluster::{
    EtcdCheckpointStore, EtcdOptions, NatsArtefactOptions, NatsArtefactStore, NatsOptions,
    NatsTaskQueue,
};
use squall_coordinator::ClusterSeams;
use squall_worker::task::MAX_DELIVERIES;

use crate::tls_args::TlsArgs;

/// The JetStream stream holding every job's tasks (one per cluster).
const STREAM: &str = "squall";
/// The JetStream object-store bucket holding every job's artefacts (one per
/// cluster; jobs apart by key prefix).
const ARTEFACT_BUCKET: &str = "squall-artefacts";

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// etcd client endpoints, comma separated (`http://127.0.0.1:2379`;
    /// `https://...` for TLS, see --tls-ca).
    #[arg(long, value_delimiter = ',', required = true, env = "SQUALL_ETCD")]
    pub etcd: Vec<String>,
    /// NATS server URL, JetStream enabled (`nats://127.0.0.1:4222`;
    /// `tls://...` to require TLS, see --tls-ca).
    #[arg(long, env = "SQUALL_NATS")]
    pub nats: String,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Seconds a task may go without a worker's sign of life before the
    /// queue hands it to another worker (busy workers renew every third of
    /// it). Give every process of a cluster the same value: the shared
    /// consumer takes the last one set.
    #[arg(long, default_value_t = 30, env = "SQUALL_ACK_WAIT_SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ack_wait_secs: u64,
}

impl ClusterArgs {
    /// Connects to both (NATS twice: the queue and the artefact bucket); an
    /// unreachable server is an error naming it.
    pub async fn connect(&self) -> anyhow::Result<ClusterSeams> {
        Ok(self.connect_parts().await?.1)
    }

    /// etcd's connect options with the TLS files (for the election and the
    /// worker's registration, which open their own clients).
    pub fn etcd_connect_options(&self) -> anyhow::Result<squall_cluster::EtcdConnectOptions> {
        self.tls
            .files()
            .etcd_options(&self.etcd)
            .with_context(|| format!("etcd at {}", self.etcd.join(",")))
    }

    /// [`ClusterArgs::connect`], also handing back the etcd store itself
    /// (a leader writes through a fenced copy of it).
    pub async fn connect_parts(&self) -> anyhow::Result<(EtcdCheckpointStore, ClusterSeams)> {
        let etcd = EtcdOptions {
            tls: self.tls.files(),
            ..EtcdOptions::new(self.etcd.clone())
        };
        let store = EtcdCheckpointStore::connect(etcd)
            .await
            .with_context(|| {
                format!(
                    "connecting to etcd at {} (is etcd running there? check --etcd, and --tls-* for https://)",
                    self.etcd.join(",")
                )
            })?;
        let mut nats = NatsOptions::new(self.nats.clone(), STREAM);
        // The worker records a task's failure on its last delivery; the
        // server must give up at the same count.
        nats.max_deliver = MAX_DELIVERIES;
        nats.ack_wait = std::time::Duration::from_secs(self.ack_wait_secs);
        nats.tls = self.tls.files();
        let queue = NatsTaskQueue::connect(nats)
            .await
            .with_context(|| format!("connecting to NATS at {} (check --nats)", self.nats))?;
        let artefacts = NatsArtefactStore::connect(NatsArtefactOptions {
            tls: self.tls.files(),
            ..NatsArtefactOptions::new(self.nats.clone(), ARTEFACT_BUCKET)
        })
        .await
        .with_context(|| {
            format!(
                "opening the artefact bucket {ARTEFACT_BUCKET} at NATS {} (check --nats)",
                self.nats
            )
        })?;
        let seams = ClusterSeams {
            store: Arc::new(store.clone()),
            queue: Arc::new(queue),
            artefacts: Arc::new(artefacts),
        };
        Ok((store, seams))
    }
}
