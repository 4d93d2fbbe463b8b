//! [`NatsServer`]: one real `nats-server` with JetStream on a free loopback
//! port, its file store in a temp dir, for tests.
//!
//! `stop` kills the process (SIGKILL, like a crash) and `start_again` brings
//! it back on the same port and store dir, so tests can check what a client
//! does while the server is down and that no queued task was lost.

use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;

use super::tls::{self, ServerFiles};
use super::{free_port, start_on_free_ports, TestCerts};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `nats-server` package installs the binary.
const NATS_BIN: &str = "/usr/sbin/nats-server";
/// How long a start may take before it is reported as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Bytes of the server's log quoted in a start failure.
const LOG_TAIL: usize = 2000;
/// What JetStream answers to `$JS.API.INFO` once it serves.
const JS_INFO_REPLY: &str = "io.nats.jetstream.api.v1.account_info_response";

/// A running (or stopped) nats-server owned by a test. Drop kills it and
/// removes its dir.
pub struct NatsServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// TLS required of every client, with a client certificate.
    tls: Option<ServerFiles>,
}

impl NatsServer {
    /// Starts nats-server with JetStream on a free loopback port and waits
    /// until it accepts connections and JetStream answers. A missing binary is
    /// `ErrorKind::NotFound` with a message that names `scripts/setup.sh`.
    pub fn start() -> io::Result<Self> {
        Self::start_with(None)
    }

    /// [`NatsServer::start`], requiring TLS of every client with `certs`'
    /// node certificate, and a client certificate signed by its CA
    /// (`--tlsverify`). The URL is `tls://127.0.0.1:<port>`.
    pub fn start_tls(certs: &TestCerts) -> io::Result<Self> {
        Self::start_with(Some(ServerFiles::from_certs(certs)))
    }

    fn start_with(tls: Option<ServerFiles>) -> io::Result<Self> {
        if !Path::new(NATS_BIN).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{NATS_BIN} not found: run scripts/setup.sh (installs Debian's nats-server)"
                ),
            ));
        }
        start_on_free_ports(|| {
            let dir = tempfile::Builder::new().prefix("squall-nats-").tempdir()?;
            let mut server = Self {
                dir,
                port: free_port()?,
                child: None,
                tls: tls.clone(),
            };
            server.start_again()?;
            Ok(server)
        })
    }

    /// The client URL, e.g. `nats://127.0.0.1:40123` (`tls://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "tls" } else { "nats" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The store and log directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills nats-server (SIGKILL) and waits for it to exit. Idempotent.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            // An already exited child makes kill fail; wait still reaps it.
            let _ = child.kill();
            child.wait()?;
        }
        Ok(())
    }

    /// A crash and a restart: kills the server (SIGKILL), leaves it down for
    /// `outage` (the clients' view of a server that is away), then starts it
    /// on the same port(s) and data dir and waits until it serves again.
    /// Returns how long the server was unreachable, start-up included.
    pub fn restart(&mut self, outage: Duration) -> io::Result<Duration> {
        let down = Instant::now();
        self.stop()?;
        std::thread::sleep(outage);
        self.start_again()?;
        Ok(down.elapsed())
    }

    /// Whether the process is running (not stopped, not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// (Re)starts nats-server on the same port and store dir and waits until
    /// JetStream answers. A running server is stopped first.
    pub fn start_again(&mut self) -> io::Result<()> {
        self.stop()?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut cmd = Command::new(NATS_BIN);
        cmd.arg("-js")
            .arg("-sd")
            .arg(self.dir.path().join("store"))
            .arg("-a")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string());
        if let Some(tls) = &self.tls {
            cmd.arg("--tlscert")
                .arg(&tls.cert)
                .arg("--tlskey")
                .arg(&tls.key)
                .arg("--tlscacert")
                .arg(&tls.ca)
                .arg("--tlsverify");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawn {NATS_BIN}: {e}")))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// Probes JetStream until it answers, the process exits, or
    /// [`READY_TIMEOUT`] passes; failures quote the end of the server's log.
    fn wait_ready(&mut self) -> io::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let probe_tls = self
            .tls
            .as_ref()
            .map(ServerFiles::probe_config)
            .transpose()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if jetstream_answers(addr, probe_tls.as_ref()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(self.start_failed(&format!("nats-server exited with {status}")));
                }
            }
            if Instant::now() >= deadline {
                let _ = self.stop();
                return Err(self.start_failed(&format!(
                    "JetStream did not answer within {READY_TIMEOUT:?}"
                )));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    fn start_failed(&self, what: &str) -> io::Error {
        let log = std::fs::read(self.log_path()).unwrap_or_default();
        let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(LOG_TAIL)..]).into_owned();
        io::Error::other(format!(
            "nats-server at {} ({}): {what}; log tail:\n{tail}",
            self.url(),
            self.dir.path().display()
        ))
    }
}

/// Consumes the server's `INFO {...}\r\n` greeting, byte by byte so
/// nothing of the TLS handshake after it is read here.
fn read_info_line(stream: &mut impl Read) -> io::Result<()> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before INFO",
            ));
        }
        line.push(byte[0]);
        if line.len() > 64 * 1024 {
            return Err(io::Error::other("INFO line too long"));
        }
    }
    Ok(())
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// One `$JS.API.INFO` request in the NATS text protocol; true when
/// JetStream answers with its account info (a server without JetStream, or
/// one still recovering its streams, answers "no responders" or nothing).
/// With `tls`, the server's INFO line comes in plain text first, then the
/// client upgrades the connection, as NATS clients do.
fn jetstream_answers(addr: SocketAddr, tls: Option<&Arc<rustls::ClientConfig>>) -> bool {
    let probe = || -> io::Result<String> {
        let request: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,\"protocol\":1}\r\n\
              SUB _INBOX.squall-probe 1\r\n\
              PUB $JS.API.INFO _INBOX.squall-probe 0\r\n\r\n";
        // Read until the answer (or a refusal) is in; the read timeout ends it otherwise.
        let done = |text: &str| {
            text.contains(JS_INFO_REPLY) || text.contains("HMSG") || text.contains("-ERR")
        };
        let mut stream = tls::connect(addr, Duration::from_millis(500))?;
        match tls {
            None => tls::exchange(&mut stream, request, done),
            Some(config) => {
                read_info_line(&mut stream)?;
                tls::exchange(&mut tls::wrap(stream, config)?, request, done)
            }
        }
    };
    probe().is_ok_and(|reply| reply.contains(JS_INFO_REPLY) && !reply.contains("\"error\""))
}
