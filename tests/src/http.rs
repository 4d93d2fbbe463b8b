//! A tiny HTTP/1.1 client for admin and status endpoints of servers under
//! test: one request per plain TCP connection, with a deadline. The request
//! itself is [`squall_common::http1`], shared with the CLI's coordinator
//! client.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// Status code and body of one response.
pub type HttpResponse = squall_common::http1::Response;

/// Sends `method path` with `body` to `addr`; gives up after `timeout`.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let what = format!("{method} http://{addr}{path}");
    let call = async {
        let stream = TcpStream::connect(addr).await?;
        squall_common::http1::exchange(stream, &addr.to_string(), method, path, "text/plain", body)
            .await
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(|e| format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no answer within {timeout:?}")),
    }
}
