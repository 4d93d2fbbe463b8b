//! TLS for the test servers: the files a server serves with, and the
//! readiness probes' side of the handshake (blocking rustls, presenting the
//! node certificate, since the servers ask for client certificates).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use super::TestCerts;
use crate::tls::ClusterTls;

/// What a TLS-only test server serves with: its certificate and key, and
/// the CA its clients' certificates must be signed by.
#[derive(Debug, Clone)]
pub(super) struct ServerFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl ServerFiles {
    pub fn from_certs(certs: &TestCerts) -> Self {
        Self {
            cert: certs.cert.clone(),
            key: certs.key.clone(),
            ca: certs.ca.clone(),
        }
    }

    /// The probe's client config: trusts the CA, presents the node cert.
    pub fn probe_config(&self) -> io::Result<Arc<rustls::ClientConfig>> {
        ClusterTls {
            ca: Some(self.ca.clone()),
            cert: Some(self.cert.clone()),
            key: Some(self.key.clone()),
        }
        .client_config()
        .map_err(io::Error::other)
    }
}

/// Opens a TCP connection with short timeouts, for probes.
pub(super) fn connect(addr: SocketAddr, read_timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(read_timeout))?;
    stream.set_write_timeout(Some(read_timeout))?;
    Ok(stream)
}

/// `tcp` wrapped in a client TLS session to 127.0.0.1.
pub(super) fn wrap(
    tcp: TcpStream,
    config: &Arc<rustls::ClientConfig>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let name = ServerName::try_from("127.0.0.1").map_err(io::Error::other)?;
    let conn = rustls::ClientConnection::new(Arc::clone(config), name.to_owned())
        .map_err(io::Error::other)?;
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// Writes `request`, then reads until `done` says the reply is in, the
/// peer closes, or the read timeout ends it; what came is returned.
pub(super) fn exchange(
    stream: &mut (impl Read + Write),
    request: &[u8],
    done: impl Fn(&str) -> bool,
) -> io::Result<String> {
    stream.write_all(request)?;
    stream.flush()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                reply.extend_from_slice(&chunk[..n]);
                if done(&String::from_utf8_lossy(&reply)) {
                    break;
                }
            }
            // A server that closes without TLS's close_notify, or a read
            // timeout after a partial answer: judge what came.
            Err(_) if !reply.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}
