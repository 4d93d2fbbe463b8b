//! One `squall coordinator` or `squall worker` of the chaos cluster, as a
//! supervisor sees it: started (again) with the same arguments, killed,
//! frozen, resumed. The output of every instance is kept, so a scenario can
//! read what a killed process said.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use squall_tests::ProcessGuard;

use super::SQUALL;

/// How long a (re)started process may take to say it is up.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// Starts tried before a supervisor gives up: a process started while etcd
/// or nats-server is down exits, and is started again a second later.
const START_ATTEMPTS: u32 = 30;

pub struct Node {
    pub name: String,
    args: Vec<OsString>,
    /// The line that says the process serves.
    ready: &'static str,
    current: Option<ProcessGuard>,
    /// What the earlier instances printed, oldest first.
    earlier: Vec<Vec<String>>,
    /// The API address (coordinators).
    pub api: Option<SocketAddr>,
    pub frozen: bool,
}

impl Node {
    pub fn coordinator(name: &str, api: SocketAddr, cluster: &[String]) -> Self {
        let mut args: Vec<OsString> = ["--log-level", "info", "coordinator"]
            .iter()
            .map(OsString::from)
            .collect();
        args.extend(
            [
                "--leader-ttl-secs",
                super::cluster::LEADER_TTL_SECS,
                "--listen",
            ]
            .iter()
            .map(OsString::from),
        );
        args.push(api.to_string().into());
        args.extend(cluster.iter().map(OsString::from));
        Self::new(name, args, "coordinator listening", Some(api))
    }

    pub fn worker(name: &str, sorted_kv_dir: PathBuf, output: PathBuf, cluster: &[String]) -> Self {
        let mut args: Vec<OsString> = [
            "--log-level",
            "info",
            "worker",
            "--id",
            name,
            "--concurrency",
            "1",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.extend(["--sorted-kv-dir".into(), sorted_kv_dir.into_os_string()]);
        args.extend(["--output".into(), output.into_os_string()]);
        args.extend(cluster.iter().map(OsString::from));
        Self::new(name, args, "worker ready", None)
    }

    fn new(name: &str, args: Vec<OsString>, ready: &'static str, api: Option<SocketAddr>) -> Self {
        Self {
            name: name.to_string(),
            args,
            ready,
            current: None,
            earlier: Vec::new(),
            api,
            frozen: false,
        }
    }

    /// Starts the process and waits until it says it serves; a start that
    /// exits first (its etcd or nats-server is away) is tried again, as a
    /// supervisor would.
    pub fn start(&mut self) -> Result<(), String> {
        assert!(self.current.is_none(), "{} runs already", self.name);
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let mut cmd = Command::new(SQUALL);
            cmd.args(&self.args)
                .env_remove(squall_common::failpoint::ENV);
            let mut p = ProcessGuard::spawn(&self.name, cmd).map_err(|e| e.to_string())?;
            match p.wait_for_line(self.ready, READY_WITHIN) {
                Ok(_) => {
                    self.current = Some(p);
                    return Ok(());
                }
                Err(e) => {
                    last = e;
                    self.earlier.push(p.kill());
                    eprintln!(
                        "chaos: {} start {attempt} failed ({last}); again in 1 s",
                        self.name
                    );
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
        Err(format!(
            "{} did not start in {START_ATTEMPTS} attempts: {last}",
            self.name
        ))
    }

    /// SIGKILL: a crash, no handler runs.
    pub fn kill(&mut self) {
        if let Some(p) = self.current.take() {
            self.earlier.push(p.kill());
        }
        self.frozen = false;
    }

    /// If the process ended by itself (not killed by a driver), its exit
    /// status; its output is kept and it is no longer current.
    pub fn take_exited(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.current.as_mut()?.try_wait()?;
        if let Some(p) = self.current.take() {
            self.earlier.push(p.kill());
        }
        self.frozen = false;
        Some(status)
    }

    pub fn is_running(&mut self) -> bool {
        self.current
            .as_mut()
            .is_some_and(|p| p.try_wait().is_none())
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`).
    pub fn freeze(&mut self, frozen: bool) -> Result<(), String> {
        let p = self
            .current
            .as_ref()
            .ok_or_else(|| format!("{} is not running", self.name))?;
        p.signal(if frozen { "STOP" } else { "CONT" })?;
        self.frozen = frozen;
        Ok(())
    }

    /// Every line of every instance, oldest first.
    pub fn output(&self) -> Vec<String> {
        let mut all: Vec<String> = self.earlier.iter().flatten().cloned().collect();
        if let Some(p) = &self.current {
            all.extend(p.output());
        }
        all
    }

    /// Lines of every instance containing `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.output().iter().filter(|l| l.contains(needle)).count()
    }

    /// SIGCONT if frozen, then SIGTERM (SIGKILL after a while).
    pub fn stop(&mut self) {
        if self.frozen {
            let _ = self.freeze(false);
        }
        if let Some(p) = self.current.take() {
            let output = p.output();
            if let Err(e) = p.terminate(Duration::from_secs(20)) {
                eprintln!("chaos: {}", e);
            }
            self.earlier.push(output);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.frozen {
            let _ = self.freeze(false);
        }
    }
}
