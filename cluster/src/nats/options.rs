//! [`NatsOptions`]: where the JetStream work queue lives and how patient calls are.

use std::time::Duration;

use crate::tls::ClusterTls;

/// How to reach and shape the JetStream work queue. Build with
/// [`NatsOptions::new`] and override fields; every default is stated on its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// Server URLs (`nats://host:port`), tried in turn on connect and reconnect.
    pub urls: Vec<String>,
    /// The work-queue stream. Letters, digits, `-` and `_` only (JetStream
    /// forbids `.`, `*`, `>` and whitespace in stream names).
    pub stream: String,
    /// The one subject the stream holds. Default `squall.tasks.<stream>`.
    pub subject: String,
    /// The durable pull consumer every worker shares. Default `squall-workers`.
    pub durable: String,
    /// A delivery not acked or heartbeated within this is delivered again.
    /// Default 30 s.
    pub ack_wait: Duration,
    /// Deliveries of one task before the server gives up on it; see
    /// [`super::NatsTaskQueue::is_last_delivery`]. Default 5.
    pub max_deliver: u32,
    /// How long the server remembers a task id for de-duplication. Default
    /// 20 min: longer than a coordinator takes to restart and republish; see
    /// the module doc for what the window does and does not promise.
    pub duplicate_window: Duration,
    /// Limit for establishing the connection to one server. Default 5 s.
    pub connect_timeout: Duration,
    /// Limit for one request (publish ack, double ack, stream/consumer admin).
    /// Default 5 s.
    pub request_timeout: Duration,
    /// How long one call keeps retrying transient failures (connection lost,
    /// timeouts) before it returns `QueueError::Unavailable`. Default 60 s.
    pub retry_for: Duration,
    /// TLS files ([`ClusterTls`]): used when a URL says `tls://` or the
    /// server requires TLS. Default: none (the system's roots).
    pub tls: ClusterTls,
}

impl NatsOptions {
    pub fn new(url: impl Into<String>, stream: impl Into<String>) -> Self {
        let stream = stream.into();
        Self {
            urls: vec![url.into()],
            subject: format!("squall.tasks.{stream}"),
            stream,
            durable: "squall-workers".to_string(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            duplicate_window: Duration::from_secs(20 * 60),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            retry_for: Duration::from_secs(60),
            tls: ClusterTls::default(),
        }
    }

    /// The server list as one string, for error messages and logs.
    pub(super) fn servers(&self) -> String {
        self.urls.join(",")
    }

    /// Rejects settings the server would refuse or that make no sense, naming
    /// the field.
    pub(super) fn validate(&self) -> Result<(), String> {
        let bad_name = |s: &str| {
            s.is_empty()
                || s.chars()
                    .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        };
        if self.urls.is_empty() {
            return Err("nats urls: at least one server URL is needed".into());
        }
        if bad_name(&self.stream) {
            return Err(format!(
                "nats stream {:?}: use letters, digits, '-' and '_' only",
                self.stream
            ));
        }
        if bad_name(&self.durable) {
            return Err(format!(
                "nats durable {:?}: use letters, digits, '-' and '_' only",
                self.durable
            ));
        }
        if self.subject.is_empty() || self.subject.contains(['*', '>', ' ']) {
            return Err(format!(
                "nats subject {:?}: must be one literal subject",
                self.subject
            ));
        }
        if self.max_deliver == 0 {
            return Err("nats max_deliver: must be at least 1".into());
        }
        if self.ack_wait.is_zero() || self.duplicate_window.is_zero() {
            return Err("nats ack_wait and duplicate_window: must be above zero".into());
        }
        Ok(())
    }
}
