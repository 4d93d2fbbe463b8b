//! PD client: finds the PD leader with GetMembers, follows it when it moves,
//! and wraps the PD calls Squall needs (TSO, regions, stores, scatter, GC
//! safepoints).
//!
//! Every call has a deadline and is retried with backoff; a failed attempt
//! that points at the connection makes the client look for the leader again
//! before the next attempt.

mod gc;
mod regions;
mod scatter;
mod schedulers;
mod stores;
mod tso;

use std::future::Future;
use std::sync::{Arc, RwLock};

use squall_proto::pdpb::{self, pd_client::PdClient as RawPd};
use tonic::transport::Channel;

use crate::channels::{endpoint, to_url};
use crate::error::{ClientError, PdErrorKind};
use crate::options::ClientOptions;
use crate::retry::{retry, with_timeout};

pub use gc::ServiceSafePoint;
pub use regions::SCAN_PAGE;
pub use scatter::OperatorState;
pub use schedulers::{PdHttp, BALANCE_SCHEDULERS};
pub use stores::service_address;
pub use tso::compose_ts;

/// A cheap-to-clone handle on the PD cluster.
#[derive(Clone)]
pub struct PdClient {
    inner: Arc<Inner>,
}

struct Inner {
    seeds: Vec<String>,
    opts: ClientOptions,
    leader: RwLock<Leader>,
    /// Serializes leader lookups so a burst of failures dials PD once.
    reconnecting: tokio::sync::Mutex<()>,
    stores: stores::StoreCache,
}

/// The PD member we talk to, with the cluster id every request must carry.
#[derive(Clone)]
struct Leader {
    url: String,
    cluster_id: u64,
    client: RawPd<Channel>,
    members: Vec<String>,
}

impl PdClient {
    /// Connects to the PD cluster through any of `addrs` (`host:port` or URLs).
    pub async fn connect(addrs: &[String], opts: ClientOptions) -> Result<Self, ClientError> {
        let seeds: Vec<String> = addrs
            .iter()
            .map(|a| to_url(a, opts.tls.is_some()))
            .collect();
        let leader = retry("PD GetMembers", &opts.retry, || {
            find_leader(&seeds, &[], &opts)
        })
        .await?;
        tracing::info!(leader = %leader.url, cluster_id = leader.cluster_id, "connected to PD");
        Ok(Self {
            inner: Arc::new(Inner {
                seeds,
                opts,
                leader: RwLock::new(leader),
                reconnecting: tokio::sync::Mutex::new(()),
                stores: stores::StoreCache::default(),
            }),
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    /// The URL of the PD leader currently in use.
    pub fn leader_url(&self) -> String {
        self.leader().url
    }

    /// The cluster id PD reported.
    pub fn cluster_id(&self) -> u64 {
        self.leader().cluster_id
    }

    fn leader(&self) -> Leader {
        self.inner
            .leader
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn header(leader: &Leader) -> Option<pdpb::RequestHeader> {
        Some(pdpb::RequestHeader {
            cluster_id: leader.cluster_id,
            sender_id: 0,
        })
    }

    /// One unary PD call, retried with backoff; the response header's error
    /// is checked.
    async fn call<Resp, F, Fut>(&self, method: &'static str, f: F) -> Result<Resp, ClientError>
    where
        Resp: HasHeader,
        F: Fn(RawPd<Channel>, Option<pdpb::RequestHeader>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        retry(method, &self.inner.opts.retry, || {
            self.call_once(method, &f)
        })
        .await
    }

    /// One attempt of a PD call (for callers with their own retry loop).
    async fn call_once<Resp, F, Fut>(
        &self,
        method: &'static str,
        f: &F,
    ) -> Result<Resp, ClientError>
    where
        Resp: HasHeader,
        F: Fn(RawPd<Channel>, Option<pdpb::RequestHeader>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let leader = self.leader();
        let call = f(leader.client.clone(), Self::header(&leader));
        match with_timeout(method, &leader.url, self.inner.opts.rpc_timeout, call).await {
            Ok(resp) => {
                check_header(method, resp.header())?;
                Ok(resp)
            }
            Err(err) => {
                if err.retryable() {
                    self.reconnect(&leader.url, &err).await;
                }
                Err(err)
            }
        }
    }

    /// Looks for the leader again after `failed_url` failed; a no-op if
    /// another task already moved on from it.
    async fn reconnect(&self, failed_url: &str, cause: &ClientError) {
        let _guard = self.inner.reconnecting.lock().await;
        let current = self.leader();
        if current.url != failed_url {
            return;
        }
        tracing::warn!(pd = failed_url, error = %cause, "PD call failed; looking for the PD leader again");
        match find_leader(&self.inner.seeds, &current.members, &self.inner.opts).await {
            Ok(leader) => {
                if leader.url != current.url {
                    tracing::info!(from = %current.url, to = %leader.url, "PD leader changed");
                }
                *self.inner.leader.write().unwrap_or_else(|p| p.into_inner()) = leader;
            }
            Err(err) => tracing::warn!(error = %err, "no PD leader found yet"),
        }
    }
}

/// Asks each known member for the leader and connects to it.
async fn find_leader(
    seeds: &[String],
    members: &[String],
    opts: &ClientOptions,
) -> Result<Leader, ClientError> {
    let mut tried = Vec::new();
    let mut last_err = None;
    for url in members.iter().chain(seeds) {
        if tried.contains(url) {
            continue;
        }
        tried.push(url.clone());
        match ask_members(url, opts).await {
            Ok(leader) => return Ok(leader),
            Err(err) => {
                tracing::debug!(pd = %url, error = %err, "GetMembers failed");
                last_err = Some(err);
            }
        }
    }
    Err(match last_err {
        Some(err) if err.retryable() => ClientError::NoPdLeader {
            addrs: tried,
            last_error: err.to_string(),
        },
        Some(err) => err,
        None => ClientError::NoPdLeader {
            addrs: tried,
            last_error: "no PD address given".to_string(),
        },
    })
}

/// GetMembers on `url`; returns a connection to the leader it names.
async fn ask_members(url: &str, opts: &ClientOptions) -> Result<Leader, ClientError> {
    let mut client = connect_raw(url, opts).await?;
    let call = client.get_members(pdpb::GetMembersRequest { header: None });
    let resp = with_timeout("GetMembers", url, opts.rpc_timeout, call)
        .await
        .map_err(|e| crate::tls::plain_to_tls_hint(e, url, opts.tls.is_some()))?;
    check_header("GetMembers", resp.header.as_ref())?;
    let cluster_id = resp.header.as_ref().map_or(0, |h| h.cluster_id);
    let members = resp
        .members
        .iter()
        .filter_map(|m| m.client_urls.first().cloned())
        .collect();
    let leader_url = resp
        .leader
        .and_then(|m| m.client_urls.into_iter().next())
        .ok_or_else(|| ClientError::NoPdLeader {
            addrs: vec![url.to_owned()],
            last_error: "GetMembers named no leader".to_string(),
        })?;
    let leader_url = to_url(&leader_url, opts.tls.is_some());
    let client = if same_url(&leader_url, url) {
        client
    } else {
        connect_raw(&leader_url, opts).await?
    };
    Ok(Leader {
        url: leader_url,
        cluster_id,
        client,
        members,
    })
}

async fn connect_raw(url: &str, opts: &ClientOptions) -> Result<RawPd<Channel>, ClientError> {
    let channel =
        match tokio::time::timeout(opts.connect_timeout, endpoint(url, opts)?.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(err)) => return Err(crate::tls::connect_error("connect", url, &err)),
            Err(_) => {
                return Err(ClientError::Timeout {
                    method: "connect",
                    addr: url.to_owned(),
                    after: opts.connect_timeout,
                });
            }
        };
    Ok(RawPd::new(channel).max_decoding_message_size(opts.max_decoding_message_size))
}

/// Same member, whatever the scheme says (`host:port`, `http://`, `https://`).
fn same_url(a: &str, b: &str) -> bool {
    let bare = |u: &str| {
        let u = u.trim();
        u.split_once("://")
            .map_or(u, |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned()
    };
    bare(a) == bare(b)
}

fn check_header(
    method: &'static str,
    header: Option<&pdpb::ResponseHeader>,
) -> Result<(), ClientError> {
    match header.and_then(|h| h.error.as_ref()) {
        Some(err) if err.r#type != pdpb::ErrorType::Ok as i32 => Err(ClientError::Pd {
            method,
            kind: PdErrorKind::from_wire(err.r#type),
            message: err.message.clone(),
        }),
        _ => Ok(()),
    }
}

/// PD responses carry a header with an optional error.
trait HasHeader {
    fn header(&self) -> Option<&pdpb::ResponseHeader>;
}

impl HasHeader for pdpb::GetStoreResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
impl HasHeader for pdpb::GetAllStoresResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
impl HasHeader for pdpb::GetRegionResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
impl HasHeader for pdpb::ScanRegionsResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
impl HasHeader for pdpb::ScatterRegionResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}
impl HasHeader for pdpb::GetOperatorResponse {
    fn header(&self) -> Option<&pdpb::ResponseHeader> {
        self.header.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_become_typed_errors() {
        assert!(check_header("GetRegion", None).is_ok());
        let ok = pdpb::ResponseHeader {
            cluster_id: 1,
            error: Some(pdpb::Error {
                r#type: 0,
                message: String::new(),
            }),
        };
        assert!(check_header("GetRegion", Some(&ok)).is_ok());
        let bad = pdpb::ResponseHeader {
            cluster_id: 1,
            error: Some(pdpb::Error {
                r#type: pdpb::ErrorType::StoreTombstone as i32,
                message: "gone".into(),
            }),
        };
        let err = check_header("GetStore", Some(&bad)).expect_err("tombstone");
        assert!(matches!(
            err,
            ClientError::Pd {
                kind: PdErrorKind::StoreTombstone,
                ..
            }
        ));
    }

    #[test]
    fn urls_compare_without_scheme_noise() {
        assert!(same_url("127.0.0.1:2379", "http://127.0.0.1:2379/"));
        assert!(!same_url("127.0.0.1:2379", "127.0.0.1:2380"));
    }

    #[tokio::test]
    async fn connect_fails_cleanly_when_nothing_listens() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let opts = ClientOptions {
            retry: crate::retry::RetryPolicy {
                max_attempts: 2,
                initial: std::time::Duration::from_millis(1),
                ..Default::default()
            },
            ..ClientOptions::for_test()
        };
        let err = PdClient::connect(&[addr], opts)
            .await
            .err()
            .expect("nothing listens");
        assert!(matches!(err, ClientError::NoPdLeader { .. }), "{err}");
    }
}
