//! A small HTTP/1.1 client for `squall coordinator`'s API: one request per
//! connection, JSON bodies, a deadline per request.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Status code and body of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// `http://host:port[/]` → `host:port` (plain HTTP only).
pub fn authority(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("coordinator URL {url:?}: expected http://host:port"))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        bail!("coordinator URL {url:?}: expected http://host:port");
    }
    Ok(host.to_string())
}

/// Sends `method path` with a JSON `body` to `host`; gives up after `timeout`.
pub async fn request(
    host: &str,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let what = format!("{method} http://{host}{path}");
    match tokio::time::timeout(timeout, exchange(host, method, path, body)).await {
        Ok(r) => r.with_context(|| what.clone()),
        Err(_) => bail!("{what}: no answer within {timeout:?}"),
    }
}

async fn exchange(host: &str, method: &str, path: &str, body: &str) -> anyhow::Result<Response> {
    let mut stream = TcpStream::connect(host).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> anyhow::Result<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("response has no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok(Response { status, body })
}

fn dechunk(mut rest: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    loop {
        let (size, tail) = rest.split_once("\r\n").context("truncated chunk size")?;
        let size = usize::from_str_radix(size.trim(), 16)
            .with_context(|| format!("bad chunk size {size:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(tail.get(..size).context("truncated chunk")?);
        rest = tail.get(size + 2..).context("truncated chunk end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_responses_and_urls() {
        let plain = parse(b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\n\r\n{}").expect("valid");
        assert_eq!((plain.status, plain.body.as_str()), (409, "{}"));
        let chunked =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
                .expect("valid");
        assert_eq!(chunked.body, "abc");
        assert!(parse(b"garbage").is_err());
        assert_eq!(
            authority("http://127.0.0.1:8287/").expect("valid"),
            "127.0.0.1:8287"
        );
        assert!(authority("https://x:1").is_err());
        assert!(authority("http://x:1/jobs").is_err());
    }
}
