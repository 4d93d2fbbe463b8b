//! [`NatsArtefactOptions`]: where the artefact bucket lives and how patient calls are.

use std::time::Duration;

use crate::tls::ClusterTls;

/// How to reach the artefact bucket. Build with [`NatsArtefactOptions::new`]
/// and override fields; every default is stated on its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsArtefactOptions {
    /// Server URLs (`nats://host:port`), tried in turn on connect and reconnect.
    pub urls: Vec<String>,
    /// The object-store bucket (JetStream stream `OBJ_<bucket>`, file
    /// storage). Letters, digits, `-` and `_` only.
    pub bucket: String,
    /// Limit for establishing the connection to one server. Default 5 s.
    pub connect_timeout: Duration,
    /// Limit for one request (an object's metadata, a publish ack, a purge).
    /// Default 5 s.
    pub request_timeout: Duration,
    /// Slowest transfer a put or get may make before its attempt is given up:
    /// an attempt moving `n` bytes may take `3 × request_timeout + n / rate`.
    /// Default 1 MiB/s.
    pub min_bytes_per_sec: u64,
    /// How long one call keeps retrying transient failures (connection lost,
    /// timeouts) before it returns `ArtefactError::Unavailable`. Default 60 s.
    pub retry_for: Duration,
    /// TLS files ([`ClusterTls`]), as for the task queue. Default: none.
    pub tls: ClusterTls,
}

impl NatsArtefactOptions {
    pub fn new(url: impl Into<String>, bucket: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            bucket: bucket.into(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            min_bytes_per_sec: 1 << 20,
            retry_for: Duration::from_secs(60),
            tls: ClusterTls::default(),
        }
    }

    /// The server list as one string, for error messages and logs.
    pub(super) fn servers(&self) -> String {
        self.urls.join(",")
    }

    /// Deadline of one attempt that moves `bytes`.
    pub(super) fn transfer_limit(&self, bytes: u64) -> Duration {
        let rate = self.min_bytes_per_sec.max(1) as f64;
        self.request_timeout * 3 + Duration::from_secs_f64(bytes as f64 / rate)
    }

    /// Rejects settings the server would refuse, naming the field.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.urls.is_empty() {
            return Err("nats urls: at least one server URL is needed".into());
        }
        let bad = self.bucket.is_empty()
            || self
                .bucket
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        if bad {
            return Err(format!(
                "artefact bucket {:?}: use letters, digits, '-' and '_' only",
                self.bucket
            ));
        }
        if self.request_timeout.is_zero() || self.min_bytes_per_sec == 0 {
            return Err("request_timeout and min_bytes_per_sec: must be above zero".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_limit_grows_with_the_bytes() {
        let opts = NatsArtefactOptions::new("nats://x", "b");
        assert_eq!(opts.transfer_limit(0), Duration::from_secs(15));
        assert_eq!(opts.transfer_limit(10 << 20), Duration::from_secs(25));
        assert!(opts.validate().is_ok());
        let mut bad = opts.clone();
        bad.bucket = "a.b".into();
        assert!(bad.validate().expect_err("a dot").contains("a.b"));
    }
}
