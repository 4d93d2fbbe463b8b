//! [`EtcdServer`]: one real single-member `etcd` on free loopback ports, with
//! its data dir in a temp dir, for tests.
//!
//! `stop` kills the process (SIGKILL, like a crash) and `start_again` brings
//! it back on the same ports and data dir, so tests can check what a client
//! does while etcd is down and that nothing acknowledged was lost.

use std::fs::File;
use std::io;
use std::net::SocketAddr;

use super::tls::{self, ServerFiles};
use super::{free_port, start_on_free_ports, TestCerts};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `etcd-server` package installs the binary.
const ETCD_BIN: &str = "/usr/bin/etcd";
/// How long a start may take before it is reported as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Bytes of etcd's log quoted in a start failure.
const LOG_TAIL: usize = 2000;

/// A running (or stopped) etcd owned by a test. Drop kills it and removes its dir.
pub struct EtcdServer {
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    /// TLS-only client port (`https://`), with client certificates required.
    tls: Option<ServerFiles>,
}

impl EtcdServer {
    /// Starts etcd on free loopback ports and waits until `/health` says it
    /// serves. A missing binary is `ErrorKind::NotFound` with a message that
    /// names `scripts/setup.sh`.
    pub fn start() -> io::Result<Self> {
        Self::start_with(None)
    }

    /// [`EtcdServer::start`], serving clients over TLS only with `certs`'
    /// node certificate and requiring client certificates signed by its CA
    /// (`--client-cert-auth`). The endpoint is `https://127.0.0.1:<port>`.
    pub fn start_tls(certs: &TestCerts) -> io::Result<Self> {
        Self::start_with(Some(ServerFiles::from_certs(certs)))
    }

    fn start_with(tls: Option<ServerFiles>) -> io::Result<Self> {
        if !Path::new(ETCD_BIN).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{ETCD_BIN} not found: run scripts/setup.sh (installs Debian's etcd-server)"
                ),
            ));
        }
        start_on_free_ports(|| {
            let dir = tempfile::Builder::new().prefix("squall-etcd-").tempdir()?;
            let mut server = Self {
                dir,
                client_port: free_port()?,
                peer_port: free_port()?,
                child: None,
                tls: tls.clone(),
            };
            server.start_again()?;
            Ok(server)
        })
    }

    /// The client URL, e.g. `http://127.0.0.1:40123` (`https://` with TLS).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// The data and log directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills etcd (SIGKILL) and waits for it to exit. Idempotent.
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

    /// (Re)starts etcd on the same ports and data dir and waits until it
    /// serves. A running server is stopped first.
    pub fn start_again(&mut self) -> io::Result<()> {
        self.stop()?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawn {ETCD_BIN}: {e}")))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn command(&self) -> Command {
        let client = self.endpoint();
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(ETCD_BIN);
        cmd.arg("--name")
            .arg("squall-test")
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&client)
            .arg("--advertise-client-urls")
            .arg(&client)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("squall-test={peer}"))
            .arg("--initial-cluster-state")
            .arg("new");
        if let Some(tls) = &self.tls {
            cmd.arg("--cert-file")
                .arg(&tls.cert)
                .arg("--key-file")
                .arg(&tls.key)
                .arg("--trusted-ca-file")
                .arg(&tls.ca)
                .arg("--client-cert-auth");
        }
        cmd
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// Polls `/health` until it reports healthy, the process exits, or
    /// [`READY_TIMEOUT`] passes; failures quote the end of etcd's log.
    fn wait_ready(&mut self) -> io::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.client_port));
        let probe_tls = self
            .tls
            .as_ref()
            .map(ServerFiles::probe_config)
            .transpose()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if health_ok(addr, probe_tls.as_ref()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(self.start_failed(&format!("etcd exited with {status}")));
                }
            }
            if Instant::now() >= deadline {
                let _ = self.stop();
                return Err(self.start_failed(&format!("not healthy within {READY_TIMEOUT:?}")));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    fn start_failed(&self, what: &str) -> io::Error {
        let log = std::fs::read(self.log_path()).unwrap_or_default();
        let tail = String::from_utf8_lossy(&log[log.len().saturating_sub(LOG_TAIL)..]).into_owned();
        io::Error::other(format!(
            "etcd at {} ({}): {what}; log tail:\n{tail}",
            self.endpoint(),
            self.dir.path().display()
        ))
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// One `GET /health` over HTTP/1.0 (over TLS with `tls`); true when etcd
/// reports healthy.
fn health_ok(addr: SocketAddr, tls: Option<&std::sync::Arc<rustls::ClientConfig>>) -> bool {
    let probe = || -> io::Result<String> {
        let stream = tls::connect(addr, Duration::from_secs(2))?;
        let request = b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        let healthy = |r: &str| r.contains("\"health\":\"true\"");
        match tls {
            None => tls::exchange(&mut { stream }, request, healthy),
            Some(config) => tls::exchange(&mut tls::wrap(stream, config)?, request, healthy),
        }
    };
    probe().is_ok_and(|reply| reply.contains("\"health\":\"true\""))
}
