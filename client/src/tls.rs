//! TLS to PD and TiKV, set up as TiDB Lightning's `[security]` section does:
//! on when `ca-path` is set (the CA that signed the cluster's certificates);
//! `cert-path` + `key-path` add the client certificate a cluster with
//! `security.cert-allowed-cn` / mutual TLS asks for. The files are read once,
//! at the first connection, and a bad file is an error naming it.
//!
//! With TLS on every address is dialled as `https://` (PD's own client
//! rewrites `http://` member URLs the same way), so a PD that advertises
//! `http://` URLs behind a TLS proxy still works; with TLS off an `https://`
//! address is refused with an error saying which key to set.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::error::ClientError;

/// The `[security]` files, and the TLS config made of them once read.
#[derive(Clone)]
pub struct ClientTls {
    ca_path: PathBuf,
    identity: Option<(PathBuf, PathBuf)>,
    loaded: Arc<OnceLock<Result<ClientTlsConfig, String>>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_path", &self.ca_path)
            .field("identity", &self.identity)
            .finish()
    }
}

impl ClientTls {
    /// TLS trusting the CA certificate(s) in `ca_path` (PEM).
    pub fn new(ca_path: impl Into<PathBuf>) -> Self {
        Self {
            ca_path: ca_path.into(),
            identity: None,
            loaded: Arc::default(),
        }
    }

    /// Also presents the certificate chain in `cert_path` with the private
    /// key in `key_path` (both PEM) when the server asks for one.
    pub fn with_identity(
        self,
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            identity: Some((cert_path.into(), key_path.into())),
            loaded: Arc::default(),
            ..self
        }
    }

    /// From `[security]`'s three paths; `None` when `ca-path` is empty (TLS
    /// off, as in Lightning). A certificate without its key (or the
    /// reverse) is refused by the config's validation before this.
    pub fn from_paths(ca: &str, cert: &str, key: &str) -> Option<Self> {
        if ca.trim().is_empty() {
            return None;
        }
        let tls = Self::new(ca.trim());
        Some(match (cert.trim(), key.trim()) {
            ("", _) | (_, "") => tls,
            (cert, key) => tls.with_identity(cert, key),
        })
    }

    /// The CA file, and the client certificate and key files if set (for
    /// the PD HTTP client, `pd/schedulers.rs`, which is not tonic).
    pub(crate) fn paths(&self) -> (&Path, Option<(&Path, &Path)>) {
        let identity = self
            .identity
            .as_ref()
            .map(|(c, k)| (c.as_path(), k.as_path()));
        (&self.ca_path, identity)
    }

    /// The tonic config, reading the files on first use.
    pub(crate) fn config(&self) -> Result<ClientTlsConfig, ClientError> {
        self.loaded
            .get_or_init(|| self.load())
            .clone()
            .map_err(|reason| ClientError::TlsConfig { reason })
    }

    fn load(&self) -> Result<ClientTlsConfig, String> {
        let ca = read_pem(&self.ca_path, "security.ca-path")?;
        if CertificateDer::pem_slice_iter(&ca).next().is_none() {
            return Err(format!(
                "security.ca-path {}: no PEM certificate in it",
                self.ca_path.display()
            ));
        }
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some((cert_path, key_path)) = &self.identity {
            let cert = read_pem(cert_path, "security.cert-path")?;
            if CertificateDer::pem_slice_iter(&cert).next().is_none() {
                return Err(format!(
                    "security.cert-path {}: no PEM certificate in it",
                    cert_path.display()
                ));
            }
            let key = read_pem(key_path, "security.key-path")?;
            if PrivateKeyDer::from_pem_slice(&key).is_err() {
                return Err(format!(
                    "security.key-path {}: no PEM private key in it",
                    key_path.display()
                ));
            }
            config = config.identity(Identity::from_pem(cert, key));
        }
        Ok(config)
    }
}

fn read_pem(path: &Path, key: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{key} {}: {e}", path.display()))
}

/// A failed connection as the caller should see it: a TLS handshake that
/// failed (a certificate not trusted, none presented) is permanent and says
/// which keys to check; anything else is a transient `Unavailable` carrying
/// the whole cause chain (tonic's own message is only "transport error").
pub(crate) fn connect_error(
    method: &'static str,
    url: &str,
    err: &(dyn std::error::Error + 'static),
) -> ClientError {
    let mut tls = None;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(t) = as_rustls(e) {
            tls = Some(t.to_string());
        }
        cause = e.source();
    }
    match tls {
        Some(tls) => ClientError::TlsHandshake {
            addr: url.to_owned(),
            reason: tls,
        },
        None => ClientError::rpc(method, url, tonic::Status::unavailable(error_chain(err))),
    }
}

/// A plain HTTP/2 client talking to a TLS-only server reads the server's
/// TLS alert as a broken HTTP/2 frame: an `Internal` "h2 protocol error"
/// that would otherwise read as a server bug. With TLS off, say what is
/// likely (and do not retry it: it will not pass).
pub(crate) fn plain_to_tls_hint(err: ClientError, url: &str, tls: bool) -> ClientError {
    match &err {
        ClientError::Rpc { status, .. }
            if !tls
                && status.code() == tonic::Code::Internal
                && status.message().contains("h2 protocol error") =>
        {
            ClientError::TlsConfig {
                reason: format!(
                    "{url} does not answer plain gRPC ({}): if the cluster serves TLS, set [security] ca-path",
                    status.message()
                ),
            }
        }
        _ => err,
    }
}

pub(crate) use squall_common::error_chain::error_chain;

/// rustls reports through `io::Error`, whose `source()` skips the wrapped
/// error itself: look inside.
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_turn_tls_on_only_with_a_ca() {
        assert!(ClientTls::from_paths("", "a.pem", "a.key").is_none());
        let tls = ClientTls::from_paths("/ca.pem", "", "").expect("on");
        assert!(tls.identity.is_none());
        let tls = ClientTls::from_paths("/ca.pem", "/c.pem", "/c.key").expect("on");
        assert_eq!(
            tls.identity,
            Some((PathBuf::from("/c.pem"), PathBuf::from("/c.key")))
        );
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = ClientTls::new(dir.path().join("nope.pem"));
        let err = missing.config().expect_err("missing file").to_string();
        assert!(
            err.contains("security.ca-path") && err.contains("nope.pem"),
            "{err}"
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let err = ClientTls::new(&junk)
            .config()
            .expect_err("junk")
            .to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn rustls_errors_inside_io_errors_are_tls_failures() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let err = connect_error("connect", "https://pd:2379", &io);
        assert!(matches!(err, ClientError::TlsHandshake { .. }), "{err}");
        assert!(!err.retryable());
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = connect_error("connect", "https://pd:2379", &refused);
        assert!(err.retryable(), "{err}");
    }

    #[test]
    fn a_tls_alert_read_as_http2_points_at_ca_path() {
        let garbled = || {
            ClientError::rpc(
                "GetMembers",
                "http://pd:2379",
                tonic::Status::internal("h2 protocol error: http2 error"),
            )
        };
        let err = plain_to_tls_hint(garbled(), "http://pd:2379", false);
        assert!(matches!(err, ClientError::TlsConfig { .. }), "{err}");
        assert!(err.to_string().contains("[security] ca-path"), "{err}");
        // With TLS on it is what it is.
        let err = plain_to_tls_hint(garbled(), "https://pd:2379", true);
        assert!(matches!(err, ClientError::Rpc { .. }), "{err}");
    }
}
