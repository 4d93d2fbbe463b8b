//! Serving PD and the stores over TLS only (`--cert`, `--key`, `--ca`), as
//! a TiDB cluster with `[security]` set does: every gRPC (and PD HTTP)
//! connection must complete a TLS handshake with the sim's certificate; with
//! a CA, clients must also present a certificate that CA signed.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::error::SimError;

/// The PEM files the sim serves TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTls {
    /// Certificate chain of PD and every store (its SANs must name the
    /// advertised host).
    pub cert: PathBuf,
    /// Private key of `cert`.
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by this CA
    /// (mutual TLS); otherwise any client may connect over TLS.
    pub ca: Option<PathBuf>,
}

impl SimTls {
    /// Reads the files; a missing or empty one is an error naming it.
    pub(crate) fn server_config(&self) -> Result<ServerTlsConfig, SimError> {
        let cert = read(&self.cert, "--cert")?;
        let key = read(&self.key, "--key")?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca, "--ca")?));
        }
        Ok(config)
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, SimError> {
    let bytes = std::fs::read(path).map_err(|source| SimError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
        return Err(SimError::Config(format!(
            "{flag} {}: not a PEM file",
            path.display()
        )));
    }
    Ok(bytes)
}

/// A server builder, with TLS when the sim has it.
pub(crate) fn builder(tls: Option<&ServerTlsConfig>) -> Result<Server, SimError> {
    let server = Server::builder();
    match tls {
        None => Ok(server),
        Some(config) => server
            .tls_config(config.clone())
            .map_err(|e| SimError::Config(format!("TLS: {e}"))),
    }
}

/// Scheme clients dial PD with.
pub(crate) fn scheme(tls: bool) -> &'static str {
    if tls {
        "https"
    } else {
        "http"
    }
}
