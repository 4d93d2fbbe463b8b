//! The fault drivers. Each runs on its own thread while the import runs,
//! injects its fault on a schedule ([`Pace`]) until told to stop, and
//! returns how many faults it injected. Random choices come from a seeded
//! RNG (the seed is printed), so a failing run can be replayed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::runtime::Handle;

use super::cluster::{lock, Cluster, ACK_WAIT_SECS, WORKERS};

/// The store RPC faults of the sim, each at 5 % of the calls it matches:
/// region errors (NotLeader really moves the leader: a leader transfer),
/// EpochNotMatch, ServerIsBusy, stale commands, a write ahead of the region,
/// PD unreachable. Every kind TiKV answers Squall's calls with under load.
const SIM_RULES: &[&str] = &[
    "rpc=Write,error=ServerIsBusy,rate=0.05",
    "rpc=Write,error=RequestTooNew,rate=0.05",
    "rpc=MultiIngest,error=EpochNotMatch,rate=0.05",
    "rpc=MultiIngest,error=NotLeader,rate=0.05",
    "rpc=Ingest,error=ServerIsBusy,rate=0.05",
    "rpc=DuplicateDetect,error=NotLeader,rate=0.05",
    "rpc=KvScan,error=RegionNotFound,rate=0.05",
    "rpc=KvBatchGet,error=EpochNotMatch,rate=0.05",
    "rpc=Coprocessor,error=StaleCommand,rate=0.05",
    "rpc=ScanRegions,error=Unavailable,rate=0.05",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// kill -9 a random worker, start it again a second later.
    KillWorker,
    /// SIGSTOP a random worker past the ack wait, then SIGCONT.
    FreezeWorker,
    /// kill -9 the leader coordinator, start it again as a standby; twice.
    KillLeader,
    /// Crash and restart nats-server (same port, same JetStream store).
    RestartNats,
    /// Crash and restart etcd (same ports, same data dir).
    RestartEtcd,
    /// The sim's RPC faults at 5 %, and a store down now and then.
    Sim,
    /// The last worker's small disk fills up; later it is given room.
    FullDisk,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::KillWorker,
        Fault::FreezeWorker,
        Fault::KillLeader,
        Fault::RestartNats,
        Fault::RestartEtcd,
        Fault::Sim,
    ];
}

/// When faults come, per tier.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Before the first fault of a driver.
    pub first: Duration,
    /// Between two worker kills.
    pub kill_every: Duration,
    /// Between two freezes.
    pub freeze_every: Duration,
    /// Between a new leader and the next leader kill.
    pub leader_gap: Duration,
    /// Between two server restarts, and how long a server stays down.
    pub server_every: Duration,
    pub server_outage: Duration,
    /// Between two store outages, and how long a store stays down.
    pub store_every: Duration,
    pub store_outage: Duration,
}

/// What one driver did.
#[derive(Debug, Default)]
pub struct Injected {
    pub count: u64,
    pub notes: Vec<String>,
}

/// Everything a driver needs.
pub struct Driver<'a> {
    pub cluster: &'a Cluster,
    pub pace: &'a Pace,
    pub stop: &'a AtomicBool,
    pub rt: Handle,
    pub seed: u64,
}

impl Driver<'_> {
    pub fn run(&self, fault: Fault) -> Result<Injected, String> {
        match fault {
            Fault::KillWorker => self.kill_workers(),
            Fault::FreezeWorker => self.freeze_workers(),
            Fault::KillLeader => self.kill_leader(),
            Fault::RestartNats => self.restart_server(fault),
            Fault::RestartEtcd => self.restart_server(fault),
            Fault::Sim => self.sim_faults(),
            Fault::FullDisk => self.full_disk(),
        }
    }

    /// The supervisor every production process runs under (systemd's
    /// `Restart=always`): a coordinator or worker that exits by itself is
    /// started again. Returns one line per such exit: in a scenario whose
    /// faults should only cost time, none is expected.
    pub fn supervise(&self) -> Vec<String> {
        let mut exits = Vec::new();
        while self.wait(Duration::from_millis(200)) {
            for node in self
                .cluster
                .coordinators
                .iter()
                .chain(&self.cluster.workers)
            {
                // Busy: a driver is killing or starting it.
                let Ok(mut n) = node.try_lock() else { continue };
                if let Some(status) = n.take_exited() {
                    let last = n
                        .output()
                        .into_iter()
                        .rfind(|l| l.contains("error"))
                        .unwrap_or_default();
                    eprintln!(
                        "chaos: supervisor: {} exited ({status}); starting it again",
                        n.name
                    );
                    exits.push(format!("{} exited ({status}): {last}", n.name));
                    if let Err(e) = n.start() {
                        exits.push(e);
                    }
                }
            }
        }
        exits
    }

    /// Waits `d` unless told to stop first; `false` when stopped.
    fn wait(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn rng(&self, salt: u64) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ salt)
    }

    fn kill_workers(&self) -> Result<Injected, String> {
        let mut rng = self.rng(1);
        let mut done = Injected::default();
        let mut gap = self.pace.first;
        while self.wait(gap) {
            gap = self.pace.kill_every;
            let mut w = lock(&self.cluster.workers[rng.gen_range(0..WORKERS)]);
            w.kill();
            done.count += 1;
            eprintln!("chaos: killed {} (kill -9)", w.name);
            // A supervisor's restart delay; the job needs the worker back.
            if self.wait(Duration::from_secs(1)) {
                w.start()?;
            }
        }
        Ok(done)
    }

    fn freeze_workers(&self) -> Result<Injected, String> {
        let mut rng = self.rng(2);
        let mut done = Injected::default();
        let frozen_for = Duration::from_secs(ACK_WAIT_SECS + 2);
        let mut gap = self.pace.first;
        while self.wait(gap) {
            gap = self.pace.freeze_every;
            let w = &self.cluster.workers[rng.gen_range(0..WORKERS)];
            {
                let mut w = lock(w);
                if !w.is_running() {
                    continue;
                }
                w.freeze(true)?;
                eprintln!("chaos: froze {} (SIGSTOP) for {frozen_for:?}", w.name);
            }
            done.count += 1;
            // Resumed even when the import ended meanwhile.
            self.wait(frozen_for);
            let mut w = lock(w);
            // Killed (and restarted) meanwhile by another driver: nothing to resume.
            if w.frozen {
                w.freeze(false)?;
                eprintln!("chaos: resumed {} (SIGCONT)", w.name);
            }
        }
        Ok(done)
    }

    fn kill_leader(&self) -> Result<Injected, String> {
        let mut done = Injected::default();
        let mut gap = self.pace.first;
        while done.count < 2 && self.wait(gap) {
            gap = self.pace.leader_gap;
            let Some(leader) = self.await_leader(None) else {
                done.notes.push("no leader to kill".into());
                continue;
            };
            let mut c = lock(&self.cluster.coordinators[leader]);
            c.kill();
            done.count += 1;
            let killed = Instant::now();
            eprintln!("chaos: killed the leader {} (kill -9)", c.name);
            c.start()?;
            drop(c);
            match self.await_leader(Some(leader)) {
                Some(_) => done
                    .notes
                    .push(format!("new leader after {:.1?}", killed.elapsed())),
                None => done.notes.push("no new leader within 60 s".into()),
            }
        }
        Ok(done)
    }

    /// The leader's index once etcd names one (other than `not`), within 60 s.
    fn await_leader(&self, not: Option<usize>) -> Option<usize> {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            match self.rt.block_on(self.cluster.leader()) {
                Some(i) if Some(i) != not => return Some(i),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        None
    }

    fn restart_server(&self, fault: Fault) -> Result<Injected, String> {
        let mut done = Injected::default();
        let mut gap = self.pace.first;
        while self.wait(gap) {
            gap = self.pace.server_every;
            let outage = self.pace.server_outage;
            let down = match fault {
                Fault::RestartNats => lock(&self.cluster.nats).restart(outage),
                _ => lock(&self.cluster.etcd).restart(outage),
            }
            .map_err(|e| format!("restarting {fault:?}: {e}"))?;
            done.count += 1;
            eprintln!("chaos: {fault:?}: down for {down:.1?}");
            done.notes.push(format!("down {down:.1?}"));
        }
        Ok(done)
    }

    fn sim_faults(&self) -> Result<Injected, String> {
        let faults = self.cluster.sim.faults();
        for rule in SIM_RULES {
            faults.inject_spec(rule).map_err(|e| e.to_string())?;
        }
        let stores = self.cluster.sim.store_ids();
        let mut outages = 0u64;
        let mut gap = self.pace.first;
        while self.wait(gap) {
            gap = self.pace.store_every;
            let store = stores[outages as usize % stores.len()];
            let spec = format!(
                "store={store},down_after_ms=0,down_for_ms={}",
                self.pace.store_outage.as_millis()
            );
            faults.inject_spec(&spec).map_err(|e| e.to_string())?;
            outages += 1;
            eprintln!("chaos: store {store} down for {:?}", self.pace.store_outage);
        }
        let fired: u64 = faults.list().iter().map(|f| f.fired).sum();
        faults.clear();
        Ok(Injected {
            count: fired + outages,
            notes: vec![format!("{fired} RPC faults, {outages} store outages")],
        })
    }

    /// Waits for the small-disk worker to run out of space, checks it takes
    /// no task while full, then gives it room and notes what it did then.
    fn full_disk(&self) -> Result<Injected, String> {
        let disk = self
            .cluster
            .small_disk
            .as_ref()
            .ok_or("no small disk in this cluster")?;
        let w = &self.cluster.workers[WORKERS - 1];
        let full = "No space left on device";
        let until = Instant::now() + Duration::from_secs(300);
        while lock(w).count(full) == 0 {
            if !self.wait(Duration::from_millis(100)) || Instant::now() > until {
                return Err(format!("{} never ran out of space", lock(w).name));
            }
        }
        // Long enough for a worker that still pulls to take several tasks.
        self.wait(Duration::from_secs(3 * ACK_WAIT_SECS));
        let while_full = lock(w).count("running task");
        disk.grow("512m")?;
        eprintln!("chaos: {}'s disk grown to 512 MiB", lock(w).name);
        let mut done = Injected {
            count: 1,
            notes: vec![format!("tasks taken while full: {while_full}")],
        };
        if while_full != 1 {
            return Err(format!(
                "the worker with a full disk took {while_full} tasks; it should stop after the first until it has room"
            ));
        }
        // The worker looks at its free space every second while it waits.
        let room = "disk room again: taking tasks";
        let until = Instant::now() + Duration::from_secs(30);
        while lock(w).count(room) == 0 {
            if Instant::now() > until {
                return Err(format!(
                    "{} did not take tasks again within 30 s of its disk growing",
                    lock(w).name
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.wait(Duration::from_secs(3600));
        let after = lock(w).count("running task") - while_full;
        done.notes
            .push(format!("tasks taken with room again: {after}"));
        Ok(done)
    }
}
