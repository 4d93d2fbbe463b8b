//! [`NatsOpenError`]: why the JetStream work queue could not be opened, in
//! words an operator can act on.

/// Opening the queue failed. Once open, calls fail with
/// [`squall_common::queue::QueueError`].
#[derive(Debug, thiserror::Error)]
pub enum NatsOpenError {
    #[error("invalid NATS queue options: {0}")]
    Options(String),
    #[error(
        "cannot connect to NATS at {servers}: {reason}. Check that nats-server is running there \
         with JetStream enabled (`nats-server -js -sd <dir>`); scripts/setup.sh installs it"
    )]
    Unreachable { servers: String, reason: String },
    #[error(
        "TLS to NATS at {servers} failed: {reason}. Check --tls-ca (the CA that signed the \
         server's certificate), --tls-cert/--tls-key when the server wants a client certificate, \
         and that the certificate names the host in the URL"
    )]
    Tls { servers: String, reason: String },
    #[error(
        "NATS at {servers} answers but JetStream does not: {reason}. Start nats-server with `-js` \
         (and a store dir, `-sd <dir>`)"
    )]
    NoJetStream { servers: String, reason: String },
    #[error("JetStream {what} at {servers} already exists with other settings: {reason}")]
    Mismatch {
        what: String,
        servers: String,
        reason: String,
    },
    #[error("setting up JetStream {what} at {servers} failed: {reason}")]
    Setup {
        what: String,
        servers: String,
        reason: String,
    },
}

impl NatsOpenError {
    /// Whether opening again may succeed without anyone changing anything.
    /// Exhaustive on purpose.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Setup { .. } => true,
            Self::Options(_)
            | Self::NoJetStream { .. }
            | Self::Mismatch { .. }
            | Self::Tls { .. } => false,
        }
    }
}
