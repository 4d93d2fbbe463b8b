//! A small HTTP/1.1 client for `squall coordinator`'s API: one request per
//! connection, JSON bodies, a deadline per request; `https://` URLs over
//! TLS (rustls) trusting `--tls-ca` (or the system's roots). The request
//! itself is [`squall_common::http1`], shared with the test helpers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use squall_common::http1::exchange as talk;
pub use squall_common::http1::Response;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Where a coordinator is: `host:port`, and whether over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub https: bool,
}

impl Target {
    /// `http://host:port[/]` or `https://host:port[/]`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let expected =
            || format!("coordinator URL {url:?}: expected http://host:port or https://host:port");
        let (https, rest) = match url.split_once("://") {
            Some(("http", rest)) => (false, rest),
            Some(("https", rest)) => (true, rest),
            _ => bail!(expected()),
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            bail!(expected());
        }
        Ok(Self {
            host: host.to_string(),
            https,
        })
    }

    /// The URL again, for messages.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// The name the server's certificate must carry: the host without port
    /// (an IP address is checked against the certificate's IP names).
    fn server_name(&self) -> anyhow::Result<ServerName<'static>> {
        let name = match self.host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => self.host.as_str(),
        };
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string())
            .with_context(|| format!("{}: {name:?} is not a host name", self.url()))
    }
}

/// A TLS handshake that failed: retrying will not help, the settings must
/// change. Kept apart so callers can stop at once.
#[derive(Debug)]
pub struct TlsFailure(pub String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TLS handshake failed: {} (is --tls-ca the CA that signed the coordinator's certificate, and does the certificate name this host?)",
            self.0
        )
    }
}

impl std::error::Error for TlsFailure {}

/// Sends `method path` with a JSON `body` to `target`; gives up after
/// `timeout`. `tls` is needed for `https://` targets.
pub async fn request(
    target: &Target,
    tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let what = format!("{method} {}{path}", target.url());
    match tokio::time::timeout(timeout, exchange(target, tls, method, path, body)).await {
        Ok(r) => r.with_context(|| what.clone()),
        Err(_) => bail!("{what}: no answer within {timeout:?}"),
    }
}

async fn exchange(
    target: &Target,
    tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
    method: &str,
    path: &str,
    body: &str,
) -> anyhow::Result<Response> {
    let tcp = TcpStream::connect(&target.host).await?;
    if !target.https {
        return Ok(talk(tcp, &target.host, method, path, JSON, body).await?);
    }
    let config = tls.context("an https:// URL needs TLS settings (a bug: none were made)")?;
    let stream = TlsConnector::from(Arc::clone(config))
        .connect(target.server_name()?, tcp)
        .await
        .map_err(|e| match e.get_ref() {
            Some(inner) => anyhow::Error::new(TlsFailure(inner.to_string())),
            None => anyhow::Error::new(e),
        })?;
    Ok(talk(stream, &target.host, method, path, JSON, body).await?)
}

const JSON: &str = "application/json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let plain = Target::parse("http://127.0.0.1:8287/").expect("valid");
        assert_eq!(
            (plain.host.as_str(), plain.https),
            ("127.0.0.1:8287", false)
        );
        let tls = Target::parse("https://coord.example:8287").expect("valid");
        assert!(tls.https);
        assert_eq!(tls.url(), "https://coord.example:8287");
        assert!(tls.server_name().is_ok());
        assert!(Target::parse("ftp://x:1").is_err());
        assert!(Target::parse("x:1").is_err());
        assert!(Target::parse("http://x:1/jobs").is_err());
    }
}
