//! One NATS connection as the queue and the artefact store both open it:
//! reconnecting forever with a short, capped delay, every connection event
//! logged, the first connect bounded in time and an unreachable server named.

use std::time::Duration;

use async_nats::jetstream::{self, context::ContextBuilder};

use crate::tls::ClusterTls;
use crate::NatsOpenError;
use squall_common::error_chain::error_chain;

/// Where and how long to wait.
pub(crate) struct Connect<'a> {
    /// Client name the server shows (`squall`, `squall-artefacts`).
    pub name: &'static str,
    pub urls: &'a [String],
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Files for TLS (`tls://` URLs, or a server that requires TLS).
    pub tls: &'a ClusterTls,
}

/// Gaps between reconnect attempts: quick at first (a restarting server is
/// back within a second or two), then at most every 2 s, forever (calls give
/// up on their own budget, not the connection).
fn reconnect_delay(attempts: usize) -> Duration {
    let exp = u32::try_from(attempts.min(16)).unwrap_or(16);
    Duration::from_millis(50u64.saturating_mul(2u64.saturating_pow(exp)))
        .min(Duration::from_secs(2))
}

pub(crate) async fn connect(c: Connect<'_>) -> Result<async_nats::Client, NatsOpenError> {
    let servers = c.urls.join(",");
    let unreachable = |reason: String| NatsOpenError::Unreachable {
        servers: servers.clone(),
        reason,
    };
    let (log_servers, name) = (servers.clone(), c.name);
    let tls_failed = |reason: String| NatsOpenError::Tls {
        servers: servers.clone(),
        reason,
    };
    let options = c
        .tls
        .nats_options(c.urls, async_nats::ConnectOptions::new())
        .map_err(|e| tls_failed(e.to_string()))?;
    let connecting = options
        .name(c.name)
        .connection_timeout(c.connect_timeout)
        .request_timeout(Some(c.request_timeout))
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(move |event| {
            let servers = log_servers.clone();
            async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!(%servers, client = name, "lost the connection to nats, reconnecting")
                    }
                    async_nats::Event::Connected => {
                        tracing::info!(%servers, client = name, "connected to nats")
                    }
                    other => tracing::info!(%servers, client = name, event = %other, "nats connection event"),
                }
            }
        })
        .connect(c.urls);
    // The client tries each server once with `connect_timeout`; the outer
    // limit only guards against a handshake that never finishes.
    let limit =
        c.connect_timeout * u32::try_from(c.urls.len()).unwrap_or(u32::MAX) + c.request_timeout;
    match tokio::time::timeout(limit, connecting).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => {
            let reason = error_chain(&e);
            let lower = reason.to_ascii_lowercase();
            if e.kind() == async_nats::ConnectErrorKind::Tls
                || lower.contains("certificate")
                || lower.contains("tls")
            {
                Err(tls_failed(reason))
            } else {
                Err(unreachable(reason))
            }
        }
        Err(_) => Err(unreachable(format!("no connection within {limit:?}"))),
    }
}

/// The JetStream context, its requests and publish acks bounded alike.
pub(crate) fn context(client: async_nats::Client, request_timeout: Duration) -> jetstream::Context {
    ContextBuilder::new()
        .timeout(request_timeout)
        .ack_timeout(request_timeout)
        .build(client)
}
