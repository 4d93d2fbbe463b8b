//! One scenario: a fresh cluster, the import through `squall import
//! --coordinator`, the scenario's fault drivers running alongside until the
//! import ends, then the checks (exact against the embedded reference, every
//! engine done) and the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use squall_common::checkpoint::EngineState;
use squall_tests::ProcessGuard;

use super::cluster::{lock, Cluster, Disks};
use super::disk::SmallDisk;
use super::faults::{Driver, Fault, Injected};
use super::figures::Figures;
use super::outcome::Outcome;
use super::tier::Tier;
use super::SQUALL;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    NoFaults,
    KillWorkers,
    FreezeWorkers,
    KillLeader,
    RestartNats,
    RestartEtcd,
    SimFaults,
    AllAtOnce,
    FullDisk,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::NoFaults,
        Scenario::KillWorkers,
        Scenario::FreezeWorkers,
        Scenario::KillLeader,
        Scenario::RestartNats,
        Scenario::RestartEtcd,
        Scenario::SimFaults,
        Scenario::AllAtOnce,
        Scenario::FullDisk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::NoFaults => "no faults",
            Scenario::KillWorkers => "kill -9 a random worker",
            Scenario::FreezeWorkers => "SIGSTOP/SIGCONT a worker",
            Scenario::KillLeader => "kill -9 the leader twice",
            Scenario::RestartNats => "restart nats-server",
            Scenario::RestartEtcd => "restart etcd",
            Scenario::SimFaults => "TiKV faults at 5%",
            Scenario::AllAtOnce => "all at once",
            Scenario::FullDisk => "a worker's disk full",
        }
    }

    /// Whether a process may exit by itself (and be started again by its
    /// supervisor) in this scenario: only when faults pile up. Alone, every
    /// fault must cost time only, the processes riding it out.
    fn tolerates_exits(self) -> bool {
        self == Scenario::AllAtOnce
    }

    fn faults(self) -> Vec<Fault> {
        match self {
            Scenario::NoFaults => vec![],
            Scenario::KillWorkers => vec![Fault::KillWorker],
            Scenario::FreezeWorkers => vec![Fault::FreezeWorker],
            Scenario::KillLeader => vec![Fault::KillLeader],
            Scenario::RestartNats => vec![Fault::RestartNats],
            Scenario::RestartEtcd => vec![Fault::RestartEtcd],
            Scenario::SimFaults => vec![Fault::Sim],
            Scenario::AllAtOnce => Fault::ALL.to_vec(),
            Scenario::FullDisk => vec![Fault::FullDisk],
        }
    }
}

/// The dump, the task config and the reference, shared by the scenarios.
pub struct Fixture {
    pub tier: Tier,
    pub work: PathBuf,
    pub dump: PathBuf,
    pub config: PathBuf,
}

impl Fixture {
    pub fn new(tier: Tier, work: &Path) -> Self {
        let dump = work.join("dump");
        let [size, file_size, duplicates, batch] = tier.dump();
        let made = Command::new(SQUALL)
            .args([
                "gen-dump",
                "--dataset",
                "shop",
                "--size",
                size,
                "--file-size",
                file_size,
            ])
            .args(["--duplicates", duplicates, "--out"])
            .arg(&dump)
            .output()
            .unwrap();
        assert!(made.status.success(), "gen-dump: {made:?}");
        let config = work.join("task.toml");
        std::fs::write(
            &config,
            format!(
                "[tikv-importer]\nsorted-kv-dir = {:?}\n\n[mydumper]\nbatch-size = {batch:?}\n\n[conflict]\nstrategy = \"replace\"\n",
                work.join("embedded-kv").display().to_string()
            ),
        )
        .unwrap();
        Self {
            tier,
            work: work.to_path_buf(),
            dump,
            config,
        }
    }

    /// `squall import` with this fixture's config and dump.
    fn import(&self, pd: &str, out: &Path) -> Command {
        let mut cmd = Command::new(SQUALL);
        cmd.arg("--config")
            .arg(&self.config)
            .args([
                "import",
                "--progress",
                "log",
                "--log-interval",
                "5",
                "--pd",
                pd,
            ])
            .arg("--source")
            .arg(&self.dump)
            .arg("--output")
            .arg(out)
            .env_remove(squall_common::failpoint::ENV);
        cmd
    }

    /// The reference: an embedded import of the dump into its own sim.
    pub async fn reference(&self) -> (Outcome, Duration) {
        let sim = squall_tests::sim::start_sim(&self.work.join("sim-embedded")).await;
        let pd = sim.pd_addr.to_string();
        let out = self.work.join("out-embedded");
        let started = Instant::now();
        let done = tokio::task::block_in_place(|| self.import(&pd, &out).output()).unwrap();
        let took = started.elapsed();
        let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
        assert!(
            done.status.success(),
            "the embedded import fails: {stdout}\n{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let want = tokio::task::block_in_place(|| Outcome::read(&stdout, &out, &pd, &self.dump));
        sim.shutdown().await;
        // Gigabytes in the long tier; the digests are all that is needed.
        if let Err(e) = std::fs::remove_dir_all(self.work.join("sim-embedded")) {
            eprintln!("chaos: removing the reference sim's data: {e}");
        }
        assert_eq!(want.tables.len(), 3, "three tables: {stdout}");
        assert!(
            want.conflicting_rows() > 0,
            "the dump has conflicts: {stdout}"
        );
        (want, took)
    }
}

/// Runs `scenario` on a fresh cluster; the figures say whether it was exact.
pub async fn run(scenario: Scenario, fx: &Fixture, want: &Outcome, seed: u64) -> Figures {
    let dir = fx.work.join(format!("scenario-{scenario:?}"));
    let disks = match scenario {
        Scenario::FullDisk => match SmallDisk::mount(&dir.join("w3-kv"), "512k") {
            Ok(d) => Disks::LastOneSmall(d),
            Err(reason) => {
                squall_tests::skip(&format!(
                    "{}: cannot mount a small disk: {reason}",
                    scenario.name()
                ));
                return Figures::skipped(scenario.name(), &reason);
            }
        },
        _ => Disks::Roomy,
    };
    eprintln!("chaos: scenario {:?} (seed {seed})", scenario.name());
    let cluster = Cluster::start(&dir, disks).await;
    let out = dir.join("out");
    let mut client = fx.import(&cluster.pd(), &out);
    client.args(["--coordinator", &cluster.coordinator_urls()]);
    let started = Instant::now();
    let mut client = ProcessGuard::spawn("import", client).unwrap();

    let stop = AtomicBool::new(false);
    let pace = fx.tier.pace();
    let faults = scenario.faults();
    let driver = || Driver {
        cluster: &cluster,
        pace: &pace,
        stop: &stop,
        rt: tokio::runtime::Handle::current(),
        seed,
    };
    let (exit, took, injected, exits) = tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let drivers: Vec<_> = faults
                .iter()
                .map(|&fault| {
                    let d = driver();
                    (fault, s.spawn(move || d.run(fault)))
                })
                .collect();
            let supervisor = {
                let d = driver();
                s.spawn(move || d.supervise())
            };
            let exit = wait_exit(&mut client, fx.tier.import_timeout());
            let took = started.elapsed();
            stop.store(true, Ordering::SeqCst);
            let injected: Vec<(Fault, Result<Injected, String>)> = drivers
                .into_iter()
                .map(|(f, h)| {
                    (
                        f,
                        h.join().unwrap_or_else(|_| Err("driver panicked".into())),
                    )
                })
                .collect();
            let exits = supervisor
                .join()
                .unwrap_or_else(|_| vec!["the supervisor panicked".into()]);
            (exit, took, injected, exits)
        })
    });

    let mut problems = Vec::new();
    let mut figures = Figures::new(scenario.name(), took);
    for (fault, result) in injected {
        match result {
            Ok(i) => {
                figures.faults += i.count;
                figures.notes.extend(i.notes);
                if i.count == 0 {
                    problems.push(format!(
                        "{fault:?}: no fault injected before the import ended"
                    ));
                }
            }
            Err(e) => problems.push(format!("{fault:?}: {e}")),
        }
    }
    figures.supervisor_restarts = exits.len();
    if scenario.tolerates_exits() {
        figures.notes.extend(exits);
    } else {
        problems.extend(exits.into_iter().map(|e| format!("unplanned exit: {e}")));
    }
    let said = client.output().join("\n");
    match exit {
        Some(status) if status.success() => {}
        other => problems.push(format!(
            "the import did not end verified ({other:?}):\n{said}"
        )),
    }
    cluster.sim.faults().clear();
    cluster.wait_stores_up().await;
    if problems.is_empty() {
        let got =
            tokio::task::block_in_place(|| Outcome::read(&said, &out, &cluster.pd(), &fx.dump));
        problems.extend(got.differences(want));
    }
    let engines = cluster.engines().await;
    figures.redone = engines.iter().filter(|e| e.attempt > 1).count();
    figures.engines = engines.len();
    for e in &engines {
        if !matches!(e.state, EngineState::Done(_)) {
            problems.push(format!(
                "engine {} of table {} is {:?}",
                e.engine_id, e.table_id, e.state
            ));
        }
    }
    figures.deliveries = cluster.deliveries().await;
    if scenario == Scenario::FullDisk {
        let w = lock(&cluster.workers[2]);
        let full = w
            .output()
            .into_iter()
            .find(|l| l.contains("No space left on device"));
        match full {
            Some(line) if line.contains(&*dir.join("w3-kv").to_string_lossy()) => {}
            Some(line) => problems.push(format!(
                "the full-disk error does not name the directory: {line}"
            )),
            None => problems.push("w3 never said its disk was full".into()),
        }
    }
    for p in &problems {
        eprintln!("chaos: {}: {p}", scenario.name());
    }
    figures.problems = problems;
    cluster.shut_down().await;
    // The long tier's clusters hold gigabytes; one at a time is enough.
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("chaos: removing {}: {e}", dir.display());
    }
    figures
}

fn wait_exit(p: &mut ProcessGuard, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = p.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
