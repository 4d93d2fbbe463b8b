//! Knobs of the client: timeouts, retry policy and connection settings.

use std::time::Duration;

use squall_common::TaskConfig;

use crate::retry::RetryPolicy;
use crate::tls::ClientTls;

/// How the client talks to PD and TiKV.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Deadline of one unary RPC, and of each message of a stream other than
    /// DuplicateDetect (see `stream_idle_timeout`). From
    /// `squall.rpc-timeout-secs`; default 30 s.
    pub rpc_timeout: Duration,
    /// Deadline of each message of a server stream that may scan a whole
    /// region in silence (DuplicateDetect). From
    /// `squall.stream-idle-timeout-secs`; default 300 s. Never below
    /// `rpc_timeout`.
    pub stream_idle_timeout: Duration,
    /// Deadline for establishing a TCP/HTTP2 connection. Default 5 s.
    pub connect_timeout: Duration,
    /// Retries of a remote call (attempts and backoff). From `squall.max-retries`.
    pub retry: RetryPolicy,
    /// gRPC connections kept per store, used round-robin so one HTTP/2
    /// connection's flow control does not cap a store's ingest rate. Default 4.
    pub connections_per_store: usize,
    /// Largest message the client accepts (KvScan pages, DuplicateDetect
    /// batches of 4096 pairs). Default 256 MiB.
    pub max_decoding_message_size: usize,
    /// TLS to PD and TiKV, from `[security]`; `None`: plain connections.
    pub tls: Option<ClientTls>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            rpc_timeout: Duration::from_secs(30),
            stream_idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            connections_per_store: 4,
            max_decoding_message_size: 256 << 20,
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Options from a task's `[squall]` section.
    pub fn from_task(cfg: &TaskConfig) -> Self {
        Self {
            rpc_timeout: Duration::from_secs(cfg.squall.rpc_timeout_secs),
            stream_idle_timeout: Duration::from_secs(
                cfg.squall
                    .stream_idle_timeout_secs
                    .max(cfg.squall.rpc_timeout_secs),
            ),
            retry: RetryPolicy {
                max_attempts: cfg.squall.max_retries,
                ..RetryPolicy::default()
            },
            tls: ClientTls::from_paths(
                &cfg.security.ca_path,
                &cfg.security.cert_path,
                &cfg.security.key_path,
            ),
            ..Self::default()
        }
    }

    /// Short timeouts and fast retries for tests against a local cluster.
    pub fn for_test() -> Self {
        Self {
            rpc_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(2),
            retry: RetryPolicy {
                max_attempts: 10,
                initial: Duration::from_millis(10),
                max_interval: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            ..Self::default()
        }
    }
}
