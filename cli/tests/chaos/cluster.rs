//! The chaos cluster: real etcd and nats-server (squall-cluster's
//! `testserver`, restartable on the same ports and data dirs), an
//! in-process tikv-sim, two `squall coordinator` processes and three
//! `squall worker` processes, all on loopback. Each piece sits behind its own
//! lock so that fault drivers running side by side ("all at once") can each
//! take the piece they hit.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use squall_cluster::testserver::{EtcdServer, NatsServer};
use squall_cluster::{EtcdCheckpointStore, EtcdOptions, NatsOptions, NatsTaskQueue};
use squall_common::checkpoint::{keys, typed, CheckpointStore, EngineCheckpoint};
use squall_tests::free_addr;
use squall_tests::sim::start_sim;
use tikv_sim::SimHandle;

use super::disk::SmallDisk;
use super::node::Node;

/// A dead leader is replaced within this (the standby's campaign returns);
/// a leader rides out an etcd restart shorter than this. The default.
pub const LEADER_TTL_SECS: &str = "5";
/// A task whose worker went silent is handed to another after this.
pub const ACK_WAIT_SECS: u64 = 3;
/// The queue's stream, as `squall` names it (`cli/src/cluster_args.rs`).
const STREAM: &str = "squall";
/// Deliveries of a task, as the workers count them.
pub const MAX_DELIVERIES: u32 = squall_worker::task::MAX_DELIVERIES;
pub const WORKERS: usize = 3;

pub struct Cluster {
    pub etcd: Mutex<EtcdServer>,
    pub nats: Mutex<NatsServer>,
    pub etcd_url: String,
    pub nats_url: String,
    pub sim: SimHandle,
    pub coordinators: Vec<Mutex<Node>>,
    pub workers: Vec<Mutex<Node>>,
    /// The worker whose `--sorted-kv-dir` is a small file system, if any.
    pub small_disk: Option<SmallDisk>,
}

/// How the workers' engine directories are laid out.
pub enum Disks {
    Roomy,
    /// The last worker's `--sorted-kv-dir` is this small file system.
    LastOneSmall(SmallDisk),
}

impl Cluster {
    /// Starts everything and waits until each piece serves (a coordinator
    /// elected, every worker ready).
    pub async fn start(dir: &Path, disks: Disks) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let etcd = EtcdServer::start().expect("etcd starts");
        let nats = NatsServer::start().expect("nats-server starts");
        let sim = start_sim(&dir.join("sim")).await;
        let (etcd_url, nats_url) = (etcd.endpoint(), nats.url());
        let flags: Vec<String> = [
            "--etcd",
            &etcd_url,
            "--nats",
            &nats_url,
            "--ack-wait-secs",
            &ACK_WAIT_SECS.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let coordinators: Vec<Mutex<Node>> = ["coordinator-a", "coordinator-b"]
            .iter()
            .map(|name| Mutex::new(Node::coordinator(name, free_addr(), &flags)))
            .collect();
        let small_disk = match disks {
            Disks::Roomy => None,
            Disks::LastOneSmall(d) => Some(d),
        };
        let workers: Vec<Mutex<Node>> = (1..=WORKERS)
            .map(|n| {
                let name = format!("w{n}");
                let kv = match &small_disk {
                    Some(d) if n == WORKERS => d.path().to_path_buf(),
                    _ => dir.join(format!("{name}-kv")),
                };
                Mutex::new(Node::worker(
                    &name,
                    kv,
                    dir.join(format!("{name}-out")),
                    &flags,
                ))
            })
            .collect();
        let cluster = Self {
            etcd: Mutex::new(etcd),
            nats: Mutex::new(nats),
            etcd_url,
            nats_url,
            sim,
            coordinators,
            workers,
            small_disk,
        };
        tokio::task::block_in_place(|| {
            for c in &cluster.coordinators {
                lock(c).start().unwrap();
            }
            for w in &cluster.workers {
                lock(w).start().unwrap();
            }
        });
        cluster
    }

    /// `--coordinator` for the client: every coordinator, so it follows the
    /// job across failovers.
    pub fn coordinator_urls(&self) -> String {
        self.coordinators
            .iter()
            .map(|c| format!("http://{}", lock(c).api.expect("coordinators have an API")))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn pd(&self) -> String {
        self.sim.pd_addr.to_string()
    }

    /// The index of the coordinator etcd names leader, if any.
    pub async fn leader(&self) -> Option<usize> {
        let url =
            squall_cluster::leader::current_leader(std::slice::from_ref(&self.etcd_url)).await?;
        self.coordinators
            .iter()
            .position(|c| lock(c).api.is_some_and(|a| url == format!("http://{a}")))
    }

    /// Every engine record of the (one) job, from etcd.
    pub async fn engines(&self) -> Vec<EngineCheckpoint> {
        let store = EtcdCheckpointStore::connect(EtcdOptions::new([self.etcd_url.clone()]))
            .await
            .unwrap();
        let jobs = store.list(&keys::jobs_prefix()).await.unwrap();
        let job_keys: Vec<&String> = jobs
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.ends_with("/job"))
            .collect();
        assert_eq!(job_keys.len(), 1, "one job in etcd: {job_keys:?}");
        let job_id = job_keys[0]
            .trim_start_matches(&keys::jobs_prefix())
            .trim_end_matches("/job");
        let engines: Vec<typed::Stored<EngineCheckpoint>> =
            typed::read_all(&store, &keys::engines_prefix(job_id))
                .await
                .unwrap();
        engines.into_iter().map(|s| s.record).collect()
    }

    /// Deliveries the shared consumer made (redeliveries included).
    pub async fn deliveries(&self) -> u64 {
        let mut opts = NatsOptions::new(self.nats_url.clone(), STREAM);
        // The same settings as the processes: opening the consumer with
        // others would change it.
        opts.max_deliver = MAX_DELIVERIES;
        opts.ack_wait = Duration::from_secs(ACK_WAIT_SECS);
        let queue = NatsTaskQueue::connect(opts).await.unwrap();
        queue.deliveries().await.unwrap()
    }

    /// Waits until every store of the sim is up (after scheduled outages).
    pub async fn wait_stores_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.sim.stores().iter().any(|s| !s.up) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "sim stores still down after 60 s: {:?}",
                self.sim.stores()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every process, then the sim; the servers and the small disk go
    /// with `self`.
    pub async fn shut_down(self) {
        tokio::task::block_in_place(|| {
            for n in self.workers.iter().chain(&self.coordinators) {
                lock(n).stop();
            }
        });
        self.sim.shutdown().await;
    }
}

/// A lock that survives a panicked holder (the data is plain handles).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
