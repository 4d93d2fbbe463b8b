//! [`EtcdCheckpointStore`]: the [`CheckpointStore`] on etcd's KV API, for
//! the coordinator and workers of a cluster to share one job's progress.
//!
//! * Keys: the trait key `k` is the etcd key `<prefix>k` ([`keys`]); `list`
//!   strips the prefix back off. Revisions are etcd's `mod_revision`.
//! * Writes are durable on return: etcd answers after the Raft log entry is
//!   fsynced on a majority of members.
//! * `cas` is one Txn on `mod_revision` ([`cas`]), which also answers "did
//!   the write happen?" after an attempt failed in flight.
//! * `list` reads in pages of [`EtcdOptions::list_page_size`] keys at one
//!   revision ([`list`]), `list_page` one page of a caller's size;
//!   `put_many` batches puts into Txns ([`batch`]).
//! * Every call: a deadline per attempt, bounded retry with backoff on
//!   transient failures, one warning per retry, and after the last attempt
//!   `CheckpointError::Unavailable` naming the endpoints ([`retry`]); etcd's
//!   refusals are `CheckpointError::Rejected` at once.
//!
//! The gRPC channel connects lazily and reconnects by itself, so a restarted
//! etcd is picked up by the next attempt; nothing here holds a connection.

mod batch;
mod cas;
mod fence;
pub mod keepalive;
mod keys;
mod list;
mod options;
mod retry;

use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{Client, GetOptions, KeyValue, KvClient, ResponseHeader, Txn, TxnOp};
use squall_common::checkpoint::{
    CasOutcome, CheckpointError, CheckpointStore, Revision, Versioned,
};

pub use fence::Fence;
use keys::KeySpace;
pub use options::EtcdOptions;
use retry::{classify, AttemptError, Retrier};

/// HTTP/2 ping interval on the connection, so a silently dead peer is noticed.
/// etcd closes connections that ping more often than every 5 s
/// (`--grpc-keepalive-min-time`).
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// The checkpoint store on etcd. Cheap to clone; clones share the channel.
#[derive(Clone)]
pub struct EtcdCheckpointStore {
    kv: KvClient,
    keys: KeySpace,
    retry: Retrier,
    page_size: i64,
    /// Set on a leader's store: every write also checks its election key.
    fence: Option<Fence>,
}

impl std::fmt::Debug for EtcdCheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdCheckpointStore")
            .field("endpoints", &self.retry.endpoints())
            .field("keys", &self.keys)
            .finish()
    }
}

impl EtcdCheckpointStore {
    /// Validates `options`, opens a channel to the endpoints and proves etcd
    /// answers by reading one key of the prefix (retried like any call, each
    /// attempt bounded by `connect_timeout`). An unreachable etcd is
    /// `CheckpointError::Unavailable` naming the addresses and what to check.
    pub async fn connect(options: EtcdOptions) -> Result<Self, CheckpointError> {
        options.validate()?;
        let connect = options
            .tls
            .etcd_options(&options.endpoints)
            .map_err(|e| CheckpointError::Rejected {
                what: format!("etcd endpoints {}", options.endpoint_list()),
                reason: e.to_string(),
            })?
            .with_connect_timeout(options.connect_timeout)
            .with_keep_alive(KEEP_ALIVE_INTERVAL, options.request_timeout);
        let client = Client::connect(&options.endpoints, Some(connect))
            .await
            .map_err(|e| CheckpointError::Rejected {
                what: format!("etcd endpoints {}", options.endpoint_list()),
                reason: e.to_string(),
            })?;
        let store = Self {
            kv: client.kv_client(),
            keys: KeySpace::new(&options.prefix),
            retry: Retrier::new(&options, options.request_timeout),
            page_size: i64::try_from(options.list_page_size).unwrap_or(i64::MAX),
            fence: None,
        };
        store.probe(&options).await?;
        tracing::debug!(endpoints = %options.endpoint_list(), prefix = %options.prefix, "etcd checkpoint store connected");
        Ok(store)
    }

    async fn probe(&self, options: &EtcdOptions) -> Result<(), CheckpointError> {
        let (start, end) = self.keys.range("");
        let get = GetOptions::new().with_range(end).with_count_only();
        Retrier::new(options, options.connect_timeout)
            .run(retry::PROBE, &options.prefix, |_| {
                let (mut kv, start, get) = (self.kv.clone(), start.clone(), get.clone());
                async move {
                    kv.get(start, Some(get))
                        .await
                        .map(drop)
                        .map_err(|e| classify(|| "the connect probe".into(), e))
                }
            })
            .await
    }

    /// The same store whose every write holds only while `fence` (the
    /// caller's election key) does; see [`fence`]. Reads are not fenced.
    pub fn fenced(&self, fence: Fence) -> Self {
        Self {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// One attempt of an unconditional write: a plain request when the
    /// store is not fenced, else a Txn guarded by the fence.
    async fn write_once(
        &self,
        what: &str,
        op: TxnOp,
    ) -> Result<etcd_client::TxnResponse, AttemptError> {
        let txn = match &self.fence {
            Some(f) => Txn::new()
                .when([f.compare()])
                .and_then([op])
                .or_else([f.read()]),
            None => Txn::new().and_then([op]),
        };
        let resp = self
            .kv
            .clone()
            .txn(txn)
            .await
            .map_err(|e| classify(|| what.to_string(), e))?;
        if let (false, Some(f)) = (resp.succeeded(), &self.fence) {
            f.check(what, &resp).map_err(AttemptError::Permanent)?;
        }
        Ok(resp)
    }

    /// Writes every `(key, value)` in as few Txns as etcd allows (128 puts,
    /// about 1 MiB each) and returns the revision of the last one, `None`
    /// for an empty batch. Each Txn is atomic, the batch is not: after an
    /// error some of it may be written; sending it again is safe.
    pub async fn put_many(
        &self,
        items: &[(String, Vec<u8>)],
    ) -> Result<Option<Revision>, CheckpointError> {
        batch::put_many(self, items).await
    }
}

#[async_trait]
impl CheckpointStore for EtcdCheckpointStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, CheckpointError> {
        let full = self.keys.full(key)?;
        self.retry
            .run(retry::GET, key, |_| {
                let (mut kv, full) = (self.kv.clone(), full.clone());
                async move {
                    let resp = kv
                        .get(full, None)
                        .await
                        .map_err(|e| classify(|| format!("get of {key:?}"), e))?;
                    Ok(resp.kvs().first().map(versioned))
                }
            })
            .await
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<Revision, CheckpointError> {
        let full = self.keys.full(key)?;
        let what = format!("put of {key:?}");
        self.retry
            .run(retry::PUT, key, |_| {
                let op = TxnOp::put(full.clone(), value.clone(), None);
                let what = &what;
                async move {
                    let resp = self.write_once(what, op).await?;
                    header_revision(resp.header(), || what.clone())
                }
            })
            .await
    }

    async fn cas(
        &self,
        key: &str,
        expected: Option<Revision>,
        value: Vec<u8>,
    ) -> Result<CasOutcome, CheckpointError> {
        let full = self.keys.full(key)?;
        self.retry
            .run(retry::CAS, key, |number| {
                let attempt = cas::attempt(
                    self.kv.clone(),
                    key,
                    full.clone(),
                    expected,
                    value.clone(),
                    self.fence.as_ref(),
                );
                let value = &value;
                async move {
                    let outcome = attempt.await?;
                    // Attempt 0 is the only one that cannot follow a lost write.
                    Ok(cas::settle(key, outcome, value, number > 0))
                }
            })
            .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, CheckpointError> {
        list::list(self, prefix).await
    }

    async fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned)>, CheckpointError> {
        list::list_page(self, prefix, after, limit).await
    }

    /// After an attempt that failed in flight, the answer is whether the key
    /// existed when the last attempt ran: a lost first delete makes it
    /// `false`. The key is gone either way.
    async fn delete(&self, key: &str) -> Result<bool, CheckpointError> {
        let full = self.keys.full(key)?;
        let what = format!("delete of {key:?}");
        self.retry
            .run(retry::DELETE, key, |_| {
                let op = TxnOp::delete(full.clone(), None);
                let what = &what;
                async move {
                    let resp = self.write_once(what, op).await?;
                    Ok(resp.op_responses().into_iter().any(
                        |r| matches!(r, etcd_client::TxnOpResponse::Delete(d) if d.deleted() > 0),
                    ))
                }
            })
            .await
    }
}

/// A stored value as the trait reports it.
fn versioned(kv: &KeyValue) -> Versioned {
    Versioned {
        value: kv.value().to_vec(),
        revision: to_revision(kv.mod_revision()),
    }
}

/// etcd revisions start at 1 and never go negative.
fn to_revision(rev: i64) -> Revision {
    Revision(u64::try_from(rev).unwrap_or(0))
}

/// The revision a write was applied at, from its response header.
fn header_revision(
    header: Option<&ResponseHeader>,
    what: impl FnOnce() -> String,
) -> Result<Revision, AttemptError> {
    match header {
        Some(h) => Ok(to_revision(h.revision())),
        None => Err(AttemptError::Permanent(CheckpointError::Rejected {
            what: what(),
            reason: "etcd answered without a response header".into(),
        })),
    }
}
