//! One HTTP/1.1 request on an open connection (plain TCP or TLS): write the
//! request with `Connection: close`, read to the end, parse status and body
//! (plain or chunked). Shared by the CLI's coordinator client, which adds
//! URLs and TLS, and the test helpers' client for admin endpoints; neither
//! needs more of HTTP than this, so no HTTP library is pulled in.

use std::io::{Error, ErrorKind};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Status code and body of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends `method path` with `body` (of `content_type`) to `host` on
/// `stream` and reads the whole response. No deadline here: callers put
/// one around the connect and this together.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> std::io::Result<Response> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw).await {
        Ok(_) => {}
        // A server that closes without TLS's close_notify (many do, after
        // `Connection: close`) still sent the whole response.
        Err(e) if e.kind() == ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse(&raw).map_err(|reason| Error::new(ErrorKind::InvalidData, reason))
}

/// Status and body of a complete response.
pub fn parse(raw: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("response has no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
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

fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, tail) = rest.split_once("\r\n").ok_or("truncated chunk size")?;
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| format!("bad chunk size {size:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(tail.get(..size).ok_or("truncated chunk")?);
        rest = tail.get(size + 2..).ok_or("truncated chunk end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_bodies() {
        let plain = parse(b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\n\r\n{}").expect("valid");
        assert_eq!(
            plain,
            Response {
                status: 409,
                body: "{}".into()
            }
        );
        let chunked = parse(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").expect("valid");
        assert_eq!(
            chunked,
            Response {
                status: 404,
                body: "abcde".into()
            }
        );
        assert!(parse(b"garbage").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nab").is_err());
    }

    #[tokio::test]
    async fn exchanges_one_request_on_a_stream() {
        let (client, mut server) = tokio::io::duplex(4096);
        let served = tokio::spawn(async move {
            // The head and the body may come in separate writes.
            let mut request = Vec::new();
            while !request.ends_with(b"\r\n\r\nhi") {
                let mut buf = [0u8; 1024];
                let n = server.read(&mut buf).await.expect("request");
                assert!(n > 0, "request ended early: {request:?}");
                request.extend_from_slice(&buf[..n]);
            }
            server
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .expect("response");
            drop(server);
            String::from_utf8_lossy(&request).into_owned()
        });
        let resp = exchange(client, "h:1", "POST", "/x", "text/plain", "hi")
            .await
            .expect("exchange");
        assert_eq!((resp.status, resp.body.as_str()), (200, "ok"));
        let request = served.await.expect("server");
        assert!(
            request.starts_with("POST /x HTTP/1.1\r\nHost: h:1\r\n"),
            "{request}"
        );
        assert!(
            request.ends_with("Content-Length: 2\r\n\r\nhi"),
            "{request}"
        );
    }
}
