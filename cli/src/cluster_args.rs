//! Flags every cluster process shares: where etcd and NATS are, and the
//! one work queue (stream and consumer) the coordinator and workers agree on.

use std::sync::Arc;

use anyhow::Context;
use squall_cluster::{EtcdCheckpointStore, EtcdOptions, NatsOptions, NatsTaskQueue};
use squall_coordinator::ClusterSeams;
use squall_worker::task::MAX_DELIVERIES;

/// The JetStream stream holding every job's tasks (one per cluster).
const STREAM: &str = "squall";

#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// etcd client endpoints, comma separated (`http://127.0.0.1:2379`).
    #[arg(long, value_delimiter = ',', required = true, env = "SQUALL_ETCD")]
    pub etcd: Vec<String>,
    /// NATS server URL, JetStream enabled (`nats://127.0.0.1:4222`).
    #[arg(long, env = "SQUALL_NATS")]
    pub nats: String,
}

impl ClusterArgs {
    /// Connects to both; an unreachable server is an error naming it.
    pub async fn connect(&self) -> anyhow::Result<ClusterSeams> {
        let store = EtcdCheckpointStore::connect(EtcdOptions::new(self.etcd.clone()))
            .await
            .with_context(|| {
                format!(
                    "connecting to etcd at {} (is etcd running there? check --etcd)",
                    self.etcd.join(",")
                )
            })?;
        let mut nats = NatsOptions::new(self.nats.clone(), STREAM);
        // The worker records a task's failure on its last delivery; the
        // server must give up at the same count.
        nats.max_deliver = MAX_DELIVERIES;
        let queue = NatsTaskQueue::connect(nats)
            .await
            .with_context(|| format!("connecting to NATS at {} (check --nats)", self.nats))?;
        Ok(ClusterSeams {
            store: Arc::new(store),
            queue: Arc::new(queue),
        })
    }
}
