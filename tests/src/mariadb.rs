//! [`MariaDb`]: a real MySQL-protocol server (Debian's `mariadb-server`,
//! installed by `scripts/test.sh`) with its own data directory in a temp
//! dir, on a free loopback port, killed and removed on drop. Tests of the
//! SQL steps (`[tidb] host`) use it for what is plain SQL.
//!
//! `start` makes the data directory with `mariadb-install-db`, starts
//! `mariadbd`, waits until a real handshake succeeds on its socket (a
//! connect loop with a deadline), and creates the user [`USER`] /
//! [`PASSWORD`] that may connect over TCP from anywhere, as a remote import
//! would.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use crate::ProcessGuard;

pub const USER: &str = "squall";
pub const PASSWORD: &str = "squall-pw";
/// `mariadbd` on a small VM: InnoDB start and crash-recovery checks.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const START_ATTEMPTS: usize = 3;

/// A running server owned by a test.
pub struct MariaDb {
    // Field order: the server stops before its directory is removed.
    process: ProcessGuard,
    port: u16,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

/// The installed server binaries, if both are there.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str| {
        crate::find_binary(name).or_else(|| {
            ["/usr/sbin", "/usr/bin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
        })
    };
    Some((find("mariadb-install-db")?, find("mariadbd")?))
}

/// Whether `mariadb-server` is installed; if not the test is skipped with
/// the reason (under `CI=true` it fails, see [`crate::skip`]).
pub fn installed() -> bool {
    if binaries().is_some() {
        return true;
    }
    crate::skip(
        "mariadbd / mariadb-install-db are not installed (scripts/test.sh installs mariadb-server)",
    );
    false
}

/// Starts a server, or skips the test when MariaDB is not installed.
pub async fn start_or_skip() -> Option<MariaDb> {
    if !installed() {
        return None;
    }
    match MariaDb::start().await {
        Ok(db) => Some(db),
        Err(e) => panic!("cannot start mariadbd: {e}"),
    }
}

impl MariaDb {
    pub async fn start() -> io::Result<Self> {
        let (install_db, mariadbd) = binaries().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "mariadb-server is not installed: run scripts/test.sh (apt-get install mariadb-server)",
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("squall-mariadb-")
            .tempdir()?;
        let data = dir.path().join("data");
        // A temp dir of its own: servers bootstrapping at once in a shared
        // /tmp trip over each other's temporary tables.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let out = Command::new(&install_db)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(user_arg())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "mariadb-install-db failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let socket = dir.path().join("mysqld.sock");
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = crate::free_port();
            let mut cmd = Command::new(&mariadbd);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!(
                    "--pid-file={}",
                    dir.path().join("mysqld.pid").display()
                ))
                .arg(format!("--tmpdir={}", tmp.display()))
                .arg(format!("--port={port}"))
                .args([
                    "--bind-address=127.0.0.1",
                    "--skip-name-resolve",
                    "--character-set-server=utf8mb4",
                    "--innodb-buffer-pool-size=16M",
                    "--performance-schema=OFF",
                ])
                .args(user_arg());
            let mut process = ProcessGuard::spawn("mariadbd", cmd)?;
            match wait_ready(&mut process, &socket).await {
                Ok(()) => {
                    let db = Self {
                        process,
                        port,
                        socket,
                        _dir: dir,
                    };
                    db.create_user().await?;
                    return Ok(db);
                }
                Err(e) => {
                    // A port taken between free_port and the bind: try another.
                    last = e;
                    drop(process);
                }
            }
        }
        Err(io::Error::other(format!(
            "mariadbd did not start in {START_ATTEMPTS} attempts: {last}"
        )))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection as [`USER`] over TCP, as the import makes it.
    pub async fn conn(&self) -> Conn {
        let opts = OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(USER))
            .pass(Some(PASSWORD))
            .prefer_socket(false);
        Conn::new(opts)
            .await
            .expect("connect to mariadbd as the test user")
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> Vec<String> {
        self.process.output()
    }

    async fn create_user(&self) -> io::Result<()> {
        let mut root = Conn::new(root_opts(&self.socket))
            .await
            .map_err(io::Error::other)?;
        for sql in [
            format!("CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'"),
            format!("GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'"),
        ] {
            root.query_drop(sql).await.map_err(io::Error::other)?;
        }
        let _ = root.disconnect().await;
        Ok(())
    }
}

/// mariadbd refuses to run as root unless told to.
fn user_arg() -> Vec<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    match root {
        true => vec!["--user=root".to_string()],
        false => Vec::new(),
    }
}

fn root_opts(socket: &Path) -> OptsBuilder {
    OptsBuilder::default()
        .socket(Some(socket.display().to_string()))
        .user(Some("root"))
}

/// A handshake on the socket, retried until the deadline or the exit.
async fn wait_ready(process: &mut ProcessGuard, socket: &Path) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let err = match Conn::new(root_opts(socket)).await {
            Ok(conn) => {
                let _ = conn.disconnect().await;
                return Ok(());
            }
            Err(e) => e,
        };
        if let Some(status) = process.try_wait() {
            let tail = process.final_output();
            let tail = tail[tail.len().saturating_sub(20)..].join("\n");
            return Err(format!("mariadbd exited ({status}):\n{tail}"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "mariadbd not answering on {} after {READY_TIMEOUT:?}: {err}",
                socket.display()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
