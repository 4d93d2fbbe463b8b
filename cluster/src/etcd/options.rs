//! [`EtcdOptions`]: where etcd is and how patiently to talk to it.

use std::time::Duration;

use squall_common::checkpoint::CheckpointError;

use crate::tls::ClusterTls;

/// Requests a single `list` page may ask for at most (etcd answers one range
/// in one gRPC message, capped at 2 GiB; a checkpoint record is ~1 KiB).
const MAX_LIST_PAGE: usize = 10_000;

/// How [`super::EtcdCheckpointStore`] reaches etcd. Every field's default is
/// in its doc and in [`Default`].
#[derive(Debug, Clone, PartialEq)]
pub struct EtcdOptions {
    /// Client URLs of the etcd members, `http://host:port` or `host:port`.
    /// Calls are balanced over them. Default `["http://127.0.0.1:2379"]`.
    pub endpoints: Vec<String>,
    /// Prepended to every key, so several Squall clusters (or tests) can
    /// share one etcd. The trait's keys already start with `squall/jobs/`, so
    /// the default adds nothing and `etcdctl get --prefix squall/` shows the
    /// records as Squall names them. Default `""`.
    pub prefix: String,
    /// Longest wait to establish a connection, and for the probe `connect`
    /// makes. Default 5 s.
    pub connect_timeout: Duration,
    /// Longest wait for one attempt of one call. Default 5 s.
    pub request_timeout: Duration,
    /// Attempts after the first one on a transient failure (unreachable,
    /// timeout, leader change). Default 6: with the default waits a call
    /// gives up after about 5 s of an etcd that refuses connections.
    pub max_retries: u32,
    /// Wait after the first failure; doubles per attempt, ±30 % jitter.
    /// Default 100 ms.
    pub retry_initial: Duration,
    /// Cap of one wait between attempts. Default 2 s.
    pub retry_max_interval: Duration,
    /// Keys fetched per request by `list`, so a job with 100k records never
    /// makes one huge response. Default 1000.
    pub list_page_size: usize,
    /// TLS files for `https://` endpoints ([`ClusterTls`]). Default: none.
    pub tls: ClusterTls,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            endpoints: vec!["http://127.0.0.1:2379".to_string()],
            prefix: String::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            max_retries: 6,
            retry_initial: Duration::from_millis(100),
            retry_max_interval: Duration::from_secs(2),
            list_page_size: 1000,
            tls: ClusterTls::default(),
        }
    }
}

impl EtcdOptions {
    /// Options for these endpoints, everything else at its default.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Rejects options that cannot work (never repairs them); the message
    /// names the field.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        let problem = if self.endpoints.is_empty() {
            "endpoints: at least one etcd address is needed".to_string()
        } else if let Some(bad) = self.endpoints.iter().find(|e| e.trim().is_empty()) {
            format!("endpoints: {bad:?} is not an address")
        } else if self.prefix.contains('\0') {
            "prefix: must not contain a NUL byte".to_string()
        } else if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            "connect_timeout and request_timeout must be greater than zero".to_string()
        } else if self.retry_initial.is_zero() || self.retry_max_interval < self.retry_initial {
            "retry_initial must be > 0 and at most retry_max_interval".to_string()
        } else if self.list_page_size == 0 || self.list_page_size > MAX_LIST_PAGE {
            format!("list_page_size: must be 1..={MAX_LIST_PAGE}")
        } else {
            return Ok(());
        };
        Err(CheckpointError::Rejected {
            what: "etcd options".to_string(),
            reason: problem,
        })
    }

    /// The endpoints as one string for messages: `a, b`.
    pub(super) fn endpoint_list(&self) -> String {
        self.endpoints.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_fields_are_named() {
        assert!(EtcdOptions::default().validate().is_ok());
        type Spoil = fn(&mut EtcdOptions);
        let cases: [(Spoil, &str); 4] = [
            (|o| o.endpoints.clear(), "endpoints"),
            (|o| o.prefix = "a\0".into(), "prefix"),
            (|o| o.request_timeout = Duration::ZERO, "request_timeout"),
            (|o| o.list_page_size = 0, "list_page_size"),
        ];
        for (spoil, field) in cases {
            let mut options = EtcdOptions::default();
            spoil(&mut options);
            let err = options.validate().err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|m| m.contains(field)),
                "{field}: {err:?}"
            );
        }
    }
}
