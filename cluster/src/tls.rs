//! TLS to Squall's own servers (etcd, NATS, the coordinator's API), from
//! the `--tls-ca`, `--tls-cert` and `--tls-key` flags every cluster process
//! takes. The URL says whether a connection is TLS (`https://` for etcd and
//! the API, `tls://` for NATS, or a NATS server that requires it); these
//! files say whom to trust and who we are:
//!
//! * `ca`: the CA (PEM) that signed the servers' certificates; without it
//!   the system's trusted roots are used.
//! * `cert` + `key`: this process's certificate (PEM): presented to etcd
//!   and NATS when they ask for a client certificate (mutual TLS), and the
//!   certificate the coordinator serves its API with.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS setting that cannot work; the message names the flag and file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(pub String);

/// The three files; all optional. `Default` is "no files".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl ClusterTls {
    /// Whether any file is given.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// A certificate needs its key and the reverse.
    pub fn validate(&self) -> Result<(), TlsError> {
        match (&self.cert, &self.key) {
            (Some(_), None) => Err(TlsError(
                "--tls-cert is given without --tls-key (its private key)".into(),
            )),
            (None, Some(_)) => Err(TlsError(
                "--tls-key is given without --tls-cert (its certificate)".into(),
            )),
            _ => Ok(()),
        }
    }

    /// etcd's connect options: TLS when the endpoints are `https://` (or
    /// bare `host:port` with a TLS file given). Mixing `http://` and
    /// `https://` endpoints is refused, as is a TLS file with only
    /// `http://` endpoints (a plain connection would ignore it silently).
    pub fn etcd_options(
        &self,
        endpoints: &[String],
    ) -> Result<etcd_client::ConnectOptions, TlsError> {
        self.validate()?;
        let scheme = |e: &String| e.trim().split_once("://").map(|(s, _)| s.to_string());
        let https = endpoints
            .iter()
            .filter(|e| scheme(e).as_deref() == Some("https"))
            .count();
        let http = endpoints
            .iter()
            .filter(|e| scheme(e).as_deref() == Some("http"))
            .count();
        let list = endpoints.join(",");
        if https > 0 && http > 0 {
            return Err(TlsError(format!(
                "etcd endpoints {list}: mix http:// and https://; use one scheme for every member"
            )));
        }
        let options = etcd_client::ConnectOptions::new();
        if https == 0 && (http > 0 || !self.is_set()) {
            if http > 0 && self.is_set() {
                return Err(TlsError(format!(
                    "--tls-* files are given but the etcd endpoints {list} are http://: write https:// to reach etcd over TLS"
                )));
            }
            return Ok(options);
        }
        let mut tls = etcd_client::TlsOptions::new();
        tls = match &self.ca {
            Some(ca) => tls.ca_certificate(etcd_client::Certificate::from_pem(read_certs(
                ca, "--tls-ca",
            )?)),
            None => tls.with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            let (cert, key) = (read_certs(cert, "--tls-cert")?, read_key(key)?);
            tls = tls.identity(etcd_client::Identity::from_pem(cert, key));
        }
        Ok(options.with_tls(tls))
    }

    /// NATS connect options with these files: the CA added to the roots,
    /// the client certificate presented when the server asks, and TLS
    /// required when a URL says `tls://`.
    pub fn nats_options(
        &self,
        urls: &[String],
        options: async_nats::ConnectOptions,
    ) -> Result<async_nats::ConnectOptions, TlsError> {
        self.validate()?;
        let mut options = options;
        if let Some(ca) = &self.ca {
            read_certs(ca, "--tls-ca")?;
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            read_certs(cert, "--tls-cert")?;
            read_key(key)?;
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if urls.iter().any(|u| u.trim().starts_with("tls://")) {
            options = options.require_tls(true);
        }
        Ok(options)
    }

    /// A rustls client config (the API client): roots from the CA file, or
    /// the system's; the client certificate when given.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        self.validate()?;
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(ca) => {
                for cert in parse_certs(&read_certs(ca, "--tls-ca")?) {
                    roots
                        .add(cert)
                        .map_err(|e| TlsError(format!("--tls-ca {}: {e}", ca.display())))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return Err(TlsError(
                        "no trusted CA certificates on this system: give --tls-ca".into(),
                    ));
                }
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_root_certificates(roots);
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = parse_certs(&read_certs(cert, "--tls-cert")?);
                builder
                    .with_client_auth_cert(chain, parse_key(key)?)
                    .map_err(|e| TlsError(format!("--tls-cert/--tls-key: {e}")))?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// A rustls server config (the coordinator's API): serves `cert` with
    /// `key`; `None` when no certificate is given (plain HTTP).
    pub fn server_config(&self) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
        self.validate()?;
        let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
            return Ok(None);
        };
        let chain = parse_certs(&read_certs(cert, "--tls-cert")?);
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, parse_key(key)?)
            .map_err(|e| TlsError(format!("--tls-cert/--tls-key: {e}")))?;
        // The API speaks HTTP/1.1 (the CLI's client and browsers alike).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Arc::new(config)))
    }
}

/// The rustls error somewhere in `err`'s causes: a handshake that failed
/// (an untrusted certificate, none presented). rustls reports through
/// `io::Error`, whose `source()` skips the wrapped error, so look inside.
pub fn handshake_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>());
        if let Some(tls) = e.downcast_ref::<rustls::Error>().or(inner) {
            return Some(tls.to_string());
        }
        cause = e.source();
    }
    None
}

/// `err`'s causes as `: a: b` (empty without any), for messages whose head
/// is only "transport error".
pub use squall_common::error_chain::error_causes as causes;

/// ring, named rather than taken from the process default, so a crate that
/// also enables aws-lc-rs cannot make the choice ambiguous (a panic).
/// rustls 0.23.48 deprecates it for lacking post-quantum key exchange; the
/// alternative, aws-lc-rs, needs cmake and a C toolchain this build avoids.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The file's bytes, which must hold at least one PEM certificate.
fn read_certs(path: &Path, flag: &str) -> Result<Vec<u8>, TlsError> {
    let bytes =
        std::fs::read(path).map_err(|e| TlsError(format!("{flag} {}: {e}", path.display())))?;
    if parse_certs(&bytes).is_empty() {
        return Err(TlsError(format!(
            "{flag} {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(bytes)
}

fn parse_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

fn read_key(path: &Path) -> Result<Vec<u8>, TlsError> {
    let bytes =
        std::fs::read(path).map_err(|e| TlsError(format!("--tls-key {}: {e}", path.display())))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        TlsError(format!(
            "--tls-key {}: no PEM private key ({e})",
            path.display()
        ))
    })?;
    Ok(bytes)
}

fn parse_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read_key(path)?)
        .map_err(|e| TlsError(format!("--tls-key {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn etcd_schemes_decide_and_mistakes_are_named() {
        let none = ClusterTls::default();
        assert!(none.etcd_options(&ep(&["http://a:1"])).is_ok());
        assert!(none.etcd_options(&ep(&["a:1"])).is_ok());
        let mixed = none
            .etcd_options(&ep(&["http://a:1", "https://b:1"]))
            .expect_err("mixed");
        assert!(mixed.0.contains("mix"), "{mixed}");
        let with_ca = ClusterTls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..ClusterTls::default()
        };
        let plain = with_ca
            .etcd_options(&ep(&["http://a:1"]))
            .expect_err("files with http://");
        assert!(plain.0.contains("https://"), "{plain}");
        let missing = with_ca
            .etcd_options(&ep(&["https://a:1"]))
            .expect_err("no file");
        assert!(missing.0.contains("--tls-ca"), "{missing}");
        let half = ClusterTls {
            cert: Some("c.pem".into()),
            ..ClusterTls::default()
        };
        assert!(half.validate().is_err());
    }
}
