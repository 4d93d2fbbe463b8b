//! Real `etcd` and `nats-server` processes for tests: each on free loopback
//! ports, in its own temp dir, killed (and its dir removed) on drop. Started
//! servers are waited on until they answer, never slept on. `start_tls`
//! variants serve TLS only, with [`TestCerts`], and ask clients for a
//! certificate signed by its CA (mutual TLS).

mod certs;
mod etcd;
mod nats;
mod tls;

pub use certs::TestCerts;
pub use etcd::EtcdServer;
pub use nats::NatsServer;

use std::io;
use std::net::TcpListener;

/// Starts with fresh ports tried before a start is reported as failed: a free
/// port is only free until the server binds it, and tests running in
/// parallel may take it in between.
const START_ATTEMPTS: usize = 5;

/// A port nothing listens on right now (bind port 0, read it, release it).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs `start` until it does not fail because its port was taken (the
/// server's log, quoted in the error, says "address already in use").
fn start_on_free_ports<S>(mut start: impl FnMut() -> io::Result<S>) -> io::Result<S> {
    let mut attempt = 1;
    loop {
        match start() {
            Err(e)
                if attempt < START_ATTEMPTS && e.to_string().contains("address already in use") =>
            {
                eprintln!("testserver: port taken before the server bound it, new ports: {e}");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Starts a server for a test. When its binary is not installed the test is
/// skipped (`None`, reason printed) — except under `CI=true`, where every
/// prerequisite must be there and the test fails. Any other start failure
/// fails the test.
pub fn start_or_skip<S>(what: &str, start: impl FnOnce() -> std::io::Result<S>) -> Option<S> {
    match start() {
        Ok(server) => Some(server),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and {what} is missing: {e}");
            }
            eprintln!("skipping: {e}");
            None
        }
        Err(e) => panic!("cannot start {what}: {e}"),
    }
}
