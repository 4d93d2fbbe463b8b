//! One connection to the target's MySQL-protocol endpoint, and the retry
//! discipline every SQL step goes through: each attempt (connect included)
//! has a deadline (`squall.rpc-timeout-secs`), failures that a retry can
//! fix (connection lost, timeout, TiDB's transient errors) are retried with
//! backoff up to `squall.max-retries` attempts and logged; the rest fail at
//! once.

use std::time::Duration;

use futures::future::BoxFuture;
use mysql_async::{Conn, Opts, OptsBuilder};
use squall_client::RetryPolicy;
use squall_common::TaskConfig;

use super::error::TidbError;

/// Server errors worth another attempt: lock and deadlock timeouts, and
/// TiDB's "schema changed / information schema is changing" family, which
/// a concurrent DDL causes and a retry clears.
const TRANSIENT_SERVER_CODES: &[u16] = &[1205, 1213, 8027, 8028, 8022, 9007, 8002];

/// What one SQL call returns: `mysql_async`'s methods' boxed futures. A
/// plain closure returning one (not an async closure, whose future rustc
/// cannot prove `Send` across the runner's awaits).
pub type SqlFuture<'c, T> = BoxFuture<'c, Result<T, mysql_async::Error>>;

pub struct Session {
    opts: Opts,
    addr: String,
    timeout: Duration,
    policy: RetryPolicy,
    conn: Option<Conn>,
}

/// One failed attempt, and whether it happened while connecting.
struct Failure {
    connecting: bool,
    retryable: bool,
    reason: String,
}

/// The configured password, else `SQUALL_TIDB_PASSWORD`: a cluster keeps
/// the password out of etcd, so a coordinator that takes a job over after a
/// failover has it only from its own environment.
fn password(configured: &str) -> String {
    match configured {
        "" => std::env::var("SQUALL_TIDB_PASSWORD").unwrap_or_default(),
        p => p.to_string(),
    }
}

impl Session {
    /// The session `[tidb]` describes; `None` without `tidb.host`.
    pub fn from_config(cfg: &TaskConfig) -> Option<Self> {
        let t = &cfg.tidb;
        if t.host.trim().is_empty() {
            return None;
        }
        let opts = OptsBuilder::default()
            .ip_or_hostname(t.host.trim())
            .tcp_port(t.port)
            .user(Some(t.user.clone()))
            .pass(Some(password(&t.password.0)))
            // TCP to the configured address, never a local socket found by
            // asking the server (`@@socket`): the address is what was asked.
            .prefer_socket(false)
            // Statements are one-offs: no prepared statement to keep.
            .stmt_cache_size(0);
        Some(Self {
            opts: opts.into(),
            addr: format!("{}:{}", t.host.trim(), t.port),
            timeout: Duration::from_secs(cfg.squall.rpc_timeout_secs.max(1)),
            policy: RetryPolicy {
                max_attempts: cfg.squall.max_retries.max(1),
                ..RetryPolicy::default()
            },
            conn: None,
        })
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Runs `op` on a live connection (made or remade as needed) until it
    /// succeeds, fails for good, or the attempts are used up. `what` names
    /// the step in logs and errors.
    pub async fn run<T, F>(&mut self, what: &str, mut op: F) -> Result<T, TidbError>
    where
        F: for<'c> FnMut(&'c mut Conn) -> SqlFuture<'c, T>,
    {
        let mut backoff = self.policy.start();
        loop {
            let failure = match self.attempt(&mut op).await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            let delay = match failure.retryable {
                true => backoff.next_delay(None),
                false => None,
            };
            let Some(delay) = delay else {
                let attempts = backoff.failures().max(1);
                tracing::warn!(addr = %self.addr, what, attempts, error = %failure.reason, "SQL step failed");
                return Err(match failure.connecting {
                    true => TidbError::Unreachable {
                        addr: self.addr.clone(),
                        attempts,
                        reason: failure.reason,
                    },
                    false => TidbError::Statement {
                        addr: self.addr.clone(),
                        what: what.to_string(),
                        attempts,
                        reason: failure.reason,
                    },
                });
            };
            tracing::warn!(
                addr = %self.addr,
                what,
                attempt = backoff.failures(),
                delay_ms = delay.as_millis() as u64,
                error = %failure.reason,
                "SQL step failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<T, F>(&mut self, op: &mut F) -> Result<T, Failure>
    where
        F: for<'c> FnMut(&'c mut Conn) -> SqlFuture<'c, T>,
    {
        let timeout = self.timeout;
        if self.conn.is_none() {
            let made = tokio::time::timeout(timeout, Conn::new(self.opts.clone())).await;
            let failure = match made {
                Ok(Ok(conn)) => {
                    tracing::debug!(addr = %self.addr, "connected to the SQL server");
                    self.conn = Some(conn);
                    None
                }
                Ok(Err(e)) => Some(Failure {
                    connecting: true,
                    retryable: retryable(&e),
                    reason: e.to_string(),
                }),
                Err(_) => Some(Failure {
                    connecting: true,
                    retryable: true,
                    reason: format!("no answer within {}s", timeout.as_secs()),
                }),
            };
            if let Some(f) = failure {
                return Err(f);
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(Failure {
                connecting: true,
                retryable: true,
                reason: "not connected".into(),
            });
        };
        let failure = match tokio::time::timeout(timeout, op(conn)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => {
                if e.is_fatal() {
                    self.conn = None;
                }
                Failure {
                    connecting: false,
                    retryable: retryable(&e),
                    reason: e.to_string(),
                }
            }
            Err(_) => {
                // The statement may still run; a new connection starts clean.
                self.conn = None;
                Failure {
                    connecting: false,
                    retryable: true,
                    reason: format!("no answer within {}s", timeout.as_secs()),
                }
            }
        };
        Err(failure)
    }

    /// Closes the connection politely (best effort).
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(self.timeout, conn.disconnect()).await;
        }
    }
}

fn retryable(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(_) => true,
        mysql_async::Error::Server(s) => TRANSIENT_SERVER_CODES.contains(&s.code),
        mysql_async::Error::Other(_) | mysql_async::Error::Url(_) => false,
    }
}
