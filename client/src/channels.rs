//! gRPC channels by address: a small round-robin pool per peer, dropped when
//! a call says the connection is bad so a moved or restarted peer is redialled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::ClientError;
use crate::options::ClientOptions;

/// HTTP/2 keepalive, as Lightning configures its TiKV connections (10 s / 3 s).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Cached channels, keyed by `host:port` or URL.
pub(crate) struct ChannelPool {
    opts: ClientOptions,
    pools: Mutex<HashMap<String, Arc<Vec<Channel>>>>,
    next: AtomicUsize,
}

impl ChannelPool {
    pub(crate) fn new(opts: ClientOptions) -> Self {
        Self {
            opts,
            pools: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(0),
        }
    }

    /// A channel to `addr`, dialled lazily: connection failures surface on the
    /// first call (as retryable `Unavailable`), never while holding the lock.
    pub(crate) fn get(&self, addr: &str) -> Result<Channel, ClientError> {
        let pool = {
            let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
            match pools.get(addr) {
                Some(pool) => pool.clone(),
                None => {
                    let n = self.opts.connections_per_store.max(1);
                    let endpoint = endpoint(addr, &self.opts)?;
                    let pool =
                        Arc::new((0..n).map(|_| endpoint.connect_lazy()).collect::<Vec<_>>());
                    pools.insert(addr.to_owned(), pool.clone());
                    pool
                }
            }
        };
        let i = self.next.fetch_add(1, Ordering::Relaxed) % pool.len();
        Ok(pool[i].clone())
    }

    /// Forgets the channels to `addr`; the next `get` dials again.
    pub(crate) fn invalidate(&self, addr: &str) {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if pools.remove(addr).is_some() {
            tracing::debug!(addr, "dropped cached channels after a transport error");
        }
    }
}

/// Turns `host:port` (as PD and TiKV advertise) or a URL into an endpoint,
/// over TLS when `[security]` turned it on. The one place tonic channels to
/// PD and TiKV are configured.
pub(crate) fn endpoint(addr: &str, opts: &ClientOptions) -> Result<Endpoint, ClientError> {
    let tls = opts.tls.is_some();
    let url = to_url(addr, tls);
    if !tls && url.starts_with("https://") {
        return Err(ClientError::TlsConfig {
            reason: format!("{addr} is an https:// address but [security] ca-path is not set"),
        });
    }
    let mut endpoint = Endpoint::from_shared(url.clone()).map_err(|e| ClientError::BadAddress {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })?;
    if let Some(tls) = &opts.tls {
        endpoint = endpoint
            .tls_config(tls.config()?)
            .map_err(|e| ClientError::TlsConfig {
                reason: format!("{url}: {}", crate::tls::error_chain(&e)),
            })?;
    }
    Ok(endpoint
        .connect_timeout(opts.connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true))
}

/// `host:port` → `http://host:port`, or `https://` with TLS on; with TLS
/// on an `http://` URL becomes `https://` too (as PD's client does, since
/// PD members may advertise either); other URLs pass through.
pub(crate) fn to_url(addr: &str, tls: bool) -> String {
    let addr = addr.trim();
    let scheme = if tls { "https" } else { "http" };
    match addr.split_once("://") {
        Some(("http", rest)) if tls => format!("https://{rest}"),
        Some(_) => addr.to_owned(),
        None => format!("{scheme}://{addr}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_urls() {
        assert_eq!(to_url("127.0.0.1:2379", false), "http://127.0.0.1:2379");
        assert_eq!(to_url(" http://pd:2379 ", false), "http://pd:2379");
        assert_eq!(to_url("127.0.0.1:2379", true), "https://127.0.0.1:2379");
        assert_eq!(to_url("http://pd:2379", true), "https://pd:2379");
        assert_eq!(to_url("https://pd:2379", true), "https://pd:2379");
    }

    #[test]
    fn https_without_tls_is_refused() {
        let err = endpoint("https://pd:2379", &ClientOptions::default()).expect_err("no TLS");
        assert!(err.to_string().contains("ca-path"), "{err}");
    }

    #[tokio::test]
    async fn caches_and_invalidates_channels() {
        let pool = ChannelPool::new(ClientOptions::default());
        pool.get("127.0.0.1:1").expect("lazy channel");
        assert_eq!(pool.pools.lock().expect("lock").len(), 1);
        pool.get("127.0.0.1:1").expect("cached");
        assert_eq!(pool.pools.lock().expect("lock").len(), 1);
        pool.invalidate("127.0.0.1:1");
        assert!(pool.pools.lock().expect("lock").is_empty());
        assert!(matches!(
            pool.get("http://bad host:1"),
            Err(ClientError::BadAddress { .. })
        ));
    }
}
