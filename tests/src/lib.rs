//! Integration test helpers: find the `squall` binary (or any other server
//! binary), pick free ports, spawn real server processes, wait until they
//! answer, and stop them (SIGTERM, then SIGKILL) when a test ends.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod http;
pub mod kvproto;
pub mod mariadb;
pub mod s3;
pub mod sim;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A port nobody listens on right now (bound to 127.0.0.1:0, then released).
/// Another process may grab it before you do; prefer letting a server bind
/// port 0 itself when it can report its address.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// `127.0.0.1:<free port>`.
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local address of a bound listener")
}

/// Polls until something accepts TCP connections on `addr`.
pub fn wait_for_tcp(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!("{addr} not accepting after {timeout:?}: {e}"))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// [`wait_for_tcp`] for async tests.
pub async fn wait_for_tcp_async(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("{addr} not accepting after {timeout:?}: {e}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// `../shared` next to the workspace (test fixtures), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared");
    dir.is_dir().then_some(dir)
}

/// `$CARGO_TARGET_DIR/<profile>`, derived from the running test binary
/// (`<target>/<profile>/deps/<test>`).
pub fn target_profile_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    let profile = if deps.file_name()? == "deps" {
        deps.parent()?
    } else {
        deps
    };
    Some(profile.to_owned())
}

/// Skips a test whose prerequisite is missing, saying why; under `CI=true`
/// (where every prerequisite must be there) the test fails instead.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and a prerequisite is missing: {reason}");
    }
    eprintln!("skipping: {reason}");
}

/// Whether every server binary in `names` is installed; if one is not, the
/// test is skipped with the reason ([`skip`]: under `CI=true` it fails).
pub fn servers_installed(names: &[&str]) -> bool {
    match names.iter().find(|n| find_binary(n).is_none()) {
        Some(missing) => {
            skip(&format!(
                "{missing} is not installed (scripts/setup.sh installs it)"
            ));
            false
        }
        None => true,
    }
}

/// A binary named `name`: in the target profile dir, else on `PATH`.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let built = target_profile_dir()
        .map(|d| d.join(name))
        .filter(|p| p.is_file());
    built.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A child process that is stopped when dropped. Its stdout and stderr are
/// collected (and echoed with a name prefix, so test logs show them).
pub struct ProcessGuard {
    name: String,
    child: Option<Child>,
    output: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl ProcessGuard {
    /// Spawns `cmd` with piped output.
    pub fn spawn(name: &str, mut cmd: Command) -> std::io::Result<Self> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect_lines(name, out, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect_lines(name, err, output.clone()));
        }
        Ok(ProcessGuard {
            name: name.to_owned(),
            child: Some(child),
            output,
            readers,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Every line printed so far (stdout and stderr interleaved).
    pub fn output(&self) -> Vec<String> {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Every line the process printed, once it has exited: the reader
    /// threads are drained first, so no line written just before the exit
    /// is missed. Before the exit it is [`Self::output`].
    pub fn final_output(&mut self) -> Vec<String> {
        if self.try_wait().is_some() {
            for reader in self.readers.drain(..) {
                let _ = reader.join();
            }
        }
        self.output()
    }

    /// Waits until a line containing `needle` is printed; returns it.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.output().into_iter().find(|l| l.contains(needle)) {
                return Ok(line);
            }
            if let Some(status) = self.try_wait() {
                if let Some(line) = self.final_output().into_iter().find(|l| l.contains(needle)) {
                    return Ok(line);
                }
                return Err(format!(
                    "{} exited ({status}) before printing {needle:?}",
                    self.name
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} printed no {needle:?} within {timeout:?}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit status, if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Sends a signal by name (`KILL`, `STOP`, `CONT`, ...) to the process,
    /// through `kill(1)` as an operator would.
    pub fn signal(&self, name: &str) -> Result<(), String> {
        let pid = self
            .pid()
            .ok_or_else(|| format!("{} is not running", self.name))?
            .to_string();
        let sent = Command::new("kill")
            .args([format!("-{name}").as_str(), &pid])
            .status()
            .map_err(|e| format!("running kill: {e}"))?;
        if sent.success() {
            Ok(())
        } else {
            Err(format!("kill -{name} {pid} ({}) failed: {sent}", self.name))
        }
    }

    /// Kills the process (SIGKILL, a crash: no handler runs), reaps it and
    /// returns everything it printed.
    pub fn kill(mut self) -> Vec<String> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.join_readers();
        self.output()
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to exit;
    /// kills it if it does not.
    pub fn terminate(mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let Some(mut child) = self.child.take() else {
            return Err("already stopped".into());
        };
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(|e| format!("running kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {pid} failed: {sent}"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.join_readers();
                    return Ok(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not exit within {timeout:?} of SIGTERM",
                        self.name
                    ));
                }
            }
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.join_readers();
    }
}

fn collect_lines(
    name: &str,
    stream: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    let name = name.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            eprintln!("[{name}] {line}");
            if let Ok(mut out) = sink.lock() {
                out.push(line);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_listener_and_times_out_without_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(wait_for_tcp(addr, Duration::from_secs(1)).is_ok());
        drop(listener);
        assert!(wait_for_tcp(free_addr(), Duration::from_millis(200)).is_err());
    }

    #[test]
    fn guard_collects_output_and_terminates() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo ready; exec sleep 30"]);
        let mut guard = ProcessGuard::spawn("sh", cmd).unwrap();
        assert_eq!(
            guard
                .wait_for_line("ready", Duration::from_secs(5))
                .unwrap(),
            "ready"
        );
        let status = guard.terminate(Duration::from_secs(5)).unwrap();
        assert!(
            !status.success(),
            "sleep killed by SIGTERM reports failure: {status}"
        );
    }

    #[test]
    fn finds_the_target_dir_of_this_test() {
        let dir = target_profile_dir().unwrap();
        assert!(dir.join("deps").is_dir(), "{} has no deps/", dir.display());
    }
}
